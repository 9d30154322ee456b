//! Parameters redis-server has for its compact encodings and background
//! work, which we accept and report. Only `hash-max-listpack-*` change
//! something here (small hashes are ordered vectors, as Redis's listpacks);
//! our other encodings are our own (README lists them). Each is checked as Redis
//! checks it, so a bad value is refused the same way.

pub enum Kind {
    /// An integer in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    YesNo,
}

pub struct Knob {
    pub name: &'static str,
    /// The pre-7.0 name, kept as an alias.
    pub alias: Option<&'static str>,
    pub default: &'static str,
    pub kind: Kind,
}

const fn int(name: &'static str, alias: Option<&'static str>, default: &'static str, min: i64, max: i64) -> Knob {
    Knob { name, alias, default, kind: Kind::Int { min, max } }
}

const fn yes_no(name: &'static str, default: &'static str) -> Knob {
    Knob { name, alias: None, default, kind: Kind::YesNo }
}

const MAX: i64 = i32::MAX as i64;

pub const KNOBS: &[Knob] = &[
    int("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), "128", 0, MAX),
    int("hash-max-listpack-value", Some("hash-max-ziplist-value"), "64", 0, MAX),
    int("list-max-listpack-size", Some("list-max-ziplist-size"), "-2", -5, MAX),
    int("list-compress-depth", None, "0", 0, MAX),
    int("set-max-intset-entries", None, "512", 0, MAX),
    int("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), "128", 0, MAX),
    int("zset-max-listpack-value", Some("zset-max-ziplist-value"), "64", 0, MAX),
    int("stream-node-max-bytes", None, "4096", 0, MAX),
    int("stream-node-max-entries", None, "100", 0, MAX),
    int("active-expire-effort", None, "1", 1, 10),
    yes_no("activedefrag", "no"),
    yes_no("activerehashing", "yes"),
    yes_no("lazyfree-lazy-eviction", "no"),
    yes_no("lazyfree-lazy-expire", "no"),
    yes_no("lazyfree-lazy-server-del", "no"),
    yes_no("lazyfree-lazy-user-del", "no"),
    yes_no("lazyfree-lazy-user-flush", "no"),
    yes_no("replica-lazy-flush", "no"),
];

pub fn find(name: &str) -> Option<&'static Knob> {
    KNOBS.iter().find(|k| k.name == name || k.alias == Some(name))
}

impl Knob {
    /// The value as stored, or why it is refused (in CONFIG SET's words).
    pub fn check(&self, value: &str) -> Result<String, String> {
        match self.kind {
            Kind::Int { min, max } => match value.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
                Ok(_) => Err(format!("argument must be between {min} and {max} inclusive")),
                Err(_) => Err("argument couldn't be parsed into an integer".into()),
            },
            Kind::YesNo => match value.to_ascii_lowercase().as_str() {
                v @ ("yes" | "no") => Ok(v.to_owned()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
        }
    }
}
