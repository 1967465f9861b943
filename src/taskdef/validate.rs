//! ECS's registration rules, checked on the normalised definition.
//!
//! Wording: where ECS's own error text is known it is used verbatim (sources in
//! `docs/task-definitions.md` and `shared/reference/ecs-semantics.md` §1.4, §2); elsewhere the
//! message is berth's, in the same style (`Invalid 'x' setting for container 'y'.`).
//!
//! Which rules apply follows `requiresCompatibilities`, as in ECS: the Fargate rules only when
//! FARGATE is listed, the EC2 rules when EC2 is listed or nothing is.
//!
//! The checks read the model, and the [`Index`] of the original document for positions and for
//! the members the model does not carry (Fargate-forbidden fields such as `dnsServers`).

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diag::{closest, Diagnostic};

use super::fargate;
use super::model::*;
use super::schema::Index;
use super::template;

/// ECS's limit on containers per task definition.
pub const MAX_CONTAINERS: usize = 10;
/// Placement constraints a task definition may carry.
pub const MAX_PLACEMENT_CONSTRAINTS: usize = 10;
/// Task-level CPU range on EC2, in units (0.125 to 192 vCPU) [API RegisterTaskDefinition.cpu].
pub const EC2_TASK_CPU_RANGE: (u32, u32) = (128, 196_608);

/// Checks a definition that did not come from a file (positions are all 1:1).
pub fn validate_model(def: &TaskDefinition) -> Vec<Diagnostic> {
    let idx = Index::of_value(&super::render::describe_json(def));
    validate(def, &idx)
}

/// Every rule, in document order of the problems found.
pub fn validate(def: &TaskDefinition, idx: &Index) -> Vec<Diagnostic> {
    let mut v = Checker { def, idx, out: Vec::new() };
    v.family();
    v.containers();
    v.memory();
    v.ports();
    v.links_and_volumes();
    v.dependencies();
    v.task_level();
    v.execution_role();
    if def.requires_fargate() {
        v.fargate();
    }
    if def.requires_ec2() {
        v.ec2();
    }
    v.out.sort_by_key(|d| (d.line, d.column));
    v.out
}

struct Checker<'a> {
    def: &'a TaskDefinition,
    idx: &'a Index,
    out: Vec<Diagnostic>,
}

fn cpath(i: usize) -> String {
    format!("containerDefinitions[{i}]")
}

/// ECS's longest family, container name and image, in characters.
pub const MAX_NAME_LEN: usize = 255;

/// A name character ECS allows in family and container names: letters, digits, `_`, `-`.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// An image character ECS allows: letters, digits, `-`, `_`, `:`, `.`, `/`, `@`, `#`
/// [API ContainerDefinition.image].
fn image_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '/' | '@' | '#')
}

/// What is wrong with a name or image, by ECS's rule.
enum Shape {
    Ok,
    TooLong(usize),
    /// The first character not allowed, and its position (1-based, in characters).
    BadChar(char, usize),
}

fn shape_of(s: &str, allowed: fn(char) -> bool) -> Shape {
    let len = s.chars().count();
    if len > MAX_NAME_LEN {
        return Shape::TooLong(len);
    }
    match s.chars().enumerate().find(|(_, c)| !allowed(*c)) {
        Some((i, c)) => Shape::BadChar(c, i + 1),
        None => Shape::Ok,
    }
}

/// A character for a person: visible characters as themselves, the rest by name.
fn show_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        c if c.is_control() => format!("U+{:04X}", c as u32),
        c => format!("'{c}'"),
    }
}

/// The hint for a name or image that breaks ECS's rule: a template hint when it looks like one
/// (that is the likelier story), else the offending character and the rule.
fn shape_hint(what: &str, value: &str, shape: &Shape, rule: &str) -> String {
    if let Some(h) = template::hint(value) {
        return h;
    }
    match shape {
        Shape::TooLong(n) => format!("{what} is {n} characters long; {rule}"),
        Shape::BadChar(c, at) => {
            format!("{what} '{value}' has {} at character {at}; {rule}", show_char(*c))
        }
        Shape::Ok => rule.to_string(),
    }
}

const NAME_RULE: &str = "up to 255 letters (uppercase and lowercase), numbers, underscores, and \
                         hyphens are allowed";
const IMAGE_RULE: &str = "up to 255 letters (uppercase and lowercase), numbers, hyphens, \
                          underscores, colons, periods, forward slashes, at signs and number \
                          signs are allowed, as in repository-url/image:tag or image@digest";

