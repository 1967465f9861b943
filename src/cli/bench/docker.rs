//! `berth bench docker`: the cost of berth's Docker layer over plain bollard.
//!
//! Starts, waits for and removes N short containers (`berth-workload exit 0`, no network)
//! through berth's [`DockerClient`] (agent-style names, labels, exit/OOM inspection, error
//! mapping) and the same number through the bare bollard calls, at the same concurrency, in
//! the same process and run; prints both wall times and their ratio. Both sides label their
//! containers so a crash leaves nothing `berth cleanup` cannot find.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions,
    WaitContainerOptionsBuilder,
};
use futures_util::{stream, StreamExt};

use crate::docker::image::{self, WORKLOAD_IMAGE, WORKLOAD_PATH};
use crate::docker::labels::{self, TaskPlacement};
use crate::docker::{cleanup, DockerClient};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Containers per side.
    #[arg(long, default_value_t = 100)]
    pub containers: usize,
    /// Containers in flight at once (throughput on 2 cores plateaus at about 4).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Output format: text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Docker engine endpoint; default: DOCKER_HOST or the local socket.
    #[arg(long = "docker", value_name = "ENDPOINT")]
    pub endpoint: Option<String>,
    /// Also measure usage sampling: start this many sleeping containers and time reading all
    /// their cgroup counters (what `berth run` does once a second). 0 skips it.
    #[arg(long, default_value_t = 0)]
    pub sample_containers: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !matches!(args.format.as_str(), "text" | "json") {
        anyhow::bail!("--format: expected text or json, got {:?}", args.format);
    }
    if args.containers == 0 || args.concurrency == 0 {
        anyhow::bail!("--containers and --concurrency must be at least 1");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(run_async(args))
}

fn body(run: &str) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(WORKLOAD_IMAGE.to_string()),
        entrypoint: Some(vec![WORKLOAD_PATH.to_string()]),
        cmd: Some(vec!["exit".to_string(), "0".to_string()]),
        labels: Some(labels::base(run, "bench")),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One container through berth's layer: create, start, wait (with OOM check), remove.
async fn through_berth(c: &DockerClient, run: &str, i: usize) -> anyhow::Result<()> {
    let arn = format!("arn:aws:ecs:us-east-1:000000000000:task/bench/{i:032x}");
    let p = TaskPlacement {
        run,
        cluster: "bench",
        host: "local",
        mode: "ecs",
        task_arn: &arn,
        family: "bench",
        revision: 1,
    };
    let mut b = body(run);
    b.labels = Some(p.labels("app", "bench"));
    let id = c.create(&p.container_name("app"), b).await?;
    c.start(&id).await?;
    let exit = c.wait_exit(&id).await?;
    c.remove(&id).await?;
    anyhow::ensure!(exit.code == 0, "bench container exited with {}", exit.code);
    Ok(())
}

/// The same with bare bollard calls.
async fn through_bollard(d: &bollard::Docker, run: &str, i: usize) -> anyhow::Result<()> {
    let opts = CreateContainerOptionsBuilder::default()
        .name(&format!("berth-bench-raw-{run}-{i}"))
        .build();
    let id = d.create_container(Some(opts), body(run)).await?.id;
    d.start_container(&id, None::<StartContainerOptions>).await?;
    let wait = WaitContainerOptionsBuilder::default().condition("not-running").build();
    let code = match d.wait_container(&id, Some(wait)).next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => return Err(e.into()),
        None => -1,
    };
    d.remove_container(&id, Some(RemoveContainerOptionsBuilder::default().force(true).build()))
        .await?;
    anyhow::ensure!(code == 0, "bench container exited with {code}");
    Ok(())
}

