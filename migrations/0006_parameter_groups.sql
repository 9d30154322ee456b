-- Parameter groups: named sets of engine parameters that clusters and
-- groups run with. Only values a user set are rows of cache_parameters; a
-- parameter without one has its family's default. The default groups
-- (default.<family>) are rows too, and cannot be modified.
CREATE TABLE cache_parameter_groups (
    cache_parameter_group_name    TEXT PRIMARY KEY,
    cache_parameter_group_family  TEXT NOT NULL,
    description                   TEXT NOT NULL,
    created_at                    INTEGER NOT NULL
);

CREATE TABLE cache_parameters (
    cache_parameter_group_name  TEXT NOT NULL
        REFERENCES cache_parameter_groups (cache_parameter_group_name) ON DELETE CASCADE,
    parameter_name              TEXT NOT NULL,
    parameter_value             TEXT NOT NULL,
    PRIMARY KEY (cache_parameter_group_name, parameter_name)
);

INSERT INTO cache_parameter_groups VALUES
    ('default.redis7', 'redis7', 'Default parameter group for redis7', 0),
    ('default.memcached1.6', 'memcached1.6', 'Default parameter group for memcached1.6', 0);

ALTER TABLE replication_groups ADD COLUMN cache_parameter_group_name TEXT NOT NULL DEFAULT 'default.redis7';
ALTER TABLE cache_clusters ADD COLUMN cache_parameter_group_name TEXT NOT NULL DEFAULT 'default.redis7';
UPDATE cache_clusters SET cache_parameter_group_name = 'default.memcached1.6' WHERE engine = 'memcached';

-- The parameter values a cluster's nodes run with (a JSON object of the
-- values that differ from the defaults): its group's values once applied.
ALTER TABLE cache_clusters ADD COLUMN parameters TEXT NOT NULL DEFAULT '{}';
