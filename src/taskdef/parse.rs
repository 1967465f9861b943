//! From task definition text to the normalised model.
//!
//! Steps, each stopping the file at its first failing stage, like the AWS CLI and ECS do:
//! 1. strict JSON ([`super::json`]); a syntax error is reported with line and column;
//! 2. the shape: describe output (`{"taskDefinition": {...}, "tags": [...]}`) is unwrapped;
//! 3. the type check against the ECS API model ([`super::schema`]): wrong types, unknown and
//!    missing members, enum values;
//! 4. normalisation into [`TaskDefinition`] (task `cpu`/`memory` strings to units and MiB, ECS
//!    defaults filled in), with the range checks that need the raw numbers;
//! 5. ECS's cross-field rules ([`super::validate`]).
//!
//! Warnings (unrendered templates in free strings, legacy values) never stop a file.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{Diagnostic, FileError, Pos, Severity};

use super::json::{self, Node};
use super::model::*;
use super::schema::{self, join, Index, Ty};
use super::{template, validate};

/// Reads and parses a task definition file. On success the warnings come with the definition;
/// on failure [`FileError::diagnostics`] holds the errors and the warnings, in file order.
pub fn load(path: &Path) -> Result<(TaskDefinition, Vec<Diagnostic>), FileError> {
    let bytes = std::fs::read(path).map_err(|e| FileError::io(path, &e))?;
    match String::from_utf8(bytes) {
        Ok(text) => parse_str(path, &text),
        Err(e) => {
            let off = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.into_bytes()[..off]).into_owned();
            Err(FileError::single(
                path,
                Diagnostic::error("", Pos::of_offset(&text, off), "the file is not UTF-8 text"),
            ))
        }
    }
}

/// Parses task definition text; `file` only labels the diagnostics.
pub fn parse_str(
    file: impl AsRef<Path>,
    text: &str,
) -> Result<(TaskDefinition, Vec<Diagnostic>), FileError> {
    let file = file.as_ref();
    let parsed = parse_document(text);
    let (errors, warnings): (Vec<_>, Vec<_>) =
        parsed.diagnostics.into_iter().partition(|d| d.severity == Severity::Error);
    match parsed.definition {
        Some(def) if errors.is_empty() => Ok((def, warnings)),
        _ => {
            let mut all: Vec<Diagnostic> = errors.into_iter().chain(warnings).collect();
            all.sort_by_key(|d| (d.line, d.column, std::cmp::Reverse(d.severity)));
            Err(FileError::new(file, all))
        }
    }
}

/// ECS's quota on the size of a task definition ([DG@4d9b316:service-quotas]), measured here on
/// the definition as compact JSON.
pub const MAX_DEFINITION_BYTES: usize = 64 * 1024;

/// Everything known about one document: the definition (when it got that far), every
/// diagnostic, and the index of values by path.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub definition: Option<TaskDefinition>,
    pub diagnostics: Vec<Diagnostic>,
    pub index: Index,
}

impl Parsed {
    pub fn ok(&self) -> bool {
        self.definition.is_some() && !self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Runs every stage on `text` and keeps whatever each produced.
pub fn parse_document(text: &str) -> Parsed {
    let mut idx = Index::new(text);
    let mut diags = Vec::new();
    let root = match json::parse(text) {
        Ok(n) => n,
        Err(e) => {
            let mut d = Diagnostic::error(
                "",
                Pos::of_offset(text, e.offset),
                format!("invalid JSON: {}", e.message),
            );
            // An unquoted placeholder (`"cpu": $$$$CPUSHARE$$$$`) breaks the JSON itself.
            let word: String = text
                .get(e.offset..)
                .unwrap_or_default()
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ':' | '"'))
                .collect();
            if let Some(h) = template::hint(&word) {
                d = d.with_hint(h);
            }
            diags.push(d);
            return Parsed { definition: None, diagnostics: diags, index: idx };
        }
    };
    let Some(td) = unwrap(&root, &mut idx, &mut diags, text) else {
        return Parsed { definition: None, diagnostics: diags, index: idx };
    };
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return Parsed { definition: None, diagnostics: diags, index: idx };
    }
    let size = serde_json::to_string(&td.to_value()).map(|s| s.len()).unwrap_or(0);
    if size > MAX_DEFINITION_BYTES {
        diags.push(
            Diagnostic::error(
                "",
                idx.pos(""),
                format!("Actual length: '{size}'. Max allowed length is '{MAX_DEFINITION_BYTES}' bytes."),
            )
            .with_hint(format!(
                "berth measures the definition as compact JSON ({size} bytes; ECS allows 64 KiB); \
                 move large values (environment, configuration files) to environmentFiles, \
                 secrets or the image"
            )),
        );
        return Parsed { definition: None, diagnostics: diags, index: idx };
    }
    let mut b = Builder { idx: &idx, diags: Vec::new() };
    let mut def = b.task(td);
    if let Some(tags) = root.get("taskDefinition").and(root.get("tags")) {
        def.tags.extend(tag_pairs(tags));
    }
    diags.append(&mut b.diags);
    if !diags.iter().any(|d| d.severity == Severity::Error) {
        diags.extend(validate::validate(&def, &idx));
    }
    diags.sort_by_key(|d| (d.line, d.column));
    Parsed { definition: Some(def), diagnostics: diags, index: idx }
}

