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
use bollard::models::{ContainerUpdateBody, NetworkCreateRequest};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, RestartContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

mod container;
mod names;

use super::image;
use super::{Endpoint, NetworkOwner, NodeKey, NodeRuntime, NodeSpec, PrimaryRef, RuntimeError, RuntimeResult};
use names::{primary_alias, reader_alias};

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

/// `ferrocache-cluster-<id>` or `ferrocache-group-<id>`: a cluster and a group
/// of the same name each have their own.
pub fn network_name(owner: &NetworkOwner) -> String {
    match owner {
        NetworkOwner::Cluster(id) => format!("ferrocache-cluster-{id}"),
        NetworkOwner::Group(id) => format!("ferrocache-group-{id}"),
    }
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

    fn network_labels(&self, owner: &NetworkOwner) -> HashMap<String, String> {
        let label = match owner {
            NetworkOwner::Cluster(_) => LABEL_CLUSTER,
            NetworkOwner::Group(_) => LABEL_GROUP,
        };
        HashMap::from([(LABEL_INSTANCE.to_owned(), self.instance.clone()), (label.to_owned(), owner.id().to_owned())])
    }

    fn labels(&self, cluster: &str, node: Option<&NodeSpec>) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (LABEL_INSTANCE.to_owned(), self.instance.clone()),
            (LABEL_CLUSTER.to_owned(), cluster.to_owned()),
        ]);
        if let Some(spec) = node {
            labels.insert(LABEL_NODE.to_owned(), spec.cache_node_id.clone());
            if let Some(role) = &spec.role {
                labels.insert(LABEL_ROLE.to_owned(), role.to_string());
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
            _ => Err(RuntimeError::NotOurs { what: what.to_owned() }),
        }
    }

    async fn ensure_network(&self, owner: &NetworkOwner) -> RuntimeResult<String> {
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
                    labels: Some(self.network_labels(owner)),
                    ..Default::default()
                };
                self.docker.create_network(request).await.map_err(call("create_network"))?;
                Ok(name)
            }
            Err(e) => Err(call("inspect_network")(e)),
        }
    }

    fn endpoint(&self, spec: &NodeSpec) -> Endpoint {
        Endpoint { address: self.advertise_host.clone(), port: spec.host_port }
    }
}

impl NodeRuntime for DockerRuntime {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn ensure_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        let network = self.ensure_network(&spec.network_owner()).await?;
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
        if self.created_differently(&name, spec).await? {
            // Made again around the same volume, so it starts in its role and
            // with its flags of now (no client can write to a demoted primary meanwhile).
            self.remove_container_keeping_volume(&name).await?;
            return self.ensure_node(spec).await;
        }
        let options = RestartContainerOptionsBuilder::default().t(5).build();
        match tokio::time::timeout(LONG_CALL, self.docker.restart_container(&name, Some(options))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if is_not_found(&e) => {}
            Ok(Err(e)) => return Err(call("restart_container")(e)),
            Err(_) => return Err(RuntimeError::Timeout { call: "restarting", name: name.clone() }),
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
            Err(_) => return Err(RuntimeError::Timeout { call: "removing", name: name.clone() }),
        }
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        match self.docker.remove_volume(&name, Some(options)).await {
            Err(e) if !is_not_found(&e) => Err(call("remove_volume")(e)),
            _ => Ok(()),
        }
    }

    async fn remove_network(&self, owner: &NetworkOwner) -> RuntimeResult<()> {
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
        let network = network_name(&NetworkOwner::Group(group.to_owned()));
        let (primary_alias, reader_alias) = (primary_alias(group), reader_alias(group));
        // The old primary gives up the name before the new one takes it.
        for replica in replicas {
            self.set_role_alias(&network, replica, reader_alias.clone(), &primary_alias).await?;
        }
        self.set_role_alias(&network, primary, primary_alias.clone(), &reader_alias).await
    }

    async fn list_networks(&self) -> RuntimeResult<Vec<NetworkOwner>> {
        let options = ListNetworksOptionsBuilder::default().filters(&self.instance_filter()).build();
        let networks = self.docker.list_networks(Some(options)).await.map_err(call("list_networks"))?;
        let owner = |labels: HashMap<String, String>| match (labels.get(LABEL_GROUP), labels.get(LABEL_CLUSTER)) {
            (Some(group), _) => Some(NetworkOwner::Group(group.clone())),
            (None, Some(cluster)) => Some(NetworkOwner::Cluster(cluster.clone())),
            (None, None) => None,
        };
        Ok(networks.into_iter().filter_map(|n| owner(n.labels?)).collect())
    }
}
