//! Snapshot contents, read with the data node's own RDB code: a check that
//! an uploaded file is an RDB this engine loads, and the commands that put
//! a snapshot's keys (and function libraries) into a running node.

use data_node::keyspace::Keyspace;

/// What a readable RDB holds.
pub struct Contents {
    keyspace: Keyspace,
    functions: Vec<Vec<u8>>,
    pub keys: usize,
}

/// Databases a snapshot may name; our nodes and redis-server's default have 16.
const DATABASES: usize = 16;

impl Contents {
    /// The snapshot's keys, or why the bytes are not an RDB we can load.
    /// Keys already expired are left out, as a primary loading it does.
    pub fn read(bytes: &[u8]) -> Result<Contents, String> {
        let keyspace = Keyspace::new(DATABASES);
        let loaded = data_node::rdb::load_bytes(&keyspace, bytes).map_err(|e| e.to_string())?;
        Ok(Contents { keyspace, functions: loaded.functions, keys: loaded.keys })
    }

    /// Bytes the data takes in a node.
    pub fn used_memory(&self) -> u64 {
        self.keyspace.used_memory() as u64
    }

    /// The next batch of about `batch` commands that recreate the contents
    /// in an empty node (function libraries first, then each database's
    /// keys as RESTORE with their absolute expiry, the same TTL wherever and
    /// whenever it is restored); None when all were given. Made a batch at
    /// a time, so a large snapshot is not held twice over as commands.
    pub fn next_batch(&self, cursor: &mut RestoreCursor, batch: usize) -> Option<Vec<Vec<Vec<u8>>>> {
        let mut commands = Vec::new();
        if !cursor.functions_done {
            cursor.functions_done = true;
            if !self.functions.is_empty() {
                let payload = data_node::rdb::function_payload(&self.functions);
                commands.push(vec![b"FUNCTION".to_vec(), b"RESTORE".to_vec(), payload, b"REPLACE".to_vec()]);
            }
        }
        let mut all = self.keyspace.lock_all();
        while commands.len() < batch && cursor.db < DATABASES {
            if cursor.keys.is_none() {
                let keys = all.keys(cursor.db);
                if !keys.is_empty() {
                    commands.push(vec![b"SELECT".to_vec(), cursor.db.to_string().into_bytes()]);
                }
                cursor.keys = Some(keys.into_iter());
            }
            let Some(keys) = cursor.keys.as_mut() else { break };
            match keys.next() {
                Some(key) => {
                    let Some(entry) = all.peek(cursor.db, &key) else { continue };
                    commands.push(vec![
                        b"RESTORE".to_vec(),
                        key.to_vec(),
                        entry.expires_at().to_string().into_bytes(),
                        data_node::rdb::value_payload(entry.value()),
                        b"REPLACE".to_vec(),
                        b"ABSTTL".to_vec(),
                    ]);
                }
                None => {
                    cursor.db += 1;
                    cursor.keys = None;
                }
            }
        }
        if cursor.db == DATABASES && !cursor.reselected {
            cursor.reselected = true;
            commands.push(vec![b"SELECT".to_vec(), b"0".to_vec()]);
        }
        (!commands.is_empty()).then_some(commands)
    }
}

/// Where `next_batch` stands.
#[derive(Default)]
pub struct RestoreCursor {
    functions_done: bool,
    db: usize,
    keys: Option<std::vec::IntoIter<data_node::keyspace::SmallBytes>>,
    /// The connection is left on database 0 at the end.
    reselected: bool,
}
