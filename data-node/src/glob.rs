//! Redis's glob-style matching (stringmatchlen): `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
//!
//! Matching backtracks only to the most recent `*`: an earlier star never
//! needs to absorb more once a later one matched, so the cost stays
//! O(pattern × subject) even for patterns like `*a*a*a*b`.

/// Matches one non-star pattern element at `p[pi]` against byte `c`; returns
/// whether it matched and the length of the element in the pattern.
fn match_one(p: &[u8], pi: usize, c: u8) -> (bool, usize) {
    match p[pi] {
        b'?' => (true, 1),
        b'\\' if pi + 1 < p.len() => (p[pi + 1] == c, 2),
        b'[' => {
            let mut i = pi + 1;
            let negate = p.get(i) == Some(&b'^');
            if negate {
                i += 1;
            }
            let mut matched = false;
            loop {
                match p.get(i) {
                    // An unterminated class ends at the pattern's end, as in Redis.
                    None => break,
                    Some(b']') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < p.len() => {
                        matched |= p[i + 1] == c;
                        i += 2;
                    }
                    Some(&lo) if p.get(i + 1) == Some(&b'-') && i + 2 < p.len() => {
                        let hi = p[i + 2];
                        let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                        matched |= (lo..=hi).contains(&c);
                        i += 3;
                    }
                    Some(&x) => {
                        matched |= x == c;
                        i += 1;
                    }
                }
            }
            (matched != negate, i - pi)
        }
        x => (x == c, 1),
    }
}

pub fn matches(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    // Where to resume after the last star: (pattern after the star, subject).
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            pi += 1;
            star = Some((pi, si));
            continue;
        }
        if pi < p.len() {
            let (ok, len) = match_one(p, pi, s[si]);
            if ok {
                pi += len;
                si += 1;
                continue;
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn redis_examples() {
        assert!(matches(b"h?llo", b"hello"));
        assert!(matches(b"h*llo", b"heeeello"));
        assert!(matches(b"h[ae]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"*", b""));
        assert!(matches(b"user:*:name", b"user:42:name"));
        assert!(!matches(b"user:*:name", b"user:42:age"));
        assert!(matches(b"a\\*b", b"a*b"));
        assert!(!matches(b"a\\*b", b"axb"));
        assert!(matches(b"*a", b"aaa"));
        assert!(!matches(b"", b"x"));
        assert!(matches(b"k1*", b"k1999"));
        assert!(!matches(b"[", b"x"));
    }

    #[test]
    fn pathological_patterns_finish() {
        let p = b"*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!matches(p, &[b'a'; 4000]));
    }
}
