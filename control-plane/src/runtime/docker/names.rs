//! A group's endpoint names on its network: `<group>-primary` on the primary,
//! `<group>-reader` on every replica. Docker cannot change the aliases of a
//! connected container, so moving a name reconnects the container, which
//! cuts its connections: the monitor moves names only where roles changed.

use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest};

use super::{DockerRuntime, call, container_name, is_not_found};
use crate::runtime::{NodeKey, RuntimeResult};

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
pub(super) fn aliases(key: &NodeKey, role_alias: Option<String>) -> Vec<String> {
    let mut aliases = vec![format!("{}-{}", key.cache_cluster_id, key.cache_node_id), key.cache_cluster_id.clone()];
    aliases.extend(role_alias);
    aliases
}

impl DockerRuntime {
    /// Makes `wanted` one of the node's names on `network` and `stale` not.
    pub(super) async fn set_role_alias(
        &self,
        network: &str,
        key: &NodeKey,
        wanted: String,
        stale: &str,
    ) -> RuntimeResult<()> {
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
