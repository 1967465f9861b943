//! The labels and names berth puts on everything it creates in Docker.
//!
//! Every container, network and image berth creates carries `io.berth.managed=true`; that label
//! (and nothing else) is what `berth cleanup` and the leftover check look for, so berth never
//! touches anything it did not create. The rest say where a container belongs: which run, which
//! cluster, which ECS host (container instance) or Fargate slot, which task and container.
//! Containers also carry the labels the ECS agent sets (`com.amazonaws.ecs.*`), so tools that
//! read those on a real container instance read them here too, and the agent's naming scheme
//! `ecs-<family>-<revision>-<container>-<hex>` (ecs-semantics §7.1).

use std::collections::HashMap;

pub const MANAGED: &str = "io.berth.managed";
pub const RUN: &str = "io.berth.run";
pub const CLUSTER: &str = "io.berth.cluster";
pub const HOST: &str = "io.berth.host";
pub const MODE: &str = "io.berth.mode";
pub const TASK_ARN: &str = "io.berth.task-arn";
pub const CONTAINER_NAME: &str = "io.berth.container-name";
/// What the object is for: `task` (a task's container), `sandbox` (a Fargate/awsvpc network
/// owner), `network`, `bench`, `test`, `image`.
pub const ROLE: &str = "io.berth.role";
/// On the workload image: a hash of its files, so an unchanged image is not rebuilt.
pub const CONTENT_HASH: &str = "io.berth.content-hash";
/// On berth's images, instead of [`MANAGED`]: image labels are inherited by every container
/// created from the image, and a container someone else starts from `berth/workload` is not
/// berth's to remove. `berth cleanup --images` selects images by this label.
pub const IMAGE: &str = "io.berth.image";
/// Which process made the object: `<hostname>/<pid>` ([`owner`]). With the run's lock file
/// ([`super::liveness`]) it tells a live run from a dead one.
pub const OWNER: &str = "io.berth.owner";
/// On a stand-in container: the image it stands in for.
pub const STANDS_IN_FOR: &str = "io.berth.stands-in-for";

pub const ECS_TASK_ARN: &str = "com.amazonaws.ecs.task-arn";
pub const ECS_CONTAINER_NAME: &str = "com.amazonaws.ecs.container-name";
pub const ECS_FAMILY: &str = "com.amazonaws.ecs.task-definition-family";
pub const ECS_VERSION: &str = "com.amazonaws.ecs.task-definition-version";
pub const ECS_CLUSTER: &str = "com.amazonaws.ecs.cluster";

/// The Docker filter that selects everything berth created (optionally: in one run).
pub fn managed_filter(run: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut labels = vec![format!("{MANAGED}=true")];
    if let Some(r) = run {
        labels.push(format!("{RUN}={r}"));
    }
    HashMap::from([("label".to_string(), labels)])
}

/// Labels for an object of a run that is not a task container (networks, bench containers).
pub fn base(run: &str, role: &str) -> HashMap<String, String> {
    HashMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (RUN.to_string(), run.to_string()),
        (ROLE.to_string(), role.to_string()),
        (OWNER.to_string(), owner().to_string()),
    ])
}

/// This process as an [`OWNER`] label value: `<hostname>/<pid>`.
pub fn owner() -> &'static str {
    static OWNER_VALUE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OWNER_VALUE.get_or_init(|| format!("{}/{}", super::liveness::hostname(), std::process::id()))
}

/// Where a task's container belongs; turns into its labels and its name.
#[derive(Debug, Clone)]
pub struct TaskPlacement<'a> {
    pub run: &'a str,
    pub cluster: &'a str,
    /// The ECS host's instance id, or `fargate` for a Fargate slot.
    pub host: &'a str,
    /// `ecs` or `fargate`.
    pub mode: &'a str,
    pub task_arn: &'a str,
    pub family: &'a str,
    pub revision: u32,
}

