//! Engine parameters: what each family offers (`catalogue`), what a
//! cluster's nodes still have to take from its parameter group (`Drift`),
//! and the worker that applies immediate changes to running nodes (`sync`).
//!
//! A cluster records the values its nodes run with (`parameters`); its
//! group's values are what they should run with. Immediate parameters are
//! set on the running nodes and then recorded; the others wait for the
//! nodes' next start (a reboot, or the maintenance window), which records
//! them as it begins.

pub mod catalogue;
pub mod sync;

use crate::model::{CacheCluster, Parameters};
use catalogue::ChangeType;

/// What differs between what a cluster's nodes run with and its group's values.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// Immediate parameters to set, with the value to set (a default for one reset).
    pub immediate: Vec<(String, String)>,
    /// Parameters that take a restart.
    pub requires_reboot: Vec<String>,
}

impl Drift {
    pub fn of(cluster: &CacheCluster) -> Drift {
        let family = catalogue::family(cluster.settings.engine);
        drift(family, &cluster.parameters, &cluster.group_parameters)
    }

    /// ElastiCache's `parameter_apply_status`.
    pub fn apply_status(&self) -> &'static str {
        if !self.immediate.is_empty() {
            "applying"
        } else if !self.requires_reboot.is_empty() {
            "pending-reboot"
        } else {
            "in-sync"
        }
    }
}

/// What a cluster's nodes run with once restarted to take its group's
/// values that need a restart (immediate ones are the sync worker's).
pub fn after_restart(cluster: &CacheCluster) -> Parameters {
    let family = catalogue::family(cluster.settings.engine);
    let mut running = cluster.parameters.clone();
    for name in Drift::of(cluster).requires_reboot {
        match cluster.group_parameters.get(&name) {
            Some(value) => running.insert(name, value.clone()),
            None => running.remove(&name),
        };
    }
    debug_assert!(drift(family, &running, &cluster.group_parameters).requires_reboot.is_empty());
    running
}

fn drift(family: &str, running: &Parameters, wanted: &Parameters) -> Drift {
    let mut found = Drift::default();
    let names = running.keys().chain(wanted.keys().filter(|k| !running.contains_key(*k)));
    for name in names {
        let Some(parameter) = catalogue::find(family, name) else { continue };
        let value = |values: &Parameters| values.get(name).cloned().unwrap_or_else(|| parameter.default.to_owned());
        let (now, then) = (value(running), value(wanted));
        if now == then {
            continue;
        }
        match parameter.change_type {
            ChangeType::Immediate => found.immediate.push((name.clone(), then)),
            ChangeType::RequiresReboot => found.requires_reboot.push(name.clone()),
        }
    }
    found.immediate.sort();
    found.requires_reboot.sort();
    found
}

/// The data-node arguments that start a node with `parameters`.
pub fn start_args(family: &str, parameters: &Parameters) -> Vec<String> {
    parameters
        .iter()
        .filter_map(|(name, value)| catalogue::find(family, name).map(|p| p.start_args(value)))
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Parameters {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn drift_splits_immediate_from_reboot_and_resets_to_defaults() {
        let running = values(&[("timeout", "5"), ("databases", "16"), ("maxmemory-samples", "7")]);
        let wanted = values(&[("databases", "32"), ("maxmemory-policy", "allkeys-lru"), ("maxmemory-samples", "7")]);
        let found = drift(catalogue::REDIS7, &running, &wanted);
        assert_eq!(
            found.immediate,
            vec![("maxmemory-policy".into(), "allkeys-lru".into()), ("timeout".into(), "0".into())]
        );
        assert_eq!(found.requires_reboot, vec!["databases".to_string()]);
        assert_eq!(found.apply_status(), "applying");
        let reboot_only = drift(catalogue::REDIS7, &values(&[]), &values(&[("databases", "32")]));
        assert_eq!(reboot_only.apply_status(), "pending-reboot");
    }

    #[test]
    fn a_value_set_to_its_default_is_in_sync() {
        let found = drift(catalogue::REDIS7, &values(&[]), &values(&[("timeout", "0"), ("databases", "16")]));
        assert_eq!(found, Drift::default());
        assert_eq!(found.apply_status(), "in-sync");
    }

    #[test]
    fn start_arguments_follow_the_family() {
        let args = start_args(catalogue::REDIS7, &values(&[("databases", "4"), ("timeout", "9")]));
        assert_eq!(args, ["--databases", "4", "--config", "timeout=9"]);
        let args = start_args(catalogue::MEMCACHED16, &values(&[("max_item_size", "2097152")]));
        assert_eq!(args, ["--max-item-size", "2097152"]);
    }
}