/// Finds the task definition object (unwrapping describe output) and type-checks the document.
fn unwrap<'a>(
    root: &'a Node,
    idx: &mut Index,
    diags: &mut Vec<Diagnostic>,
    text: &str,
) -> Option<&'a Node> {
    if root.as_object().is_none() {
        let mut d = Diagnostic::error(
            "",
            Pos::of_offset(text, root.start),
            "expected a JSON object holding a task definition",
        );
        let looks_like_containers = root
            .as_array()
            .and_then(|a| a.first())
            .is_some_and(|c| c.get("image").is_some() || c.get("name").is_some());
        if looks_like_containers {
            d = d.with_hint(
                "this looks like a bare list of container definitions (Terraform's \
                 container_definitions); wrap it as {\"family\": \"...\", \"containerDefinitions\": [...]}",
            );
        }
        diags.push(d);
        return None;
    }
    match root.get("taskDefinition") {
        Some(td) if td.as_object().is_some() => {
            // Describe output: paths inside are reported relative to the task definition, the
            // way register-task-definition names them.
            let mut wrapper_diags = Vec::new();
            let mut wrapper_idx = Index::new(text);
            schema::check(
                root,
                &Ty::Struct(&schema::DESCRIBE_TASK_DEFINITION_RESPONSE),
                "",
                &mut wrapper_idx,
                &mut wrapper_diags,
            );
            // boto3 users who dump a whole response also get `ResponseMetadata`; it is not part
            // of the definition, so it is ignored rather than rejected.
            diags.extend(wrapper_diags.into_iter().filter(|d| {
                !d.path.starts_with("taskDefinition") && !d.path.starts_with("ResponseMetadata")
            }));
            schema::check(td, &Ty::Struct(&schema::TASK_DEFINITION_DOCUMENT), "", idx, diags);
            Some(td)
        }
        _ => {
            schema::check(root, &Ty::Struct(&schema::TASK_DEFINITION_DOCUMENT), "", idx, diags);
            Some(root)
        }
    }
}

fn tag_pairs(tags: &Node) -> Vec<(String, String)> {
    tags.as_array()
        .unwrap_or_default()
        .iter()
        .filter_map(|t| {
            let k = t.get("key")?.as_str()?.to_string();
            let v = t.get("value").and_then(Node::as_str).unwrap_or_default().to_string();
            Some((k, v))
        })
        .collect()
}

/// Task-level CPU as ECS reads it: integer units (`"1024"`) or vCPU (`"1 vCPU"`, `".25 vcpu"`).
/// `None` if the string is neither or is not a whole number of units.
pub fn parse_task_cpu(s: &str) -> Option<u32> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(num) = lower.strip_suffix("vcpu") {
        return scaled(num.trim(), 1024);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    None
}

/// Task-level memory as ECS reads it: integer MiB (`"2048"`) or GB (`"2 GB"`, `".5 gb"`,
/// `"0.5GB"`, 1 GB = 1024 MiB). `None` if the string is neither.
pub fn parse_task_memory(s: &str) -> Option<u32> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(num) = lower.strip_suffix("gb") {
        return scaled(num.trim(), 1024);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    None
}

