//! The command line: `cachectl cluster|group|events|token ...`.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "cachectl", version, about = "Manage ferrocache cache clusters and replication groups")]
pub struct Cli {
    /// The control plane's URL.
    #[arg(long, env = "FERRO_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// A bearer token (see the control plane's admin-token file, or `cachectl token create`).
    #[arg(long, env = "FERRO_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of a table (same as --output json).
    #[arg(long, global = true)]
    pub json: bool,
    /// How to print results.
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// Seconds --wait waits before giving up.
    #[arg(long, default_value_t = 600, global = true)]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    /// `REDIS_URL=...` lines, for a CI job's environment.
    Env,
}

#[derive(Subcommand)]
pub enum Command {
    /// Cache clusters.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Replication groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Recent events.
    Events {
        #[arg(long)]
        source_type: Option<String>,
        #[arg(long)]
        source_id: Option<String>,
        /// Minutes back from now.
        #[arg(long, default_value_t = 60)]
        duration: u32,
    },
    /// Tokens (needs an admin token).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Args)]
pub struct Shared {
    #[arg(long)]
    pub node_type: Option<String>,
    #[arg(long)]
    pub engine_version: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    /// Clients must AUTH with this (16-128 characters).
    #[arg(long, env = "FERRO_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    #[arg(long)]
    pub maintenance_window: Option<String>,
    #[arg(long)]
    pub snapshot_retention_limit: Option<u32>,
    #[arg(long)]
    pub snapshot_window: Option<String>,
    /// KEY=VALUE, repeatable.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Poll and print each state change until the work is done.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Subcommand)]
pub enum ClusterCommand {
    Create {
        name: String,
        #[command(flatten)]
        shared: Shared,
    },
    List,
    Describe {
        name: String,
    },
    Modify {
        name: String,
        #[command(flatten)]
        shared: Shared,
        /// Apply a node type change now rather than in the maintenance window.
        #[arg(long)]
        apply_immediately: bool,
    },
    Delete {
        name: String,
        #[arg(long)]
        wait: bool,
    },
    Reboot {
        name: String,
        /// Node ids to reboot (default: 0001).
        #[arg(long = "node", default_value = "0001")]
        nodes: Vec<String>,
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    Create {
        name: String,
        #[arg(long, default_value = "created by cachectl")]
        description: String,
        /// Primary plus replicas, 1-6.
        #[arg(long)]
        num_cache_clusters: Option<u8>,
        /// Replicas, 0-5 (instead of --num-cache-clusters).
        #[arg(long)]
        replicas: Option<u8>,
        #[arg(long)]
        automatic_failover: bool,
        #[arg(long)]
        multi_az: bool,
        #[command(flatten)]
        shared: Shared,
    },
    List,
    Describe {
        name: String,
    },
    Modify {
        name: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        automatic_failover: Option<bool>,
        /// Make this member cluster the primary (a planned failover).
        #[arg(long)]
        primary: Option<String>,
        #[command(flatten)]
        shared: Shared,
    },
    /// Fail the primary over to a replica now, as if it had failed.
    TestFailover {
        name: String,
        #[arg(long)]
        wait: bool,
    },
    Delete {
        name: String,
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    Create {
        /// read, write or admin; repeatable.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, default_value_t = 3600)]
        expires_in_seconds: u64,
    },
}
