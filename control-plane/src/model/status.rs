//! Lifecycles, roles and engines, as enums; ElastiCache's strings only at the edges
//! (JSON, the store's TEXT columns, events).

use serde::{Deserialize, Serialize};

/// The status of a cache cluster, a replication group, or a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
pub enum Status {
    #[serde(rename = "creating")]
    #[sqlx(rename = "creating")]
    Creating,
    #[serde(rename = "available")]
    #[sqlx(rename = "available")]
    Available,
    #[serde(rename = "modifying")]
    #[sqlx(rename = "modifying")]
    Modifying,
    /// A cluster whose nodes are being restarted.
    #[serde(rename = "rebooting cluster nodes")]
    #[sqlx(rename = "rebooting cluster nodes")]
    RebootingClusterNodes,
    /// A node being restarted.
    #[serde(rename = "rebooting")]
    #[sqlx(rename = "rebooting")]
    Rebooting,
    #[serde(rename = "deleting")]
    #[sqlx(rename = "deleting")]
    Deleting,
    #[serde(rename = "create-failed")]
    #[sqlx(rename = "create-failed")]
    CreateFailed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Available => "available",
            Status::Modifying => "modifying",
            Status::RebootingClusterNodes => "rebooting cluster nodes",
            Status::Rebooting => "rebooting",
            Status::Deleting => "deleting",
            Status::CreateFailed => "create-failed",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member cluster's role in its replication group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
pub enum Role {
    Primary,
    Replica,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a cluster's nodes speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
pub enum Engine {
    Redis,
    Memcached,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Redis => "redis",
            Engine::Memcached => "memcached",
        }
    }

    /// ElastiCache's names, any case.
    pub fn parse(name: &str) -> Option<Engine> {
        match name.to_ascii_lowercase().as_str() {
            "redis" => Some(Engine::Redis),
            "memcached" => Some(Engine::Memcached),
            _ => None,
        }
    }

    /// The port its nodes listen on unless told otherwise.
    pub fn default_port(self) -> i64 {
        match self {
            Engine::Redis => 6379,
            Engine::Memcached => 11211,
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
