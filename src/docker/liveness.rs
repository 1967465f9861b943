//! Which of berth's runs are still alive, so that two runs on one engine leave each other
//! alone.
//!
//! Every object a run creates carries `io.berth.owner=<hostname>/<pid>` ([`labels::OWNER`]),
//! and `berth run` holds an exclusive `flock(2)` on a lock file named after its run id
//! ([`RunLock`]) for as long as it lives. The kernel drops the lock when the process ends, also
//! on `kill -9`, so a lock file that nobody holds is a dead run's. Without a lock file (a run
//! through the library, as the tests do) the owner's pid says it. A run started on another
//! machine cannot be checked from here: it counts as possibly alive, and only `--force`
//! removes its objects.
//!
//! [`labels::OWNER`]: super::labels::OWNER

use std::fs::File;
use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// What is known about a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Its process holds its lock (or, without a lock file, its pid exists) on this machine.
    Live { pid: u32 },
    /// Its process is gone: what it left is leftovers.
    Dead,
    /// Started on another machine (`host`): berth cannot tell whether it still runs.
    Elsewhere { host: String },
}

impl RunState {
    /// Whether berth may remove the run's objects without `--force`.
    pub fn is_dead(&self) -> bool {
        matches!(self, RunState::Dead)
    }

    /// A few words for `berth ps` and cleanup messages.
    pub fn describe(&self) -> String {
        match self {
            RunState::Live { pid } => format!("running, pid {pid}"),
            RunState::Dead => "not running: left behind".to_string(),
            RunState::Elsewhere { host } => {
                format!("started on {host}; cannot tell from here whether it still runs")
            }
        }
    }
}

/// The directory of the lock files: `$XDG_RUNTIME_DIR/berth-runs` (per user), else
/// `<temp dir>/berth-runs-<uid>` (per user too, so one user's directory never blocks
/// another's runs). `BERTH_RUN_DIR` overrides. Another user's run has no lock file here; its
/// pid then says whether it lives.
pub fn lock_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BERTH_RUN_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from).filter(|d| d.is_dir()) {
        return d.join("berth-runs");
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("berth-runs-{uid}"))
}

fn lock_path(dir: &Path, run: &str) -> PathBuf {
    // Run ids are berth's own hex (or test names); keep the file name plain anyway.
    let clean: String =
        run.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    dir.join(format!("{clean}.lock"))
}

/// The proof that a run is alive: an exclusive `flock` on its lock file, held until drop.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock for `run` in [`lock_dir`].
    pub fn acquire(run: &str) -> std::io::Result<RunLock> {
        RunLock::acquire_in(&lock_dir(), run)
    }

    pub fn acquire_in(dir: &Path, run: &str) -> std::io::Result<RunLock> {
        std::fs::create_dir_all(dir)?;
        let path = lock_path(dir, run);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        // A moment's retry: `berth ps` or a cleanup may be testing the lock right now.
        let mut locked = try_lock(&file)?;
        for _ in 0..10 {
            if locked {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            locked = try_lock(&file)?;
        }
        if !locked {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!("{} is held by another berth run", path.display()),
            ));
        }
        file.set_len(0)?;
        writeln!(file, "{}", std::process::id())?;
        Ok(RunLock { _file: file, path })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked, so no one sees an unlocked file of a live run.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `flock(LOCK_EX | LOCK_NB)`: `Ok(false)` when another open file holds it.
fn try_lock(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock on a valid, open file descriptor; no memory is passed.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Whether a lock file is held by a live process (taking it for a moment when not).
fn held(path: &Path) -> Option<bool> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path).ok()?;
    match try_lock(&file) {
        // We got it: nobody holds it. Dropping the file releases it again.
        Ok(true) => Some(false),
        Ok(false) => Some(true),
        Err(_) => None,
    }
}

/// This machine's host name (`gethostname(2)`), or `localhost`.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The state of `run`, whose objects carry the owner label `owner` (if any).
pub fn state(run: &str, owner: Option<&str>) -> RunState {
    state_in(&lock_dir(), &hostname(), run, owner)
}

/// [`state`] with the lock directory and this machine's name given (tests).
pub fn state_in(dir: &Path, this_host: &str, run: &str, owner: Option<&str>) -> RunState {
    // Objects made before berth labelled owners: their run is long gone or cannot be told.
    let Some((host, pid)) = owner.and_then(|o| o.rsplit_once('/')) else {
        return RunState::Dead;
    };
    let Ok(pid) = pid.parse::<u32>() else { return RunState::Dead };
    if host != this_host {
        return RunState::Elsewhere { host: host.to_string() };
    }
    match held(&lock_path(dir, run)) {
        Some(true) => RunState::Live { pid },
        Some(false) => {
            // A dead run's lock file: tidy it up.
            let _ = std::fs::remove_file(lock_path(dir, run));
            RunState::Dead
        }
        // No lock file: a run through the library; its process says it.
        None if pid_exists(pid) => RunState::Live { pid },
        None => RunState::Dead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_live_and_a_released_one_dead() {
        let dir = tempfile::tempdir().unwrap();
        let me = format!("box/{}", std::process::id());
        let lock = RunLock::acquire_in(dir.path(), "r1").unwrap();
        assert_eq!(
            state_in(dir.path(), "box", "r1", Some(&me)),
            RunState::Live { pid: std::process::id() }
        );
        // A second run cannot take the same run's lock.
        assert!(RunLock::acquire_in(dir.path(), "r1").is_err());
        drop(lock);
        assert!(!lock_path(dir.path(), "r1").exists(), "the lock file is removed on drop");
        // A crashed run (kill -9) leaves its file unlocked: dead, and the file is tidied.
        std::fs::write(lock_path(dir.path(), "r2"), "1\n").unwrap();
        assert_eq!(state_in(dir.path(), "box", "r2", Some(&me)), RunState::Dead);
        assert!(!lock_path(dir.path(), "r2").exists());
    }

    #[test]
    fn without_a_lock_file_the_pid_decides() {
        let dir = tempfile::tempdir().unwrap();
        let me = format!("box/{}", std::process::id());
        assert!(matches!(state_in(dir.path(), "box", "r", Some(&me)), RunState::Live { .. }));
        // pid_t max on Linux is 4194304; this one cannot exist.
        assert_eq!(state_in(dir.path(), "box", "r", Some("box/999999999")), RunState::Dead);
        assert_eq!(state_in(dir.path(), "box", "r", None), RunState::Dead);
        assert_eq!(
            state_in(dir.path(), "box", "r", Some("other/12")),
            RunState::Elsewhere { host: "other".into() }
        );
    }
}
