//! User price files read from disk: overrides apply, errors name the file, line and key.

use std::io::Write;

use berth::cluster::{load_with, parse_str};
use berth::pricing::Catalog;
use rust_decimal_macros::dec;

#[test]
fn a_price_file_prices_a_cluster_in_another_region() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "[[ec2]]\nregion = \"eu-west-1\"\ninstance_type = \"m5.large\"\nusd_per_hour = \"0.107\"\nsource = \"my bill\"").unwrap();
    let cat = Catalog::builtin().with_overrides(f.path()).unwrap();
    let c = parse_str(
        "c.toml",
        "name = \"eu\"\nregion = \"eu-west-1\"\n[[hosts]]\ninstance_type = \"m5.large\"\n",
        &cat,
    )
    .unwrap();
    assert_eq!(c.hosts[0].usd_per_hour, dec!(0.107));
    assert_eq!(c.hosts[0].memory_mib, 8192);
    // Without the price file the same cluster is refused, with a hint.
    let e = parse_str(
        "c.toml",
        "name = \"eu\"\nregion = \"eu-west-1\"\n[[hosts]]\ninstance_type = \"m5.large\"\n",
        &Catalog::builtin(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("c.toml:4:17: error: hosts[0].instance_type"), "{e}");
}

#[test]
fn price_file_errors_render_like_compiler_errors() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "[billing]\nfargate_windows_minmum = \"15m\"").unwrap();
    let e = Catalog::builtin().with_overrides(f.path()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains(":2:1: error: billing.fargate_windows_minmum: unknown key"), "{text}");
    assert!(text.contains("did you mean `fargate_windows_minimum`"), "{text}");
    let e = Catalog::builtin()
        .with_overrides(std::path::Path::new("/nonexistent/prices.toml"))
        .unwrap_err();
    assert!(e.to_string().contains("cannot read file"));
}

#[test]
fn loading_a_missing_cluster_file_says_so() {
    let e =
        load_with(std::path::Path::new("/nonexistent/c.toml"), &Catalog::builtin()).unwrap_err();
    assert!(e.to_string().contains("cannot read file"), "{e}");
}
