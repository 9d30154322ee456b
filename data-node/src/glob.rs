//! Redis's glob-style matching (stringmatchlen): `*`, `?`, `[abc]`, `[^a-z]`, `\x`.

pub fn matches(pattern: &[u8], s: &[u8]) -> bool {
    matches_at(pattern, s, 0)
}

fn matches_at(p: &[u8], s: &[u8], depth: usize) -> bool {
    // Deeply nested stars can't blow the stack: past this depth, give up.
    if depth > 1000 {
        return false;
    }
    let (mut pi, mut si) = (0, 0);
    while pi < p.len() {
        match p[pi] {
            b'*' => {
                while pi + 1 < p.len() && p[pi + 1] == b'*' {
                    pi += 1;
                }
                if pi + 1 == p.len() {
                    return true;
                }
                return (si..=s.len()).any(|start| matches_at(&p[pi + 1..], &s[start..], depth + 1));
            }
            b'?' => {
                if si >= s.len() {
                    return false;
                }
                si += 1;
            }
            b'[' => {
                if si >= s.len() {
                    return false;
                }
                pi += 1;
                let negate = p.get(pi) == Some(&b'^');
                if negate {
                    pi += 1;
                }
                let mut matched = false;
                loop {
                    match p.get(pi) {
                        None => {
                            pi -= 1;
                            break;
                        }
                        Some(b']') => break,
                        Some(b'\\') if pi + 1 < p.len() => {
                            pi += 1;
                            matched |= p[pi] == s[si];
                        }
                        Some(&lo) if p.get(pi + 1) == Some(&b'-') && pi + 2 < p.len() => {
                            let hi = p[pi + 2];
                            let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                            matched |= (lo..=hi).contains(&s[si]);
                            pi += 2;
                        }
                        Some(&c) => matched |= c == s[si],
                    }
                    pi += 1;
                }
                if matched == negate {
                    return false;
                }
                si += 1;
            }
            b'\\' if pi + 1 < p.len() => {
                pi += 1;
                if si >= s.len() || p[pi] != s[si] {
                    return false;
                }
                si += 1;
            }
            c => {
                if si >= s.len() || c != s[si] {
                    return false;
                }
                si += 1;
            }
        }
        pi += 1;
    }
    si == s.len()
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
        assert!(!matches(b"[", b"x"));
    }

    #[test]
    fn pathological_patterns_finish() {
        let p = b"*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!matches(p, &[b'a'; 40]));
    }
}