impl TaskPlacement<'_> {
    /// The labels of one container of the task (`container` is the task definition's name, or
    /// `~internal~ecs~pause` for the sandbox, as the agent calls it).
    pub fn labels(&self, container: &str, role: &str) -> HashMap<String, String> {
        let mut m = base(self.run, role);
        for (k, v) in [
            (CLUSTER, self.cluster.to_string()),
            (HOST, self.host.to_string()),
            (MODE, self.mode.to_string()),
            (TASK_ARN, self.task_arn.to_string()),
            (CONTAINER_NAME, container.to_string()),
            (ECS_TASK_ARN, self.task_arn.to_string()),
            (ECS_CONTAINER_NAME, container.to_string()),
            (ECS_FAMILY, self.family.to_string()),
            (ECS_VERSION, self.revision.to_string()),
            (ECS_CLUSTER, self.cluster.to_string()),
        ] {
            m.insert(k.to_string(), v);
        }
        m
    }

    /// The Docker name, agent style: `ecs-<family>-<rev>-<container>-<20 hex>`. The hex is
    /// derived from the run, the mode, the task ARN and the container name, so names are unique
    /// across runs and across the two modes of one run (whose engines, given the same seed,
    /// hand out the same task ARNs), and stable within a run (the agent uses random hex;
    /// determinism helps tests).
    pub fn container_name(&self, container: &str) -> String {
        let clean: String = container
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let h1 = fnv1a(&[self.run, self.mode, self.task_arn, container, "1"]);
        let h2 = fnv1a(&[self.run, self.mode, self.task_arn, container, "2"]);
        let hex = format!("{h1:016x}{:04x}", h2 & 0xffff);
        format!("ecs-{}-{}-{}-{}", self.family, self.revision, clean, hex)
    }
}

/// The agent's name for the awsvpc network-namespace owner.
pub const PAUSE_CONTAINER: &str = "~internal~ecs~pause";

/// FNV-1a over the parts (with a separator), for names and cache keys. Not cryptographic.
pub fn fnv1a(parts: &[&str]) -> u64 {
    let mut h = Fnv::new();
    for p in parts {
        h.write(p.as_bytes());
        h.write(&[0xff]);
    }
    h.finish()
}

/// A streaming FNV-1a 64 hasher (stable across Rust versions, unlike `DefaultHasher`).
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Fnv {
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> TaskPlacement<'static> {
        TaskPlacement {
            run: "r1",
            cluster: "demo",
            host: "i-0000000000000001",
            mode: "ecs",
            task_arn: "arn:aws:ecs:us-east-1:000000000000:task/demo/0123",
            family: "web",
            revision: 3,
        }
    }

    #[test]
    fn agent_style_names() {
        let n = p().container_name("nginx");
        assert!(n.starts_with("ecs-web-3-nginx-"), "{n}");
        assert_eq!(n.len(), "ecs-web-3-nginx-".len() + 20);
        assert_eq!(n, p().container_name("nginx"), "stable within a run");
        assert_ne!(n, TaskPlacement { run: "r2", ..p() }.container_name("nginx"));
        assert_ne!(n, TaskPlacement { mode: "fargate", ..p() }.container_name("nginx"));
        // The pause container's tildes are not valid in Docker names.
        assert!(p().container_name(PAUSE_CONTAINER).starts_with("ecs-web-3-internalecspause-"));
    }

    #[test]
    fn labels_carry_berth_and_agent_keys() {
        let l = p().labels("nginx", "task");
        assert_eq!(l[MANAGED], "true");
        assert_eq!(l[RUN], "r1");
        assert_eq!(l[HOST], "i-0000000000000001");
        assert_eq!(l[ECS_VERSION], "3");
        assert_eq!(l[ECS_CONTAINER_NAME], "nginx");
        assert_eq!(l[ECS_TASK_ARN], l[TASK_ARN]);
    }

    #[test]
    fn fnv_known_value() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (reference value from the FNV spec page).
        let mut h = Fnv::new();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
