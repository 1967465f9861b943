//! `berth-workload`: the program inside berth's own container image (`berth/workload`).
//!
//! It does what a demonstration workload needs and nothing else: sleep, burn a share of a CPU,
//! hold memory, serve a health endpoint, write log lines, exit with a chosen code. berth uses it
//! for the example task definitions and as the stand-in for images that are not present locally.
//!
//! It is deliberately std-only (no tokio, no libc crate) so that the image stays a few files:
//! the binary plus the shared libraries `ldd` names (see `src/docker/image.rs`).
//!
//! # Signals
//! In a container this program is PID 1. The kernel gives PID 1 no default signal actions, so
//! without a handler `docker stop` would wait the whole stop timeout and then SIGKILL. We install
//! a tiny handler for SIGTERM and SIGINT through libc's `signal(2)` (std already links libc, so an
//! `extern "C"` declaration is all it takes) that calls `_exit(143)`: `_exit` is
//! async-signal-safe, and 143 (128 + SIGTERM) is the exit code Docker reports for a process that
//! a SIGTERM killed, so `docker stop` looks the same as for an ordinary program. This works
//! without `init: true` and on any engine.
//!
//! # Usage
//! ```text
//! berth-workload sleep SECONDS
//! berth-workload burn --cpu FRACTION --seconds N
//! berth-workload hold --mib N [--seconds N]
//! berth-workload serve --port P [--seconds N]
//! berth-workload health --port P
//! berth-workload log --lines N [--every 1s]
//! berth-workload exit CODE
//! berth-workload run [--seconds N] [--cpu F] [--mib M] [--port P] [--exit C]
//! ```
//! `SECONDS` may be fractional (`0.5`); a missing `--seconds` means "until stopped".

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: berth-workload <command> [options]
  sleep SECONDS                         sleep, then exit 0
  burn --cpu FRACTION --seconds N       use FRACTION of a CPU (1.5 = one and a half) for N s
  hold --mib N [--seconds N]            touch and hold N MiB (until stopped without --seconds)
  serve --port P [--seconds N]          HTTP server answering GET /health with 200
  health --port P                       exit 0 if the server on 127.0.0.1:P answers 200
  log --lines N [--every 1s]            print N numbered lines, one per interval
  exit CODE                             exit with CODE
  run [--seconds N] [--cpu F] [--mib M] [--port P] [--exit C]
                                        all at once: hold M MiB, burn F CPU, serve on P,
                                        and after N s exit with C (the stand-in workload)";

mod signals {
    //! SIGTERM/SIGINT → `_exit(143)`; see the module docs for why.
    use std::os::raw::c_int;

    const SIGINT: c_int = 2;
    const SIGTERM: c_int = 15;

    extern "C" {
        fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
        fn _exit(status: c_int) -> !;
    }

    extern "C" fn on_signal(_sig: c_int) {
        // SAFETY: `_exit` is async-signal-safe; it ends the process without running anything else.
        unsafe { _exit(143) }
    }

    pub fn install() {
        // SAFETY: installing a handler that only calls an async-signal-safe function.
        unsafe {
            signal(SIGTERM, on_signal);
            signal(SIGINT, on_signal);
        }
    }
}

/// A parsed command line: the subcommand, its positional arguments and `--flag value` pairs.
struct Cmdline {
    positional: Vec<String>,
    flags: Vec<(String, String)>,
}

impl Cmdline {
    fn parse(args: &[String]) -> Result<Cmdline, String> {
        let mut positional = Vec::new();
        let mut flags = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--") {
                let (name, value) = match name.split_once('=') {
                    Some((n, v)) => (n.to_string(), v.to_string()),
                    None => {
                        let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                        (name.to_string(), v.clone())
                    }
                };
                flags.push((name, value));
            } else {
                positional.push(a.clone());
            }
        }
        Ok(Cmdline { positional, flags })
    }

    fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn check_flags(&self, allowed: &[&str]) -> Result<(), String> {
        for (n, _) in &self.flags {
            if !allowed.contains(&n.as_str()) {
                return Err(format!(
                    "unknown option --{n} (expected one of: --{})",
                    allowed.join(", --")
                ));
            }
        }
        Ok(())
    }

    fn f64_flag(&self, name: &str) -> Result<Option<f64>, String> {
        self.flag(name).map(|v| parse_nonneg(name, v)).transpose()
    }

    fn u16_flag(&self, name: &str) -> Result<Option<u16>, String> {
        self.flag(name)
            .map(|v| {
                v.parse::<u16>().map_err(|_| format!("--{name}: expected a port number, got {v:?}"))
            })
            .transpose()
    }
}

