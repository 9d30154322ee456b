//! Pieces of a request line: words, keys, numbers.

/// memcached's longest key.
pub const MAX_KEY: usize = 250;

/// The most words a line other than a retrieval may have (memcached's MAX_TOKENS).
pub const MAX_WORDS: usize = 24;

/// A line's words: split on spaces, as memcached splits them.
pub struct Words<'a> {
    words: [&'a [u8]; MAX_WORDS],
    len: usize,
    /// More words than `MAX_WORDS` followed.
    pub overflow: bool,
}

impl<'a> Words<'a> {
    pub fn split(line: &'a [u8]) -> Words<'a> {
        let mut w = Words { words: [&[]; MAX_WORDS], len: 0, overflow: false };
        for word in line.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            if w.len == MAX_WORDS {
                w.overflow = true;
                break;
            }
            w.words[w.len] = word;
            w.len += 1;
        }
        w
    }

    pub fn as_slice(&self) -> &[&'a [u8]] {
        &self.words[..self.len]
    }
}

/// The words of a line lazily (a get's keys may be many).
pub fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b' ').filter(|w| !w.is_empty())
}

/// A key memcached accepts: 1 to 250 bytes. protocol.txt asks clients for
/// no control characters, but memcached takes them (only a space ends a
/// key) and clients use them: memcaslap's keys start with bytes 0x10.
pub fn valid_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY
}

/// A decimal number of type `T` (no sign for unsigned types, no spaces).
pub fn number<T: std::str::FromStr>(word: &[u8]) -> Option<T> {
    if word.first() == Some(&b'+') {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

/// Whether the last word asks for no reply.
pub fn is_noreply(word: Option<&&[u8]>) -> bool {
    word.is_some_and(|w| *w == b"noreply")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_spaces_only() {
        let w = Words::split(b"  set  a\tb 0 ");
        assert_eq!(w.as_slice(), [&b"set"[..], b"a\tb", b"0"]);
        let long = b"x ".repeat(30);
        let w = Words::split(&long);
        assert!(w.overflow && w.as_slice().len() == MAX_WORDS);
    }

    #[test]
    fn keys_and_numbers() {
        assert!(valid_key(b"user:1"));
        assert!(valid_key(&[b'k'; MAX_KEY]));
        assert!(!valid_key(&[b'k'; MAX_KEY + 1]));
        assert!(valid_key(b"a\tb") && valid_key(b"\x10\x10key") && !valid_key(b""));
        assert_eq!(number::<u32>(b"4294967295"), Some(u32::MAX));
        assert_eq!(number::<u32>(b"4294967296"), None);
        assert_eq!(number::<u32>(b"-1"), None);
        assert_eq!(number::<u32>(b"+1"), None);
        assert_eq!(number::<i64>(b"-1"), Some(-1));
    }
}
