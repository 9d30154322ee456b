-- Desired and observed state of everything the control plane manages.
-- Times are Unix milliseconds (UTC).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE replication_groups (
    replication_group_id          TEXT PRIMARY KEY,
    description                   TEXT NOT NULL,
    status                        TEXT NOT NULL,
    engine_version                TEXT NOT NULL,
    cache_node_type               TEXT NOT NULL,
    port                          INTEGER NOT NULL,
    automatic_failover_enabled    INTEGER NOT NULL,
    multi_az_enabled              INTEGER NOT NULL,
    auth_token                    TEXT,
    preferred_maintenance_window  TEXT NOT NULL,
    snapshot_retention_limit      INTEGER NOT NULL,
    snapshot_window               TEXT NOT NULL,
    tags                          TEXT NOT NULL,
    created_at                    INTEGER NOT NULL
);

CREATE TABLE cache_clusters (
    cache_cluster_id              TEXT PRIMARY KEY,
    replication_group_id          TEXT REFERENCES replication_groups (replication_group_id),
    role                          TEXT,
    engine                        TEXT NOT NULL,
    engine_version                TEXT NOT NULL,
    cache_node_type               TEXT NOT NULL,
    num_cache_nodes               INTEGER NOT NULL,
    port                          INTEGER NOT NULL,
    auth_token                    TEXT,
    preferred_maintenance_window  TEXT NOT NULL,
    snapshot_retention_limit      INTEGER NOT NULL,
    snapshot_window               TEXT NOT NULL,
    tags                          TEXT NOT NULL,
    status                        TEXT NOT NULL,
    pending_modified_values       TEXT NOT NULL DEFAULT '{}',
    created_at                    INTEGER NOT NULL
);
CREATE INDEX cache_clusters_by_group ON cache_clusters (replication_group_id);

CREATE TABLE cache_nodes (
    cache_cluster_id   TEXT NOT NULL REFERENCES cache_clusters (cache_cluster_id) ON DELETE CASCADE,
    cache_node_id      TEXT NOT NULL,
    status             TEXT NOT NULL,
    host_port          INTEGER NOT NULL UNIQUE,
    address            TEXT,
    reboot_requested   INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (cache_cluster_id, cache_node_id)
);

CREATE TABLE events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    source_type        TEXT NOT NULL,
    source_identifier  TEXT NOT NULL,
    message            TEXT NOT NULL,
    date               INTEGER NOT NULL
);
CREATE INDEX events_by_date ON events (date);
