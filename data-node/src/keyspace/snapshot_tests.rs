//! The snapshot holds the keyspace as it was at the cut, whatever writes,
//! deletes, flushes, swaps and table growth happen while it is written.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::keyspace::{Value, ValueRef};

/// Lines of text: "db N" and "key=value", for strings.
struct TextEncoder;

impl Encoder for TextEncoder {
    fn select_db(&self, db: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("db {db}\n").as_bytes());
    }

    fn entry(&self, entry: &Entry, out: &mut Vec<u8>) {
        let ValueRef::Str(v) = entry.value() else { panic!("strings only") };
        out.extend_from_slice(entry.key());
        out.push(b'=');
        out.extend_from_slice(v);
        out.push(b'\n');
    }
}

type Contents = BTreeMap<(usize, String), String>;

fn read(bytes: &[u8]) -> Contents {
    let mut db = None;
    let mut found = Contents::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        if let Some(n) = line.strip_prefix("db ") {
            db = Some(n.parse().expect("db number"));
        } else {
            let (k, v) = line.split_once('=').expect("key=value");
            let db = db.expect("an entry comes after its SELECTDB");
            assert!(found.insert((db, k.to_owned()), v.to_owned()).is_none(), "{k} written twice");
        }
    }
    found
}

fn set(ks: &Keyspace, db: usize, key: &str, value: &str) {
    ks.lock_one(key.as_bytes()).set(db, key.as_bytes(), Value::str(value.as_bytes()), 0);
}

fn contents(ks: &Keyspace) -> Contents {
    let mut all = ks.lock_all();
    let mut found = Contents::new();
    for db in 0..ks.databases() {
        for key in all.keys(db) {
            let Some(e) = all.peek(db, &key) else { continue };
            let ValueRef::Str(v) = e.value() else { continue };
            found.insert((db, String::from_utf8_lossy(&key).into_owned()), String::from_utf8_lossy(v).into_owned());
        }
    }
    found
}

/// Runs a snapshot to its end, calling `meddle(step)` between chunks.
fn snapshot(ks: &Keyspace, mut meddle: impl FnMut(usize)) -> Contents {
    let mut snap = ks.begin_snapshot(Arc::new(TextEncoder), || {});
    let mut bytes = Vec::new();
    let mut step = 0;
    while snap.next_chunk(&mut bytes) {
        meddle(step);
        step += 1;
    }
    assert_eq!(snap.progress().keys_done, snap.progress().keys_total);
    read(&bytes)
}

fn populate(ks: &Keyspace, n: usize) {
    for i in 0..n {
        set(ks, i % ks.databases().min(3), &format!("k{i}"), &format!("v{i}"));
    }
}

#[test]
fn writes_during_the_snapshot_do_not_reach_it() {
    let ks = Keyspace::new(4);
    populate(&ks, 20_000);
    let at_cut = contents(&ks);
    let got = snapshot(&ks, |step| {
        for j in 0..50 {
            let i = (step * 131 + j * 7) % 20_000;
            let key = format!("k{i}");
            set(&ks, i % 3, &key, "changed");
            if j % 5 == 0 {
                ks.lock_one(key.as_bytes()).remove(i % 3, key.as_bytes());
            }
            // New keys, enough to make the tables grow mid-walk.
            set(&ks, 3, &format!("new{step}-{j}"), "new");
        }
    });
    assert_eq!(got, at_cut);
}

#[test]
fn flushes_and_swaps_during_the_snapshot_do_not_reach_it() {
    let ks = Keyspace::new(4);
    populate(&ks, 5_000);
    let at_cut = contents(&ks);
    let got = snapshot(&ks, |step| match step {
        3 => ks.lock_all().swap_dbs(0, 1),
        5 => ks.lock_all().flush_db(2),
        7 => {
            ks.lock_all().flush_db(0);
            set(&ks, 0, "k1", "after the flush");
        }
        9 => ks.lock_all().swap_dbs(1, 3),
        _ => {}
    });
    assert_eq!(got, at_cut);
}

#[test]
fn every_snapshot_is_whole_also_after_one_was_abandoned() {
    let ks = Keyspace::new(2);
    populate(&ks, 3_000);
    assert_eq!(snapshot(&ks, |_| {}), contents(&ks));
    {
        let mut snap = ks.begin_snapshot(Arc::new(TextEncoder), || {});
        let mut bytes = Vec::new();
        for _ in 0..5 {
            snap.next_chunk(&mut bytes);
        }
        set(&ks, 0, "k0", "between");
    }
    set(&ks, 1, "k1", "later");
    assert_eq!(snapshot(&ks, |_| {}), contents(&ks));
}

#[test]
fn keys_expired_at_the_cut_are_left_out() {
    let ks = Keyspace::new(1);
    let now = ks.now_ms();
    ks.lock_one(b"gone").set(0, b"gone", Value::str(b"x"), now.saturating_sub(1));
    ks.lock_one(b"later").set(0, b"later", Value::str(b"y"), now + 60_000);
    let got = snapshot(&ks, |_| {});
    assert_eq!(got.len(), 1);
    assert!(got.contains_key(&(0, "later".to_owned())));
}

#[test]
fn only_one_snapshot_at_a_time() {
    let ks = Keyspace::new(1);
    let first = ks.begin_snapshot(Arc::new(TextEncoder), || {});
    assert!(ks.snapshot_under_way());
    assert!(ks.try_begin_snapshot(Arc::new(TextEncoder), || {}).is_none());
    drop(first);
    assert!(ks.try_begin_snapshot(Arc::new(TextEncoder), || {}).is_some());
}
