//! The parameters a parameter group can set, per family: only those our data
//! node honours, each with the default it runs with, the values it accepts,
//! and how a change reaches a running node.

use crate::model::Engine;

pub const REDIS7: &str = "redis7";
pub const MEMCACHED16: &str = "memcached1.6";
pub const FAMILIES: &[&str] = &[REDIS7, MEMCACHED16];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// An integer in `min..=max`.
    Range(i64, i64),
    /// One of these words (compared without case, stored as written here).
    OneOf(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// Applied to running nodes with CONFIG SET.
    Immediate,
    /// Fixed when a node starts: applied by a reboot or in the maintenance window.
    RequiresReboot,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Immediate => "immediate",
            ChangeType::RequiresReboot => "requires-reboot",
        }
    }
}

#[derive(Debug)]
pub struct Parameter {
    pub name: &'static str,
    pub default: &'static str,
    pub allowed: Allowed,
    pub change_type: ChangeType,
    /// The data-node flag that sets it at start; `None`: `--config NAME=VALUE`.
    pub flag: Option<&'static str>,
    pub description: &'static str,
}

const MAX: i64 = i32::MAX as i64;

const fn immediate(
    name: &'static str,
    default: &'static str,
    allowed: Allowed,
    description: &'static str,
) -> Parameter {
    Parameter { name, default, allowed, change_type: ChangeType::Immediate, flag: None, description }
}

const POLICIES: &[&str] = &[
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
];

const REDIS: &[Parameter] = &[
    immediate(
        "busy-reply-threshold",
        "5000",
        Allowed::Range(0, MAX),
        "Milliseconds a script or function runs before other clients are answered BUSY.",
    ),
    Parameter {
        name: "databases",
        default: "16",
        allowed: Allowed::Range(1, 1024),
        change_type: ChangeType::RequiresReboot,
        flag: Some("--databases"),
        description: "Number of logical databases.",
    },
    immediate(
        "hash-max-listpack-entries",
        "128",
        Allowed::Range(0, MAX),
        "Hashes with at most this many fields are kept compact.",
    ),
    immediate(
        "hash-max-listpack-value",
        "64",
        Allowed::Range(0, MAX),
        "Hashes whose values are at most this long are kept compact.",
    ),
    immediate(
        "hll-sparse-max-bytes",
        "3000",
        Allowed::Range(0, 16000),
        "A sparse HyperLogLog larger than this becomes dense.",
    ),
    immediate(
        "lfu-decay-time",
        "1",
        Allowed::Range(0, MAX),
        "Minutes per step of decay of a key's LFU counter (0: never).",
    ),
    immediate("lfu-log-factor", "10", Allowed::Range(0, MAX), "How many hits it takes to raise a key's LFU counter."),
    immediate("maxmemory-policy", "noeviction", Allowed::OneOf(POLICIES), "What to evict when maxmemory is reached."),
    immediate("maxmemory-samples", "5", Allowed::Range(1, 64), "Keys sampled per eviction."),
    immediate(
        "min-replicas-max-lag",
        "10",
        Allowed::Range(0, MAX),
        "Seconds within which a replica must have acknowledged to count for min-replicas-to-write.",
    ),
    immediate(
        "min-replicas-to-write",
        "0",
        Allowed::Range(0, 5),
        "Writes are refused unless this many replicas are connected and in time.",
    ),
    immediate(
        "slowlog-log-slower-than",
        "10000",
        Allowed::Range(-1, MAX),
        "Microseconds a command takes to be logged in SLOWLOG (-1: never).",
    ),
    immediate("slowlog-max-len", "128", Allowed::Range(0, MAX), "Entries SLOWLOG keeps."),
    immediate(
        "tcp-keepalive",
        "300",
        Allowed::Range(0, MAX),
        "Seconds of idle before TCP keepalive probes a new client's connection (0: off).",
    ),
    immediate("timeout", "0", Allowed::Range(0, MAX), "Seconds an idle client is kept (0: forever)."),
];

