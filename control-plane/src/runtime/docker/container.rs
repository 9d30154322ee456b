//! A node's container: made from its spec (flags, environment, limits,
//! volume, port, names on its network), and made again when a failover has
//! changed the role it was created for or its flags have changed.

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};

use super::names::{aliases, primary_alias, reader_alias};
use super::{DockerRuntime, LONG_CALL, call, is_conflict, is_not_found};
use crate::runtime::image::BINARY_IN_IMAGE;
use crate::runtime::{NodeRuntime, NodeSpec, RuntimeError, RuntimeResult};

fn host_cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as u32
}

impl DockerRuntime {
    pub(super) async fn create_container(&self, spec: &NodeSpec, name: &str, network: &str) -> RuntimeResult<()> {
        let image = self.ensure_image().await?;
        let volume = name.to_owned();
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(volume.clone()),
                labels: Some(self.labels(&spec.cache_cluster_id, Some(spec))),
                ..Default::default()
            })
            .await
            .map_err(call("create_volume"))?;
        let port_key = format!("{}/tcp", spec.port);
        let env = self.environment(spec);
        let role_alias = spec.replication_group_id.as_deref().map(|group| match spec.role {
            Some(crate::model::Role::Primary) => primary_alias(group),
            _ => reader_alias(group),
        });
        let aliases = aliases(&spec.key(), role_alias);
        let host_cpus = host_cpus();
        let body = ContainerCreateBody {
            image: Some(image),
            entrypoint: Some(vec![BINARY_IN_IMAGE.to_owned()]),
            cmd: Some(self.command(spec)),
            env: Some(env),
            labels: Some(self.labels(&spec.cache_cluster_id, Some(spec))),
            exposed_ports: Some(vec![port_key.clone()]),
            host_config: Some(HostConfig {
                port_bindings: Some(HashMap::from([(
                    port_key,
                    Some(vec![PortBinding {
                        host_ip: Some(self.advertise_host.clone()),
                        host_port: Some(spec.host_port.to_string()),
                    }]),
                )])),
                memory: Some(spec.memory_limit_bytes as i64),
                nano_cpus: Some(i64::from(spec.vcpus.min(host_cpus)) * 1_000_000_000),
                // A group member that crashes is the monitor's to bring back:
                // Docker would restart it empty in the role it was created for,
                // and its replicas would copy the emptiness before a failover.
                restart_policy: Some(RestartPolicy {
                    name: Some(match spec.replication_group_id {
                        Some(_) => RestartPolicyNameEnum::NO,
                        None => RestartPolicyNameEnum::UNLESS_STOPPED,
                    }),
                    maximum_retry_count: None,
                }),
                mounts: Some(vec![Mount {
                    target: Some("/data".into()),
                    source: Some(volume),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]),
                network_mode: Some(network.to_owned()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.to_owned(),
                    EndpointSettings { aliases: Some(aliases), ..Default::default() },
                )])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        match self.docker.create_container(Some(options), body).await {
            Ok(_) => Ok(()),
            // Created by an earlier attempt that did not live to record it.
            Err(e) if is_conflict(&e) => Ok(()),
            Err(e) => Err(call("create_container")(e)),
        }
    }

    /// The node's settings that are not flags: its password, and for a
    /// replica the primary it starts following.
    fn environment(&self, spec: &NodeSpec) -> Vec<String> {
        let mut env = Vec::new();
        if let Some(password) = &spec.password {
            env.push(format!("FERRO_REQUIREPASS={password}"));
            env.push(format!("FERRO_MASTERAUTH={password}"));
        }
        if let Some(primary) = &spec.primary {
            // By name on the group's network: the address survives the primary's restarts.
            let (host, port) = self.primary_address(primary, spec.port);
            env.push(format!("FERRO_REPLICAOF={host} {port}"));
        }
        env
    }

    /// The data node's command line.
    fn command(&self, spec: &NodeSpec) -> Vec<String> {
        let mut cmd = spec.data_node_args(spec.port, "0.0.0.0", spec.vcpus.min(host_cpus()).max(1));
        cmd.extend(["--dir".to_owned(), "/data".to_owned()]);
        cmd
    }

    /// Whether the container was created otherwise than the spec says: for
    /// another role (a failover since changed it), or with other flags (a
    /// node type, parameters): restarted as it is, it would start as it was.
    pub(super) async fn created_differently(&self, name: &str, spec: &NodeSpec) -> RuntimeResult<bool> {
        let found = match self.docker.inspect_container(name, None).await {
            Ok(found) => found,
            Err(e) if is_not_found(&e) => return Ok(false),
            Err(e) => return Err(call("inspect_container")(e)),
        };
        let config = found.config.unwrap_or_default();
        let env = config.env.unwrap_or_default();
        let following = |env: &[String]| env.iter().find(|v| v.starts_with("FERRO_REPLICAOF=")).cloned();
        Ok(following(&env) != following(&self.environment(spec)) || config.cmd != Some(self.command(spec)))
    }

    /// Stops the container (SIGTERM: the node saves its data) and removes it;
    /// its volume stays.
    pub(super) async fn remove_container_keeping_volume(&self, name: &str) -> RuntimeResult<()> {
        let stop = StopContainerOptionsBuilder::default().t(5).build();
        match tokio::time::timeout(LONG_CALL, self.docker.stop_container(name, Some(stop))).await {
            Ok(Ok(())) => {}
            Ok(Err(e))
                if is_not_found(&e)
                    || matches!(e, BollardError::DockerResponseServerError { status_code: 304, .. }) => {}
            Ok(Err(e)) => return Err(call("stop_container")(e)),
            Err(_) => return Err(RuntimeError::Timeout { call: "stopping", name: name.to_owned() }),
        }
        let remove = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(name, Some(remove)).await {
            Err(e) if !is_not_found(&e) => return Err(call("remove_container")(e)),
            _ => {}
        }
        Ok(())
    }
}