impl Checker<'_> {
    fn err(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.out.push(Diagnostic::error(path, self.idx.pos(path), message));
        self.out.last_mut().expect("just pushed")
    }

    /// An error about member `path` placed at its key (where a person looks for it), or at the
    /// enclosing object when the member is absent or null.
    fn err_at_key(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.out.push(Diagnostic::error(path, self.idx.key_pos(path), message));
        self.out.last_mut().expect("just pushed")
    }

    fn warn(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.out.push(Diagnostic::warning(path, self.idx.pos(path), message));
        self.out.last_mut().expect("just pushed")
    }

    /// Family: ECS's ClientException texts, the value and the offending character in the hint.
    fn family(&mut self) {
        let f = &self.def.family;
        if f.is_empty() {
            self.err("family", "Family should not be null or empty.");
            return;
        }
        let shape = shape_of(f, name_char);
        let message = match shape {
            Shape::Ok => return,
            Shape::TooLong(_) => "Family should be 255 characters or less.",
            Shape::BadChar(..) => "Family contains invalid characters.",
        };
        let hint = shape_hint("the family", f, &shape, NAME_RULE);
        self.err("family", message).hint = Some(hint);
    }

    fn containers(&mut self) {
        let cs = &self.def.containers;
        if cs.is_empty() {
            self.err("containerDefinitions", "Container list cannot be empty.");
            return;
        }
        if cs.len() > MAX_CONTAINERS {
            let p = cpath(MAX_CONTAINERS);
            self.err(&p, "Too many containers.").hint = Some(format!(
                "ECS allows at most {MAX_CONTAINERS} containers per task definition; this one has {}",
                cs.len()
            ));
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, c) in cs.iter().enumerate() {
            let p = cpath(i);
            if self.container_name(&p, &c.name) {
                if let Some(first) = seen.insert(&c.name, i) {
                    self.err(
                        &format!("{p}.name"),
                        format!(
                            "Duplicate container name '{}': containerDefinitions[{first}] already uses it.",
                            c.name
                        ),
                    )
                    .hint = Some("container names must be unique within a task definition".into());
                }
            }
            self.image(&p, &c.image);
        }
        if !cs.iter().any(|c| c.essential) {
            self.err(
                "containerDefinitions",
                "At least one container in the task definition must be essential.",
            )
            .hint = Some(
                "remove \"essential\": false from the container that defines the task's life"
                    .into(),
            );
        }
    }

    /// A container's name: set, ECS's characters and length. Returns whether it is valid.
    fn container_name(&mut self, p: &str, name: &str) -> bool {
        if name.is_empty() {
            self.err_at_key(&format!("{p}.name"), "Container.name should not be null or empty.");
            return false;
        }
        let shape = shape_of(name, name_char);
        let message = match shape {
            Shape::Ok => return true,
            Shape::TooLong(_) => "Container.name should be 255 characters or less.",
            Shape::BadChar(..) => "Container.name contains invalid characters.",
        };
        let hint = shape_hint("the name", name, &shape, NAME_RULE);
        self.err(&format!("{p}.name"), message).hint = Some(hint);
        false
    }

    /// A container's image: set, at most 255 of ECS's characters. An empty or missing image is
    /// reported at the `image` key (or the container when there is none).
    fn image(&mut self, p: &str, image: &str) {
        let ip = format!("{p}.image");
        if image.trim().is_empty() {
            self.err_at_key(&ip, "Container.image should not be null or empty.").hint = Some(
                "give the image to run, such as \"nginx:1.27\" or \"public.ecr.aws/x/y:tag\""
                    .into(),
            );
            return;
        }
        let shape = shape_of(image, image_char);
        let message = match shape {
            Shape::Ok => return,
            Shape::TooLong(_) => "Container.image should be 255 characters or less.",
            Shape::BadChar(..) => "Container.image contains invalid characters.",
        };
        let hint = shape_hint("the image", image, &shape, IMAGE_RULE);
        self.err(&ip, message).hint = Some(hint);
    }

    fn memory(&mut self) {
        let task_mem = self.def.memory_mib;
        let task_cpu = self.def.cpu_units;
        let (mut sum_mem, mut sum_cpu) = (0u64, 0u64);
        for (i, c) in self.def.containers.iter().enumerate() {
            let p = cpath(i);
            if let (Some(m), Some(r)) = (c.memory_mib, c.memory_reservation_mib) {
                if m < r {
                    self.err(
                        &format!("{p}.memory"),
                        format!(
                            "Invalid setting for container '{}'. 'memory' ({m} MiB) must be \
                             greater than or equal to 'memoryReservation' ({r} MiB).",
                            c.name
                        ),
                    );
                }
            }
            if let Some(m) = c.memory_mib.or(c.memory_reservation_mib) {
                if m < 6 {
                    let field = if c.memory_mib.is_some() { "memory" } else { "memoryReservation" };
                    self.warn(
                        &format!("{p}.{field}"),
                        format!(
                            "{m} MiB is below the 6 MiB Docker 20.10 and later needs; the \
                             container will not start"
                        ),
                    );
                }
            }
            if let (Some(tm), Some(m)) = (task_mem, c.memory_mib) {
                if m > tm {
                    self.err(
                        &format!("{p}.memory"),
                        format!(
                            "Invalid setting for container '{}'. The container memory ({m} MiB) \
                             is greater than the task memory ({tm} MiB).",
                            c.name
                        ),
                    );
                }
            }
            sum_mem += c.memory_reservation_mib.or(c.memory_mib).unwrap_or(0) as u64;
            sum_cpu += c.cpu_units as u64;
        }
        if let Some(tm) = task_mem {
            if sum_mem > tm as u64 {
                self.err(
                    "memory",
                    format!(
                        "The containers reserve {sum_mem} MiB in total (memoryReservation, else \
                         memory), more than the task memory of {tm} MiB."
                    ),
                );
            }
        }
        if let Some(tc) = task_cpu {
            if sum_cpu > tc as u64 {
                self.err(
                    "cpu",
                    format!(
                        "The containers' cpu adds up to {sum_cpu} units, more than the task cpu \
                         of {tc} units."
                    ),
                );
            }
        }
    }

    fn ports(&mut self) {
        let mode = self.def.network_mode;
        let mut used: BTreeMap<(Protocol, u16), usize> = BTreeMap::new();
        for (i, c) in self.def.containers.iter().enumerate() {
            let mut raw_j = 0usize;
            for pm in &c.port_mappings {
                // Mappings with only a containerPortRange are not in the model; find the raw
                // index of this mapping for its position.
                while self
                    .idx
                    .has(&format!("{}.portMappings[{raw_j}].containerPortRange", cpath(i)))
                    && !self.idx.has(&format!("{}.portMappings[{raw_j}].containerPort", cpath(i)))
                {
                    raw_j += 1;
                }
                let p = format!("{}.portMappings[{raw_j}]", cpath(i));
                raw_j += 1;
                match mode {
                    NetworkMode::None => {
                        self.err(&p, "Port mappings are not supported when networkMode=none.");
                        continue;
                    }
                    NetworkMode::Awsvpc | NetworkMode::Host => {
                        if pm.host_port.is_some_and(|h| h != pm.container_port) {
                            let word = if mode == NetworkMode::Awsvpc { "awsvpc" } else { "host" };
                            self.err(
                                &format!("{p}.hostPort"),
                                format!(
                                    "When networkMode={word}, the host ports and container ports \
                                     in port mappings must match."
                                ),
                            )
                            .hint = Some(format!(
                                "leave hostPort out or set it to {}",
                                pm.container_port
                            ));
                        }
                    }
                    NetworkMode::Bridge | NetworkMode::Default => {}
                }
                let Some(host) = pm.host_port.filter(|h| *h != 0) else { continue };
                if used.insert((pm.protocol, host), i).is_some() {
                    let proto = match pm.protocol {
                        Protocol::Tcp => "TCP",
                        Protocol::Udp => "UDP",
                    };
                    let field = if self.idx.has(&format!("{p}.hostPort")) {
                        format!("{p}.hostPort")
                    } else {
                        format!("{p}.containerPort")
                    };
                    self.err(
                        &field,
                        format!("{proto} host port '{host}' is mapped multiple times in task."),
                    );
                }
            }
        }
    }

    fn links_and_volumes(&mut self) {
        let names: Vec<&str> = self.def.containers.iter().map(|c| c.name.as_str()).collect();
        let volumes: Vec<&str> = self.def.volumes.iter().map(|v| v.name.as_str()).collect();
        let mode = self.def.network_mode;
        for (i, c) in self.def.containers.iter().enumerate() {
            let p = cpath(i);
            if !c.links.is_empty()
                && matches!(mode, NetworkMode::Awsvpc | NetworkMode::Host | NetworkMode::None)
            {
                let word = super::render::network_mode_str(mode);
                self.err(
                    &format!("{p}.links"),
                    format!("Links are not supported when networkMode={word}."),
                )
                .hint = Some(format!(
                    "containers of an {word} task reach each other on localhost; remove links"
                ));
            }
            for (j, link) in c.links.iter().enumerate() {
                let target = link.split(':').next().unwrap_or_default();
                if !names.contains(&target) {
                    let d = self.err(
                        &format!("{p}.links[{j}]"),
                        format!(
                            "Invalid link '{link}': no container named '{target}' in this task."
                        ),
                    );
                    if let Some(c) = closest(target, names.iter().copied()) {
                        d.hint = Some(format!("did you mean \"{c}\"?"));
                    }
                }
            }
            for (j, vf) in c.volumes_from.iter().enumerate() {
                if !names.contains(&vf.as_str()) {
                    self.err(
                        &format!("{p}.volumesFrom[{j}].sourceContainer"),
                        format!("volumesFrom names container '{vf}', which is not in this task."),
                    );
                }
            }
            for (j, mp) in c.mount_points.iter().enumerate() {
                if !volumes.contains(&mp.source_volume.as_str()) {
                    let d = self.err(
                        &format!("{p}.mountPoints[{j}].sourceVolume"),
                        format!(
                            "mountPoints names sourceVolume '{}', which is not a volume of this task.",
                            mp.source_volume
                        ),
                    );
                    d.hint = Some(match closest(&mp.source_volume, volumes.iter().copied()) {
                        Some(v) => format!("did you mean \"{v}\"?"),
                        None => "declare it under the task's \"volumes\"".into(),
                    });
                }
            }
            if mode == NetworkMode::Awsvpc && self.idx.len(&format!("{p}.extraHosts")) > 0 {
                self.err(
                    &format!("{p}.extraHosts"),
                    "The extraHosts parameter is not supported when networkMode=awsvpc.",
                );
            }
            if mode == NetworkMode::Awsvpc && self.idx.has(&format!("{p}.hostname")) {
                self.err(
                    &format!("{p}.hostname"),
                    "The hostname parameter is not supported when networkMode=awsvpc.",
                );
            }
        }
        if let Some(proxy) = self.idx.scalar("proxyConfiguration.containerName") {
            if !names.contains(&proxy) {
                self.warn(
                    "proxyConfiguration.containerName",
                    format!(
                        "proxyConfiguration names container '{proxy}', which is not in this task"
                    ),
                );
            }
        }
    }

    fn dependencies(&mut self) {
        let by_name: HashMap<&str, usize> =
            self.def.containers.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
        let mut graph: DiGraph<usize, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> =
            (0..self.def.containers.len()).map(|i| graph.add_node(i)).collect();
        for (i, c) in self.def.containers.iter().enumerate() {
            for (j, dep) in c.depends_on.iter().enumerate() {
                let p = format!("{}.dependsOn[{j}]", cpath(i));
                let Some(&t) = by_name.get(dep.container_name.as_str()) else {
                    let names = self.def.containers.iter().map(|c| c.name.as_str());
                    let hint = closest(&dep.container_name, names)
                        .map(|n| format!("did you mean \"{n}\"?"));
                    self.err(
                        &format!("{p}.containerName"),
                        format!(
                            "dependsOn names container '{}', which is not in this task.",
                            dep.container_name
                        ),
                    )
                    .hint = hint;
                    continue;
                };
                graph.add_edge(nodes[i], nodes[t], ());
                let target = &self.def.containers[t];
                match dep.condition {
                    DependencyCondition::Complete | DependencyCondition::Success
                        if target.essential =>
                    {
                        self.err(
                            &format!("{p}.condition"),
                            "A dependency container with SUCCESS or COMPLETE condition cannot be \
                             an essential container",
                        )
                        .hint = Some(format!(
                            "set \"essential\": false on container '{}'",
                            target.name
                        ));
                    }
                    DependencyCondition::Healthy if target.health_check.is_none() => {
                        self.err(
                            &format!("{p}.condition"),
                            format!(
                                "A dependency container with HEALTHY condition must have a health \
                                 check: container '{}' has no healthCheck.",
                                target.name
                            ),
                        );
                    }
                    _ => {}
                }
            }
        }
        if let Some(cycle) = find_cycle(&graph) {
            let names: Vec<&str> =
                cycle.iter().map(|n| self.def.containers[graph[*n]].name.as_str()).collect();
            let first = graph[cycle[0]];
            self.err(
                &format!("{}.dependsOn", cpath(first)),
                format!("Container dependencies form a cycle: {}.", names.join(" -> ")),
            )
            .hint =
                Some("no container could ever start; remove one of these dependsOn entries".into());
        }
    }

    fn task_level(&mut self) {
        let listed = !self.def.requires_compatibilities.is_empty();
        if listed && !self.def.requires_fargate() && self.def.ephemeral_storage_gib.is_some() {
            self.warn(
                "ephemeralStorage",
                "ephemeralStorage only applies to tasks on Fargate; this definition does not list \
                 FARGATE, so the setting has no effect",
            );
        }
        let n = self.def.placement_constraints.len().max(self.idx.len("placementConstraints"));
        if n > MAX_PLACEMENT_CONSTRAINTS {
            self.err(
                "placementConstraints",
                format!(
                    "Too many placement constraints: {n} (at most {MAX_PLACEMENT_CONSTRAINTS})."
                ),
            );
        }
        for i in 0..self.idx.len("placementConstraints") {
            let p = format!("placementConstraints[{i}]");
            if self.idx.scalar(&format!("{p}.type")) == Some("memberOf")
                && !self.idx.has(&format!("{p}.expression"))
            {
                self.err(&p, "A memberOf placement constraint needs an expression.");
            }
        }
        for (i, c) in self.def.containers.iter().enumerate() {
            let p = cpath(i);
            for (j, u) in c.ulimits.iter().enumerate() {
                if u.soft_limit > u.hard_limit {
                    self.warn(
                        &format!("{p}.ulimits[{j}]"),
                        format!(
                            "ulimit '{}' has softLimit {} above hardLimit {}; Docker refuses to \
                             create the container",
                            u.name, u.soft_limit, u.hard_limit
                        ),
                    );
                }
            }
            let rp = format!("{p}.restartPolicy");
            if let Some(period) = self.idx.scalar(&format!("{rp}.restartAttemptPeriod")) {
                if period.parse::<i64>().is_ok_and(|v| !(60..=1800).contains(&v)) {
                    self.err(
                        &format!("{rp}.restartAttemptPeriod"),
                        format!(
                            "Invalid 'restartPolicy' setting for container '{}': \
                             restartAttemptPeriod is 60 to 1800 seconds.",
                            c.name
                        ),
                    );
                }
            }
            let codes = self.idx.len(&format!("{rp}.ignoredExitCodes"));
            if codes > 50 {
                self.err(
                    &format!("{rp}.ignoredExitCodes"),
                    format!(
                        "Invalid 'restartPolicy' setting for container '{}': at most 50 \
                         ignoredExitCodes.",
                        c.name
                    ),
                );
            }
        }
    }

    /// Whether the definition names a task execution role (an empty string does not count).
    fn has_execution_role(&self) -> bool {
        self.def.execution_role_arn.as_deref().is_some_and(|r| !r.trim().is_empty())
    }

    /// Secrets (container or log configuration) and private registry credentials are fetched
    /// with the task execution role, so ECS refuses them without one, on every launch type.
    fn execution_role(&mut self) {
        if self.has_execution_role() {
            return;
        }
        const ROLE_HINT: &str = "ECS fetches them with the task execution role; add \
            \"executionRoleArn\": \"arn:aws:iam::<account>:role/ecsTaskExecutionRole\" (a role \
            with the AmazonECSTaskExecutionRolePolicy and read access to the secrets)";
        for i in 0..self.def.containers.len() {
            let p = cpath(i);
            for field in [format!("{p}.secrets"), format!("{p}.logConfiguration.secretOptions")] {
                if self.idx.len(&field) > 0 {
                    self.err_at_key(
                        &field,
                        "When you are specifying container secrets, you must also specify a \
                         value for 'executionRoleArn'.",
                    )
                    .hint = Some(ROLE_HINT.into());
                }
            }
            let rc = format!("{p}.repositoryCredentials");
            if self.idx.has(&format!("{rc}.credentialsParameter")) {
                self.err_at_key(
                    &rc,
                    "Private repository authentication requires that the task definition specify \
                     a value for executionRoleArn.",
                )
                .hint = Some(ROLE_HINT.into());
            }
        }
    }

    fn fargate(&mut self) {
        let def = self.def;
        if def.network_mode != NetworkMode::Awsvpc {
            self.err("networkMode", "Fargate only supports network mode 'awsvpc'.").hint =
                Some("set \"networkMode\": \"awsvpc\"".into());
        }
        match (def.cpu_units, def.memory_mib) {
            (None, _) => {
                self.err("", "Fargate requires that 'cpu' be defined at the task level.").hint =
                    Some(size_hint(def, None));
            }
            (_, None) => {
                self.err("", "Fargate requires that 'memory' be defined at the task level.").hint =
                    Some(size_hint(def, None));
            }
            (Some(cpu), Some(mem)) => {
                let os = def.runtime_platform.os;
                if !fargate::is_valid_size(os, cpu, mem) {
                    let options = fargate::memory_options(os, cpu);
                    let hint = if options.is_empty() {
                        size_hint(def, Some((cpu, mem)))
                    } else {
                        format!(
                            "with cpu {cpu} Fargate accepts memory {} MiB{}",
                            list(&options),
                            nearest_note(os, cpu, mem)
                        )
                    };
                    let path = if options.is_empty() { "cpu" } else { "memory" };
                    self.err(path, "Invalid 'cpu' setting for task.").hint = Some(hint);
                }
            }
        }
        if def.pid_mode.as_deref().is_some_and(|m| m != "task") {
            self.err("pidMode", "Fargate only supports pidMode 'task'.");
        }
        let task_level = [("ipcMode", "ipcMode")];
        for (path, what) in task_level {
            if self.idx.has(path) {
                self.err(path, format!("Fargate does not support '{what}'."));
            }
        }
        if !def.placement_constraints.is_empty() || self.idx.len("placementConstraints") > 0 {
            self.err("placementConstraints", "Fargate does not support placement constraints.");
        }
        for i in 0..self.idx.len("volumes") {
            let p = format!("volumes[{i}]");
            if self.idx.has(&format!("{p}.dockerVolumeConfiguration")) {
                self.err(
                    &format!("{p}.dockerVolumeConfiguration"),
                    "Fargate does not support 'dockerVolumeConfiguration'.",
                )
                .hint = Some("use a bind mount (a volume with just a name) or EFS".into());
            }
            if self.idx.has(&format!("{p}.host.sourcePath")) {
                self.err(
                    &format!("{p}.host.sourcePath"),
                    "Fargate does not support 'sourcePath' on host volumes.",
                );
            }
        }
        let no_role = !self.has_execution_role();
        for (i, c) in def.containers.iter().enumerate() {
            let p = cpath(i);
            let forbidden = [
                "privileged",
                "links",
                "dnsServers",
                "dnsSearchDomains",
                "extraHosts",
                "dockerSecurityOptions",
                "disableNetworking",
                "linuxParameters.devices",
                "linuxParameters.sharedMemorySize",
                "linuxParameters.tmpfs",
                "linuxParameters.maxSwap",
                "linuxParameters.swappiness",
            ];
            for f in forbidden {
                let fp = format!("{p}.{f}");
                // `privileged: false` and empty lists are harmless; ECS rejects the feature.
                let used = match f {
                    "privileged" => c.privileged,
                    // Already reported by the network-mode rules.
                    "links" if self.def.network_mode != NetworkMode::Bridge => false,
                    "extraHosts" if self.def.network_mode == NetworkMode::Awsvpc => false,
                    "disableNetworking" => self.idx.scalar(&fp) == Some("true"),
                    "linuxParameters.sharedMemorySize"
                    | "linuxParameters.maxSwap"
                    | "linuxParameters.swappiness" => self.idx.has(&fp),
                    _ => self.idx.len(&fp) > 0,
                };
                if used {
                    let field = f.rsplit('.').next().unwrap_or(f);
                    self.err(&fp, format!("Fargate does not support '{field}'."));
                }
            }
            let caps = format!("{p}.linuxParameters.capabilities.add");
            for j in 0..self.idx.len(&caps) {
                let cp = format!("{caps}[{j}]");
                if let Some(cap) = self.idx.scalar(&cp) {
                    if cap != "SYS_PTRACE" {
                        self.err(
                            &cp,
                            format!("Fargate only supports adding the SYS_PTRACE capability, not '{cap}'."),
                        );
                    }
                }
            }
            if c.gpu_count > 0 {
                self.err(
                    &format!("{p}.resourceRequirements"),
                    "Fargate does not support GPU resource requirements.",
                );
            }
            if let Some(driver) = &c.log_driver {
                let lp = format!("{p}.logConfiguration.logDriver");
                if !matches!(driver.as_str(), "awslogs" | "splunk" | "awsfirelens") {
                    self.err(
                        &lp,
                        format!(
                            "Fargate does not support log driver '{driver}'; it supports awslogs, \
                             splunk and awsfirelens."
                        ),
                    );
                } else if driver == "awslogs" && no_role {
                    self.err(
                        &lp,
                        "Fargate requires task definition to have execution role ARN to support log driver awslogs",
                    )
                    .hint = Some("set executionRoleArn".into());
                }
            }
            if no_role && is_ecr_image(&c.image) {
                self.err(
                    &format!("{p}.image"),
                    "Fargate requires task definition to have execution role ARN to support ECR images.",
                )
                .hint = Some("set executionRoleArn".into());
            }
            if let Some(t) = c.stop_timeout_s.filter(|t| *t > 120) {
                self.warn(
                    &format!("{p}.stopTimeout"),
                    format!(
                        "Fargate's longest stopTimeout is 120 seconds; {t} will not be honoured"
                    ),
                );
            }
            if let Some(t) = c.start_timeout_s.filter(|t| !(2..=120).contains(t)) {
                self.warn(
                    &format!("{p}.startTimeout"),
                    format!("Fargate's startTimeout range is 2 to 120 seconds; {t} is outside it"),
                );
            }
        }
    }

    fn ec2(&mut self) {
        let def = self.def;
        if let Some(cpu) = def.cpu_units {
            let (lo, hi) = EC2_TASK_CPU_RANGE;
            if !(lo..=hi).contains(&cpu) {
                self.err("cpu", "Invalid 'cpu' setting for task.").hint = Some(format!(
                    "on EC2 the task cpu is {lo} to {hi} units (0.125 to 192 vCPU); {cpu} is outside"
                ));
            }
        }
        if def.memory_mib.is_none() {
            for (i, c) in def.containers.iter().enumerate() {
                if c.memory_mib.is_none() && c.memory_reservation_mib.is_none() {
                    self.err(
                        &cpath(i),
                        format!(
                            "Invalid setting for container '{}'. At least one of 'memory' or \
                             'memoryReservation' must be specified.",
                            c.name
                        ),
                    )
                    .hint = Some(
                        "on EC2 either set task-level \"memory\" or give every container \
                         \"memory\" and/or \"memoryReservation\" (MiB)"
                            .into(),
                    );
                }
            }
        }
    }
}

