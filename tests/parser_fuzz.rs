//! No input makes the cluster, scenario or task definition parsers panic (issue 11 §2): random
//! bytes, random documents made of the files' own keys with hostile values, and mutations of the
//! files the repository ships (byte edits that break the syntax, value swaps that keep it).
//!
//! Only a panic fails a property: an error is the expected answer to most of these inputs, and
//! every error must still point inside the text (line and column within it). Case counts are
//! modest so the suite stays quick on a small machine; `PROPTEST_CASES` raises them for a longer
//! run. (`tests/taskdef_proptest.rs` fuzzes task definitions in more depth; here they get the
//! same byte-level treatment as the TOML files.)

use std::path::Path;
use std::sync::OnceLock;

use berth::diag::FileError;
use berth::pricing::Catalog;
use proptest::prelude::*;

const CLUSTERS: &[&str] = &[
    include_str!("../clusters/laptop.toml"),
    include_str!("../clusters/mixed-az.toml"),
    include_str!("../clusters/arm.toml"),
];

const SCENARIOS: &[&str] = &[
    include_str!("../scenarios/steady-web.toml"),
    include_str!("../scenarios/nightly-batch.toml"),
    include_str!("../scenarios/spiky-api.toml"),
    include_str!("../scenarios/web-and-batch.toml"),
];

const TASK_DEFS: &[&str] = &[
    include_str!("../task-defs/web.json"),
    include_str!("../task-defs/api-with-sidecar.json"),
    include_str!("../task-defs/etl.json"),
];

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(Catalog::builtin)
}

/// Every diagnostic of a refused file points at a line and column inside `text`. In TOML files
/// (`toml`), where `#` starts a comment, a key path never holds one.
fn located_within(text: &str, e: &FileError, toml: bool) {
    let lines = text.split('\n').count().max(1);
    for d in &e.diagnostics {
        assert!(d.line >= 1 && d.line <= lines, "line {} of {lines}: {e}", d.line);
        let width = text.split('\n').nth(d.line - 1).map_or(0, |l| l.chars().count());
        assert!(d.column >= 1 && d.column <= width + 1, "column {} of {width}: {e}", d.column);
        assert!(!d.message.is_empty(), "{e}");
        // A key path is made of keys, never of a comment's words. (A JSON key may hold `#`.)
        assert!(!toml || !d.path.contains('#'), "{e}");
    }
}

fn cluster(text: &str) {
    if let Err(e) = berth::cluster::parse_str("fuzz.toml", text, catalog()) {
        located_within(text, &e, true);
    }
}

fn scenario(text: &str) {
    if let Err(e) = berth::scenario::parse(Path::new("scenarios/fuzz.toml"), text) {
        located_within(text, &e, true);
    }
}

fn task_def(text: &str) {
    if let Err(e) = berth::taskdef::parse_str("fuzz.json", text) {
        located_within(text, &e, false);
    }
}

/// Values that have broken parsers before, or sit on a limit: huge, negative, fractional and
/// non-numeric numbers; durations and distributions at and past their ends.
const HOSTILE: &[&str] = &[
    "0",
    "-1",
    "1.5",
    "255",
    "256",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "nan",
    "inf",
    "\"\"",
    "\"x\"",
    "\"1ms\"",
    "\"0s\"",
    "\"999999999999999d\"",
    "\"1e15ms\"",
    "\"1.5.5h\"",
    "\"exp(1ms)\"",
    "\"exp(0s)\"",
    "\"lognormal(1ms, 1000)\"",
    "\"normal(1d, 1000d)\"",
    "\"uniform(5m, 1m)\"",
    "\"ftp://x\"",
    "\"ssh://a@b:22\"",
    "\"tcp://:0\"",
    "\"é\u{0}\u{202e}\"",
    "[]",
    "[1, \"a\", {}]",
    "{}",
    "{ every = \"1ms\" }",
    "true",
    "1979-05-27T07:32:00Z",
];

const SCENARIO_KEYS: &[&str] = &[
    "name",
    "description",
    "duration",
    "cluster",
    "seed",
    "task_def",
    "count",
    "at",
    "every",
    "arrivals",
    "until",
    "runtime",
    "exit_code",
    "after",
    "desired",
    "scale",
    "scale_every",
    "cheaper",
    "max_total_usd",
    "max_wait_p95",
    "max_failed",
    "min_savings_pct",
];

const CLUSTER_KEYS: &[&str] = &[
    "name",
    "region",
    "instance_type",
    "count",
    "zone",
    "attributes",
    "usd_per_hour",
    "vcpu",
    "memory_mib",
    "arch",
    "os",
    "docker",
    "gpus",
    "reserved_memory_mib",
    "placement_strategy",
    "image_pull",
    "container_start",
    "provisioning",
    "spot",
    "modes",
    "type",
    "field",
];

