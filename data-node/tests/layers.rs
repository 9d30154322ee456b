//! The data node's layers, checked: a module may use only modules of a lower
//! layer (the order `lib.rs` describes), so there is no import cycle and no
//! lower layer calls back up. A new module must be placed in `LAYERS`.

use std::collections::BTreeMap;
use std::path::Path;

/// Lowest first; a module may use any module of an earlier row.
const LAYERS: &[&[&str]] = &[
    &["allocator", "sync", "rand", "glob", "resp", "knobs"],
    &["keyspace"],
    &["rdb", "config", "pause"],
    &["replication", "clients", "slowlog", "cmdstats", "persistence", "pubsub", "blocking", "scripts"],
    &["server"],
    &["session", "info", "params"],
    &["cmd"],
    &["primary_link", "replica_link"],
    &["connection", "memcache"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

/// The top-level modules a source text names through `crate::`.
fn crate_refs(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // use crate::{a::b, c}: each top-level name at depth one.
            let mut depth = 1;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => at_start = true,
                    c if at_start && (c.is_ascii_alphanumeric() || c == '_') => name.push(c),
                    _ if !name.is_empty() => {
                        found.push(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
            }
            if !name.is_empty() {
                found.push(name);
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            found.push(name);
        }
    }
    found
}

/// Each top-level module's source files, tests left out.
fn modules(src: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(src).expect("under src");
            let top = relative.iter().next().and_then(|s| s.to_str()).unwrap_or_default();
            let top = top.trim_end_matches(".rs").to_owned();
            if top == "lib" || top == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_owned();
            out.entry(top).or_default().push(code);
        }
    }
    out
}

#[test]
fn no_module_uses_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (module, sources) in modules(&src) {
        let Some(own) = layer_of(&module) else {
            wrong.push(format!("{module} is in no layer: place it in LAYERS"));
            continue;
        };
        for used in sources.iter().flat_map(|s| crate_refs(s)) {
            if used == module || used.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                continue;
            }
            match layer_of(&used) {
                Some(layer) if layer < own => {}
                _ => wrong.push(format!("{module} uses {used}")),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports that reach up or sideways:\n{}", wrong.join("\n"));
}

#[test]
fn references_are_read_from_groups_and_paths() {
    let refs = crate_refs("use crate::{keyspace::{Locked, Value}, rdb};\nlet x = crate::server::Server::new();");
    assert_eq!(refs, ["keyspace", "rdb", "server"]);
}
