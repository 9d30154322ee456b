//! Channels, patterns and shard channels (SSUBSCRIBE, a namespace of its
//! own), and the subscribers' mailboxes. A subscriber whose
//! mailbox is full is too slow to keep up: it is disconnected, as Redis does
//! when a client passes `client-output-buffer-limit pubsub`.

use crate::sync;
use std::sync::RwLock;

use bytes::Bytes;
use hashbrown::HashMap;
use tokio::sync::mpsc;

use crate::glob;

pub const MAILBOX: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub enum Message {
    Message { channel: Bytes, payload: Bytes },
    PMessage { pattern: Bytes, channel: Bytes, payload: Bytes },
    SMessage { channel: Bytes, payload: Bytes },
}

pub type Mailbox = mpsc::Sender<Message>;

#[derive(Default)]
pub struct PubSub {
    channels: RwLock<HashMap<Bytes, HashMap<u64, Mailbox>>>,
    patterns: RwLock<HashMap<Bytes, HashMap<u64, Mailbox>>>,
    shard_channels: RwLock<HashMap<Bytes, HashMap<u64, Mailbox>>>,
}

type Table = RwLock<HashMap<Bytes, HashMap<u64, Mailbox>>>;

fn add(table: &Table, name: &[u8], client: u64, mailbox: &Mailbox) {
    let mut t = sync::write(table);
    t.entry(Bytes::copy_from_slice(name)).or_default().insert(client, mailbox.clone());
}

fn remove(table: &Table, name: &[u8], client: u64) {
    let mut t = sync::write(table);
    if let Some(subs) = t.get_mut(name) {
        subs.remove(&client);
        if subs.is_empty() {
            t.remove(name);
        }
    }
}

impl PubSub {
    pub fn subscribe(&self, channel: &[u8], client: u64, mailbox: &Mailbox) {
        add(&self.channels, channel, client, mailbox)
    }

    pub fn unsubscribe(&self, channel: &[u8], client: u64) {
        remove(&self.channels, channel, client)
    }

    pub fn psubscribe(&self, pattern: &[u8], client: u64, mailbox: &Mailbox) {
        add(&self.patterns, pattern, client, mailbox)
    }

    pub fn punsubscribe(&self, pattern: &[u8], client: u64) {
        remove(&self.patterns, pattern, client)
    }

    pub fn ssubscribe(&self, channel: &[u8], client: u64, mailbox: &Mailbox) {
        add(&self.shard_channels, channel, client, mailbox)
    }

    pub fn sunsubscribe(&self, channel: &[u8], client: u64) {
        remove(&self.shard_channels, channel, client)
    }

    /// SPUBLISH: to the shard channel's subscribers only (no patterns).
    pub fn spublish(&self, channel: &[u8], payload: &[u8], overflowed: &mut Vec<u64>) -> usize {
        let channel = Bytes::copy_from_slice(channel);
        let payload = Bytes::copy_from_slice(payload);
        let mut delivered = 0;
        if let Some(subs) = sync::read(&self.shard_channels).get(&channel) {
            for (id, mb) in subs {
                match mb.try_send(Message::SMessage { channel: channel.clone(), payload: payload.clone() }) {
                    Ok(()) => delivered += 1,
                    Err(mpsc::error::TrySendError::Full(_)) => overflowed.push(*id),
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
        delivered
    }

    pub fn shard_channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let t = sync::read(&self.shard_channels);
        t.keys().filter(|c| pattern.is_none_or(|p| glob::matches(p, c))).cloned().collect()
    }

    pub fn shard_numsub(&self, channel: &[u8]) -> usize {
        sync::read(&self.shard_channels).get(channel).map_or(0, |s| s.len())
    }

    /// Delivers a message; returns how many subscribers received it. The ids
    /// of subscribers whose mailbox overflowed are pushed to `overflowed`.
    pub fn publish(&self, channel: &[u8], payload: &[u8], overflowed: &mut Vec<u64>) -> usize {
        let channel = Bytes::copy_from_slice(channel);
        let payload = Bytes::copy_from_slice(payload);
        let mut delivered = 0;
        let mut send = |id: u64, mb: &Mailbox, msg: Message| match mb.try_send(msg) {
            Ok(()) => delivered += 1,
            Err(mpsc::error::TrySendError::Full(_)) => overflowed.push(id),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        };
        if let Some(subs) = sync::read(&self.channels).get(&channel) {
            for (id, mb) in subs {
                send(*id, mb, Message::Message { channel: channel.clone(), payload: payload.clone() });
            }
        }
        for (pattern, subs) in sync::read(&self.patterns).iter() {
            if glob::matches(pattern, &channel) {
                for (id, mb) in subs {
                    let msg = Message::PMessage {
                        pattern: pattern.clone(),
                        channel: channel.clone(),
                        payload: payload.clone(),
                    };
                    send(*id, mb, msg);
                }
            }
        }
        delivered
    }

    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let t = sync::read(&self.channels);
        t.keys().filter(|c| pattern.is_none_or(|p| glob::matches(p, c))).cloned().collect()
    }

    pub fn numsub(&self, channel: &[u8]) -> usize {
        sync::read(&self.channels).get(channel).map_or(0, |s| s.len())
    }

    pub fn numpat(&self) -> usize {
        sync::read(&self.patterns).len()
    }
}
