//! The normalised definition written back as ECS prints it.
//!
//! `describe-task-definition` echoes a registered definition in camelCase with ECS's defaults
//! filled in (`essential: true`, `protocol: "tcp"`, awsvpc `hostPort` = `containerPort`, empty
//! `environment`/`mountPoints`/`volumesFrom`/`portMappings` arrays, `cpu`/`memory` as strings of
//! units and MiB). [`describe_json`] produces that shape from the model, so `berth validate
//! --format json` users and, later, the API server print what ECS users expect. Members berth
//! does not model (secrets, firelens options, ...) are validated on input but not echoed.

use serde_json::{json, Map, Value};

use super::model::*;

/// The `taskDefinition` object of describe output for `def`.
pub fn describe_json(def: &TaskDefinition) -> Value {
    let mut m = Map::new();
    m.insert("family".into(), json!(def.family));
    if let Some(r) = def.revision {
        m.insert("revision".into(), json!(r));
        m.insert("status".into(), json!("ACTIVE"));
    }
    m.insert(
        "containerDefinitions".into(),
        Value::Array(def.containers.iter().map(container_json).collect()),
    );
    put_opt(&mut m, "taskRoleArn", def.task_role_arn.as_ref());
    put_opt(&mut m, "executionRoleArn", def.execution_role_arn.as_ref());
    m.insert("networkMode".into(), json!(network_mode_str(def.network_mode)));
    m.insert(
        "volumes".into(),
        Value::Array(
            def.volumes
                .iter()
                .map(|v| {
                    let mut o = Map::new();
                    o.insert("name".into(), json!(v.name));
                    if let Some(p) = &v.host_source_path {
                        o.insert("host".into(), json!({ "sourcePath": p }));
                    }
                    if v.docker_volume {
                        o.insert("dockerVolumeConfiguration".into(), json!({}));
                    }
                    Value::Object(o)
                })
                .collect(),
        ),
    );
    m.insert(
        "placementConstraints".into(),
        Value::Array(
            def.placement_constraints
                .iter()
                .map(|e| json!({ "type": "memberOf", "expression": e }))
                .collect(),
        ),
    );
    if !def.requires_compatibilities.is_empty() {
        m.insert(
            "requiresCompatibilities".into(),
            json!(def.requires_compatibilities.iter().map(|c| compat_str(*c)).collect::<Vec<_>>()),
        );
    }
    if let Some(c) = def.cpu_units {
        m.insert("cpu".into(), json!(c.to_string()));
    }
    if let Some(mem) = def.memory_mib {
        m.insert("memory".into(), json!(mem.to_string()));
    }
    put_opt(&mut m, "pidMode", def.pid_mode.as_ref());
    put_opt(&mut m, "ipcMode", def.ipc_mode.as_ref());
    m.insert(
        "runtimePlatform".into(),
        json!({
            "cpuArchitecture": match def.runtime_platform.arch {
                CpuArch::X86_64 => "X86_64",
                CpuArch::Arm64 => "ARM64",
            },
            "operatingSystemFamily": match def.runtime_platform.os {
                OsFamily::Linux => "LINUX",
                OsFamily::Windows => "WINDOWS_SERVER_2022_CORE",
            },
        }),
    );
    if let Some(g) = def.ephemeral_storage_gib {
        m.insert("ephemeralStorage".into(), json!({ "sizeInGiB": g }));
    }
    Value::Object(m)
}

/// Describe output as the CLI prints it: `{"taskDefinition": {...}, "tags": [...]}`.
pub fn describe_response(def: &TaskDefinition) -> Value {
    json!({
        "taskDefinition": describe_json(def),
        "tags": def.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    })
}

fn put_opt(m: &mut Map<String, Value>, key: &str, v: Option<&String>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v));
    }
}

pub fn network_mode_str(m: NetworkMode) -> &'static str {
    match m {
        NetworkMode::Bridge => "bridge",
        NetworkMode::Host => "host",
        NetworkMode::Awsvpc => "awsvpc",
        NetworkMode::None => "none",
        NetworkMode::Default => "default",
    }
}

pub fn compat_str(c: Compatibility) -> &'static str {
    match c {
        Compatibility::Ec2 => "EC2",
        Compatibility::Fargate => "FARGATE",
        Compatibility::External => "EXTERNAL",
        Compatibility::ManagedInstances => "MANAGED_INSTANCES",
    }
}

