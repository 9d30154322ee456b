-- Backups: each snapshot's record (its file lives under the data dir's
-- snapshots/), and the clusters waiting to be filled from one.

CREATE TABLE snapshots (
    snapshot_name                 TEXT PRIMARY KEY,
    snapshot_status               TEXT NOT NULL,
    snapshot_source               TEXT NOT NULL,
    cache_cluster_id              TEXT,
    replication_group_id          TEXT,
    -- What the source was when the snapshot was taken (a restore's defaults).
    engine                        TEXT NOT NULL,
    engine_version                TEXT NOT NULL,
    cache_node_type               TEXT NOT NULL,
    num_cache_nodes               INTEGER NOT NULL,
    port                          INTEGER NOT NULL,
    preferred_maintenance_window  TEXT NOT NULL,
    snapshot_retention_limit      INTEGER NOT NULL,
    snapshot_window               TEXT NOT NULL,
    source_node_id                TEXT,
    source_create_time            INTEGER,
    -- The source's used_memory: a restore's node type must hold it.
    data_bytes                    INTEGER NOT NULL DEFAULT 0,
    -- Filled as the file is written; size and SHA-256 once it is whole.
    bytes_written                 INTEGER NOT NULL DEFAULT 0,
    size_bytes                    INTEGER,
    sha256                        TEXT,
    -- A copy's source, taken by the backup worker.
    copy_of                       TEXT,
    failure                       TEXT,
    created_at                    INTEGER NOT NULL
);
CREATE INDEX snapshots_by_cluster ON snapshots (cache_cluster_id);
CREATE INDEX snapshots_by_group ON snapshots (replication_group_id);

CREATE TABLE pending_restores (
    cache_cluster_id  TEXT PRIMARY KEY REFERENCES cache_clusters (cache_cluster_id) ON DELETE CASCADE,
    snapshot_name     TEXT NOT NULL
);
