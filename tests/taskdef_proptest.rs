//! No input makes the task definition parser panic: random bytes, random JSON, and mutations
//! of real task definitions (byte edits that break the syntax, and value swaps that keep it).
//! Whatever parses is also pushed through every derivation and the describe rendering.

use proptest::prelude::*;

const SEEDS: &[&str] = &[
    include_str!("../task-defs/web.json"),
    include_str!("../task-defs/api-with-sidecar.json"),
    include_str!("../task-defs/worker-ec2.json"),
    include_str!("../task-defs/etl.json"),
    r#"{"taskDefinition": {"family": "x", "revision": 2, "registeredAt": "2023-10-24T21:03:57.530Z",
        "networkMode": "host", "cpu": "1 vCPU", "memory": ".5 gb",
        "containerDefinitions": [{"name": "a", "image": "i", "memory": 64,
          "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "udp"}],
          "dependsOn": [{"containerName": "a", "condition": "HEALTHY"}],
          "ulimits": [{"name": "nofile", "softLimit": 10, "hardLimit": 5}],
          "linuxParameters": {"capabilities": {"add": ["SYS_PTRACE"]}, "tmpfs": []}}]},
       "tags": [{"key": "k", "value": "v"}]}"#,
];

/// The real task definitions of `tests/data/task-defs/` (see tests/corpus.rs); the local seeds
/// above take part too. The corpus is part of the repository, so a missing folder is a failure.
fn corpus_seeds() -> &'static [String] {
    static SEEDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/task-defs");
        let mut v: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .collect();
        v.sort();
        assert!(v.len() >= 30, "expected the corpus in {}, found {} files", dir.display(), v.len());
        v
    })
}

/// A seed by index over the local seeds followed by the corpus.
fn seed(i: prop::sample::Index) -> String {
    let corpus = corpus_seeds();
    let n = SEEDS.len() + corpus.len();
    let k = i.index(n);
    if k < SEEDS.len() {
        SEEDS[k].to_string()
    } else {
        corpus[k - SEEDS.len()].clone()
    }
}

/// Parses and, when that succeeds, derives everything; only a panic fails the property.
fn exercise(text: &str) {
    let parsed = berth::taskdef::parse_document(text);
    if let Some(def) = &parsed.definition {
        let _ = berth::taskdef::derive::start_order(def);
        let _ = berth::taskdef::derive::host_demand(def);
        let _ = berth::taskdef::derive::fargate_size(def);
        for i in 0..def.containers.len() {
            let _ = berth::taskdef::derive::docker_create(def, i);
        }
        let _ = berth::taskdef::validate::validate_model(def);
        let rendered =
            serde_json::to_string(&berth::taskdef::render::describe_response(def)).unwrap();
        let _ = berth::taskdef::parse_document(&rendered);
    }
    for d in &parsed.diagnostics {
        assert!(d.line >= 1 && d.column >= 1);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[a-zA-Z0-9 {}$<>:._-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "awsvpc", "bridge", "FARGATE", "EC2", "1 vCPU", "0.5GB", "HEALTHY", "CMD", "tcp", "a",
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "family",
                    "containerDefinitions",
                    "name",
                    "image",
                    "memory",
                    "cpu",
                    "portMappings",
                    "containerPort",
                    "hostPort",
                    "dependsOn",
                    "containerName",
                    "condition",
                    "healthCheck",
                    "command",
                    "networkMode",
                    "essential",
                    "x",
                ])
                .prop_map(str::to_string),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a pseudo-random spot of `v` (chosen by `pick`) with `new`.
fn replace_somewhere(v: &mut serde_json::Value, pick: &mut u64, new: serde_json::Value) -> bool {
    use serde_json::Value;
    let children: Vec<&mut Value> = match v {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(m) => m.values_mut().collect(),
        _ => vec![],
    };
    let n = children.len() as u64;
    if n == 0 || *pick % 3 == 0 {
        *v = new;
        return true;
    }
    let i = (*pick / 3) % n;
    *pick /= 3 * n.max(1);
    let child = children.into_iter().nth(i as usize).unwrap();
    replace_somewhere(child, pick, new)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        exercise(&text);
    }

    #[test]
    fn random_json_never_panics(v in json_value()) {
        exercise(&v.to_string());
        let wrapped = serde_json::json!({"family": "f", "containerDefinitions": [v]});
        exercise(&wrapped.to_string());
    }

    #[test]
    fn byte_mutations_of_real_definitions_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..6),
    ) {
        let mut chars: Vec<char> = seed(which).chars().collect();
        for (at, op, c) in edits {
            if chars.is_empty() { break; }
            let i = at.index(chars.len());
            match op {
                0 => { chars.remove(i); }
                1 => chars.insert(i, c),
                2 => chars[i] = c,
                _ => { let end = (i + 8).min(chars.len()); chars.drain(i..end); }
            }
        }
        exercise(&chars.into_iter().collect::<String>());
    }

    #[test]
    fn value_mutations_of_real_definitions_never_panic(
        which in any::<prop::sample::Index>(),
        mut pick in any::<u64>(),
        new in json_value(),
    ) {
        let mut v: serde_json::Value = serde_json::from_str(&seed(which)).unwrap();
        replace_somewhere(&mut v, &mut pick, new);
        exercise(&serde_json::to_string_pretty(&v).unwrap());
    }

    #[test]
    fn numeric_fields_take_any_number(n in any::<i64>(), field in prop::sample::select(vec![
        "cpu", "memory", "memoryReservation", "startTimeout", "stopTimeout",
    ])) {
        let t = format!(r#"{{"family": "f", "containerDefinitions": [{{"name": "a", "image": "i",
            "{field}": {n}, "portMappings": [{{"containerPort": {n}, "hostPort": {n}}}],
            "healthCheck": {{"command": ["CMD", "x"], "interval": {n}, "retries": {n}}}}}]}}"#);
        exercise(&t);
    }
}
