//! `berth validate` end to end: the binary, its output formats and exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn berth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run berth")
}

fn example_files() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("task-defs");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| format!("task-defs/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_task_definition_is_valid() {
    let files = example_files();
    assert!(files.len() >= 5);
    let args: Vec<&str> =
        ["validate"].into_iter().chain(files.iter().map(String::as_str)).collect();
    let out = berth(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.contains(": ok (family ")).count(), files.len());
    assert!(!stdout.contains("warning"), "the examples are clean:\n{stdout}");
    for f in &files {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(f)).unwrap();
        assert!(text.contains("\"berth/workload:latest\""), "{f} uses berth's workload image");
        assert!(
            !text.contains("\"image\": \"")
                || text.matches("\"image\": \"").count()
                    == text.matches("\"image\": \"berth/workload:latest\"").count(),
            "{f}: only berth/workload"
        );
    }
}

fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    (dir, p.to_string_lossy().into_owned())
}

const BAD: &str = r#"{
  "family": "web",
  "containerDefinitions": [
    {
      "name": "web",
      "image": "berth/workload:latest",
      "memoryReservaton": 128,
      "portMappings": [{ "containerPort": "3000" }]
    }
  ]
}
"#;

#[test]
fn text_output_points_at_each_problem() {
    let (_d, bad) = temp_file("bad.json", BAD);
    let out = berth(&["validate", &bad, "task-defs/web.json"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!(
        "{bad}:7:7: error: containerDefinitions[0].memoryReservaton: Unknown parameter in \
         containerDefinitions[0]: \"memoryReservaton\", must be one of: name, image, "
    );
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(stdout.contains("\n    hint: did you mean \"memoryReservation\"?\n"), "{stdout}");
    assert!(
        stdout.contains(&format!(
        "{bad}:8:43: error: containerDefinitions[0].portMappings[0].containerPort: Invalid type \
         for parameter containerDefinitions[0].portMappings[0].containerPort, value: 3000, type: \
         <class 'str'>, valid types: <class 'int'>\n"
    )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{bad}: invalid: 2 errors\n")), "{stdout}");
    assert!(stdout.contains("task-defs/web.json: ok (family web,"), "{stdout}");
}

#[test]
fn json_output_has_one_object_per_file() {
    let (_d, bad) = temp_file("bad.json", BAD);
    let out = berth(&["validate", "--format", "json", "task-defs/web.json", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["file"], "task-defs/web.json");
    assert_eq!(a[0]["ok"], true);
    assert_eq!(a[0]["family"], "web");
    assert_eq!(a[1]["ok"], false);
    assert_eq!(a[1]["errors"].as_array().unwrap().len(), 2);
    let e = &a[1]["errors"][1];
    assert_eq!(e["path"], "containerDefinitions[0].portMappings[0].containerPort");
    assert_eq!((e["line"].as_u64(), e["column"].as_u64()), (Some(8), Some(43)));
    assert!(a[1]["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn not_json_gets_line_and_column() {
    let (_d, f) =
        temp_file("broken.json", "{\n  \"family\": \"x\",\n  \"cpu\": $$$$CPUSHARE$$$$\n}\n");
    let out = berth(&["validate", &f]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with(&format!("{f}:3:10: error: invalid JSON: ")), "{stdout}");
    assert!(stdout.contains("hint: this looks like an unrendered template"), "{stdout}");
}

#[test]
fn unreadable_file_and_usage_errors_exit_2() {
    let out = berth(&["validate", "task-defs/web.json", "no/such/file.json"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no/such/file.json:1:1: error: cannot read file"), "{stdout}");
    let out = berth(&["validate"]);
    assert_eq!(out.status.code(), Some(2), "no files is a usage error");
    let out = berth(&["validate", "--format", "yaml", "task-defs/web.json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn warnings_do_not_fail_a_file() {
    // A templated free string (the task role) is a warning: ECS would register it.
    let text = BAD
        .replace("\"memoryReservaton\"", "\"memoryReservation\"")
        .replace("\"3000\"", "3000")
        .replace("\"family\": \"web\",", "\"family\": \"web\", \"taskRoleArn\": \"${TASK_ROLE}\",");
    let (_d, f) = temp_file("templated.json", &text);
    let out = berth(&["validate", &f]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(&format!("{f}:2:35: warning: taskRoleArn: ")), "{stdout}");
    assert!(stdout.contains(", 1 warning\n"), "{stdout}");
}

#[test]
fn templated_image_is_an_error_with_how_to_render_it() {
    // ECS allows only letters, digits and - _ : . / @ # in an image, so an unexpanded template
    // cannot be registered: exit 1, the image's position, ECS's words, and a hint.
    let text = BAD
        .replace("\"memoryReservaton\"", "\"memoryReservation\"")
        .replace("\"3000\"", "3000")
        .replace("berth/workload:latest", "${REGISTRY}/app:${TAG}");
    let (_d, f) = temp_file("templated.json", &text);
    let out = berth(&["validate", &f]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{f}:6:16: error: containerDefinitions[0].image: Container.image contains invalid \
             characters.\n    hint: this looks like an unrendered template (a ${{VAR}} \
             substitution); expand the variables first"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("envsubst < task-def.json > rendered.json"), "{stdout}");
    assert!(stdout.contains(&format!("{f}: invalid: 1 error\n")), "{stdout}");
}