fn container_json(c: &ContainerDefinition) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    m.insert("image".into(), json!(c.image));
    m.insert("cpu".into(), json!(c.cpu_units));
    if let Some(v) = c.memory_mib {
        m.insert("memory".into(), json!(v));
    }
    if let Some(v) = c.memory_reservation_mib {
        m.insert("memoryReservation".into(), json!(v));
    }
    if !c.links.is_empty() {
        m.insert("links".into(), json!(c.links));
    }
    m.insert(
        "portMappings".into(),
        Value::Array(
            c.port_mappings
                .iter()
                .map(|p| {
                    let mut o = Map::new();
                    if let Some(n) = &p.name {
                        o.insert("name".into(), json!(n));
                    }
                    o.insert("containerPort".into(), json!(p.container_port));
                    if let Some(h) = p.host_port {
                        o.insert("hostPort".into(), json!(h));
                    }
                    o.insert(
                        "protocol".into(),
                        json!(match p.protocol {
                            Protocol::Tcp => "tcp",
                            Protocol::Udp => "udp",
                        }),
                    );
                    Value::Object(o)
                })
                .collect(),
        ),
    );
    m.insert("essential".into(), json!(c.essential));
    if let Some(v) = &c.entry_point {
        m.insert("entryPoint".into(), json!(v));
    }
    if let Some(v) = &c.command {
        m.insert("command".into(), json!(v));
    }
    m.insert(
        "environment".into(),
        Value::Array(c.environment.iter().map(|(k, v)| json!({"name": k, "value": v})).collect()),
    );
    m.insert(
        "mountPoints".into(),
        Value::Array(
            c.mount_points
                .iter()
                .map(|mp| {
                    json!({
                        "sourceVolume": mp.source_volume,
                        "containerPath": mp.container_path,
                        "readOnly": mp.read_only,
                    })
                })
                .collect(),
        ),
    );
    m.insert(
        "volumesFrom".into(),
        Value::Array(c.volumes_from.iter().map(|s| json!({ "sourceContainer": s })).collect()),
    );
    if !c.depends_on.is_empty() {
        m.insert(
            "dependsOn".into(),
            Value::Array(
                c.depends_on
                    .iter()
                    .map(|d| {
                        json!({
                            "containerName": d.container_name,
                            "condition": match d.condition {
                                DependencyCondition::Start => "START",
                                DependencyCondition::Complete => "COMPLETE",
                                DependencyCondition::Success => "SUCCESS",
                                DependencyCondition::Healthy => "HEALTHY",
                            },
                        })
                    })
                    .collect(),
            ),
        );
    }
    if let Some(v) = c.start_timeout_s {
        m.insert("startTimeout".into(), json!(v));
    }
    if let Some(v) = c.stop_timeout_s {
        m.insert("stopTimeout".into(), json!(v));
    }
    if let Some(v) = &c.user {
        m.insert("user".into(), json!(v));
    }
    if let Some(v) = &c.working_directory {
        m.insert("workingDirectory".into(), json!(v));
    }
    if c.privileged {
        m.insert("privileged".into(), json!(true));
    }
    if c.readonly_root_filesystem {
        m.insert("readonlyRootFilesystem".into(), json!(true));
    }
    if !c.docker_labels.is_empty() {
        m.insert("dockerLabels".into(), json!(c.docker_labels));
    }
    m.insert(
        "ulimits".into(),
        Value::Array(
            c.ulimits
                .iter()
                .map(|u| json!({"name": u.name, "softLimit": u.soft_limit, "hardLimit": u.hard_limit}))
                .collect(),
        ),
    );
    if let Some(d) = &c.log_driver {
        m.insert("logConfiguration".into(), json!({ "logDriver": d }));
    }
    if let Some(h) = &c.health_check {
        let mut o = Map::new();
        o.insert("command".into(), json!(h.command));
        o.insert("interval".into(), json!(h.interval_s));
        o.insert("timeout".into(), json!(h.timeout_s));
        o.insert("retries".into(), json!(h.retries));
        if h.start_period_s > 0 {
            o.insert("startPeriod".into(), json!(h.start_period_s));
        }
        m.insert("healthCheck".into(), Value::Object(o));
    }
    if c.gpu_count > 0 {
        m.insert(
            "resourceRequirements".into(),
            json!([{ "type": "GPU", "value": c.gpu_count.to_string() }]),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::parse::parse_str;

    #[test]
    fn defaults_appear_and_round_trip() {
        let t = r#"{"family": "web", "networkMode": "awsvpc", "cpu": ".25 vcpu", "memory": "0.5GB",
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{"name": "app", "image": "berth/workload:latest",
              "portMappings": [{"containerPort": 8080}],
              "healthCheck": {"command": ["CMD", "/berth-workload", "health", "--port", "8080"]}}]}"#;
        let (def, _) = parse_str("t", t).unwrap();
        let v = describe_json(&def);
        assert_eq!(v["cpu"], "256");
        assert_eq!(v["memory"], "512");
        let c = &v["containerDefinitions"][0];
        assert_eq!(c["essential"], true);
        assert_eq!(c["portMappings"][0]["hostPort"], 8080);
        assert_eq!(c["portMappings"][0]["protocol"], "tcp");
        assert_eq!(c["healthCheck"]["interval"], 30);
        assert_eq!(c["environment"], json!([]));
        // The rendering parses back to the same model.
        let text = serde_json::to_string_pretty(&describe_response(&def)).unwrap();
        let (again, _) = parse_str("t", &text).unwrap();
        assert_eq!(again, def);
    }
}
