//! What replicas are sent for commands whose effect depends on when they
//! run: a TTL given relative to now becomes the absolute time the primary
//! computed, read back from the key after the command (so a replica that
//! applies it late, or after a partial resync, expires the key at the same
//! moment). Everything else is sent as the client sent it.

use super::spec::{Spec, flag};
use crate::keyspace::{Locked, ValueRef};

/// The command's effect on its key, as a command replicas can apply at any
/// time; None for commands whose row has no `RELATIVE_TTL`.
pub fn absolute_form(spec: &Spec, ks: &mut Locked, db: usize, key: &[u8]) -> Option<Vec<Vec<u8>>> {
    if !spec.has(flag::RELATIVE_TTL) {
        return None;
    }
    let name = spec.name;
    let Some(entry) = ks.peek(db, key) else { return Some(vec![b"DEL".to_vec(), key.to_vec()]) };
    let at = entry.expires_at();
    let mut form = match (entry.value(), name) {
        (ValueRef::Str(value), "set" | "setex" | "psetex") => vec![b"SET".to_vec(), key.to_vec(), value.to_vec()],
        (_, "set" | "setex" | "psetex") => return None,
        _ if at == 0 => return Some(vec![b"PERSIST".to_vec(), key.to_vec()]),
        _ => vec![b"PEXPIREAT".to_vec(), key.to_vec()],
    };
    match (form[0].as_slice(), at) {
        (b"SET", 0) => {}
        (b"SET", at) => form.extend([b"PXAT".to_vec(), at.to_string().into_bytes()]),
        (_, at) => form.push(at.to_string().into_bytes()),
    }
    Some(form)
}
