//! cachectl as a CI job uses it: create with --wait --output env, use the
//! REDIS_URL it printed, delete with --wait; a failed create exits non-zero
//! with the event that says why.

use std::process::{Command, Output};

use ferrocache_tests::{ControlPlane, DataDir, Runtime, bin_dir, unique_prefix};

fn cachectl(cp: &ControlPlane, args: &[&str]) -> Output {
    Command::new(bin_dir().join("cachectl"))
        .args(args)
        .env("FERRO_URL", &cp.url)
        .env("FERRO_TOKEN", &cp.token)
        .output()
        .expect("running cachectl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_ci_job_creates_uses_and_deletes_a_cache() {
    let prefix = unique_prefix("cli");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let name = format!("{prefix}-ci");

    // `#` and `&` are valid in a token and mean something in a URL.
    let token = "ci#token&0123456789";
    let created = cachectl(&cp, &["cluster", "create", &name, "--auth-token", token, "--wait", "--output", "env"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let progress = text(&created.stderr);
    assert!(progress.contains(&format!("{name}: creating")) && progress.contains(&format!("{name}: available")));
    let env = text(&created.stdout);
    let url =
        env.lines().find_map(|l| l.strip_prefix("REDIS_URL=")).unwrap_or_else(|| panic!("no REDIS_URL in {env:?}"));
    assert!(url.starts_with("redis://default:ci%23token%260123456789@127.0.0.1:"), "{url}");
    let mut con = redis::Client::open(url).expect("url").get_connection().expect("connect");
    let () = redis::cmd("SET").arg("job").arg("42").query(&mut con).expect("SET");
    assert_eq!(redis::cmd("GET").arg("job").query::<String>(&mut con).expect("GET"), "42");
    // The same line works for redis-cli and redis-py, as a CI job would use it.
    let cli =
        Command::new("redis-cli").args(["-u", url, "--no-auth-warning", "GET", "job"]).output().expect("redis-cli");
    assert_eq!(text(&cli.stdout).trim(), "42", "redis-cli: {}", text(&cli.stderr));
    let py = "import redis, sys; print(redis.from_url(sys.argv[1]).get('job').decode())";
    let py = Command::new("python3").args(["-c", py, url]).output().expect("python3");
    assert_eq!(text(&py.stdout).trim(), "42", "redis-py: {}", text(&py.stderr));

    let listed_env = cachectl(&cp, &["cluster", "list", "--output", "env"]);
    assert!(!listed_env.status.success(), "a list has no one endpoint to print");
    assert!(text(&listed_env.stderr).contains("describe NAME --output env"), "{}", text(&listed_env.stderr));
    let described = cachectl(&cp, &["cluster", "describe", &name, "--output", "env"]);
    assert!(text(&described.stdout).contains("REDIS_HOST=127.0.0.1"), "{}", text(&described.stdout));

    let listed = cachectl(&cp, &["cluster", "list"]);
    assert!(text(&listed.stdout).lines().any(|l| l.starts_with(&name) && l.contains("available")));

    let group = cachectl(&cp, &["group", "create", &format!("{prefix}-g"), "--replicas", "1", "--wait", "--json"]);
    assert!(group.status.success(), "{}", text(&group.stderr));
    let group: serde_json::Value = serde_json::from_slice(&group.stdout).expect("JSON");
    assert_eq!(group["status"], "available");
    let deleted = cachectl(&cp, &["group", "delete", &format!("{prefix}-g"), "--wait"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));

    let deleted = cachectl(&cp, &["cluster", "delete", &name, "--wait"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert!(text(&deleted.stderr).contains(&format!("{name}: deleted")));
    let gone = cachectl(&cp, &["cluster", "describe", &name]);
    assert!(!gone.status.success());
    assert!(text(&gone.stderr).contains("CacheClusterNotFound"), "{}", text(&gone.stderr));
}

/// A CI job's memcached: MEMCACHED_SERVERS names every node, each answers,
/// and --num-cache-nodes/--remove-node change the membership.
#[test]
fn a_ci_job_gets_a_memcached_cluster() {
    use ferrocache_tests::memcached::{pymemcache_installed, talk, use_cluster};
    if !pymemcache_installed() {
        return;
    }
    let prefix = unique_prefix("clm");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let name = format!("{prefix}-mc");
    let args = ["cluster", "create", &name, "--engine", "memcached", "--num-cache-nodes", "3", "--wait", "-o", "env"];
    let created = cachectl(&cp, &args);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let env = text(&created.stdout);
    let line = |key: &str| env.lines().find_map(|l| l.strip_prefix(key)).map(str::to_owned);
    let servers = line("MEMCACHED_SERVERS=").unwrap_or_else(|| panic!("no MEMCACHED_SERVERS in {env:?}"));
    let servers: Vec<&str> = servers.split(',').collect();
    assert_eq!(servers.len(), 3, "{env}");
    for server in &servers {
        assert!(talk(server, b"version\r\n").starts_with("VERSION "), "{server}");
    }
    let config = line("MEMCACHED_CONFIG_ENDPOINT=").expect("a configuration endpoint");
    assert_eq!(use_cluster(&config, "ci").nodes.len(), 3);

    let modify = ["cluster", "modify", &name, "--num-cache-nodes", "2", "--remove-node", "0001"];
    let shrunk = cachectl(&cp, &[&modify[..], &["--apply-immediately", "--wait", "-o", "env"]].concat());
    assert!(shrunk.status.success(), "{}", text(&shrunk.stderr));
    assert!(text(&shrunk.stdout).contains(&format!("MEMCACHED_SERVERS={},{}", servers[1], servers[2])));
    let found = use_cluster(servers[1], "after");
    assert_eq!((found.version, found.nodes.len()), (2, 2), "{found:?}");
    let deleted = cachectl(&cp, &["cluster", "delete", &name, "--wait"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
}

/// A CI job tunes its cache: a parameter group made, modified with --wait
/// (which follows the change to the nodes), named at create, then reset.
#[test]
fn a_ci_job_tunes_its_cache_with_a_parameter_group() {
    let prefix = unique_prefix("clp");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let (pg, name) = (format!("{prefix}-pg"), format!("{prefix}-c"));
    let made = cachectl(&cp, &["parameter-group", "create", &pg, "--family", "redis7"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let created = cachectl(&cp, &["cluster", "create", &name, "--parameter-group", &pg, "--wait", "-o", "env"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let env = text(&created.stdout);
    let url = env.lines().find_map(|l| l.strip_prefix("REDIS_URL=")).expect("REDIS_URL").to_owned();
    let set = ["parameter-group", "modify", &pg, "--set", "maxmemory-policy=allkeys-lfu", "--set", "databases=4"];
    let modified = cachectl(&cp, &[&set[..], &["--wait"]].concat());
    assert!(modified.status.success(), "{}", text(&modified.stderr));
    let said = text(&modified.stderr);
    assert!(said.contains(&format!("{name}: pending-reboot (databases apply at its next reboot)")), "{said}");
    let mut con = redis::Client::open(url.as_str()).expect("url").get_connection().expect("connect");
    let policy: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory-policy").query(&mut con).expect("GET");
    assert_eq!(policy[1], "allkeys-lfu", "--wait returned once the nodes had it");
    let shown = text(&cachectl(&cp, &["parameter-group", "describe", &pg]).stdout);
    assert!(
        shown.lines().any(|l| l.starts_with("databases") && l.contains("4") && l.contains("requires-reboot")),
        "{shown}"
    );
    let defaults = text(&cachectl(&cp, &["parameter-group", "defaults"]).stdout);
    assert!(defaults.lines().any(|l| l.starts_with("maxmemory-policy") && l.contains("noeviction")), "{defaults}");
    let refused = cachectl(&cp, &["parameter-group", "delete", &pg]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("InvalidCacheParameterGroupState"), "{}", text(&refused.stderr));
    let reset = cachectl(&cp, &["parameter-group", "reset", &pg, "--parameter", "maxmemory-policy", "--wait"]);
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    let policy: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory-policy").query(&mut con).expect("GET");
    assert_eq!(policy[1], "noeviction");
    let deleted = cachectl(&cp, &["cluster", "delete", &name, "--wait"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert!(cachectl(&cp, &["parameter-group", "delete", &pg]).status.success());
}

#[test]
fn a_failed_create_exits_non_zero_and_says_why() {
    let prefix = unique_prefix("clif");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Broken { ready_timeout_secs: 1 });
    let failed = cachectl(&cp, &["cluster", "create", &format!("{prefix}-x"), "--wait", "--output", "env"]);
    assert!(!failed.status.success());
    let stderr = text(&failed.stderr);
    assert!(stderr.contains("Cache cluster creation failed"), "{stderr}");
    assert!(text(&failed.stdout).is_empty(), "no REDIS_URL for a failed cache");

    let refused = cachectl(&cp, &["cluster", "create", "Not_Valid"]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("InvalidParameterValue"), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("(request "), "names the request: {}", text(&refused.stderr));
}

/// `group test-failover --wait` prints the new primary; a failover that
/// cannot happen (the only replica frozen, so none answers) ends non-zero
/// with the event that says why, instead of waiting out the timeout.
#[test]
fn test_failover_waits_for_the_new_primary_or_says_why_not() {
    use ferrocache_tests::failover::{create_failover_group, wait_members_available};
    let prefix = unique_prefix("clt");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    let group = format!("{prefix}-g");
    create_failover_group(&api, &group, 2);
    let moved = cachectl(&cp, &["group", "test-failover", &group, "--wait"]);
    assert!(moved.status.success(), "{}", text(&moved.stderr));
    assert!(text(&moved.stderr).contains(&format!("{group}: primary now 127.0.0.1:")), "{}", text(&moved.stderr));

    // Choosing the primary waits, like test-failover, until describe names it.
    wait_members_available(&api, &group);
    let described = api.get(&format!("/v1/replication-groups/{group}")).body;
    let members = described["node_groups"][0]["node_group_members"].as_array().cloned().unwrap_or_default();
    let chosen = members.iter().find(|m| m["current_role"] == "replica").expect("a replica");
    let chosen = chosen["cache_cluster_id"].as_str().expect("id");
    let modified = cachectl(&cp, &["group", "modify", &group, "--primary", chosen, "--wait", "--json"]);
    assert!(modified.status.success(), "{}", text(&modified.stderr));
    let modified: serde_json::Value = serde_json::from_slice(&modified.stdout).expect("JSON");
    let primary = modified["node_groups"][0]["node_group_members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["current_role"] == "primary").cloned());
    assert_eq!(primary.map(|p| p["cache_cluster_id"].clone()), Some(chosen.into()), "{modified}");

    wait_members_available(&api, &group);
    let described = api.get(&format!("/v1/replication-groups/{group}")).body;
    let members = described["node_groups"][0]["node_group_members"].as_array().cloned().unwrap_or_default();
    let replica = members.iter().find(|m| m["current_role"] == "replica").expect("a replica");
    let replica = replica["cache_cluster_id"].as_str().expect("id");
    let pid = ferrocache_tests::node_pid(&dir.0, replica);
    let signal = |name: &str| {
        let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("kill");
        assert!(status.success());
    };
    signal("STOP");
    let refused = cachectl(&cp, &["group", "test-failover", &group, "--wait", "--timeout", "60"]);
    signal("CONT");
    assert!(!refused.status.success(), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("failed: no replica that answers holds the group's data"), "{stderr}");
}

/// The catalogue, replica counts, completions, and what cachectl says when
/// it cannot help: no control plane, no token, a mistyped command.
#[test]
fn cachectl_covers_the_api_and_says_what_to_do() {
    use ferrocache_tests::failover::wait_members_available;
    let prefix = unique_prefix("clc");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);

    let types = cachectl(&cp, &["node-types"]);
    assert!(types.status.success(), "{}", text(&types.stderr));
    assert!(text(&types.stdout).lines().any(|l| l.starts_with("cache.t3.micro")), "{}", text(&types.stdout));
    let versions = cachectl(&cp, &["engine-versions", "-o", "json"]);
    let versions: serde_json::Value = serde_json::from_slice(&versions.stdout).expect("JSON");
    assert_eq!(versions[0]["engine_version"], "7.0", "{versions}");

    let group = format!("{prefix}-g");
    let created = cachectl(&cp, &["group", "create", &group, "--replicas", "1", "--wait"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let grown = cachectl(&cp, &["group", "increase-replicas", &group, "--count", "2", "--wait", "-o", "json"]);
    assert!(grown.status.success(), "{}", text(&grown.stderr));
    let grown: serde_json::Value = serde_json::from_slice(&grown.stdout).expect("JSON");
    assert_eq!(grown["member_clusters"].as_array().map(Vec::len), Some(3), "{grown}");
    wait_members_available(&cp.api(), &group);
    let shrunk = cachectl(&cp, &["group", "decrease-replicas", &group, "--count", "1", "--wait", "-o", "json"]);
    assert!(shrunk.status.success(), "{}", text(&shrunk.stderr));
    let shrunk: serde_json::Value = serde_json::from_slice(&shrunk.stdout).expect("JSON");
    assert_eq!(shrunk["member_clusters"].as_array().map(Vec::len), Some(2), "{shrunk}");

    let completions = cachectl(&cp, &["completions", "bash"]);
    assert!(text(&completions.stdout).contains("increase-replicas"), "completes every command");

    let typo = cachectl(&cp, &["clusters", "list"]);
    assert!(!typo.status.success());
    assert!(text(&typo.stderr).contains("a similar subcommand exists: 'cluster'"), "{}", text(&typo.stderr));

    let schemeless = cp.url.trim_start_matches("http://").to_owned();
    let listed = Command::new(bin_dir().join("cachectl"))
        .args(["cluster", "list", "--url", &schemeless])
        .env("FERRO_TOKEN", &cp.token)
        .output()
        .expect("cachectl");
    assert!(listed.status.success(), "a URL without a scheme is http: {}", text(&listed.stderr));

    let no_token = Command::new(bin_dir().join("cachectl"))
        .args(["cluster", "list"])
        .env("FERRO_URL", &cp.url)
        .env_remove("FERRO_TOKEN")
        .output()
        .expect("cachectl");
    assert!(text(&no_token.stderr).contains("set FERRO_TOKEN"), "{}", text(&no_token.stderr));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let unreachable = Command::new(bin_dir().join("cachectl"))
        .args(["cluster", "list", "--url", &closed])
        .output()
        .expect("cachectl");
    let said = text(&unreachable.stderr);
    assert_eq!(said.lines().count(), 1, "one line: {said}");
    assert!(said.contains(&format!("cannot reach the control plane at {closed}: connection refused")), "{said}");
    assert!(said.contains("is it running? set --url / FERRO_URL"), "{said}");
}

/// A CI job saving a cache's data and starting another from it.
#[test]
fn snapshots_from_the_command_line() {
    let prefix = unique_prefix("clis");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let name = format!("{prefix}-src");
    let created = cachectl(&cp, &["cluster", "create", &name, "--wait", "--output", "env"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let env = text(&created.stdout);
    let url = env.lines().find_map(|l| l.strip_prefix("REDIS_URL=")).expect("REDIS_URL").to_owned();
    let mut con = redis::Client::open(url.as_str()).expect("url").get_connection().expect("connect");
    let () = redis::cmd("SET").arg("fixture").arg("loaded").query(&mut con).expect("SET");

    let snap = format!("{prefix}-snap");
    let taken = cachectl(&cp, &["snapshot", "create", &snap, "--cluster", &name, "--wait"]);
    assert!(taken.status.success(), "{}", text(&taken.stderr));
    let progress = text(&taken.stderr);
    assert!(
        progress.contains(&format!("{snap}: creating")) || progress.contains(&format!("{snap}: available")),
        "{progress}"
    );
    assert!(progress.contains(&format!("{snap}: available")), "{progress}");
    let listed = cachectl(&cp, &["snapshot", "list", "--cluster", &name]);
    assert!(
        text(&listed.stdout).lines().any(|l| l.starts_with(&snap) && l.contains("available")),
        "{}",
        text(&listed.stdout)
    );

    let file = dir.0.join("saved.rdb");
    let saved = cachectl(&cp, &["snapshot", "download", &snap, "--file", file.to_str().expect("path")]);
    assert!(saved.status.success(), "{}", text(&saved.stderr));
    assert!(text(&saved.stderr).contains("SHA-256"), "{}", text(&saved.stderr));
    let imported = format!("{prefix}-up");
    let up = cachectl(&cp, &["snapshot", "import", &imported, "--file", file.to_str().expect("path"), "--json"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let up: serde_json::Value = serde_json::from_slice(&up.stdout).expect("JSON");
    assert_eq!(up["snapshot_status"], "available");

    let restored = format!("{prefix}-r");
    let made = cachectl(&cp, &["cluster", "create", &restored, "--snapshot", &imported, "--wait", "--output", "env"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let env = text(&made.stdout);
    let url = env.lines().find_map(|l| l.strip_prefix("REDIS_URL=")).expect("REDIS_URL").to_owned();
    let mut con = redis::Client::open(url.as_str()).expect("url").get_connection().expect("connect");
    assert_eq!(redis::cmd("GET").arg("fixture").query::<String>(&mut con).expect("GET"), "loaded");

    let last = format!("{prefix}-last");
    let deleted = cachectl(&cp, &["cluster", "delete", &name, "--final-snapshot", &last, "--wait"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let described = cachectl(&cp, &["snapshot", "describe", &last, "--json"]);
    let described: serde_json::Value = serde_json::from_slice(&described.stdout).expect("JSON");
    assert_eq!(described["snapshot_status"], "available", "{described}");
    let copy = cachectl(&cp, &["snapshot", "copy", &last, "--to", &format!("{prefix}-copy"), "--wait"]);
    assert!(copy.status.success(), "{}", text(&copy.stderr));
    let gone = cachectl(&cp, &["snapshot", "delete", &last]);
    assert!(gone.status.success(), "{}", text(&gone.stderr));
    let missing = cachectl(&cp, &["snapshot", "describe", &last]);
    assert!(text(&missing.stderr).contains("SnapshotNotFoundFault"), "{}", text(&missing.stderr));
}
