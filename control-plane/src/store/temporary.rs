//! A store in a directory of its own, removed when the test is done.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{PortRange, Store};

pub struct TemporaryStore {
    pub store: Store,
    dir: PathBuf,
}

impl TemporaryStore {
    pub async fn open(tag: &str, ports: PortRange) -> TemporaryStore {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("ferrocache-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let store = Store::open(&dir.join("db.sqlite"), ports).await.expect("opening the store");
        TemporaryStore { store, dir }
    }
}

impl Drop for TemporaryStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
