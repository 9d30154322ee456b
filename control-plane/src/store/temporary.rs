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

/// `count` consecutive ports free now, in 61000-64999: above the kernel's
/// ephemeral range and apart from the integration tests' 21000-29999, so
/// unit tests running beside them in parallel processes do not share ports.
pub fn free_ports(count: u16) -> PortRange {
    let seed =
        u64::from(std::process::id()) * 7919 + std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos() as u64);
    for attempt in 0..200u64 {
        let low = 61_000 + ((seed + attempt * 97) % (4_000 - u64::from(count))) as u16;
        let bound = (low..low + count).take_while(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()).count();
        if bound == usize::from(count) {
            return PortRange { low, high: low + count - 1 };
        }
    }
    panic!("no {count} consecutive free ports in 61000-64999");
}