/// An image in Amazon ECR (`<account>.dkr.ecr.<region>.amazonaws.com/...`).
pub fn is_ecr_image(image: &str) -> bool {
    let host = image.split('/').next().unwrap_or_default();
    image.contains('/') && host.contains(".dkr.ecr.") && host.contains(".amazonaws.com")
}

fn list(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// The hint for a Fargate task with a missing or impossible size: the smallest valid size that
/// holds the task (or the containers' sums), and the valid cpu values.
fn size_hint(def: &TaskDefinition, given: Option<(u32, u32)>) -> String {
    let os = def.runtime_platform.os;
    let (cpu, mem) = given.unwrap_or_else(|| super::derive::container_sums(def));
    let cpus: Vec<u32> = {
        let mut v: Vec<u32> = fargate::valid_sizes(os).iter().map(|s| s.cpu_units).collect();
        v.dedup();
        v
    };
    let mut s = format!("Fargate task cpu is one of {} units", list(&cpus));
    if let Some(size) = fargate::smallest_fitting(os, cpu, mem) {
        s.push_str(&format!(
            "; the smallest size holding {cpu} units and {mem} MiB is \"cpu\": \"{}\", \"memory\": \"{}\" ({})",
            size.cpu_units,
            size.memory_mib,
            size.label()
        ));
    }
    s
}

/// For a valid cpu with an invalid memory: the nearest valid memory values below and above.
fn nearest_note(os: OsFamily, cpu: u32, mem: u32) -> String {
    let options = fargate::memory_options(os, cpu);
    let below = options.iter().rev().find(|m| **m < mem);
    let above = options.iter().find(|m| **m > mem);
    match (below, above) {
        (Some(b), Some(a)) => format!("; nearest: {b} or {a}"),
        (None, Some(a)) => format!("; nearest: {a}"),
        (Some(b), None) => match fargate::smallest_fitting(os, cpu, mem) {
            Some(s) => {
                format!("; nearest: {b}, or a bigger size such as {} ({})", s.cpu_units, s.label())
            }
            None => format!("; nearest: {b}"),
        },
        (None, None) => String::new(),
    }
}

/// A dependency cycle as a path of nodes that returns to its first node, if there is one.
pub(crate) fn find_cycle<E>(graph: &DiGraph<usize, E>) -> Option<Vec<NodeIndex>> {
    for scc in petgraph::algo::tarjan_scc(graph) {
        let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let start = *scc.iter().min()?;
        let mut path = vec![start];
        let mut cur = start;
        loop {
            // Follow the lowest-numbered edge that stays in the component: deterministic.
            let next = graph.neighbors(cur).filter(|n| scc.contains(n)).min()?;
            if let Some(pos) = path.iter().position(|n| *n == next) {
                let mut cycle = path[pos..].to_vec();
                cycle.push(next);
                return Some(cycle);
            }
            path.push(next);
            cur = next;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::parse::parse_str;

    /// Errors for a definition written as JSON (type errors would panic the test).
    fn errors(json: &str) -> Vec<String> {
        match parse_str("t.json", json) {
            Ok(_) => vec![],
            Err(e) => e
                .diagnostics
                .iter()
                .filter(|d| d.severity == crate::diag::Severity::Error)
                .map(|d| d.message.clone())
                .collect(),
        }
    }

    fn has(json: &str, needle: &str) -> bool {
        let e = errors(json);
        e.iter().any(|m| m.contains(needle)) || {
            eprintln!("errors: {e:#?}");
            false
        }
    }

    /// A definition from a template: `$C` is replaced by the container list, `$T` by extra
    /// task-level members (with a trailing comma).
    fn td(task: &str, containers: &str) -> String {
        format!(r#"{{{task} "family": "f", "containerDefinitions": [{containers}]}}"#)
    }

    const APP: &str = r#"{"name": "app", "image": "berth/workload:latest", "memory": 128}"#;
    const FARGATE: &str = r#""requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512","#;

    #[test]
    fn baseline_is_valid() {
        assert!(errors(&td("", APP)).is_empty());
        assert!(errors(&td(FARGATE, APP)).is_empty());
    }

    #[test]
    fn family_name() {
        assert!(errors(&td("", APP).replace("\"f\"", "\"web-1_a\"")).is_empty());
        let e = parse_str("t", &td("", APP).replace("\"f\"", "\"web app\"")).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!(d.message, "Family contains invalid characters.");
        let hint = d.hint.as_deref().unwrap();
        assert!(hint.contains("'web app' has a space at character 4"), "{hint}");
        assert!(hint.contains("up to 255 letters"), "{hint}");
        let long = td("", APP).replace("\"f\"", &format!("\"{}\"", "a".repeat(256)));
        let e = parse_str("t", &long).unwrap_err();
        assert_eq!(e.diagnostics[0].message, "Family should be 255 characters or less.");
        assert!(e.diagnostics[0].hint.as_deref().unwrap().contains("256 characters long"));
        assert!(has(&td("", APP).replace("\"f\"", "\"\""), "Family should not be null or empty."));
    }

    #[test]
    fn templated_names_are_errors_with_a_template_hint() {
        let e =
            parse_str("t", &td("", APP).replace("\"f\"", "\"svc-{{launchtype}}\"")).unwrap_err();
        assert_eq!(e.diagnostics[0].message, "Family contains invalid characters.");
        assert!(e.diagnostics[0].hint.as_deref().unwrap().contains("unrendered template"));
        let e = parse_str("t", &td("", &APP.replace("\"app\"", "\"${NAME}\""))).unwrap_err();
        assert_eq!(e.diagnostics[0].message, "Container.name contains invalid characters.");
        assert!(e.diagnostics[0].hint.as_deref().unwrap().contains("${VAR}"));
    }

    #[test]
    fn container_count() {
        assert!(has(&td("", ""), "Container list cannot be empty."));
        let ten: Vec<String> =
            (0..10).map(|i| format!(r#"{{"name": "c{i}", "image": "i", "memory": 8}}"#)).collect();
        assert!(errors(&td("", &ten.join(","))).is_empty());
        let eleven: Vec<String> =
            (0..11).map(|i| format!(r#"{{"name": "c{i}", "image": "i", "memory": 8}}"#)).collect();
        let e = parse_str("t", &td("", &eleven.join(","))).unwrap_err();
        assert_eq!(e.diagnostics[0].message, "Too many containers.");
        assert!(e.diagnostics[0].hint.as_deref().unwrap().contains("at most 10"));
        assert!(e.diagnostics[0].hint.as_deref().unwrap().contains("this one has 11"));
    }

    #[test]
    fn container_names_and_image() {
        let dup = format!("{APP},{APP}");
        assert!(has(&td("", &dup), "Duplicate container name 'app'"));
        let e = parse_str("t", &td("", &APP.replace("\"app\"", "\"a b\""))).unwrap_err();
        assert_eq!(e.diagnostics[0].message, "Container.name contains invalid characters.");
        assert!(e.diagnostics[0].hint.as_deref().unwrap().contains("'a b' has a space"));
        let long = APP.replace("\"app\"", &format!("\"{}\"", "n".repeat(256)));
        assert!(has(&td("", &long), "Container.name should be 255 characters or less."));
        assert!(has(
            &td("", &APP.replace("\"app\"", "\"\"")),
            "Container.name should not be null or empty."
        ));
        assert!(has(
            &td("", &APP.replace("berth/workload:latest", "")),
            "Container.image should not be null or empty."
        ));
    }

    /// The diagnostics of a file that must be rejected.
    fn rejected(json: &str) -> Vec<Diagnostic> {
        parse_str("t.json", json).unwrap_err().diagnostics
    }

    #[test]
    fn image_follows_ecs_characters_and_length() {
        for ok in [
            "nginx",
            "nginx:1.27",
            "public.ecr.aws/nginx/nginx:latest",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:7587e255",
            "127.0.0.1:51670/busybox:latest",
            "alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "registry.example.com/app#build-7",
        ] {
            let c = APP.replace("berth/workload:latest", ok);
            assert!(errors(&td("", &c)).is_empty(), "{ok}");
        }
        let image = |img: &str| td("", &APP.replace("berth/workload:latest", img));
        // CodeDeploy's placeholder, an envsubst template, a Go template: rejected, with a
        // template hint that says how to render them.
        for (img, how) in [
            ("<IMAGE1_NAME>", "CodePipeline"),
            ("${REGISTRY}/app:${TAG}", "envsubst"),
            ("katsubushi/katsubushi:{{ env `TAG` `latest` }}", "ecspresso render"),
        ] {
            let d = rejected(&image(img));
            assert_eq!(d.len(), 1, "{img}: {d:?}");
            assert_eq!(d[0].message, "Container.image contains invalid characters.", "{img}");
            assert_eq!(d[0].path, "containerDefinitions[0].image");
            let hint = d[0].hint.as_deref().unwrap();
            assert!(hint.contains("unrendered template") && hint.contains(how), "{img}: {hint}");
        }
        // Not a template: the hint names the character and the rule.
        let d = rejected(&image("my app:1"));
        assert_eq!(d[0].message, "Container.image contains invalid characters.");
        assert!(d[0].hint.as_deref().unwrap().contains("has a space at character 3"));
        // 255 characters are fine, 300 are not.
        let at_limit = format!("r/{}", "a".repeat(253));
        assert!(errors(&image(&at_limit)).is_empty());
        let d = rejected(&image(&format!("r/{}", "a".repeat(298))));
        assert_eq!(d[0].message, "Container.image should be 255 characters or less.");
        assert!(d[0].hint.as_deref().unwrap().contains("300 characters long"));
    }

    #[test]
    fn empty_or_missing_image_points_at_the_key_or_the_container() {
        let text = "{\"family\": \"f\", \"containerDefinitions\": [\n  {\"name\": \"a\", \"memory\": 8,\n   \"image\": \"\"}]}";
        let d = rejected(text);
        assert_eq!(d[0].message, "Container.image should not be null or empty.");
        assert_eq!(d[0].path, "containerDefinitions[0].image");
        assert_eq!((d[0].line, d[0].column), (3, 4), "at the \"image\" key");
        let null = text.replace("\"image\": \"\"", "\"image\": null");
        assert_eq!((rejected(&null)[0].line, rejected(&null)[0].column), (3, 4));
        let missing =
            "{\"family\": \"f\", \"containerDefinitions\": [\n  {\"name\": \"a\", \"memory\": 8}]}";
        let d = rejected(missing);
        assert_eq!(d[0].message, "Container.image should not be null or empty.");
        assert_eq!((d[0].line, d[0].column), (2, 3), "at the container");
    }

    #[test]
    fn secrets_and_registry_credentials_need_an_execution_role() {
        let secrets = APP.replace(
            '}',
            r#", "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/db"}]}"#,
        );
        let log_secrets = APP.replace(
            '}',
            r#", "logConfiguration": {"logDriver": "splunk", "secretOptions": [{"name": "splunk-token", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:t"}]}}"#,
        );
        let creds = APP.replace(
            '}',
            r#", "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:1:secret:r"}}"#,
        );
        let role = r#""executionRoleArn": "arn:aws:iam::1:role/ecsTaskExecutionRole","#;
        for (c, path, message) in [
            (&secrets, "containerDefinitions[0].secrets", "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."),
            (&log_secrets, "containerDefinitions[0].logConfiguration.secretOptions", "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."),
            (&creds, "containerDefinitions[0].repositoryCredentials", "Private repository authentication requires that the task definition specify a value for executionRoleArn."),
        ] {
            // On EC2 (nothing listed), on Fargate, and with an empty role: rejected.
            for task in ["", FARGATE, r#""executionRoleArn": "","#] {
                let d = rejected(&td(task, c));
                let e = d.iter().find(|d| d.path == path).unwrap_or_else(|| panic!("{path}: {d:?}"));
                assert_eq!(e.message, message);
                assert!(e.hint.as_deref().unwrap().contains("executionRoleArn"));
            }
            assert!(errors(&td(role, c)).is_empty(), "{path} with a role");
            assert!(errors(&td(&format!("{FARGATE} {role}"), c)).is_empty(), "{path} on Fargate");
        }
        // Empty lists ask for nothing.
        let empty = APP.replace('}', r#", "secrets": [], "logConfiguration": {"logDriver": "json-file", "secretOptions": []}}"#);
        assert!(errors(&td("", &empty)).is_empty());
    }

    #[test]
    fn at_least_one_essential() {
        let side = r#"{"name": "side", "image": "i", "memory": 8, "essential": false}"#;
        assert!(errors(&td("", &format!("{APP},{side}"))).is_empty());
        assert!(has(&td("", side), "must be essential"));
    }

    #[test]
    fn ec2_memory_rule() {
        let no_mem = r#"{"name": "PatientAPI", "image": "i"}"#;
        assert!(has(
            &td("", no_mem),
            "Invalid setting for container 'PatientAPI'. At least one of 'memory' or 'memoryReservation' must be specified."
        ));
        assert!(errors(&td(r#""memory": "512","#, no_mem)).is_empty(), "task memory covers it");
        assert!(errors(&td("", &no_mem.replace('}', ", \"memoryReservation\": 64}"))).is_empty());
        // Fargate-only definitions do not follow the EC2 rule.
        assert!(errors(&td(FARGATE, no_mem)).is_empty());
    }

    #[test]
    fn memory_at_least_reservation_and_within_task() {
        let c = |m: u32, r: u32| {
            format!(r#"{{"name": "a", "image": "i", "memory": {m}, "memoryReservation": {r}}}"#)
        };
        assert!(errors(&td("", &c(256, 128))).is_empty());
        assert!(errors(&td("", &c(128, 128))).is_empty());
        assert!(has(
            &td("", &c(64, 128)),
            "'memory' (64 MiB) must be greater than or equal to 'memoryReservation' (128 MiB)"
        ));
        assert!(has(
            &td(r#""memory": "128","#, &c(256, 64)),
            "container memory (256 MiB) is greater than the task memory (128 MiB)"
        ));
        let two = format!("{},{}", c(100, 100), c(100, 100).replace("\"a\"", "\"b\""));
        assert!(has(&td(r#""memory": "150","#, &two), "reserve 200 MiB in total"));
        assert!(errors(&td(r#""memory": "200","#, &two)).is_empty());
    }

    #[test]
    fn container_cpu_within_task_cpu() {
        let c = r#"{"name": "a", "image": "i", "memory": 64, "cpu": 300}"#;
        assert!(has(&td(r#""cpu": "256","#, c), "adds up to 300 units"));
        assert!(errors(&td(r#""cpu": "512","#, c)).is_empty());
    }

    #[test]
    fn fargate_sizes() {
        let f = |cpu: &str, mem: &str| {
            td(
                &format!(
                    r#""requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "{cpu}", "memory": "{mem}","#
                ),
                APP,
            )
        };
        assert!(errors(&f(".25 vcpu", "0.5GB")).is_empty());
        assert!(errors(&f("1 vCPU", "2 GB")).is_empty());
        assert!(has(&f("256", "4096"), "Invalid 'cpu' setting for task."));
        let e = parse_str("t", &f("256", "4096")).unwrap_err();
        let hint = e.diagnostics[0].hint.clone().unwrap();
        assert!(hint.contains("with cpu 256 Fargate accepts memory 512, 1024, 2048 MiB"), "{hint}");
        assert!(hint.contains("nearest: 2048"), "{hint}");
        let e = parse_str("t", &f("300", "1024")).unwrap_err();
        let hint = e.diagnostics[0].hint.clone().unwrap();
        assert!(hint.contains("\"cpu\": \"512\", \"memory\": \"1024\""), "{hint}");
        // Fargate checks apply even when EC2 is listed too.
        let both = f("256", "4096").replace(r#"["FARGATE"]"#, r#"["EC2", "FARGATE"]"#);
        assert!(has(&both, "Invalid 'cpu' setting for task."));
        // EC2-only: any size.
        let ec2 = f("256", "4096").replace(r#"["FARGATE"]"#, r#"["EC2"]"#);
        assert!(errors(&ec2).is_empty());
    }

    #[test]
    fn fargate_needs_task_size_and_awsvpc() {
        let t = r#""requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc","#;
        assert!(has(&td(t, APP), "Fargate requires that 'cpu' be defined at the task level."));
        let t2 =
            r#""requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256","#;
        assert!(has(&td(t2, APP), "Fargate requires that 'memory' be defined at the task level."));
        let bridge = FARGATE.replace("awsvpc", "bridge");
        assert!(has(&td(&bridge, APP), "Fargate only supports network mode 'awsvpc'."));
    }

    #[test]
    fn fargate_forbidden_fields() {
        for (field, json) in [
            ("privileged", r#""privileged": true"#),
            ("dnsServers", r#""dnsServers": ["1.1.1.1"]"#),
            ("dockerSecurityOptions", r#""dockerSecurityOptions": ["no-new-privileges"]"#),
            ("tmpfs", r#""linuxParameters": {"tmpfs": [{"containerPath": "/t", "size": 8}]}"#),
            ("sharedMemorySize", r#""linuxParameters": {"sharedMemorySize": 64}"#),
            ("maxSwap", r#""linuxParameters": {"maxSwap": 64}"#),
            ("devices", r#""linuxParameters": {"devices": [{"hostPath": "/dev/x"}]}"#),
        ] {
            let c = APP.replace('}', &format!(", {json}}}"));
            assert!(
                has(&td(FARGATE, &c), &format!("Fargate does not support '{field}'.")),
                "{field}"
            );
            assert!(errors(&td("", &c)).is_empty(), "{field} is fine on EC2");
        }
        let ok = APP.replace('}', r#", "privileged": false, "linuxParameters": {"capabilities": {"add": ["SYS_PTRACE"]}, "initProcessEnabled": true}, "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}]}"#);
        assert!(errors(&td(FARGATE, &ok)).is_empty());
        let cap =
            APP.replace('}', r#", "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"]}}}"#);
        assert!(has(
            &td(FARGATE, &cap),
            "only supports adding the SYS_PTRACE capability, not 'NET_ADMIN'"
        ));
        let gpu = APP.replace('}', r#", "resourceRequirements": [{"type": "GPU", "value": "1"}]}"#);
        assert!(has(&td(FARGATE, &gpu), "Fargate does not support GPU"));
        assert!(errors(&td("", &gpu)).is_empty(), "a GPU task is fine for EC2");
        let ipc = format!("{FARGATE} \"ipcMode\": \"task\",");
        assert!(has(&td(&ipc, APP), "Fargate does not support 'ipcMode'."));
        let pid = format!("{FARGATE} \"pidMode\": \"host\",");
        assert!(has(&td(&pid, APP), "Fargate only supports pidMode 'task'."));
        assert!(errors(&td(&format!("{FARGATE} \"pidMode\": \"task\","), APP)).is_empty());
        let pc = format!("{FARGATE} \"placementConstraints\": [{{\"type\": \"memberOf\", \"expression\": \"x\"}}],");
        assert!(has(&td(&pc, APP), "Fargate does not support placement constraints."));
        let vol = format!("{FARGATE} \"volumes\": [{{\"name\": \"v\", \"dockerVolumeConfiguration\": {{\"scope\": \"task\"}}}}],");
        assert!(has(&td(&vol, APP), "Fargate does not support 'dockerVolumeConfiguration'."));
        let host = format!(
            "{FARGATE} \"volumes\": [{{\"name\": \"v\", \"host\": {{\"sourcePath\": \"/x\"}}}}],"
        );
        assert!(has(&td(&host, APP), "Fargate does not support 'sourcePath'"));
        let bind = format!("{FARGATE} \"volumes\": [{{\"name\": \"v\", \"host\": {{}}}}],");
        assert!(errors(&td(&bind, APP)).is_empty());
    }

    #[test]
    fn fargate_log_driver_and_execution_role() {
        let log = |d: &str| {
            APP.replace('}', &format!(r#", "logConfiguration": {{"logDriver": "{d}"}}}}"#))
        };
        assert!(has(
            &td(FARGATE, &log("json-file")),
            "Fargate does not support log driver 'json-file'"
        ));
        assert!(has(
            &td(FARGATE, &log("awslogs")),
            "execution role ARN to support log driver awslogs"
        ));
        let with_role = format!("{FARGATE} \"executionRoleArn\": \"arn:aws:iam::1:role/x\",");
        assert!(errors(&td(&with_role, &log("awslogs"))).is_empty());
        let ecr = APP.replace("berth/workload:latest", "1.dkr.ecr.us-east-1.amazonaws.com/app:1");
        assert!(has(&td(FARGATE, &ecr), "to support ECR images."));
        assert!(errors(&td(&with_role, &ecr)).is_empty());
        assert!(errors(&td("", &log("json-file"))).is_empty());
    }

    #[test]
    fn awsvpc_and_host_ports_must_match() {
        let pm = |h: u32| {
            APP.replace(
                '}',
                &format!(r#", "portMappings": [{{"containerPort": 80, "hostPort": {h}}}]}}"#),
            )
        };
        for mode in ["awsvpc", "host"] {
            let t = format!("\"networkMode\": \"{mode}\",");
            assert!(errors(&td(&t, &pm(80))).is_empty());
            assert!(has(&td(&t, &pm(8080)), &format!("When networkMode={mode}, the host ports and container ports in port mappings must match.")));
        }
        assert!(errors(&td("", &pm(8080))).is_empty(), "bridge maps freely");
        assert!(has(
            &td("\"networkMode\": \"none\",", &pm(80)),
            "not supported when networkMode=none"
        ));
    }

    #[test]
    fn duplicate_host_ports() {
        let a = r#"{"name": "a", "image": "i", "memory": 8, "portMappings": [{"containerPort": 3000, "hostPort": 3000}]}"#;
        let b = a.replace("\"a\"", "\"b\"");
        assert!(has(
            &td("", &format!("{a},{b}")),
            "TCP host port '3000' is mapped multiple times in task."
        ));
        let udp = b.replace("3000}", "3000, \"protocol\": \"udp\"}");
        assert!(errors(&td("", &format!("{a},{udp}"))).is_empty(), "tcp and udp are separate");
        let dynamic = r#"{"name": "a", "image": "i", "memory": 8, "portMappings": [{"containerPort": 80, "hostPort": 0}, {"containerPort": 81, "hostPort": 0}]}"#;
        assert!(errors(&td("", dynamic)).is_empty(), "dynamic ports never clash");
        // awsvpc fills hostPort from containerPort, so two containers on one port clash.
        let c = |n: &str| {
            format!(
                r#"{{"name": "{n}", "image": "i", "memory": 8, "portMappings": [{{"containerPort": 8080}}]}}"#
            )
        };
        assert!(has(
            &td("\"networkMode\": \"awsvpc\",", &format!("{},{}", c("a"), c("b"))),
            "TCP host port '8080'"
        ));
    }

    #[test]
    fn links() {
        let a = r#"{"name": "a", "image": "i", "memory": 8, "links": ["b:alias"]}"#;
        let b = r#"{"name": "b", "image": "i", "memory": 8}"#;
        assert!(errors(&td("", &format!("{a},{b}"))).is_empty());
        assert!(has(&td("", a), "Invalid link 'b:alias': no container named 'b'"));
        assert!(has(
            &td("\"networkMode\": \"awsvpc\",", &format!("{a},{b}")),
            "Links are not supported when networkMode=awsvpc."
        ));
    }

    #[test]
    fn volumes_from_and_mount_points() {
        let a = r#"{"name": "a", "image": "i", "memory": 8, "volumesFrom": [{"sourceContainer": "b"}], "mountPoints": [{"sourceVolume": "data", "containerPath": "/d"}]}"#;
        let b = r#"{"name": "b", "image": "i", "memory": 8}"#;
        let vols = "\"volumes\": [{\"name\": \"data\"}],";
        assert!(errors(&td(vols, &format!("{a},{b}"))).is_empty());
        assert!(has(&td(vols, a), "volumesFrom names container 'b'"));
        assert!(has(&td("", &format!("{a},{b}")), "sourceVolume 'data', which is not a volume"));
    }

    #[test]
    fn extra_hosts_not_with_awsvpc() {
        let c = APP.replace('}', r#", "extraHosts": [{"hostname": "a", "ipAddress": "1.2.3.4"}]}"#);
        assert!(errors(&td("", &c)).is_empty());
        assert!(has(
            &td("\"networkMode\": \"awsvpc\",", &c),
            "extraHosts parameter is not supported when networkMode=awsvpc."
        ));
        let fargate_bridge = FARGATE.replace("awsvpc", "bridge");
        assert!(has(&td(&fargate_bridge, &c), "Fargate does not support 'extraHosts'."));
    }

    #[test]
    fn hostname_not_with_awsvpc() {
        let c = APP.replace('}', r#", "hostname": "web"}"#);
        assert!(errors(&td("", &c)).is_empty());
        assert!(has(
            &td("\"networkMode\": \"awsvpc\",", &c),
            "hostname parameter is not supported"
        ));
    }

    fn dep(name: &str, on: &str, cond: &str, extra: &str) -> String {
        format!(
            r#"{{"name": "{name}", "image": "i", "memory": 8, "dependsOn": [{{"containerName": "{on}", "condition": "{cond}"}}]{extra}}}"#
        )
    }

    #[test]
    fn depends_on_target_exists() {
        let b = r#"{"name": "b", "image": "i", "memory": 8}"#;
        assert!(errors(&td("", &format!("{},{b}", dep("a", "b", "START", "")))).is_empty());
        assert!(has(
            &td("", &format!("{},{b}", dep("a", "c", "START", ""))),
            "dependsOn names container 'c'"
        ));
    }

    #[test]
    fn complete_success_targets_non_essential() {
        for cond in ["COMPLETE", "SUCCESS"] {
            let ess = r#"{"name": "b", "image": "i", "memory": 8}"#;
            let non = r#"{"name": "b", "image": "i", "memory": 8, "essential": false}"#;
            assert!(errors(&td("", &format!("{},{non}", dep("a", "b", cond, "")))).is_empty());
            assert!(has(
                &td("", &format!("{},{ess}", dep("a", "b", cond, ""))),
                "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"
            ));
        }
    }

    #[test]
    fn healthy_targets_have_health_check() {
        let with = r#"{"name": "b", "image": "i", "memory": 8, "healthCheck": {"command": ["CMD", "true"]}}"#;
        let without = r#"{"name": "b", "image": "i", "memory": 8}"#;
        assert!(errors(&td("", &format!("{},{with}", dep("a", "b", "HEALTHY", "")))).is_empty());
        assert!(has(
            &td("", &format!("{},{without}", dep("a", "b", "HEALTHY", ""))),
            "container 'b' has no healthCheck"
        ));
    }

    #[test]
    fn dependency_cycle_is_reported_with_its_path() {
        let a = dep("a", "b", "START", "");
        let b = dep("b", "c", "START", "");
        let c = dep("c", "a", "START", "");
        assert!(has(
            &td("", &format!("{a},{b},{c}")),
            "Container dependencies form a cycle: a -> b -> c -> a."
        ));
        let self_dep = dep("a", "a", "START", "");
        assert!(has(&td("", &self_dep), "cycle: a -> a."));
        let c_free = r#"{"name": "c", "image": "i", "memory": 8}"#;
        assert!(errors(&td("", &format!("{a},{b},{c_free}"))).is_empty());
    }

    #[test]
    fn ec2_task_cpu_range() {
        assert!(has(&td(r#""cpu": "64","#, APP), "Invalid 'cpu' setting for task."));
        assert!(errors(&td(r#""cpu": "128","#, APP)).is_empty());
        assert!(errors(&td(r#""cpu": "196608","#, APP)).is_empty());
        assert!(has(&td(r#""cpu": "200000","#, APP), "Invalid 'cpu' setting for task."));
    }

    #[test]
    fn ephemeral_storage_is_fargate_only() {
        let eph = "\"ephemeralStorage\": {\"sizeInGiB\": 30},";
        let (_, w) = parse_str("t", &td(&format!("{FARGATE} {eph}"), APP)).unwrap();
        assert!(w.is_empty());
        let ec2 = format!("\"requiresCompatibilities\": [\"EC2\"], {eph}");
        let (_, w) = parse_str("t", &td(&ec2, APP)).unwrap();
        assert!(w[0].message.contains("only applies to tasks on Fargate"));
    }

    #[test]
    fn restart_policy_ranges() {
        let c = |p: u32| {
            APP.replace(
                '}',
                &format!(
                    r#", "restartPolicy": {{"enabled": true, "restartAttemptPeriod": {p}}}}}"#
                ),
            )
        };
        assert!(errors(&td("", &c(60))).is_empty());
        assert!(has(&td("", &c(59)), "restartAttemptPeriod is 60 to 1800 seconds"));
    }

    #[test]
    fn placement_constraint_count() {
        let one = r#"{"type": "memberOf", "expression": "attribute:x == y"}"#;
        let pcs = |n: usize| format!("\"placementConstraints\": [{}],", vec![one; n].join(","));
        assert!(errors(&td(&pcs(10), APP)).is_empty());
        assert!(has(&td(&pcs(11), APP), "Too many placement constraints: 11"));
    }

    #[test]
    fn model_validation_without_a_file() {
        let (mut def, _) = parse_str("t", &td(FARGATE, APP)).unwrap();
        assert!(validate_model(&def).is_empty());
        def.memory_mib = Some(4096);
        let d = validate_model(&def);
        assert_eq!(d[0].message, "Invalid 'cpu' setting for task.");
    }

    #[test]
    fn ecr_images() {
        assert!(is_ecr_image("123.dkr.ecr.us-east-1.amazonaws.com/app:1"));
        assert!(!is_ecr_image("nginx"));
        assert!(!is_ecr_image("public.ecr.aws/nginx/nginx"));
    }
}