fn parse_nonneg(what: &str, v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("{what}: expected a non-negative number, got {v:?}")),
    }
}

/// `"1s"`, `"500ms"`, `"2m"` or a bare number of seconds.
fn parse_interval(v: &str) -> Result<Duration, String> {
    let (num, mult) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60.0)
    } else {
        (v, 1.0)
    };
    let x = parse_nonneg("--every", num)?;
    Ok(Duration::from_secs_f64(x * mult))
}

fn main() -> ExitCode {
    signals::install();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("berth-workload: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(args: &[String]) -> Result<u8, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    let cl = Cmdline::parse(rest)?;
    match cmd.as_str() {
        "sleep" => {
            cl.check_flags(&[])?;
            let secs = cl.positional.first().ok_or("sleep needs SECONDS")?;
            thread::sleep(Duration::from_secs_f64(parse_nonneg("SECONDS", secs)?));
            Ok(0)
        }
        "burn" => {
            cl.check_flags(&["cpu", "seconds"])?;
            let cpu = cl.f64_flag("cpu")?.ok_or("burn needs --cpu")?;
            let secs = cl.f64_flag("seconds")?;
            burn(cpu, secs.map(Duration::from_secs_f64));
            Ok(0)
        }
        "hold" => {
            cl.check_flags(&["mib", "seconds"])?;
            let mib = cl.f64_flag("mib")?.ok_or("hold needs --mib")?;
            let held = hold(mib);
            wait_for(cl.f64_flag("seconds")?);
            drop(held);
            Ok(0)
        }
        "serve" => {
            cl.check_flags(&["port", "seconds"])?;
            let port = cl.u16_flag("port")?.ok_or("serve needs --port")?;
            serve(port)?;
            wait_for(cl.f64_flag("seconds")?);
            Ok(0)
        }
        "health" => {
            cl.check_flags(&["port"])?;
            let port = cl.u16_flag("port")?.ok_or("health needs --port")?;
            Ok(if health(port) { 0 } else { 1 })
        }
        "log" => {
            cl.check_flags(&["lines", "every"])?;
            let lines: u64 = cl
                .flag("lines")
                .ok_or("log needs --lines")?
                .parse()
                .map_err(|_| "--lines: expected a whole number".to_string())?;
            let every = parse_interval(cl.flag("every").unwrap_or("1s"))?;
            let mut out = std::io::stdout().lock();
            for i in 1..=lines {
                let _ = writeln!(out, "berth-workload log line {i}/{lines}");
                let _ = out.flush();
                if i < lines {
                    thread::sleep(every);
                }
            }
            Ok(0)
        }
        "exit" => {
            cl.check_flags(&[])?;
            let code = cl.positional.first().ok_or("exit needs CODE")?;
            code.parse::<u8>().map_err(|_| format!("CODE: expected 0..=255, got {code:?}"))
        }
        "run" => {
            cl.check_flags(&["seconds", "cpu", "mib", "port", "exit"])?;
            let exit: u8 = match cl.flag("exit") {
                Some(v) => v.parse().map_err(|_| format!("--exit: expected 0..=255, got {v:?}"))?,
                None => 0,
            };
            let secs = cl.f64_flag("seconds")?;
            let held = cl.f64_flag("mib")?.map(hold);
            if let Some(port) = cl.u16_flag("port")? {
                serve(port)?;
            }
            println!(
                "berth-workload run: seconds={} cpu={} mib={} exit={exit}",
                secs.map_or("until stopped".into(), |s| s.to_string()),
                cl.flag("cpu").unwrap_or("0"),
                cl.flag("mib").unwrap_or("0"),
            );
            let cpu = cl.f64_flag("cpu")?.unwrap_or(0.0);
            if cpu > 0.0 {
                burn(cpu, secs.map(Duration::from_secs_f64));
            } else {
                wait_for(secs);
            }
            drop(held);
            Ok(exit)
        }
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(0)
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Sleeps for `secs`, or forever (until a signal ends the process) when `None`.
fn wait_for(secs: Option<f64>) {
    match secs {
        Some(s) => thread::sleep(Duration::from_secs_f64(s)),
        None => loop {
            thread::sleep(Duration::from_secs(3600));
        },
    }
}

/// Uses `share` of CPUs (1.0 = one full CPU) for `dur` (forever when `None`): one thread per
/// started CPU, each busy for its share of every 100 ms period and asleep for the rest. The
/// period is short enough that cgroup accounting over a second sees a steady share.
fn burn(share: f64, dur: Option<Duration>) {
    let threads = share.ceil().max(1.0) as usize;
    let per_thread = (share / threads as f64).clamp(0.0, 1.0);
    let deadline = dur.map(|d| Instant::now() + d);
    let handles: Vec<_> =
        (0..threads).map(|_| thread::spawn(move || burn_one(per_thread, deadline))).collect();
    for h in handles {
        let _ = h.join();
    }
}

fn burn_one(share: f64, deadline: Option<Instant>) {
    const PERIOD: Duration = Duration::from_millis(100);
    let busy = PERIOD.mul_f64(share);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    loop {
        let start = Instant::now();
        if deadline.is_some_and(|d| start >= d) {
            return;
        }
        while start.elapsed() < busy {
            // Cheap arithmetic the optimiser cannot remove.
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            std::hint::black_box(x);
        }
        let rest = PERIOD.saturating_sub(start.elapsed());
        let rest = match deadline {
            Some(d) => rest.min(d.saturating_duration_since(Instant::now())),
            None => rest,
        };
        thread::sleep(rest);
    }
}

/// Allocates `mib` MiB and writes one byte per 4 KiB page so that the memory is really resident
/// (and counted by the container's memory cgroup: over the limit, the kernel OOM-kills us).
fn hold(mib: f64) -> Vec<u8> {
    let bytes = (mib * 1024.0 * 1024.0) as usize;
    let mut v = vec![0u8; bytes];
    for i in (0..bytes).step_by(4096) {
        v[i] = 1;
    }
    std::hint::black_box(&v);
    v
}

/// Starts the HTTP server in the background: GET /health → 200 "ok", anything else → 404.
fn serve(port: u16) -> Result<(), String> {
    let listener = TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port)))
        .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            thread::spawn(move || answer(conn));
        }
    });
    Ok(())
}

