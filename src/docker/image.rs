//! The workload image `berth/workload:latest`, built by berth itself: no registry, no network.
//!
//! The image is `FROM scratch` plus the `berth-workload` binary and the shared libraries it
//! needs. cargo builds that binary as an ordinary dynamically linked glibc executable next to
//! the `berth` executable, so berth asks `ldd` which libraries (and which dynamic loader) it
//! uses and copies them into the image at the same paths. The build context is a tar made with
//! the `tar` crate and sent to the classic builder (`POST /build`, `FROM scratch` + `COPY`),
//! which needs no registry because `scratch` is not pulled.
//!
//! A content hash of every file (names and bytes) is stored as the image label
//! `io.berth.content-hash`: if the engine already has `berth/workload:latest` with the same
//! hash, nothing is built. A run loads the image into every engine its cluster names.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;

use super::labels::{self, Fnv};
use super::DockerClient;

/// The tag of berth's workload image.
pub const WORKLOAD_IMAGE: &str = "berth/workload:latest";
/// Where the binary sits inside the image.
pub const WORKLOAD_PATH: &str = "/berth-workload";
/// Overrides where berth looks for the `berth-workload` binary.
pub const WORKLOAD_BIN_ENV: &str = "BERTH_WORKLOAD_BIN";

/// Finds the `berth-workload` binary: `$BERTH_WORKLOAD_BIN`, else next to the running
/// executable (or one directory up, which is where cargo puts binaries relative to test
/// executables in `target/*/deps`).
pub fn workload_binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(WORKLOAD_BIN_ENV) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("{WORKLOAD_BIN_ENV}={} is not a file", p.display());
        }
        return Ok(p);
    }
    let exe = std::env::current_exe().context("finding the berth executable")?;
    let dir = exe.parent().context("the berth executable has no directory")?;
    for cand in [dir.join("berth-workload"), dir.join("../berth-workload")] {
        if cand.is_file() {
            return Ok(cand);
        }
    }
    bail!(
        "cannot find the berth-workload binary next to {} (build it with `cargo build --bins`, or set {WORKLOAD_BIN_ENV}=/path/to/berth-workload)",
        exe.display()
    )
}

/// The files of the image: path inside the image → path on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rootfs {
    pub files: BTreeMap<String, PathBuf>,
}

impl Rootfs {
    /// The binary at [`WORKLOAD_PATH`] plus every library `ldd` lists for it.
    pub fn for_binary(bin: &Path) -> anyhow::Result<Rootfs> {
        let mut files = BTreeMap::new();
        files.insert(WORKLOAD_PATH.trim_start_matches('/').to_string(), bin.to_path_buf());
        for lib in shared_libraries(bin)? {
            let inside = lib.to_string_lossy().trim_start_matches('/').to_string();
            files.insert(inside, lib);
        }
        Ok(Rootfs { files })
    }

    /// A hash of the image recipe (Dockerfile, label scheme) and every file's name and bytes
    /// (symlinks followed).
    pub fn content_hash(&self) -> anyhow::Result<String> {
        let mut h = Fnv::new();
        h.write(RECIPE_VERSION.as_bytes());
        h.write(dockerfile().as_bytes());
        for (inside, host) in &self.files {
            h.write(inside.as_bytes());
            h.write(&[0]);
            let bytes =
                std::fs::read(host).with_context(|| format!("reading {}", host.display()))?;
            h.write(&(bytes.len() as u64).to_le_bytes());
            h.write(&bytes);
        }
        Ok(format!("{:016x}", h.finish()))
    }

    /// The build context: a `Dockerfile` and the files under `rootfs/`, with fixed mtimes and
    /// owners so the same files make the same tar.
    pub fn build_context(&self) -> anyhow::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        append(&mut builder, "Dockerfile", dockerfile().as_bytes(), 0o644)?;
        for (inside, host) in &self.files {
            let bytes =
                std::fs::read(host).with_context(|| format!("reading {}", host.display()))?;
            append(&mut builder, &format!("rootfs/{inside}"), &bytes, 0o755)?;
        }
        Ok(builder.into_inner()?)
    }
}

fn append(
    b: &mut tar::Builder<Vec<u8>>,
    path: &str,
    bytes: &[u8],
    mode: u32,
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut header, path, bytes)
        .with_context(|| format!("adding {path} to the image tar"))?;
    Ok(())
}

/// Bump when the image's labels or build options change, so cached images are rebuilt.
const RECIPE_VERSION: &str = "2";

fn dockerfile() -> String {
    format!("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"{WORKLOAD_PATH}\"]\nCMD [\"help\"]\n")
}

