//! The HTML report, rendered by a real browser: headless Chromium (Debian's `chromium`) loads
//! the file, and the test reads the DOM it built. Checks that every chart is there with its
//! data and labels, that nothing is loaded from outside, and saves a screenshot as an artifact
//! (`target/test-artifacts/report.png`).
//!
//! Without Chromium the test skips loudly, unless `BERTH_REQUIRE_CHROMIUM=1` or
//! `BERTH_REQUIRE_DOCKER=1` (CI) is set, in which case it fails.

/// Straight to stderr: the test harness captures `eprintln!` of passing tests, and a skip
/// must be seen.
fn skip(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n!!!!! {msg} !!!!!\n");
}

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if !p.is_empty() {
                    return Some(PathBuf::from(p));
                }
            }
        }
    }
    None
}

fn required() -> bool {
    std::env::var_os("BERTH_REQUIRE_CHROMIUM").is_some_and(|v| v == "1")
        || std::env::var_os("BERTH_REQUIRE_DOCKER").is_some_and(|v| v == "1")
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn headless(chrome: &Path, extra: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(chrome)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        // Any request to the network fails fast instead of hanging the test.
        .arg("--host-resolver-rules=MAP * ~NOTFOUND")
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs")
}

#[test]
fn report_renders_in_chromium_with_every_chart() {
    let Some(chrome) = chromium() else {
        if required() {
            panic!("chromium is required (BERTH_REQUIRE_CHROMIUM/BERTH_REQUIRE_DOCKER set) but not installed");
        }
        skip("SKIPPED report_renders_in_chromium_with_every_chart: chromium not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["simulate", "scenarios/web-and-batch.toml", "--quiet", "--html"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(out.status.success(), "simulate failed: {}", String::from_utf8_lossy(&out.stderr));
    let source = std::fs::read_to_string(&html).unwrap();
    assert!(source.len() < 2_000_000, "report is {} bytes", source.len());

    let url = format!("file://{}", html.display());
    let dom = headless(&chrome, &["--dump-dom"], &url);
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();

    // The verdict in plain language at the top.
    assert!(dom.contains("id=\"verdict\""), "verdict missing");
    assert!(
        dom.contains("is cheaper by") || dom.contains("cost the same"),
        "verdict words missing"
    );
    // The six charts, each with its data.
    for chart in [
        "cumulative-cost",
        "running-tasks",
        "timeline-ecs",
        "timeline-fargate",
        "utilisation",
        "cost-breakdown",
        "break-even",
    ] {
        assert!(dom.contains(&format!("data-chart=\"{chart}\"")), "chart {chart} missing");
    }
    for series in
        ["data-series=\"ECS on EC2\"", "data-series=\"Fargate\"", "waiting for capacity (ECS)"]
    {
        assert!(dom.contains(series), "series {series} missing");
    }
    assert!(dom.contains("class=\"bar\""), "no task bars in the timelines");
    assert!(dom.contains("class=\"gantt-row\""), "no host rows");
    assert!(dom.contains("class=\"heat-row\""), "no utilisation rows");
    assert!(dom.contains("data-part=\"hosts: idle capacity\""), "no idle capacity part");
    assert!(dom.contains("data-part=\"vCPU\""), "no vCPU part");
    assert!(dom.contains("class=\"axis-label\""), "no axis labels");
    assert!(dom.contains("scenario time"), "x axis label missing");
    assert!(dom.contains("class=\"legend-item\""), "no legends");
    assert!(dom.contains("class=\"breakeven-text\""), "break-even sentence missing");
    // Tables of the text report.
    assert!(dom.contains("<table>"), "tables missing");

    // Nothing from outside: no element that loads a resource, no CSS url().
    for needle in [
        "<script", "<link", "<img", "<iframe", "<object", "<embed", "src=", "href=", "url(",
        "@import",
    ] {
        assert!(!dom.contains(needle), "the report references an outside resource ({needle})");
    }

    let png = artifacts().join("report.png");
    let shot = headless(
        &chrome,
        &[&format!("--screenshot={}", png.display()), "--window-size=1000,2600"],
        &url,
    );
    assert!(shot.status.success(), "screenshot failed: {}", String::from_utf8_lossy(&shot.stderr));
    let bytes = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(bytes > 20_000, "screenshot suspiciously small ({bytes} bytes)");
}