/// This process's CPU time so far (user + system), from `/proc/self/stat` (Linux; USER_HZ is
/// 100 on every Linux berth runs on). `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Wall time and this process's CPU time of `n` lifecycles at `concurrency`.
async fn timed<F, Fut>(n: usize, concurrency: usize, f: F) -> anyhow::Result<(Duration, Duration)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let t0 = Instant::now();
    let c0 = process_cpu();
    let results: Vec<anyhow::Result<()>> =
        stream::iter(0..n).map(f).buffer_unordered(concurrency).collect().await;
    let elapsed = t0.elapsed();
    let cpu = match (c0, process_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => Duration::ZERO,
    };
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    Ok((elapsed, cpu))
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let client = crate::docker::connect(args.endpoint.as_deref()).await?;
    let rootfs = image::Rootfs::for_binary(&image::workload_binary()?)?;
    image::ensure_workload_image(&client, &rootfs).await?;
    let run = format!("bench-{}", crate::docker::new_run_id());
    let result = measure(&client, &run, &args).await;
    let sampling = match (&result, args.sample_containers) {
        (Ok(_), n) if n > 0 => Some(measure_sampling(&client, &run, n).await),
        _ => None,
    };
    // Whatever happened, leave nothing behind.
    if let Ok(found) = cleanup::find(&client, Some(&run), false).await {
        cleanup::remove(&client, &found).await;
    }
    let (berth_m, raw_m) = result?;
    let sampling = sampling.transpose()?;
    let (berth, raw) = (berth_m.wall, raw_m.wall);
    let ratio = berth.as_secs_f64() / raw.as_secs_f64();
    let n = args.containers as f64;
    let cpu_ms = |m: Measured| m.cpu.as_secs_f64() * 1000.0 / n;
    if args.format == "json" {
        let v = serde_json::json!({
            "containers": args.containers,
            "concurrency": args.concurrency,
            "endpoint": client.endpoint(),
            "berth_seconds": berth.as_secs_f64(),
            "raw_seconds": raw.as_secs_f64(),
            "ratio": ratio,
            "berth_containers_per_second": n / berth.as_secs_f64(),
            "raw_containers_per_second": n / raw.as_secs_f64(),
            "berth_cpu_ms_per_container": cpu_ms(berth_m),
            "raw_cpu_ms_per_container": cpu_ms(raw_m),
            "sampling": sampling.map(|s| serde_json::json!({
                "containers": s.containers,
                "via_cgroup_files": s.via_files,
                "us_per_container_sample": s.us_per_sample,
                "core_percent_for_100_containers_at_1hz": s.us_per_sample * 100.0 / 1e6 * 100.0,
            })),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} containers at concurrency {} (create, start, wait, remove) on {}",
            args.containers,
            args.concurrency,
            client.endpoint()
        );
        println!("  berth : {:>7.3} s  ({:.1}/s)", berth.as_secs_f64(), n / berth.as_secs_f64());
        println!("  raw   : {:>7.3} s  ({:.1}/s)", raw.as_secs_f64(), n / raw.as_secs_f64());
        println!("  ratio : {ratio:.3} (target ≤ 1.10)");
        println!(
            "  CPU of this process per container: berth {:.2} ms, raw {:.2} ms (10 ms clock ticks)",
            cpu_ms(berth_m),
            cpu_ms(raw_m)
        );
        if let Some(s) = sampling {
            println!(
                "  sampling: {:.1} µs per container sample ({} of {} via cgroup files); 100 containers at 1 Hz cost {:.3}% of a core",
                s.us_per_sample,
                s.via_files,
                s.containers,
                s.us_per_sample * 100.0 / 1e6 * 100.0
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

struct Sampling {
    containers: usize,
    via_files: usize,
    us_per_sample: f64,
}

/// Starts `n` sleeping containers, finds their cgroups, and times 20 rounds of reading them.
async fn measure_sampling(client: &DockerClient, run: &str, n: usize) -> anyhow::Result<Sampling> {
    let mut probes = Vec::new();
    for i in 0..n {
        let mut b = body(run);
        b.cmd = Some(vec!["sleep".into(), "600".into()]);
        let id = client.create(&format!("berth-bench-sample-{run}-{i}"), b).await?;
        client.start(&id).await?;
        let pid = client.inspect(&id).await?.state.and_then(|s| s.pid).unwrap_or(0);
        if let Some(p) = crate::docker::usage::CgroupProbe::for_container(pid, &id) {
            probes.push(p);
        }
    }
    anyhow::ensure!(!probes.is_empty(), "no container's cgroup files are readable here");
    const ROUNDS: usize = 20;
    let t0 = Instant::now();
    for _ in 0..ROUNDS {
        for p in &probes {
            std::hint::black_box(p.read()?);
        }
    }
    let us = t0.elapsed().as_secs_f64() * 1e6 / (ROUNDS * probes.len()) as f64;
    Ok(Sampling { containers: n, via_files: probes.len(), us_per_sample: us })
}

/// Wall and CPU time of one side.
#[derive(Debug, Default, Clone, Copy)]
struct Measured {
    wall: Duration,
    cpu: Duration,
}

/// Warm-up, then raw and berth quarters interleaved (raw, berth, berth, raw, raw, berth, berth,
/// raw) so drift in the daemon's speed hits both sides alike. Returns (berth, raw) totals.
async fn measure(
    client: &DockerClient,
    run: &str,
    args: &Args,
) -> anyhow::Result<(Measured, Measured)> {
    let docker = client.raw().clone();
    timed(args.concurrency, args.concurrency, |i| through_bollard(&docker, run, 1_000_000 + i))
        .await?;
    // Four rounds, alternating which side goes first, so a slow stretch of the daemon (other
    // processes on the machine) is shared out evenly.
    const ROUNDS: usize = 4;
    let mut raw = Measured::default();
    let mut berth = Measured::default();
    for k in 0..ROUNDS {
        let n = args.containers / ROUNDS + usize::from(k < args.containers % ROUNDS);
        let base = k * args.containers;
        for side in if k % 2 == 0 { [0, 1] } else { [1, 0] } {
            let (w, c) = if side == 0 {
                timed(n, args.concurrency, |i| through_bollard(&docker, run, base + i)).await?
            } else {
                timed(n, args.concurrency, |i| through_berth(client, run, base + i)).await?
            };
            let m = if side == 0 { &mut raw } else { &mut berth };
            m.wall += w;
            m.cpu += c;
        }
    }
    Ok((berth, raw))
}