/// The shared libraries (and dynamic loader) `bin` needs, as absolute paths; empty for a
/// static binary. Asks `ldd`, which is part of glibc on every Linux that can build berth.
pub fn shared_libraries(bin: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(bin)
        .output()
        .with_context(|| format!("running `ldd {}` to find its libraries", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if text.contains("statically linked") || err.contains("not a dynamic executable") {
            return Ok(Vec::new());
        }
        bail!("`ldd {}` failed: {}", bin.display(), err.trim());
    }
    parse_ldd(&text)
}

/// Parses `ldd` output: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` and
/// `/lib64/ld-linux-x86-64.so.2 (0x...)`; `linux-vdso.so.1 (0x...)` is the kernel's, skipped.
pub fn parse_ldd(text: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut libs = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("statically linked") {
            continue;
        }
        let target = match line.split_once("=>") {
            Some((name, rest)) => {
                let path = rest.split_whitespace().next().unwrap_or("");
                if path == "not" {
                    bail!("`ldd` cannot find library {} needed by berth-workload", name.trim());
                }
                path
            }
            None => line.split_whitespace().next().unwrap_or(""),
        };
        if target.starts_with('/') {
            libs.push(PathBuf::from(target));
        }
    }
    Ok(libs)
}

/// What [`ensure_workload_image`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOutcome {
    pub hash: String,
    /// False when the engine already had the image with the same content hash.
    pub built: bool,
}

/// Makes sure `client`'s engine has [`WORKLOAD_IMAGE`] built from `rootfs`.
pub async fn ensure_workload_image(
    client: &DockerClient,
    rootfs: &Rootfs,
) -> anyhow::Result<ImageOutcome> {
    let hash = rootfs.content_hash()?;
    let mut previous = None;
    if let Ok(img) = client.raw().inspect_image(WORKLOAD_IMAGE).await {
        let labels = img.config.and_then(|c| c.labels).unwrap_or_default();
        if labels.get(labels::CONTENT_HASH) == Some(&hash) {
            return Ok(ImageOutcome { hash, built: false });
        }
        if labels.contains_key(labels::IMAGE) || labels.contains_key(labels::CONTENT_HASH) {
            previous = img.id;
        }
    }
    let context = rootfs.build_context()?;
    let image_labels: HashMap<String, String> = HashMap::from([
        (labels::IMAGE.to_string(), "workload".to_string()),
        (labels::CONTENT_HASH.to_string(), hash.clone()),
    ]);
    let opts = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(WORKLOAD_IMAGE)
        .labels(&image_labels)
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream = client.raw().build_image(opts, None, Some(bollard::body_full(context.into())));
    let mut log = String::new();
    while let Some(item) = stream.next().await {
        let info =
            item.with_context(|| format!("building {WORKLOAD_IMAGE} on {}", client.endpoint()))?;
        if let Some(detail) = info.error_detail {
            bail!(
                "building {WORKLOAD_IMAGE} on {} failed: {}\n{log}",
                client.endpoint(),
                detail.message.unwrap_or_default()
            );
        }
        if let Some(s) = info.stream {
            log.push_str(&s);
        }
    }
    // The old build is now untagged; remove it so rebuilds do not pile up dangling images.
    // Not forced: if a container still uses it, it stays (and `berth cleanup --images` or
    // `docker image prune` can take it later).
    if let Some(old) = previous {
        let _ = client
            .raw()
            .remove_image(&old, None::<bollard::query_parameters::RemoveImageOptions>, None)
            .await;
    }
    Ok(ImageOutcome { hash, built: true })
}

/// Builds the rootfs from the located binary and loads it into every engine given.
pub async fn load_into_all(clients: &[DockerClient]) -> anyhow::Result<Vec<ImageOutcome>> {
    let rootfs = Rootfs::for_binary(&workload_binary()?)?;
    let mut out = Vec::new();
    for c in clients {
        out.push(ensure_workload_image(c, &rootfs).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        let libs = parse_ldd(text).unwrap();
        assert_eq!(
            libs,
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        assert!(parse_ldd("\tstatically linked\n").unwrap().is_empty());
        assert!(parse_ldd("\tlibfoo.so => not found\n")
            .unwrap_err()
            .to_string()
            .contains("libfoo"));
    }

    #[test]
    fn context_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bin");
        std::fs::write(&f, b"hello").unwrap();
        let rootfs = Rootfs { files: BTreeMap::from([("berth-workload".to_string(), f.clone())]) };
        assert_eq!(rootfs.build_context().unwrap(), rootfs.build_context().unwrap());
        let h1 = rootfs.content_hash().unwrap();
        std::fs::write(&f, b"hello!").unwrap();
        assert_ne!(h1, rootfs.content_hash().unwrap());
    }
}
