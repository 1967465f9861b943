//! The normalised task definition: what the rest of berth reads.
//!
//! The parser (`parse.rs`) accepts the raw AWS JSON in either shape (register input or describe
//! output), checks types the way the AWS CLI does, fills in ECS defaults and produces this model.
//! Everything downstream (placement, the engine, the Docker runtime) depends on this model and
//! never on the raw JSON, so a new ECS field only has to be taught to the parser and, if berth
//! acts on it, added here.
//!
//! Units are in the field names where they are not obvious: CPU is in ECS CPU units (1024 per
//! vCPU), memory in MiB, times in seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A task definition after parsing, normalisation and ECS defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDefinition {
    pub family: String,
    /// Set when the file was describe output, or once registered in a [`super::Registry`].
    pub revision: Option<u32>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    pub network_mode: NetworkMode,
    /// `requiresCompatibilities` as written (empty when absent).
    pub requires_compatibilities: Vec<Compatibility>,
    /// Task-level CPU in units, if set (`"1 vCPU"` is stored as 1024).
    pub cpu_units: Option<u32>,
    /// Task-level memory in MiB, if set (`"2 GB"` is stored as 2048).
    pub memory_mib: Option<u32>,
    pub runtime_platform: RuntimePlatform,
    /// `ephemeralStorage.sizeInGiB`; `None` means the Fargate default of 20 GiB.
    pub ephemeral_storage_gib: Option<u32>,
    /// `memberOf` expressions from `placementConstraints`.
    pub placement_constraints: Vec<String>,
    pub pid_mode: Option<String>,
    pub ipc_mode: Option<String>,
    pub containers: Vec<ContainerDefinition>,
    pub volumes: Vec<Volume>,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    Bridge,
    Host,
    Awsvpc,
    None,
    /// The legacy `"default"` value some old files carry; Docker's default, i.e. bridge on Linux.
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    Ec2,
    Fargate,
    External,
    ManagedInstances,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    Linux,
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpuArch {
    X86_64,
    Arm64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimePlatform {
    pub os: OsFamily,
    pub arch: CpuArch,
}

impl Default for RuntimePlatform {
    fn default() -> Self {
        RuntimePlatform { os: OsFamily::Linux, arch: CpuArch::X86_64 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    /// Container-level CPU units (0 when absent).
    pub cpu_units: u32,
    /// Hard limit in MiB.
    pub memory_mib: Option<u32>,
    /// Soft limit in MiB; this is what ECS placement subtracts when it is set.
    pub memory_reservation_mib: Option<u32>,
    /// Defaults to true, as in ECS.
    pub essential: bool,
    pub command: Option<Vec<String>>,
    pub entry_point: Option<Vec<String>>,
    /// `environment`, in file order.
    pub environment: Vec<(String, String)>,
    pub port_mappings: Vec<PortMapping>,
    pub health_check: Option<HealthCheck>,
    pub depends_on: Vec<ContainerDependency>,
    /// Seconds to wait for a dependency condition before giving up.
    pub start_timeout_s: Option<u32>,
    /// Seconds between SIGTERM and SIGKILL; `None` means the agent default (30 s).
    pub stop_timeout_s: Option<u32>,
    pub links: Vec<String>,
    pub docker_labels: BTreeMap<String, String>,
    pub user: Option<String>,
    pub working_directory: Option<String>,
    pub privileged: bool,
    pub readonly_root_filesystem: bool,
    /// Number of GPUs from `resourceRequirements`.
    pub gpu_count: u32,
    pub ulimits: Vec<Ulimit>,
    pub mount_points: Vec<MountPoint>,
    pub volumes_from: Vec<String>,
    pub log_driver: Option<String>,
    /// It has a `firelensConfiguration`: a log router (FireLens), a sidecar that never is the
    /// container a job runs in.
    #[serde(default)]
    pub log_router: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub container_port: u16,
    /// `None` or `Some(0)` in bridge mode means a dynamic host port. In awsvpc and host mode the
    /// parser fills it with the container port, as ECS does.
    pub host_port: Option<u16>,
    pub protocol: Protocol,
    pub name: Option<String>,
}

/// A container health check with ECS defaults filled in (30 s / 5 s / 3 retries / no start period).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// `["CMD", ...]` or `["CMD-SHELL", "..."]`, as Docker takes it.
    pub command: Vec<String>,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub retries: u32,
    pub start_period_s: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DependencyCondition {
    Start,
    Complete,
    Success,
    Healthy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerDependency {
    pub container_name: String,
    pub condition: DependencyCondition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft_limit: i64,
    pub hard_limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPoint {
    pub source_volume: String,
    pub container_path: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    /// `host.sourcePath`, if any.
    pub host_source_path: Option<String>,
    /// True for `dockerVolumeConfiguration`.
    pub docker_volume: bool,
    /// True for `efsVolumeConfiguration`.
    pub efs: bool,
}

impl TaskDefinition {
    /// A definition with ECS's defaults: bridge mode, Linux x86_64, no task-level size, no
    /// revision. For building definitions in code and tests; files go through
    /// [`super::parse_str`] and code-built ones can be checked with
    /// [`super::validate::validate_model`].
    pub fn new(family: impl Into<String>, containers: Vec<ContainerDefinition>) -> Self {
        TaskDefinition {
            family: family.into(),
            revision: None,
            task_role_arn: None,
            execution_role_arn: None,
            network_mode: NetworkMode::Bridge,
            requires_compatibilities: Vec::new(),
            cpu_units: None,
            memory_mib: None,
            runtime_platform: RuntimePlatform::default(),
            ephemeral_storage_gib: None,
            placement_constraints: Vec::new(),
            pid_mode: None,
            ipc_mode: None,
            containers,
            volumes: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// `family:revision`, or just the family when the definition is not registered yet.
    pub fn family_revision(&self) -> String {
        match self.revision {
            Some(r) => format!("{}:{}", self.family, r),
            None => self.family.clone(),
        }
    }

    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Whether validation follows the Fargate rules (`requiresCompatibilities` lists FARGATE).
    pub fn requires_fargate(&self) -> bool {
        self.requires_compatibilities.contains(&Compatibility::Fargate)
    }

    /// Whether validation follows the EC2 rules: EC2 is listed, or nothing is listed (ECS then
    /// validates for EC2).
    pub fn requires_ec2(&self) -> bool {
        self.requires_compatibilities.is_empty()
            || self.requires_compatibilities.contains(&Compatibility::Ec2)
    }
}

impl ContainerDefinition {
    /// A container with ECS's defaults: essential, cpu 0, no memory limits, nothing else set.
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        ContainerDefinition {
            name: name.into(),
            image: image.into(),
            cpu_units: 0,
            memory_mib: None,
            memory_reservation_mib: None,
            essential: true,
            command: None,
            entry_point: None,
            environment: Vec::new(),
            port_mappings: Vec::new(),
            health_check: None,
            depends_on: Vec::new(),
            start_timeout_s: None,
            stop_timeout_s: None,
            links: Vec::new(),
            docker_labels: BTreeMap::new(),
            user: None,
            working_directory: None,
            privileged: false,
            readonly_root_filesystem: false,
            gpu_count: 0,
            ulimits: Vec::new(),
            mount_points: Vec::new(),
            volumes_from: Vec::new(),
            log_driver: None,
            log_router: false,
        }
    }
}

impl HealthCheck {
    /// A health check with ECS's defaults: every 30 s, 5 s timeout, 3 retries, no start period.
    pub fn new(command: Vec<String>) -> Self {
        HealthCheck { command, interval_s: 30, timeout_s: 5, retries: 3, start_period_s: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_match_what_the_parser_makes() {
        let mut c = ContainerDefinition::new("app", "berth/workload:latest");
        c.memory_mib = Some(128);
        let built = TaskDefinition::new("web", vec![c]);
        let (parsed, _) = super::super::parse_str(
            "t",
            r#"{"family": "web", "containerDefinitions": [
                {"name": "app", "image": "berth/workload:latest", "memory": 128}]}"#,
        )
        .unwrap();
        assert_eq!(built, parsed);
        assert!(super::super::validate::validate_model(&built).is_empty());
        let hc = HealthCheck::new(vec!["CMD".into(), "true".into()]);
        assert_eq!((hc.interval_s, hc.timeout_s, hc.retries, hc.start_period_s), (30, 5, 3, 0));
    }
}
