-- The failover journal: a failover in flight, one per group at most. Each
-- step is recorded before it is taken, so a control plane that dies
-- mid-failover finishes that failover when it starts again (promoting the
-- replica already chosen) rather than starting another.

CREATE TABLE failovers (
    replication_group_id  TEXT PRIMARY KEY
                          REFERENCES replication_groups (replication_group_id) ON DELETE CASCADE,
    -- Asked for (test-failover, a primary change) rather than a primary lost.
    requested             INTEGER NOT NULL,
    reason                TEXT NOT NULL,
    -- The member that becomes primary: named by the request, or the replica
    -- the monitor chose, recorded before it is promoted.
    new_primary           TEXT,
    -- How many times the monitor has started on it (above 1: resumed).
    attempts              INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL
);

-- The replication id (INFO master_replid) of the group's data, as the
-- monitor last saw it on the primary. A replica that does not share it never
-- synced from this data (a node restarted empty, say) and is never promoted.
ALTER TABLE replication_groups ADD COLUMN replication_id TEXT;
