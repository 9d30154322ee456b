//! The state scripts share across connections: the script cache (EVAL's
//! bodies by SHA1), function libraries, and the one script running now (for
//! `-BUSY` and SCRIPT KILL / FUNCTION KILL). Lua itself lives in the command
//! layer, one VM per worker thread, compiled from what is kept here.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

use crate::sync::lock;

/// Lowercase hex SHA1, the name EVALSHA and SCRIPT EXISTS use.
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// A function a library registered, as FUNCTION LIST shows it.
#[derive(Clone, Debug)]
pub struct FunctionInfo {
    pub name: String,
    pub description: Option<String>,
    pub flags: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Library {
    pub name: String,
    pub engine: String,
    pub code: Vec<u8>,
    pub functions: Vec<FunctionInfo>,
}

/// What is running: a script (EVAL) or a function (FCALL), since when, and
/// whether it wrote (a script that wrote cannot be killed).
pub struct Running {
    pub started: Instant,
    pub is_function: bool,
    pub name: String,
    pub command: Vec<Vec<u8>>,
    pub wrote: bool,
}

#[derive(Default)]
pub struct Scripts {
    bodies: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    libraries: Mutex<BTreeMap<String, Library>>,
    /// Moves when the cache or the libraries change: VMs compiled from an
    /// older one start again.
    generation: AtomicU64,
    running: Mutex<Option<Running>>,
    /// Whether `running` holds one: read on every command, without the lock.
    active: AtomicBool,
    kill: AtomicBool,
    ended: Notify,
}

impl Scripts {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Caches `body`; returns its SHA1.
    pub fn remember(&self, body: &[u8]) -> String {
        let sha = sha1_hex(body);
        lock(&self.bodies).entry(sha.clone()).or_insert_with(|| Arc::new(body.to_vec()));
        sha
    }

    pub fn body(&self, sha: &str) -> Option<Arc<Vec<u8>>> {
        lock(&self.bodies).get(&sha.to_ascii_lowercase()).cloned()
    }

    /// How many scripts are cached, and their bodies' bytes (INFO memory).
    pub fn cached(&self) -> (usize, usize) {
        let bodies = lock(&self.bodies);
        (bodies.len(), bodies.values().map(|b| b.len()).sum())
    }

    /// How many libraries are loaded, and how many functions they hold.
    pub fn library_counts(&self) -> (usize, usize) {
        let libraries = lock(&self.libraries);
        (libraries.len(), libraries.values().map(|l| l.functions.len()).sum())
    }

    pub fn flush_cache(&self) {
        lock(&self.bodies).clear();
        self.changed();
    }

    /// Each library's code, as RDB snapshots and FUNCTION DUMP hold them.
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        lock(&self.libraries).values().map(|l| l.code.clone()).collect()
    }

    pub fn libraries(&self) -> Vec<Library> {
        lock(&self.libraries).values().cloned().collect()
    }

    /// The library that registered `function`.
    pub fn library_of(&self, function: &str) -> Option<(Library, FunctionInfo)> {
        let libraries = lock(&self.libraries);
        libraries.values().find_map(|library| {
            let found = library.functions.iter().find(|f| f.name.eq_ignore_ascii_case(function))?;
            Some((library.clone(), found.clone()))
        })
    }

    /// Replaces the whole set of libraries (FUNCTION LOAD checks names first).
    pub fn set_libraries(&self, libraries: BTreeMap<String, Library>) {
        *lock(&self.libraries) = libraries;
        self.changed();
    }

    pub fn library_map(&self) -> BTreeMap<String, Library> {
        lock(&self.libraries).clone()
    }

    /// Marks a script running; its guard ends it.
    pub fn start(&self, running: Running) -> RunningGuard<'_> {
        self.kill.store(false, Ordering::Release);
        *lock(&self.running) = Some(running);
        self.active.store(true, Ordering::Release);
        RunningGuard(self)
    }

    /// Notes that the running script wrote: it can no longer be killed.
    pub fn wrote(&self) {
        if let Some(running) = lock(&self.running).as_mut() {
            running.wrote = true;
        }
    }

    /// Since when a script runs, if one does, and whether it is a function.
    pub fn running_since(&self) -> Option<(Instant, bool)> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.running).as_ref().map(|r| (r.started, r.is_function))
    }

    /// FUNCTION STATS's running_script: name, command, ms so far.
    pub fn running_info(&self) -> Option<(String, Vec<Vec<u8>>, u128)> {
        lock(&self.running).as_ref().map(|r| (r.name.clone(), r.command.clone(), r.started.elapsed().as_millis()))
    }

    /// SCRIPT KILL (`function: false`) or FUNCTION KILL: asks the running
    /// script to stop at its next hook.
    pub fn request_kill(&self, function: bool) -> Result<(), String> {
        let running = lock(&self.running);
        let Some(running) = running.as_ref() else {
            return Err("NOTBUSY No scripts in execution right now.".into());
        };
        if running.is_function != function {
            let (what, kill) = if running.is_function { ("function", "FUNCTION") } else { ("script", "SCRIPT") };
            return Err(format!(
                "BUSY Redis is busy running a {what}. You can only call {kill} KILL or SHUTDOWN NOSAVE."
            ));
        }
        if running.wrote {
            return Err(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.".into(),
            );
        }
        self.kill.store(true, Ordering::Release);
        Ok(())
    }

    pub fn kill_requested(&self) -> bool {
        self.kill.load(Ordering::Acquire)
    }

    /// Resolves when the running script ends.
    pub async fn ended(&self) {
        let notified = self.ended.notified();
        if self.running_since().is_none() {
            return;
        }
        notified.await;
    }
}

pub struct RunningGuard<'a>(&'a Scripts);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.active.store(false, Ordering::Release);
        *lock(&self.0.running) = None;
        self.0.kill.store(false, Ordering::Release);
        self.0.ended.notify_waiters();
    }
}