fn answer(mut conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 2048];
    let mut len = 0;
    // Read until the end of the request line (we ignore headers and bodies).
    while len < buf.len() {
        match conn.read(&mut buf[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                len += n;
                if buf[..len].contains(&b'\n') {
                    break;
                }
            }
        }
    }
    let line = String::from_utf8_lossy(&buf[..len]);
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = match path {
        "/health" | "/" => ("200 OK", "ok\n"),
        _ => ("404 Not Found", "not found\n"),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.shutdown(Shutdown::Write);
}

/// The Docker health check: true if `GET /health` on 127.0.0.1:port answers 200 within 2 s.
fn health(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    if conn.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n").is_err() {
        return false;
    }
    let mut resp = Vec::new();
    let _ = conn.read_to_end(&mut resp);
    resp.starts_with(b"HTTP/1.1 200") || resp.starts_with(b"HTTP/1.0 200")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_flags_both_ways() {
        let cl = Cmdline::parse(&s(&["--cpu", "0.5", "--seconds=3"])).unwrap();
        assert_eq!(cl.flag("cpu"), Some("0.5"));
        assert_eq!(cl.flag("seconds"), Some("3"));
        assert!(cl.check_flags(&["cpu"]).is_err());
        assert!(Cmdline::parse(&s(&["--cpu"])).is_err());
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_interval("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse_interval("-1s").is_err());
    }

    #[test]
    fn exit_codes_and_errors() {
        assert_eq!(dispatch(&s(&["exit", "3"])), Ok(3));
        assert!(dispatch(&s(&["exit", "300"])).is_err());
        assert!(dispatch(&s(&["frobnicate"])).is_err());
        assert_eq!(dispatch(&s(&["run", "--seconds", "0", "--exit", "7"])), Ok(7));
    }

    #[test]
    fn serve_and_health_answer() {
        // Pick a free port by binding to 0 first.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert!(!health(port));
        serve(port).unwrap();
        assert!(health(port));
    }

    #[test]
    fn hold_is_resident_size() {
        assert_eq!(hold(1.0).len(), 1024 * 1024);
    }
}
