//! The docker runtime, and the only module that speaks bollard: a network per
//! cluster, a container and a named volume per node, a host port published on
//! the advertised address, limits from the node type. Every object carries
//! labels naming this control plane, its cluster and its node, so a restarted
//! control plane adopts what exists and removes what it no longer knows.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerUpdateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkConnectRequest,
    NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    RestartContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use super::image::{self, BINARY_IN_IMAGE};
use super::{Endpoint, NodeKey, NodeRuntime, NodeSpec, PrimaryRef, RuntimeError, RuntimeResult};

const LABEL_INSTANCE: &str = "ferrocache.instance";
const LABEL_CLUSTER: &str = "ferrocache.cluster";
const LABEL_NODE: &str = "ferrocache.node";
const LABEL_ROLE: &str = "ferrocache.role";
const LABEL_GROUP: &str = "ferrocache.group";

/// Image builds and container stops outlast bollard's shared default timeout.
const LONG_CALL: Duration = Duration::from_secs(300);

pub struct DockerRuntime {
    docker: Docker,
    binary: PathBuf,
    /// This control plane's id: its objects, and only those, are its to adopt or remove.
    instance: String,
    advertise_host: String,
    image: OnceCell<String>,
    /// Docker lets two networks share a name, so a group's members, started
    /// side by side, must not each create theirs.
    networks: tokio::sync::Mutex<()>,
}

fn call(call: &'static str) -> impl FnOnce(BollardError) -> RuntimeError {
    move |source| RuntimeError::Docker { call, source }
}

fn is_not_found(error: &BollardError) -> bool {
    matches!(error, BollardError::DockerResponseServerError { status_code: 404, .. })
}

fn is_conflict(error: &BollardError) -> bool {
    matches!(error, BollardError::DockerResponseServerError { status_code: 409, .. })
}

pub fn container_name(key: &NodeKey) -> String {
    format!("ferrocache-{}-{}", key.cache_cluster_id, key.cache_node_id)
}

pub fn network_name(owner: &str) -> String {
    format!("ferrocache-{owner}")
}

/// The name, on a group's network, of whichever member is its primary.
pub fn primary_alias(group: &str) -> String {
    format!("{group}-primary")
}

/// The name, on a group's network, of all its replicas (Docker's DNS answers
/// with every one of them).
pub fn reader_alias(group: &str) -> String {
    format!("{group}-reader")
}

/// A node's names on its network: `<cluster>-<node>`, `<cluster>`, and for a
/// group member the name of its role.
fn aliases(key: &NodeKey, role_alias: Option<String>) -> Vec<String> {
    let mut aliases = vec![format!("{}-{}", key.cache_cluster_id, key.cache_node_id), key.cache_cluster_id.clone()];
    aliases.extend(role_alias);
    aliases
}

impl DockerRuntime {
    /// Connects and checks that the engine answers.
    pub async fn connect(
        socket: Option<&str>,
        binary: PathBuf,
        instance: String,
        advertise_host: String,
    ) -> RuntimeResult<DockerRuntime> {
        let docker = match socket {
            Some(path) => Docker::connect_with_socket(path, 120, bollard::API_DEFAULT_VERSION),
            None => Docker::connect_with_local_defaults(),
        }
        .map_err(call("connect"))?;
        docker.ping().await.map_err(call("ping"))?;
        Ok(DockerRuntime {
            docker,
            binary,
            instance,
            advertise_host,
            image: OnceCell::new(),
            networks: tokio::sync::Mutex::new(()),
        })
    }

    /// The data-node image for the configured binary, built if missing.
    pub async fn ensure_image(&self) -> RuntimeResult<String> {
        self.image.get_or_try_init(|| self.build_image_if_missing()).await.cloned()
    }