/// `num` (a decimal like `0.25`, `.5`, `2`) times `unit`, if that is a whole number.
fn scaled(num: &str, unit: u64) -> Option<u32> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.len() > 9 || frac.len() > 9 {
        return None;
    }
    let int_v: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_v: u64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let denom = 10u64.pow(frac.len() as u32);
    let total = int_v * unit * denom + frac_v * unit;
    if total % denom != 0 {
        return None;
    }
    u32::try_from(total / denom).ok()
}

/// Turns the type-checked tree into the model, checking the ranges that need the raw numbers.
struct Builder<'a> {
    idx: &'a Index,
    diags: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(path, self.idx.pos(path), message)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn str(node: &Node, key: &str) -> Option<String> {
        node.get(key).and_then(Node::as_str).map(str::to_string)
    }

    fn bool(node: &Node, key: &str) -> Option<bool> {
        node.get(key).and_then(Node::as_bool)
    }

    fn int(node: &Node, key: &str) -> Option<i64> {
        node.get(key).and_then(Node::as_i64)
    }

    fn strings(node: &Node, key: &str) -> Option<Vec<String>> {
        node.get(key)
            .and_then(Node::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
    }

    fn items<'n>(node: &'n Node, key: &str) -> &'n [Node] {
        node.get(key).and_then(Node::as_array).unwrap_or_default()
    }

    /// A non-negative integer that must lie in `lo..=hi`; out of range is an error in `words`.
    fn ranged(
        &mut self,
        node: &Node,
        key: &str,
        path: &str,
        lo: i64,
        hi: i64,
        words: impl FnOnce() -> String,
    ) -> Option<u32> {
        let v = Self::int(node, key)?;
        if v < lo || v > hi {
            let d = self.error(&join(path, key), words());
            self.push(d);
            return None;
        }
        u32::try_from(v).ok()
    }

    fn task(&mut self, td: &Node) -> TaskDefinition {
        let family = Self::str(td, "family").unwrap_or_default();
        let revision = match Self::int(td, "revision") {
            Some(r) if r >= 1 => Some(r as u32),
            Some(_) => {
                let d = self.error("revision", "revision must be 1 or more");
                self.push(d);
                None
            }
            None => None,
        };
        let network_mode = match Self::str(td, "networkMode").as_deref() {
            Some("host") => NetworkMode::Host,
            Some("awsvpc") => NetworkMode::Awsvpc,
            Some("none") => NetworkMode::None,
            Some("default") => NetworkMode::Default,
            _ => NetworkMode::Bridge,
        };
        let requires_compatibilities = Self::strings(td, "requiresCompatibilities")
            .unwrap_or_default()
            .iter()
            .filter_map(|c| compatibility(c))
            .fold(Vec::new(), |mut v, c| {
                if !v.contains(&c) {
                    v.push(c);
                }
                v
            });
        let cpu_units = Self::str(td, "cpu").and_then(|s| {
            let v = parse_task_cpu(&s);
            if v.is_none() {
                let mut d = self.error("cpu", "Invalid 'cpu' setting for task.");
                d = d.with_hint(template::hint(&s).unwrap_or_else(|| {
                    format!(
                        "task cpu is a string of CPU units (\"1024\") or vCPU (\"1 vCPU\", \
                         \".25 vcpu\"); \"{s}\" is neither"
                    )
                }));
                self.push(d);
            }
            v
        });
        let memory_mib = Self::str(td, "memory").and_then(|s| {
            let v = parse_task_memory(&s);
            if v.is_none() {
                let mut d = self.error("memory", "Invalid 'memory' setting for task.");
                d = d.with_hint(template::hint(&s).unwrap_or_else(|| {
                    format!(
                        "task memory is a string of MiB (\"2048\") or GB (\"2 GB\", \"0.5GB\"); \
                         \"{s}\" is neither"
                    )
                }));
                self.push(d);
            }
            v
        });
        let runtime_platform = td
            .get("runtimePlatform")
            .map(|rp| RuntimePlatform {
                os: match Self::str(rp, "operatingSystemFamily") {
                    Some(f) if f.starts_with("WINDOWS") => OsFamily::Windows,
                    _ => OsFamily::Linux,
                },
                arch: match Self::str(rp, "cpuArchitecture").as_deref() {
                    Some("ARM64") => CpuArch::Arm64,
                    _ => CpuArch::X86_64,
                },
            })
            .unwrap_or_default();
        let ephemeral_storage_gib = td.get("ephemeralStorage").and_then(|e| {
            self.ranged(e, "sizeInGiB", "ephemeralStorage", 21, 200, || {
                "The ephemeral storage size must be between 21 and 200 GiB (sizeInGiB); leave \
                 ephemeralStorage out for the default 20 GiB"
                    .to_string()
            })
        });
        let placement_constraints = Self::items(td, "placementConstraints")
            .iter()
            .filter_map(|c| Self::str(c, "expression"))
            .collect();
        let volumes = Self::items(td, "volumes")
            .iter()
            .map(|v| Volume {
                name: Self::str(v, "name").unwrap_or_default(),
                host_source_path: v.get("host").and_then(|h| Self::str(h, "sourcePath")),
                docker_volume: v.get("dockerVolumeConfiguration").is_some(),
                efs: v.get("efsVolumeConfiguration").is_some(),
            })
            .collect();
        let containers = Self::items(td, "containerDefinitions")
            .iter()
            .enumerate()
            .map(|(i, c)| self.container(c, &format!("containerDefinitions[{i}]"), network_mode))
            .collect();
        TaskDefinition {
            family,
            revision,
            task_role_arn: Self::str(td, "taskRoleArn"),
            execution_role_arn: Self::str(td, "executionRoleArn"),
            network_mode,
            requires_compatibilities,
            cpu_units,
            memory_mib,
            runtime_platform,
            ephemeral_storage_gib,
            placement_constraints,
            pid_mode: Self::str(td, "pidMode"),
            ipc_mode: Self::str(td, "ipcMode"),
            containers,
            volumes,
            tags: td.get("tags").map(tag_pairs).unwrap_or_default(),
        }
    }

    fn container(&mut self, c: &Node, path: &str, mode: NetworkMode) -> ContainerDefinition {
        let name = Self::str(c, "name").unwrap_or_default();
        let cname = name.clone();
        let cpu_units = self
            .ranged(c, "cpu", path, 0, i32::MAX as i64, || {
                format!("Invalid 'cpu' setting for container '{cname}'.")
            })
            .unwrap_or(0);
        let memory_mib = self.ranged(c, "memory", path, 1, i32::MAX as i64, || {
            format!("Invalid 'memory' setting for container '{cname}'.")
        });
        let memory_reservation_mib =
            self.ranged(c, "memoryReservation", path, 1, i32::MAX as i64, || {
                format!("Invalid 'memoryReservation' setting for container '{cname}'.")
            });
        let mut port_mappings = Vec::new();
        for (i, pm) in Self::items(c, "portMappings").iter().enumerate() {
            let pp = format!("{path}.portMappings[{i}]");
            if let Some(pm) = self.port_mapping(pm, &pp, &name, mode) {
                port_mappings.push(pm);
            }
        }
        let health_check = c.get("healthCheck").map(|h| self.health_check(h, path, &name));
        let depends_on = Self::items(c, "dependsOn")
            .iter()
            .filter_map(|d| {
                Some(ContainerDependency {
                    container_name: Self::str(d, "containerName")?,
                    condition: match Self::str(d, "condition")?.as_str() {
                        "START" => DependencyCondition::Start,
                        "COMPLETE" => DependencyCondition::Complete,
                        "SUCCESS" => DependencyCondition::Success,
                        "HEALTHY" => DependencyCondition::Healthy,
                        _ => return None,
                    },
                })
            })
            .collect();
        let start_timeout_s = self.ranged(c, "startTimeout", path, 0, i32::MAX as i64, || {
            format!("Invalid 'startTimeout' setting for container '{name}': seconds, 0 or more")
        });
        let stop_timeout_s = self.ranged(c, "stopTimeout", path, 0, i32::MAX as i64, || {
            format!("Invalid 'stopTimeout' setting for container '{name}': seconds, 0 or more")
        });
        let docker_labels: BTreeMap<String, String> = c
            .get("dockerLabels")
            .and_then(Node::as_object)
            .unwrap_or_default()
            .iter()
            .filter_map(|m| Some((m.key.clone(), m.value.as_str()?.to_string())))
            .collect();
        let mut gpu_count = 0u32;
        for (i, r) in Self::items(c, "resourceRequirements").iter().enumerate() {
            if Self::str(r, "type").as_deref() != Some("GPU") {
                continue;
            }
            let v = Self::str(r, "value").unwrap_or_default();
            match v.trim().parse::<u32>() {
                Ok(n) if n >= 1 => gpu_count += n,
                _ => {
                    let mut d = self.error(
                        &format!("{path}.resourceRequirements[{i}].value"),
                        format!(
                            "Invalid 'resourceRequirements' setting for container '{name}': the \
                             GPU value is a whole number of GPUs, 1 or more"
                        ),
                    );
                    if let Some(h) = template::hint(&v) {
                        d = d.with_hint(h);
                    }
                    self.push(d);
                }
            }
        }
        let environment = Self::items(c, "environment")
            .iter()
            .filter_map(|e| {
                Some((Self::str(e, "name")?, Self::str(e, "value").unwrap_or_default()))
            })
            .collect();
        let ulimits = Self::items(c, "ulimits")
            .iter()
            .filter_map(|u| {
                Some(Ulimit {
                    name: Self::str(u, "name")?,
                    soft_limit: Self::int(u, "softLimit")?,
                    hard_limit: Self::int(u, "hardLimit")?,
                })
            })
            .collect();
        let mount_points = Self::items(c, "mountPoints")
            .iter()
            .map(|m| MountPoint {
                source_volume: Self::str(m, "sourceVolume").unwrap_or_default(),
                container_path: Self::str(m, "containerPath").unwrap_or_default(),
                read_only: Self::bool(m, "readOnly").unwrap_or(false),
            })
            .collect();
        let volumes_from = Self::items(c, "volumesFrom")
            .iter()
            .filter_map(|v| Self::str(v, "sourceContainer"))
            .collect();
        ContainerDefinition {
            image: Self::str(c, "image").unwrap_or_default(),
            cpu_units,
            memory_mib,
            memory_reservation_mib,
            essential: Self::bool(c, "essential").unwrap_or(true),
            command: Self::strings(c, "command"),
            entry_point: Self::strings(c, "entryPoint"),
            environment,
            port_mappings,
            health_check,
            depends_on,
            start_timeout_s,
            stop_timeout_s,
            links: Self::strings(c, "links").unwrap_or_default(),
            docker_labels,
            user: Self::str(c, "user"),
            working_directory: Self::str(c, "workingDirectory"),
            privileged: Self::bool(c, "privileged").unwrap_or(false),
            readonly_root_filesystem: Self::bool(c, "readonlyRootFilesystem").unwrap_or(false),
            gpu_count,
            ulimits,
            mount_points,
            volumes_from,
            log_driver: c.get("logConfiguration").and_then(|l| Self::str(l, "logDriver")),
            log_router: c.get("firelensConfiguration").is_some(),
            name,
        }
    }

    fn port_mapping(
        &mut self,
        pm: &Node,
        path: &str,
        container: &str,
        mode: NetworkMode,
    ) -> Option<PortMapping> {
        let container_port = Self::int(pm, "containerPort");
        if container_port.is_none() {
            if pm.get("containerPortRange").is_some() {
                let d = Diagnostic::warning(
                    join(path, "containerPortRange"),
                    self.idx.pos(&join(path, "containerPortRange")),
                    "berth does not publish containerPortRange ranges; the range is accepted \
                     and ignored",
                );
                self.push(d);
            } else {
                let d = self.error(
                    path,
                    format!("Invalid 'containerPort' setting for container '{container}'."),
                );
                let d = d.with_hint("a port mapping needs containerPort (or containerPortRange)");
                self.push(d);
            }
            return None;
        }
        let container_port = match container_port.and_then(|p| u16::try_from(p).ok()) {
            Some(p) if p >= 1 => p,
            _ => {
                let d = self.error(
                    &join(path, "containerPort"),
                    format!("Invalid 'containerPort' setting for container '{container}'."),
                );
                self.push(d.with_hint("a port is between 1 and 65535"));
                return None;
            }
        };
        let host_port = match Self::int(pm, "hostPort") {
            None => None,
            Some(p) => match u16::try_from(p) {
                Ok(p) => Some(p),
                Err(_) => {
                    let d = self.error(
                        &join(path, "hostPort"),
                        format!("Invalid 'hostPort' setting for container '{container}'."),
                    );
                    self.push(d.with_hint("a host port is between 0 (dynamic) and 65535"));
                    return None;
                }
            },
        };
        // ECS fills in hostPort = containerPort for awsvpc and host mode.
        let host_port = match (mode, host_port) {
            (NetworkMode::Awsvpc | NetworkMode::Host, None) => Some(container_port),
            (_, hp) => hp,
        };
        Some(PortMapping {
            container_port,
            host_port,
            protocol: match Self::str(pm, "protocol").as_deref() {
                Some("udp") => Protocol::Udp,
                _ => Protocol::Tcp,
            },
            name: Self::str(pm, "name"),
        })
    }

    fn health_check(&mut self, h: &Node, path: &str, container: &str) -> HealthCheck {
        let hp = join(path, "healthCheck");
        let field = |b: &mut Self, key: &str, lo: i64, hi: i64, default: u32| {
            b.ranged(h, key, &hp, lo, hi, || {
                format!(
                    "Invalid 'healthCheck.{key}' setting for container '{container}': {lo} to \
                     {hi} seconds{}",
                    if key == "retries" { " (retries: a count)" } else { "" }
                )
            })
            .unwrap_or(default)
        };
        let interval_s = field(self, "interval", 5, 300, 30);
        let timeout_s = field(self, "timeout", 2, 60, 5);
        let retries = field(self, "retries", 1, 10, 3);
        let start_period_s = field(self, "startPeriod", 0, 300, 0);
        let command = Self::strings(h, "command").unwrap_or_default();
        match command.first().map(String::as_str) {
            Some("CMD") | Some("CMD-SHELL") => {}
            Some("NONE") => {}
            _ => {
                let p = join(&hp, "command");
                let d = Diagnostic::warning(
                    &p,
                    self.idx.pos(&p),
                    "the health check command does not start with \"CMD\" or \"CMD-SHELL\"; \
                     Docker ignores such a check and the container never becomes HEALTHY",
                )
                .with_hint(
                    "write [\"CMD-SHELL\", \"your command\"] or [\"CMD\", \"prog\", \"arg\"]",
                );
                self.push(d);
            }
        }
        HealthCheck { command, interval_s, timeout_s, retries, start_period_s }
    }
}

