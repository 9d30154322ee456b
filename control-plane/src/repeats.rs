//! A failure retried every second or so is said once (logged, recorded as
//! an event), then again only when it changes; when it ends, the log says
//! how many attempts it took.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct Repeats {
    /// Per subject (a cluster id, say): its last failure and how many times it came.
    last: Mutex<HashMap<String, (String, u32)>>,
}

impl Repeats {
    /// Counts a failure of `subject`; true when it is not the one said last
    /// time, so it should be said now.
    pub fn is_new(&self, subject: &str, failure: &str) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match last.get_mut(subject) {
            Some((said, count)) if said == failure => {
                *count += 1;
                false
            }
            _ => {
                last.insert(subject.to_owned(), (failure.to_owned(), 1));
                true
            }
        }
    }

    /// The subject succeeded: forgets its failure, and returns it with how
    /// many times it came, if it came at all.
    pub fn ended(&self, subject: &str) -> Option<(String, u32)> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).remove(subject)
    }
}

#[cfg(test)]
mod tests {
    use super::Repeats;

    #[test]
    fn a_failure_is_said_once_until_it_changes() {
        let repeats = Repeats::default();
        assert!(repeats.is_new("a", "network busy"));
        assert!(!repeats.is_new("a", "network busy"));
        assert!(repeats.is_new("b", "network busy"), "subjects apart");
        assert!(!repeats.is_new("a", "network busy"));
        assert!(repeats.is_new("a", "engine gone"), "a new failure is said");
        assert!(!repeats.is_new("a", "engine gone"));
        assert_eq!(repeats.ended("a"), Some(("engine gone".into(), 2)));
        assert_eq!(repeats.ended("a"), None);
        assert!(repeats.is_new("a", "engine gone"), "said again after it ended");
    }
}
