//! The command line: `cachectl cluster|group|snapshot|parameter-group|events|token|node-types|engine-versions|completions ...`.

use clap::{Args, Parser, Subcommand, ValueEnum};

const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(name = "cachectl", version, about = "Manage ferrocache cache clusters and replication groups")]
pub struct Cli {
    /// The control plane's URL (`host:port` means http://host:port).
    #[arg(long, env = "FERRO_URL", default_value = "http://127.0.0.1:8080", global = true, help_heading = GLOBAL)]
    pub url: String,
    /// A bearer token: the admin token the control plane wrote to
    /// <data dir>/admin-token, or one from `cachectl token create`.
    #[arg(long, env = "FERRO_TOKEN", global = true, hide_env_values = true, help_heading = GLOBAL)]
    pub token: Option<String>,
    /// Print the API's JSON instead of a table (same as --output json).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// How to print results.
    #[arg(short, long, value_enum, default_value_t = Output::Table, global = true, help_heading = GLOBAL)]
    pub output: Output,
    /// Seconds --wait waits before giving up.
    #[arg(long, default_value_t = 600, global = true, help_heading = GLOBAL)]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Columns for people.
    Table,
    /// The API's own JSON.
    Json,
    /// `REDIS_URL=...` (or `MEMCACHED_SERVERS=...`) lines for one cluster or group, for a CI job's environment.
    Env,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create, list, describe, modify, reboot and delete cache clusters.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Create, list, describe, modify, resize, fail over and delete replication groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// What happened to which cluster or group, oldest first.
    Events {
        /// Only events of this kind of source.
        #[arg(long, value_parser = ["cache-cluster", "replication-group", "snapshot"])]
        source_type: Option<String>,
        /// Only events of this cluster or group.
        #[arg(long)]
        source_id: Option<String>,
        /// Minutes back from now.
        #[arg(long, default_value_t = 60)]
        duration: u32,
    },
    /// Back up, copy, download, import and delete snapshots (restore with `cluster create --snapshot`).
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Create, list, show, modify, reset and delete parameter groups; a family's defaults.
    #[command(subcommand)]
    ParameterGroup(ParameterGroupCommand),
    /// Mint bearer tokens (needs an admin token).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The node types a cluster or group can use, with their memory and vCPUs.
    NodeTypes,
    /// The engine versions on offer.
    EngineVersions,
    /// Print a shell completion script, e.g. `cachectl completions bash > /etc/bash_completion.d/cachectl`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// What a cluster or group is made of, fixed at creation.
#[derive(Args)]
pub struct NodeSettings {
    /// Node type (see `cachectl node-types`); default cache.t3.micro.
    #[arg(long)]
    pub node_type: Option<String>,
    /// Engine version (see `cachectl engine-versions`); default 7.0.
    #[arg(long)]
    pub engine_version: Option<String>,
    /// A redis cluster: the host port of its endpoint (default: a free one). A group or a memcached
    /// cluster: the port inside its Docker network (its endpoints get free host ports).
    #[arg(long)]
    pub port: Option<u16>,
    /// Clients must AUTH with this (16-128 characters: letters, digits and ! & # $ ^ < > -).
    #[arg(long, env = "FERRO_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
}

/// Settings a modify may change too.
#[derive(Args)]
pub struct Windows {
    /// Weekly window for held changes, ddd:hh24:mi-ddd:hh24:mi UTC (e.g. sun:05:00-sun:06:00).
    #[arg(long)]
    pub maintenance_window: Option<String>,
    /// Days automatic snapshots are kept, 0-35.
    #[arg(long)]
    pub snapshot_retention_limit: Option<u32>,
    /// Daily snapshot window, hh24:mi-hh24:mi UTC (e.g. 03:00-04:00).
    #[arg(long)]
    pub snapshot_window: Option<String>,
    /// A tag, KEY=VALUE; repeatable.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// The parameter group its nodes take their parameters from (see `cachectl parameter-group`).
    #[arg(long)]
    pub parameter_group: Option<String>,
}

#[derive(Args)]
pub struct Wait {
    /// Poll, printing each state change and event, until the work is done.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Create a cache cluster: one redis node, or 1-40 memcached nodes.
    Create {
        /// The cluster's id: letters, digits and hyphens, starting with a letter.
        name: String,
        /// The engine its nodes speak.
        #[arg(long, value_parser = ["redis", "memcached"], default_value = "redis")]
        engine: String,
        /// Nodes, 1-40 for memcached (a redis cluster has 1: use a group for replicas).
        #[arg(long)]
        num_cache_nodes: Option<u8>,
        /// Restore: the cluster starts holding this snapshot's data.
        #[arg(long)]
        snapshot: Option<String>,
        #[command(flatten)]
        settings: NodeSettings,
        #[command(flatten)]
        windows: Windows,
        #[command(flatten)]
        wait: Wait,
    },
    /// Every cache cluster, group members included.
    List,
    /// One cluster, with its nodes and endpoints.
    Describe {
        /// The cluster's id.
        name: String,
    },
    /// Change a cluster's node type, node count (memcached), windows, snapshot retention or tags.
    Modify {
        /// The cluster's id.
        name: String,
        /// The new node type; applied in the maintenance window unless --apply-immediately.
        #[arg(long)]
        node_type: Option<String>,
        /// A memcached cluster's new node count; a smaller one needs --remove-node for each node that goes.
        #[arg(long)]
        num_cache_nodes: Option<u8>,
        /// A node to remove with a smaller --num-cache-nodes; repeatable.
        #[arg(long = "remove-node", value_name = "NODE_ID")]
        remove_nodes: Vec<String>,
        /// Apply a node type or node count change now rather than in the maintenance window.
        #[arg(long)]
        apply_immediately: bool,
        #[command(flatten)]
        windows: Windows,
        #[command(flatten)]
        wait: Wait,
    },
    /// Delete a cluster and its data (its manual snapshots stay).
    Delete {
        /// The cluster's id.
        name: String,
        /// Take this last snapshot before the node goes.
        #[arg(long)]
        final_snapshot: Option<String>,
        #[command(flatten)]
        wait: Wait,
    },
    /// Restart nodes of a cluster; a node keeps the data it saves as it stops.
    Reboot {
        /// The cluster's id.
        name: String,
        /// A node id to reboot; repeatable (default: 0001).
        #[arg(long = "node", default_value = "0001")]
        nodes: Vec<String>,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a replication group: a primary and its replicas.
    Create {
        /// The group's id: letters, digits and hyphens, starting with a letter.
        name: String,
        /// What the group is for.
        #[arg(long, default_value = "created by cachectl")]
        description: String,
        /// Primary plus replicas, 1-6.
        #[arg(long)]
        num_cache_clusters: Option<u8>,
        /// Replicas, 0-5 (instead of --num-cache-clusters).
        #[arg(long)]
        replicas: Option<u8>,
        /// Promote a replica when the primary fails.
        #[arg(long)]
        automatic_failover: bool,
        /// Recorded as ElastiCache does (one host here: no zones to spread over).
        #[arg(long)]
        multi_az: bool,
        /// Restore: the primary starts holding this snapshot's data, its replicas sync it.
        #[arg(long)]
        snapshot: Option<String>,
        #[command(flatten)]
        settings: NodeSettings,
        #[command(flatten)]
        windows: Windows,
        #[command(flatten)]
        wait: Wait,
    },
    /// Every replication group.
    List,
    /// One group, with its members, roles and endpoints.
    Describe {
        /// The group's id.
        name: String,
    },
    /// Change a group's description, failover setting, primary, windows or tags.
    Modify {
        /// The group's id.
        name: String,
        /// What the group is for.
        #[arg(long)]
        description: Option<String>,
        /// Promote a replica when the primary fails (true or false).
        #[arg(long)]
        automatic_failover: Option<bool>,
        /// Make this member cluster the primary (a planned failover).
        #[arg(long)]
        primary: Option<String>,
        #[command(flatten)]
        windows: Windows,
        #[command(flatten)]
        wait: Wait,
    },
    /// Add replicas, up to 5.
    IncreaseReplicas {
        /// The group's id.
        name: String,
        /// How many replicas the group has afterwards.
        #[arg(long)]
        count: u8,
        #[command(flatten)]
        wait: Wait,
    },
    /// Remove replicas, down to 1 (0 without automatic failover).
    DecreaseReplicas {
        /// The group's id.
        name: String,
        /// How many replicas the group has afterwards.
        #[arg(long)]
        count: u8,
        #[command(flatten)]
        wait: Wait,
    },
    /// Fail the primary over to a replica now, as if it had failed.
    TestFailover {
        /// The group's id.
        name: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// Delete a group, its members and their data (its manual snapshots stay).
    Delete {
        /// The group's id.
        name: String,
        /// Take this last snapshot before the nodes go.
        #[arg(long)]
        final_snapshot: Option<String>,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand)]
pub enum ParameterGroupCommand {
    /// Create a parameter group; it starts with its family's defaults.
    Create {
        /// The group's name: letters, digits and hyphens, starting with a letter.
        name: String,
        /// The engine family it is for.
        #[arg(long, value_parser = ["redis7", "memcached1.6"], default_value = "redis7")]
        family: String,
        /// What it is for.
        #[arg(long, default_value = "created by cachectl")]
        description: String,
    },
    /// Every parameter group, the default ones included.
    List,
    /// A group's parameters with their values, allowed values and change types.
    Describe {
        /// The group's name.
        name: String,
    },
    /// Set parameters; immediate ones reach the running nodes, the others wait for a reboot.
    Modify {
        /// A parameter to set, NAME=VALUE; repeatable (up to 20).
        #[arg(long = "set", value_name = "NAME=VALUE", required = true)]
        set: Vec<String>,
        /// The group's name.
        name: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// Put parameters back to their defaults.
    Reset {
        /// The group's name.
        name: String,
        /// A parameter to reset; repeatable (without any: all of them).
        #[arg(long = "parameter", value_name = "NAME")]
        parameters: Vec<String>,
        #[command(flatten)]
        wait: Wait,
    },
    /// Delete a group no cluster or replication group uses.
    Delete {
        /// The group's name.
        name: String,
    },
    /// A family's parameters and their defaults.
    Defaults {
        /// The engine family.
        #[arg(long, value_parser = ["redis7", "memcached1.6"], default_value = "redis7")]
        family: String,
    },
}

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Snapshot a cluster or a group (taken from a replica when the group has one).
    Create {
        /// The snapshot's name.
        name: String,
        /// The standalone cluster to snapshot.
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        cluster: Option<String>,
        /// The replication group to snapshot.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        wait: Wait,
    },
    /// Every snapshot, or those of one source or kind.
    List {
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long)]
        group: Option<String>,
        /// manual or automated.
        #[arg(long, value_parser = ["manual", "automated"])]
        source: Option<String>,
    },
    /// One snapshot: status, size, SHA-256, and what its source was.
    Describe { name: String },
    /// Copy a snapshot under a new name.
    Copy {
        name: String,
        /// The copy's name.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// Delete a snapshot and its file.
    Delete { name: String },
    /// Save a snapshot's RDB file, checked against its SHA-256.
    Download {
        name: String,
        /// Where to write it (default: NAME.rdb).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Upload an RDB file (redis-server's or ours) as a snapshot to restore from.
    Import {
        name: String,
        /// The RDB file.
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Mint a token and print it.
    Create {
        /// read, write or admin; repeatable.
        #[arg(long = "scope", required = true, value_parser = ["read", "write", "admin"])]
        scopes: Vec<String>,
        /// Who the token is for (its `sub`).
        #[arg(long)]
        subject: Option<String>,
        /// Seconds until it expires.
        #[arg(long, default_value_t = 3600)]
        expires_in_seconds: u64,
    },
}
