//! The `berth` subcommands. Each file owns one subcommand: its arguments and its `run`.
//! Exit codes: 0 success, 1 a check failed (invalid file, unmet expectation), 2 usage, I/O or
//! input file errors.

use tracing_subscriber::EnvFilter;

pub mod bench;
pub mod cleanup;
pub mod ps;
pub mod report;
pub mod run;
pub mod simulate;
pub mod validate;

/// Logs go to stderr; `-v` raises the level, `RUST_LOG` overrides it.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Renders an error chain for people: the error, then its causes on indented lines.
pub fn render_error(err: &anyhow::Error) -> String {
    let mut s = format!("error: {err}");
    for cause in err.chain().skip(1) {
        s.push_str(&format!("\n  caused by: {cause}"));
    }
    s
}