    async fn build_image_if_missing(&self) -> RuntimeResult<String> {
        let source = image::prepare(&self.binary)?;
        if self.docker.inspect_image(&source.tag).await.is_ok() {
            return Ok(source.tag);
        }
        tracing::info!(image = %source.tag, binary = %self.binary.display(), "building the data-node image");
        let options = BuildImageOptionsBuilder::default().dockerfile("Dockerfile").t(&source.tag).rm(true).build();
        let build = async {
            let mut progress = self.docker.build_image(options, None, Some(bollard::body_full(source.context.into())));
            while let Some(step) = progress.next().await {
                let step = step.map_err(call("build_image"))?;
                if let Some(detail) = step.error_detail {
                    return Err(RuntimeError::Image(format!(
                        "building {}: {}",
                        source.tag,
                        detail.message.unwrap_or_default()
                    )));
                }
            }
            Ok(())
        };
        tokio::time::timeout(LONG_CALL, build)
            .await
            .map_err(|_| RuntimeError::Image(format!("building {} took longer than {LONG_CALL:?}", source.tag)))??;
        Ok(source.tag)
    }

    fn labels(&self, cluster: &str, node: Option<&NodeSpec>) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (LABEL_INSTANCE.to_owned(), self.instance.clone()),
            (LABEL_CLUSTER.to_owned(), cluster.to_owned()),
        ]);
        if let Some(spec) = node {
            labels.insert(LABEL_NODE.to_owned(), spec.cache_node_id.clone());
            if let Some(role) = &spec.role {
                labels.insert(LABEL_ROLE.to_owned(), role.clone());
            }
            if let Some(group) = &spec.replication_group_id {
                labels.insert(LABEL_GROUP.to_owned(), group.clone());
            }
        }
        labels
    }

    fn instance_filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([("label".to_owned(), vec![format!("{LABEL_INSTANCE}={}", self.instance)])])
    }

    /// Checks that an object found by name is this control plane's.
    fn check_owner(&self, what: &str, labels: Option<&HashMap<String, String>>) -> RuntimeResult<()> {
        match labels.and_then(|l| l.get(LABEL_INSTANCE)) {
            Some(owner) if *owner == self.instance => Ok(()),
            _ => Err(RuntimeError::Conflict(format!("{what} exists but belongs to another control plane"))),
        }
    }

    async fn ensure_network(&self, owner: &str) -> RuntimeResult<String> {
        let name = network_name(owner);
        let _one_at_a_time = self.networks.lock().await;
        match self.docker.inspect_network(&name, None).await {
            Ok(network) => {
                self.check_owner(&format!("network {name}"), network.labels.as_ref())?;
                Ok(name)
            }
            Err(e) if is_not_found(&e) => {
                let request = NetworkCreateRequest {
                    name: name.clone(),
                    driver: Some("bridge".into()),
                    labels: Some(self.labels(owner, None)),
                    ..Default::default()
                };
                self.docker.create_network(request).await.map_err(call("create_network"))?;
                Ok(name)
            }
            Err(e) => Err(call("inspect_network")(e)),
        }
    }

    async fn create_container(&self, spec: &NodeSpec, name: &str, network: &str) -> RuntimeResult<()> {
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
        let role_alias = spec.replication_group_id.as_deref().map(|group| match spec.role.as_deref() {
            Some("primary") => primary_alias(group),
            _ => reader_alias(group),
        });
        let aliases = aliases(&spec.key(), role_alias);
        let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let body = ContainerCreateBody {
            image: Some(image),
            entrypoint: Some(vec![BINARY_IN_IMAGE.to_owned()]),
            cmd: Some(vec![
                "--port".into(),
                spec.port.to_string(),
                "--bind".into(),
                "0.0.0.0".into(),
                "--maxmemory".into(),
                spec.maxmemory_bytes.to_string(),
                "--threads".into(),
                spec.vcpus.min(host_cpus).max(1).to_string(),
                "--dir".into(),
                "/data".into(),
            ]),
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

    /// Whether the container was created for another role (a failover since
    /// changed it): restarted as it is, it would start as what it was.
    async fn created_for_another_role(&self, name: &str, spec: &NodeSpec) -> RuntimeResult<bool> {
        let found = match self.docker.inspect_container(name, None).await {
            Ok(found) => found,
            Err(e) if is_not_found(&e) => return Ok(false),
            Err(e) => return Err(call("inspect_container")(e)),
        };
        let env = found.config.and_then(|c| c.env).unwrap_or_default();
        let following = |env: &[String]| env.iter().find(|v| v.starts_with("FERRO_REPLICAOF=")).cloned();
        Ok(following(&env) != following(&self.environment(spec)))
    }

    fn endpoint(&self, spec: &NodeSpec) -> Endpoint {
        Endpoint { address: self.advertise_host.clone(), port: spec.host_port }
    }

    /// Makes `wanted` one of the node's names on `network` and `stale` not.
    async fn set_role_alias(&self, network: &str, key: &NodeKey, wanted: String, stale: &str) -> RuntimeResult<()> {
        let name = container_name(key);
        let found = match self.docker.inspect_container(&name, None).await {
            Ok(found) => found,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(call("inspect_container")(e)),
        };
        let endpoint = found.network_settings.and_then(|s| s.networks).and_then(|mut n| n.remove(network));
        // Off its network (a partition, an operator): nothing to rename until it is back.
        let Some(endpoint) = endpoint else { return Ok(()) };
        let current = endpoint.aliases.unwrap_or_default();
        if current.contains(&wanted) && !current.iter().any(|a| a == stale) {
            return Ok(());
        }
        // Docker cannot change the aliases of a connected container: reconnect it.
        let disconnect = NetworkDisconnectRequest { container: name.clone(), force: Some(true) };
        self.docker.disconnect_network(network, disconnect).await.map_err(call("disconnect_network"))?;
        let endpoint_config = EndpointSettings { aliases: Some(aliases(key, Some(wanted))), ..Default::default() };
        let connect = NetworkConnectRequest { container: name, endpoint_config: Some(endpoint_config) };
        self.docker.connect_network(network, connect).await.map_err(call("connect_network"))
    }
}

impl NodeRuntime for DockerRuntime {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn ensure_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        let network = self.ensure_network(spec.network_owner()).await?;
        let name = container_name(&spec.key());
        let running = match self.docker.inspect_container(&name, None).await {
            Ok(found) => {
                let labels = found.config.as_ref().and_then(|c| c.labels.as_ref());
                self.check_owner(&format!("container {name}"), labels)?;
                found.state.and_then(|s| s.running).unwrap_or(false)
            }
            Err(e) if is_not_found(&e) => {
                self.create_container(spec, &name, &network).await?;
                false
            }
            Err(e) => return Err(call("inspect_container")(e)),
        };
        if !running {
            self.docker.start_container(&name, None).await.map_err(call("start_container"))?;
        }
        Ok(self.endpoint(spec))
    }

    async fn restart_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        let name = container_name(&spec.key());
        if self.created_for_another_role(&name, spec).await? {
            // Made again around the same volume, so it starts in its role of
            // now and no client can write to a demoted primary meanwhile.
            let stop = StopContainerOptionsBuilder::default().t(5).build();
            match tokio::time::timeout(LONG_CALL, self.docker.stop_container(&name, Some(stop))).await {
                Ok(Ok(())) => {}
                Ok(Err(e))
                    if is_not_found(&e)
                        || matches!(e, BollardError::DockerResponseServerError { status_code: 304, .. }) => {}
                Ok(Err(e)) => return Err(call("stop_container")(e)),
                Err(_) => return Err(RuntimeError::Conflict(format!("stopping {name} timed out"))),
            }
            let remove = RemoveContainerOptionsBuilder::default().force(true).build();
            match self.docker.remove_container(&name, Some(remove)).await {
                Err(e) if !is_not_found(&e) => return Err(call("remove_container")(e)),
                _ => {}
            }
            return self.ensure_node(spec).await;
        }
        let options = RestartContainerOptionsBuilder::default().t(5).build();
        match tokio::time::timeout(LONG_CALL, self.docker.restart_container(&name, Some(options))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if is_not_found(&e) => {}
            Ok(Err(e)) => return Err(call("restart_container")(e)),
            Err(_) => return Err(RuntimeError::Conflict(format!("restarting {name} timed out"))),
        }
        self.ensure_node(spec).await
    }

    async fn resize_node(&self, spec: &NodeSpec) -> RuntimeResult<()> {
        let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let memory = spec.memory_limit_bytes as i64;
        let update = ContainerUpdateBody {
            memory: Some(memory),
            // Docker refuses a swap limit below the memory limit; keep them equal (no swap).
            memory_swap: Some(memory),
            nano_cpus: Some(i64::from(spec.vcpus.min(host_cpus)) * 1_000_000_000),
            ..Default::default()
        };
        let name = container_name(&spec.key());
        self.docker.update_container(&name, update).await.map_err(call("update_container"))
    }

    async fn remove_node(&self, key: &NodeKey) -> RuntimeResult<()> {
        let name = container_name(key);
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        match tokio::time::timeout(LONG_CALL, self.docker.remove_container(&name, Some(options))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if is_not_found(&e) => {}
            Ok(Err(e)) => return Err(call("remove_container")(e)),
            Err(_) => return Err(RuntimeError::Conflict(format!("removing {name} timed out"))),
        }
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        match self.docker.remove_volume(&name, Some(options)).await {
            Err(e) if !is_not_found(&e) => Err(call("remove_volume")(e)),
            _ => Ok(()),
        }
    }

    async fn remove_network(&self, owner: &str) -> RuntimeResult<()> {
        match self.docker.remove_network(&network_name(owner)).await {
            Err(e) if !is_not_found(&e) => Err(call("remove_network")(e)),
            _ => Ok(()),
        }
    }

    async fn list_nodes(&self) -> RuntimeResult<Vec<NodeKey>> {
        let options = ListContainersOptionsBuilder::default().all(true).filters(&self.instance_filter()).build();
        let containers = self.docker.list_containers(Some(options)).await.map_err(call("list_containers"))?;
        let options = ListVolumesOptionsBuilder::default().filters(&self.instance_filter()).build();
        let volumes = self.docker.list_volumes(Some(options)).await.map_err(call("list_volumes"))?;
        // A volume outlives its container when a crash falls between creating the two.
        let labelled = containers
            .into_iter()
            .filter_map(|c| c.labels)
            .chain(volumes.volumes.unwrap_or_default().into_iter().map(|v| v.labels));
        let mut keys: Vec<NodeKey> = labelled
            .filter_map(|labels| {
                Some(NodeKey {
                    cache_cluster_id: labels.get(LABEL_CLUSTER)?.clone(),
                    cache_node_id: labels.get(LABEL_NODE)?.clone(),
                })
            })
            .collect();
        keys.sort_by(|a, b| (&a.cache_cluster_id, &a.cache_node_id).cmp(&(&b.cache_cluster_id, &b.cache_node_id)));
        keys.dedup();
        Ok(keys)
    }

    fn primary_address(&self, primary: &PrimaryRef, port: u16) -> (String, u16) {
        (container_name(&primary.key), port)
    }

    async fn name_endpoints(&self, group: &str, primary: &NodeKey, replicas: &[NodeKey]) -> RuntimeResult<()> {
        let network = network_name(group);
        let (primary_alias, reader_alias) = (primary_alias(group), reader_alias(group));
        // The old primary gives up the name before the new one takes it.
        for replica in replicas {
            self.set_role_alias(&network, replica, reader_alias.clone(), &primary_alias).await?;
        }
        self.set_role_alias(&network, primary, primary_alias.clone(), &reader_alias).await
    }

    async fn list_networks(&self) -> RuntimeResult<Vec<String>> {
        let options = ListNetworksOptionsBuilder::default().filters(&self.instance_filter()).build();
        let networks = self.docker.list_networks(Some(options)).await.map_err(call("list_networks"))?;
        Ok(networks.into_iter().filter_map(|n| n.labels?.get(LABEL_CLUSTER).cloned()).collect())
    }
}
