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

    /// The commands that recreate the contents in an empty node: function
    /// libraries, then each database's keys as RESTORE with their absolute
    /// expiry (the same TTL wherever and whenever it is restored).
    pub fn restore_commands(&self) -> Vec<Vec<Vec<u8>>> {
        let mut commands = Vec::new();
        if !self.functions.is_empty() {
            let payload = data_node::rdb::function_payload(&self.functions);
            commands.push(vec![b"FUNCTION".to_vec(), b"RESTORE".to_vec(), payload, b"REPLACE".to_vec()]);
        }
        let mut all = self.keyspace.lock_all();
        for db in 0..DATABASES {
            let keys = all.keys(db);
            if keys.is_empty() {
                continue;
            }
            commands.push(vec![b"SELECT".to_vec(), db.to_string().into_bytes()]);
            for key in keys {
                let Some(entry) = all.peek(db, &key) else { continue };
                let payload = data_node::rdb::value_payload(&entry.value);
                commands.push(vec![
                    b"RESTORE".to_vec(),
                    key.to_vec(),
                    entry.expires_at().to_string().into_bytes(),
                    payload,
                    b"REPLACE".to_vec(),
                    b"ABSTTL".to_vec(),
                ]);
            }
        }
        commands.push(vec![b"SELECT".to_vec(), b"0".to_vec()]);
        commands
    }
}