fn compatibility(s: &str) -> Option<Compatibility> {
    Some(match s {
        "EC2" => Compatibility::Ec2,
        "FARGATE" => Compatibility::Fargate,
        "EXTERNAL" => Compatibility::External,
        "MANAGED_INSTANCES" => Compatibility::ManagedInstances,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_cpu_forms() {
        assert_eq!(parse_task_cpu("1024"), Some(1024));
        assert_eq!(parse_task_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_task_cpu("1 vcpu"), Some(1024));
        assert_eq!(parse_task_cpu(".25 vcpu"), Some(256));
        assert_eq!(parse_task_cpu("0.5vCPU"), Some(512));
        assert_eq!(parse_task_cpu("16 vCPU"), Some(16384));
        assert_eq!(parse_task_cpu("0.3 vcpu"), None, "307.2 units is not whole");
        assert_eq!(parse_task_cpu("$$$$CPUSHARE$$$$"), None);
        assert_eq!(parse_task_cpu(""), None);
        assert_eq!(parse_task_cpu("vcpu"), None);
        assert_eq!(parse_task_cpu("-1"), None);
        assert_eq!(parse_task_cpu("1.5"), None, "bare numbers are units, whole only");
    }

    #[test]
    fn task_memory_forms() {
        assert_eq!(parse_task_memory("2048"), Some(2048));
        assert_eq!(parse_task_memory("2 GB"), Some(2048));
        assert_eq!(parse_task_memory("2 gb"), Some(2048));
        assert_eq!(parse_task_memory(".5 gb"), Some(512));
        assert_eq!(parse_task_memory("0.5GB"), Some(512));
        assert_eq!(parse_task_memory("30 GB"), Some(30720));
        assert_eq!(parse_task_memory("2 MiB"), None);
        assert_eq!(parse_task_memory("{{memory}}"), None);
        assert_eq!(parse_task_memory("99999999999"), None, "overflow is refused, not wrapped");
    }

    const MIN: &str = r#"{"family": "web", "containerDefinitions": [
        {"name": "app", "image": "berth/workload:latest", "memory": 128}]}"#;

    #[test]
    fn defaults_filled_in() {
        let (d, w) = parse_str("t.json", MIN).unwrap();
        assert!(w.is_empty());
        let c = &d.containers[0];
        assert!(c.essential);
        assert_eq!(d.network_mode, NetworkMode::Bridge);
        assert_eq!(c.cpu_units, 0);
        assert_eq!(d.runtime_platform, RuntimePlatform::default());
    }

    #[test]
    fn awsvpc_host_port_and_protocol_defaults() {
        let t = r#"{"family": "web", "networkMode": "awsvpc", "containerDefinitions": [
            {"name": "app", "image": "i", "memory": 128,
             "portMappings": [{"containerPort": 8080}],
             "healthCheck": {"command": ["CMD", "true"]}}]}"#;
        let (d, _) = parse_str("t.json", t).unwrap();
        let pm = &d.containers[0].port_mappings[0];
        assert_eq!(pm.host_port, Some(8080));
        assert_eq!(pm.protocol, Protocol::Tcp);
        let hc = d.containers[0].health_check.as_ref().unwrap();
        assert_eq!((hc.interval_s, hc.timeout_s, hc.retries, hc.start_period_s), (30, 5, 3, 0));
    }

    #[test]
    fn bridge_keeps_dynamic_ports() {
        let t = r#"{"family": "web", "containerDefinitions": [
            {"name": "app", "image": "i", "memory": 128,
             "portMappings": [{"containerPort": 8080}, {"containerPort": 9090, "hostPort": 0}]}]}"#;
        let (d, _) = parse_str("t.json", t).unwrap();
        assert_eq!(d.containers[0].port_mappings[0].host_port, None);
        assert_eq!(d.containers[0].port_mappings[1].host_port, Some(0));
    }

    #[test]
    fn describe_output_wrapped_and_tags_merged() {
        let t = r#"{"taskDefinition": {"family": "web", "revision": 7, "status": "ACTIVE",
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:7",
            "cpu": "256", "memory": "512", "registeredAt": 1698181437.53,
            "containerDefinitions": [{"name": "app", "image": "i"}]},
            "tags": [{"key": "team", "value": "a"}]}"#;
        let (d, _) = parse_str("t.json", t).unwrap();
        assert_eq!(d.revision, Some(7));
        assert_eq!(d.family_revision(), "web:7");
        assert_eq!(d.tags, vec![("team".to_string(), "a".to_string())]);
        assert_eq!((d.cpu_units, d.memory_mib), (Some(256), Some(512)));
    }

    #[test]
    fn size_quota() {
        let env = |n: usize| {
            (0..n)
                .map(|i| format!(r#"{{"name": "V{i}", "value": "{}"}}"#, "x".repeat(100)))
                .collect::<Vec<_>>()
                .join(",")
        };
        let t = |n: usize| {
            format!(
                r#"{{"family": "f", "containerDefinitions": [{{"name": "a", "image": "i",
                "memory": 64, "environment": [{}]}}]}}"#,
                env(n)
            )
        };
        assert!(parse_str("t", &t(500)).is_ok(), "about 60 KB");
        let e = parse_str("t", &t(600)).unwrap_err();
        let d = &e.diagnostics[0];
        // ECS's ClientException text, with berth's measurement in the hint.
        assert!(d.message.starts_with("Actual length: '"), "{}", d.message);
        assert!(d.message.ends_with("'. Max allowed length is '65536' bytes."), "{}", d.message);
        assert!(d.hint.as_deref().unwrap().contains("compact JSON"));
    }

    #[test]
    fn boto3_response_metadata_is_ignored() {
        let t = r#"{"taskDefinition": {"family": "web",
            "containerDefinitions": [{"name": "app", "image": "i", "memory": 64}]},
            "ResponseMetadata": {"RequestId": "x", "HTTPStatusCode": 200}}"#;
        assert!(parse_str("t.json", t).is_ok());
    }

    #[test]
    fn wrapper_unknown_member_is_reported() {
        let t = r#"{"taskDefinition": {"family": "web",
            "containerDefinitions": [{"name": "app", "image": "i", "memory": 64}]}, "tagz": []}"#;
        let e = parse_str("t.json", t).unwrap_err();
        assert!(e.diagnostics[0].message.starts_with("Unknown parameter in input: \"tagz\""));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = parse_str("t.json", "{\n  \"family\": \"x\"\n  \"cpu\": 1\n}").unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!((d.line, d.column), (3, 3));
        assert!(d.message.starts_with("invalid JSON: expected ',' or '}'"));
    }

    #[test]
    fn unquoted_placeholder_gets_a_template_hint() {
        let e =
            parse_str("t.json", "{\"family\": \"f\",\n  \"cpu\": $$$$CPUSHARE$$$$\n}").unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!((d.line, d.column), (2, 10));
        assert!(d.hint.as_deref().unwrap().contains("$$$VAR$$$"));
        let e = parse_str("t.json", "{\"family\": x}").unwrap_err();
        assert!(e.diagnostics[0].hint.is_none());
    }

    #[test]
    fn templated_task_cpu_is_an_error_with_hint() {
        let t = r#"{"cpu": "$$$$CPUSHARE$$$$", "family": "f", "containerDefinitions": [
            {"memory": 2000, "name": "t", "image": "i"}]}"#;
        let e = parse_str("t.json", t).unwrap_err();
        assert_eq!(e.diagnostics[0].message, "Invalid 'cpu' setting for task.");
        assert!(e.diagnostics[0].hint.as_deref().unwrap().contains("unrendered template"));
        assert_eq!(e.diagnostics[0].column, 9);
    }

    #[test]
    fn bad_container_port_words() {
        let t = r#"{"family": "f", "containerDefinitions": [
            {"memory": 64, "name": "web", "image": "i", "portMappings": [{"containerPort": 70000}]}]}"#;
        let e = parse_str("t.json", t).unwrap_err();
        assert_eq!(
            e.diagnostics[0].message,
            "Invalid 'containerPort' setting for container 'web'."
        );
        assert_eq!(e.diagnostics[0].path, "containerDefinitions[0].portMappings[0].containerPort");
    }

    #[test]
    fn health_check_ranges() {
        let t = |interval: i64| {
            format!(
                r#"{{"family": "f", "containerDefinitions": [{{"memory": 64, "name": "w",
                "image": "i", "healthCheck": {{"command": ["CMD", "x"], "interval": {interval}}}}}]}}"#
            )
        };
        assert!(parse_str("t", &t(5)).is_ok());
        assert!(parse_str("t", &t(300)).is_ok());
        let e = parse_str("t", &t(4)).unwrap_err();
        assert!(e.diagnostics[0].message.contains("'healthCheck.interval'"));
        assert!(parse_str("t", &t(301)).is_err());
    }

    #[test]
    fn health_check_without_cmd_is_a_warning() {
        let t = r#"{"family": "f", "containerDefinitions": [{"memory": 64, "name": "w",
            "image": "i", "healthCheck": {"command": ["/healthcheck"]}}]}"#;
        let (_, w) = parse_str("t", t).unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("CMD-SHELL"));
    }

    #[test]
    fn ephemeral_storage_range() {
        let t = |gib: i64| {
            format!(
                r#"{{"family": "f", "ephemeralStorage": {{"sizeInGiB": {gib}}},
                "containerDefinitions": [{{"memory": 64, "name": "w", "image": "i"}}]}}"#
            )
        };
        assert!(parse_str("t", &t(21)).is_ok());
        assert!(parse_str("t", &t(200)).is_ok());
        assert!(parse_str("t", &t(20)).is_err());
        assert!(parse_str("t", &t(201)).is_err());
    }

    #[test]
    fn gpu_count_is_summed() {
        let t = r#"{"family": "f", "containerDefinitions": [{"memory": 64, "name": "w",
            "image": "i", "resourceRequirements": [{"type": "GPU", "value": "2"},
            {"type": "InferenceAccelerator", "value": "d1"}]}]}"#;
        let (d, _) = parse_str("t", t).unwrap();
        assert_eq!(d.containers[0].gpu_count, 2);
        let bad = t.replace("\"2\"", "\"two\"");
        assert!(parse_str("t", &bad).is_err());
    }

    #[test]
    fn bare_container_list_gets_a_hint() {
        let e = parse_str("t", r#"[{"name": "a", "image": "i"}]"#).unwrap_err();
        assert!(e.diagnostics[0].hint.as_deref().unwrap().contains("container_definitions"));
    }
}
