-- A memcached cluster's Auto Discovery version: what `config get cluster`
-- answers on every node, bumped with each change of membership.
ALTER TABLE cache_clusters ADD COLUMN config_version INTEGER NOT NULL DEFAULT 1;