const MEMCACHED: &[Parameter] = &[Parameter {
    name: "max_item_size",
    default: "1048576",
    allowed: Allowed::Range(1024, 128 * 1024 * 1024),
    change_type: ChangeType::RequiresReboot,
    flag: Some("--max-item-size"),
    description: "The largest item, in bytes (memcached's -I).",
}];

/// Every parameter of a family, sorted by name; `None` for an unknown family.
pub fn parameters(family: &str) -> Option<&'static [Parameter]> {
    match family {
        REDIS7 => Some(REDIS),
        MEMCACHED16 => Some(MEMCACHED),
        _ => None,
    }
}

pub fn find(family: &str, name: &str) -> Option<&'static Parameter> {
    parameters(family)?.iter().find(|p| p.name == name)
}

/// The family an engine's nodes take their parameters from.
pub fn family(engine: Engine) -> &'static str {
    match engine {
        Engine::Redis => REDIS7,
        Engine::Memcached => MEMCACHED16,
    }
}

/// The default parameter group of a family: `default.redis7`.
pub fn default_group(family: &str) -> String {
    format!("default.{family}")
}

pub fn is_default_group(name: &str) -> bool {
    FAMILIES.iter().any(|family| default_group(family) == name)
}

impl Allowed {
    /// As ElastiCache shows it: `1-64`, or `a,b,c`.
    pub fn describe(&self) -> String {
        match self {
            Allowed::Range(min, max) => format!("{min}-{max}"),
            Allowed::OneOf(words) => words.join(","),
        }
    }

    pub fn data_type(&self) -> &'static str {
        match self {
            Allowed::Range(..) => "integer",
            Allowed::OneOf(_) => "string",
        }
    }
}

impl Parameter {
    /// The value as it is stored and as the node reports it, or why it is refused.
    pub fn check(&self, value: &str) -> Result<String, String> {
        let refused = || {
            format!(
                "Invalid value '{value}' for parameter {}: allowed values are {}.",
                self.name,
                self.allowed.describe()
            )
        };
        match self.allowed {
            Allowed::Range(min, max) => match value.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
                _ => Err(refused()),
            },
            Allowed::OneOf(words) => {
                words.iter().find(|w| w.eq_ignore_ascii_case(value.trim())).map(|w| (*w).to_owned()).ok_or_else(refused)
            }
        }
    }

    /// The data-node arguments that start a node with `value`.
    pub fn start_args(&self, value: &str) -> [String; 2] {
        match self.flag {
            Some(flag) => [flag.to_owned(), value.to_owned()],
            None => ["--config".to_owned(), format!("{}={value}", self.name)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_normalised() {
        let samples = find(REDIS7, "maxmemory-samples").unwrap();
        assert_eq!(samples.check(" 10").unwrap(), "10");
        let refused = samples.check("65").unwrap_err();
        assert!(refused.contains("allowed values are 1-64"), "{refused}");
        assert!(samples.check("ten").is_err());
        let policy = find(REDIS7, "maxmemory-policy").unwrap();
        assert_eq!(policy.check("AllKeys-LRU").unwrap(), "allkeys-lru");
        assert!(policy.check("lru").unwrap_err().contains("noeviction"));
    }

    #[test]
    fn every_family_is_sorted_and_its_defaults_valid() {
        for family in FAMILIES {
            let params = parameters(family).unwrap();
            assert!(params.windows(2).all(|w| w[0].name < w[1].name), "{family} is not sorted");
            for p in params {
                assert_eq!(p.check(p.default).as_deref(), Ok(p.default), "{}", p.name);
                assert_eq!(p.flag.is_some(), p.change_type == ChangeType::RequiresReboot, "{}", p.name);
            }
        }
        assert!(parameters("redis6.x").is_none());
    }

    #[test]
    fn start_arguments() {
        assert_eq!(find(REDIS7, "databases").unwrap().start_args("32"), ["--databases", "32"]);
        assert_eq!(find(REDIS7, "timeout").unwrap().start_args("5"), ["--config", "timeout=5"]);
        assert!(is_default_group("default.redis7") && is_default_group("default.memcached1.6"));
        assert!(!is_default_group("default.redis6"));
    }
}
