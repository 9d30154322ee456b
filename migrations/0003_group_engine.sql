-- A group's members all run its engine; recorded on the group like the
-- rest of its node settings.
ALTER TABLE replication_groups ADD COLUMN engine TEXT NOT NULL DEFAULT 'redis';