const SCENARIO_TABLES: &[&str] = &["", "[[tasks]]", "[[services]]", "[expect]"];
const CLUSTER_TABLES: &[&str] = &["", "[[hosts]]", "[ecs]", "[fargate]", "[[costs]]"];

/// A TOML-shaped document: table headers and `key = value` lines from the given vocabulary.
fn document(
    tables: &'static [&'static str],
    keys: &'static [&'static str],
) -> impl Strategy<Value = String> {
    let line = (
        prop::sample::select(tables),
        prop::collection::vec(
            (
                prop::sample::select(keys),
                prop_oneof![
                    prop::sample::select(HOSTILE).prop_map(str::to_string),
                    (0u64..100_000).prop_map(|n| n.to_string()),
                    "\"[0-9]{1,4}(ms|s|m|h|d)\"".prop_map(|s| s),
                ],
            ),
            0..6,
        ),
    );
    prop::collection::vec(line, 0..6).prop_map(|sections| {
        let mut out = String::from("duration = \"1d\"\nname = \"x\"\nregion = \"us-east-1\"\n");
        for (header, kvs) in sections {
            out.push_str(header);
            out.push('\n');
            for (k, v) in kvs {
                out.push_str(&format!("{k} = {v}\n"));
            }
        }
        out
    })
}

/// One edit of a real file.
#[derive(Debug, Clone)]
enum Edit {
    /// Remove `len` bytes at a position.
    Delete(prop::sample::Index, usize),
    /// Insert bytes at a position (lossily made text).
    Insert(prop::sample::Index, Vec<u8>),
    /// Replace the value after the `n`th `=` with a hostile one.
    Value(prop::sample::Index, &'static str),
    /// Repeat a line (a duplicate key or table).
    Duplicate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<prop::sample::Index>(), prop::sample::select(HOSTILE))
            .prop_map(|(i, v)| Edit::Value(i, v)),
        any::<prop::sample::Index>().prop_map(Edit::Duplicate),
    ]
}

/// Applies the edits to `text`, keeping it valid UTF-8 (cuts fall back to char boundaries).
fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    let floor = |s: &str, mut i: usize| {
        i = i.min(s.len());
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    for e in edits {
        match e {
            Edit::Delete(i, n) => {
                let a = floor(&s, i.index(s.len() + 1));
                let b = floor(&s, a + n);
                s.replace_range(a..b, "");
            }
            Edit::Insert(i, bytes) => {
                let a = floor(&s, i.index(s.len() + 1));
                s.insert_str(a, &String::from_utf8_lossy(bytes));
            }
            Edit::Value(i, v) => {
                let eqs: Vec<usize> = s.match_indices('=').map(|(k, _)| k).collect();
                if eqs.is_empty() {
                    continue;
                }
                let at = eqs[i.index(eqs.len())] + 1;
                let end = s[at..].find('\n').map_or(s.len(), |k| at + k);
                s.replace_range(at..end, &format!(" {v}"));
            }
            Edit::Duplicate(i) => {
                let lines: Vec<&str> = s.split('\n').collect();
                let k = i.index(lines.len());
                let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                v.insert(k, lines[k].to_string());
                s = v.join("\n");
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        cluster(&text);
        scenario(&text);
        task_def(&text);
    }

    #[test]
    fn random_scenario_documents_never_panic(text in document(SCENARIO_TABLES, SCENARIO_KEYS)) {
        scenario(&text);
    }

    #[test]
    fn random_cluster_documents_never_panic(text in document(CLUSTER_TABLES, CLUSTER_KEYS)) {
        cluster(&text);
    }

    #[test]
    fn mutated_shipped_clusters_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        cluster(&mutate(CLUSTERS[which.index(CLUSTERS.len())], &edits));
    }

    #[test]
    fn mutated_shipped_scenarios_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        scenario(&mutate(SCENARIOS[which.index(SCENARIOS.len())], &edits));
    }

    #[test]
    fn mutated_shipped_task_definitions_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        task_def(&mutate(TASK_DEFS[which.index(TASK_DEFS.len())], &edits));
    }
}

/// The hostile values one at a time in every key of every shipped file: a deterministic sweep
/// that does not depend on the random cases finding them.
#[test]
fn every_hostile_value_in_every_key_of_the_shipped_files() {
    for (files, parse) in [(CLUSTERS, cluster as fn(&str)), (SCENARIOS, scenario as fn(&str))] {
        for text in files {
            let n = text.matches('=').count();
            for k in 0..n {
                for v in HOSTILE {
                    parse(&replace_nth_value(text, k, v));
                }
            }
        }
    }
}

/// `text` with the value after its `k`th `=` replaced by `v`.
fn replace_nth_value(text: &str, k: usize, v: &str) -> String {
    let at = text.match_indices('=').nth(k).map(|(i, _)| i + 1).unwrap_or(text.len());
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let mut s = text.to_string();
    s.replace_range(at..end, &format!(" {v}"));
    s
}
