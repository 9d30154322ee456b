//! Every validation and auth error code, from real HTTP requests to a real
//! control plane. Its nodes never answer (the data-node binary is /bin/false),
//! so clusters stay `creating` long enough to test state errors.

use std::time::Duration;

use control_plane::auth::{Authenticator, Scope};
use ferrocache_tests::{Api, ControlPlane, DataDir, Reply, Runtime, unique_prefix, with_store};
use serde_json::{Value, json};

fn expect(reply: &Reply, status: u16, code: &str) {
    assert_eq!((reply.status, reply.code()), (status, code), "{}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", reply.body);
    let id = reply.request_id.as_deref().expect("every answer carries x-request-id");
    assert_eq!(reply.body["error"]["request_id"].as_str(), Some(id), "the body names the same request");
}

fn now() -> i64 {
    control_plane::clock::now_millis() / 1000
}

/// The control plane's signing secret, read from its database.
fn secret(cp: &ControlPlane) -> String {
    with_store(&cp.data_dir, async |store| store.setting("jwt_secret").await.expect("read").expect("secret exists"))
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn tokens_are_checked() {
    let prefix = unique_prefix("a");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Broken { ready_timeout_secs: 60 });
    let api = cp.api();

    let mode =
        std::fs::metadata(dir.0.join("admin-token")).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
    assert_eq!(mode.ok().map(|m| m & 0o777), Some(0o600), "the token file is private");

    // No auth needed here.
    assert_eq!(api.with_token(None).get("/healthz").status, 200);
    let spec = api.with_token(None).get("/openapi.yaml");
    assert_eq!(spec.status, 200);

    expect(&api.with_token(None).get("/v1/cache-clusters"), 401, "MissingAuthenticationToken");
    expect(&api.with_token(Some("not-a-jwt")).get("/v1/cache-clusters"), 401, "InvalidToken");

    let ours = Authenticator::new(secret(&cp).as_bytes());
    let theirs = Authenticator::new(b"some other control plane's secret");
    let signed_elsewhere = theirs.mint("x", vec![Scope::Admin], now(), 600).expect("mint");
    expect(&api.with_token(Some(&signed_elsewhere)).get("/v1/cache-clusters"), 401, "InvalidToken");

    let expired = ours.mint("x", vec![Scope::Admin], now() - 7200, 600).expect("mint");
    expect(&api.with_token(Some(&expired)).get("/v1/cache-clusters"), 401, "ExpiredToken");

    let claims = json!({"sub": "x", "scopes": ["admin"], "iat": now(), "exp": now() + 600});
    let unsigned =
        format!("{}.{}.", base64url(br#"{"alg":"none","typ":"JWT"}"#), base64url(claims.to_string().as_bytes()));
    expect(&api.with_token(Some(&unsigned)).get("/v1/cache-clusters"), 401, "InvalidToken");

    let hs512 = {
        let header = base64url(br#"{"alg":"HS512","typ":"JWT"}"#);
        format!("{header}.{}.AAAA", base64url(claims.to_string().as_bytes()))
    };
    expect(&api.with_token(Some(&hs512)).get("/v1/cache-clusters"), 401, "InvalidToken");

    // Scopes: read may read, not write; write may not mint tokens.
    let minted = api.post("/v1/tokens", &json!({"scopes": ["read"], "subject": "ci", "expires_in_seconds": 600}));
    assert_eq!(minted.status, 201, "{}", minted.body);
    let reader = api.with_token(minted.body["token"].as_str());
    assert_eq!(reader.get("/v1/cache-clusters").status, 200);
    assert_eq!(reader.get("/v1/cache-node-types").status, 200);
    expect(&reader.post("/v1/cache-clusters", &json!({"cache_cluster_id": "nope"})), 403, "AccessDenied");
    let writer_token = ours.mint("w", vec![Scope::Write], now(), 600).expect("mint");
    let writer = api.with_token(Some(&writer_token));
    expect(&writer.post("/v1/tokens", &json!({"scopes": ["admin"]})), 403, "AccessDenied");
    expect(&api.post("/v1/tokens", &json!({"scopes": []})), 400, "InvalidParameterValue");
    expect(&api.post("/v1/tokens", &json!({"scopes": ["root"]})), 400, "InvalidParameterValue");
    expect(
        &api.post("/v1/tokens", &json!({"scopes": ["read"], "expires_in_seconds": 0})),
        400,
        "InvalidParameterValue",
    );
}

#[test]
fn requests_are_validated() {
    let prefix = unique_prefix("v");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Broken { ready_timeout_secs: 60 });
    let api = cp.api();
    let bad_cluster = |body: Value| api.post("/v1/cache-clusters", &body);
    let id = format!("{prefix}-c");

    for bad_id in ["1abc", "a--b", "abc-", "a_b", "", &"x".repeat(51)] {
        expect(&bad_cluster(json!({"cache_cluster_id": bad_id})), 400, "InvalidParameterValue");
    }
    let unknown = bad_cluster(json!({"cache_cluster_id": id, "colour": "blue"}));
    expect(&unknown, 400, "InvalidParameterValue");
    assert!(unknown.body["error"]["message"].as_str().unwrap_or("").contains("colour"), "{}", unknown.body);
    for (field, value) in [
        ("cache_node_type", json!("cache.t3.nano")),
        ("num_cache_nodes", json!(2)),
        ("engine", json!("postgres")),
        ("engine_version", json!("6.2")),
        ("port", json!(70000)),
        ("auth_token", json!("short")),
        ("auth_token", json!("has spaces in it, sadly")),
        ("preferred_maintenance_window", json!("sun:05:00-sun:05:30")),
        ("snapshot_window", json!("25:00-26:00")),
        ("snapshot_retention_limit", json!(36)),
        ("tags", json!([{"key": "aws:reserved", "value": "x"}])),
        ("num_cache_nodes", json!("one")),
    ] {
        let mut body = json!({"cache_cluster_id": id});
        body[field] = value.clone();
        let reply = bad_cluster(body);
        assert_eq!((reply.status, reply.code()), (400, "InvalidParameterValue"), "{field}={value}: {}", reply.body);
    }
    // Memcached: 1-40 nodes, and none of redis's own parameters.
    let memcached = |extra: Value| {
        let mut body = json!({"cache_cluster_id": format!("{prefix}-mc"), "engine": "memcached"});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        bad_cluster(body)
    };
    expect(&memcached(json!({"num_cache_nodes": 0})), 400, "InvalidParameterValue");
    expect(&memcached(json!({"num_cache_nodes": 41})), 400, "InvalidParameterValue");
    expect(&memcached(json!({"engine_version": "7.0"})), 400, "InvalidParameterValue");
    for redis_only in [
        json!({"auth_token": "s3cret-token-for-tests"}),
        json!({"snapshot_retention_limit": 1}),
        json!({"snapshot_window": "03:00-04:00"}),
        json!({"snapshot_name": "any"}),
    ] {
        expect(&memcached(redis_only), 400, "InvalidParameterCombination");
    }
    let malformed = api.send("POST", "/v1/cache-clusters", None);
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    expect(&malformed, 400, "InvalidParameterValue");

    let group = |body: Value| api.post("/v1/replication-groups", &body);
    let gid = format!("{prefix}-g");
    let base = json!({"replication_group_id": gid, "replication_group_description": "d"});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    expect(&group(with(json!({"num_cache_clusters": 7}))), 400, "InvalidParameterValue");
    expect(&group(with(json!({"replicas_per_node_group": 6}))), 400, "InvalidParameterValue");
    expect(&group(with(json!({"replication_group_id": "x".repeat(41)}))), 400, "InvalidParameterValue");
    expect(
        &group(with(json!({"num_cache_clusters": 2, "replicas_per_node_group": 1}))),
        400,
        "InvalidParameterCombination",
    );
    expect(&group(with(json!({"automatic_failover_enabled": true}))), 400, "InvalidParameterCombination");
    expect(&group(with(json!({"engine": "memcached"}))), 400, "InvalidParameterCombination");
    expect(
        &group(with(json!({"num_cache_clusters": 2, "multi_az_enabled": true}))),
        400,
        "InvalidParameterCombination",
    );

    // Not found, in ElastiCache's spelling.
    expect(&api.get("/v1/cache-clusters/nothing-here"), 404, "CacheClusterNotFound");
    expect(&api.delete("/v1/cache-clusters/nothing-here"), 404, "CacheClusterNotFound");
    expect(&api.get("/v1/replication-groups/nothing-here"), 404, "ReplicationGroupNotFoundFault");
    expect(&api.delete("/v1/replication-groups/nothing-here"), 404, "ReplicationGroupNotFoundFault");
    expect(&api.get("/v1/no-such-thing"), 404, "UnknownOperation");

    // Already exists, and the state rules while `creating` (these nodes never answer).
    assert_eq!(bad_cluster(json!({"cache_cluster_id": id.to_uppercase()})).status, 201);
    expect(&bad_cluster(json!({"cache_cluster_id": id})), 409, "CacheClusterAlreadyExists");
    assert_eq!(group(with(json!({"num_cache_clusters": 2}))).status, 201);
    expect(&group(with(json!({"num_cache_clusters": 2}))), 409, "ReplicationGroupAlreadyExists");
    // A group whose first member's name a standalone cluster already has.
    assert_eq!(bad_cluster(json!({"cache_cluster_id": format!("{prefix}-m-001")})).status, 201);
    let taken = group(json!({"replication_group_id": format!("{prefix}-m"), "replication_group_description": "d"}));
    expect(&taken, 409, "CacheClusterAlreadyExists");
    expect(&api.get(&format!("/v1/replication-groups/{prefix}-m")), 404, "ReplicationGroupNotFoundFault");
    let path = format!("/v1/cache-clusters/{id}");
    expect(&api.patch(&path, &json!({"snapshot_retention_limit": 1})), 409, "InvalidCacheClusterState");
    expect(&api.delete(&path), 409, "InvalidCacheClusterState");
    expect(
        &api.post(&format!("{path}/reboot"), &json!({"cache_node_ids_to_reboot": ["0001"]})),
        409,
        "InvalidCacheClusterState",
    );
    expect(
        &api.post(&format!("{path}/reboot"), &json!({"cache_node_ids_to_reboot": ["0009"]})),
        400,
        "InvalidParameterValue",
    );
    expect(&api.delete(&format!("/v1/replication-groups/{gid}")), 409, "InvalidReplicationGroupState");
    expect(
        &api.patch(&format!("/v1/replication-groups/{gid}"), &json!({"replication_group_description": "x"})),
        409,
        "InvalidReplicationGroupState",
    );
    assert_eq!(api.get(&path).body["status"], "creating", "reads work in every state");

    // Lists and events.
    expect(&api.get("/v1/cache-clusters?max_records=5"), 400, "InvalidParameterValue");
    expect(&api.get("/v1/cache-clusters?colour=blue"), 400, "InvalidParameterValue");
    expect(&api.get("/v1/events?source_type=database"), 400, "InvalidParameterValue");
    expect(&api.get("/v1/events?start_time=yesterday"), 400, "InvalidParameterValue");
    expect(&api.get("/v1/events?duration=0"), 400, "InvalidParameterValue");
    let events = api.get(&format!("/v1/events?source_type=cache-cluster&source_identifier={id}"));
    assert_eq!(events.body["events"][0]["message"], "Cache cluster creation requested", "{}", events.body);
}

#[test]
fn a_node_that_never_answers_fails_the_create_and_says_why() {
    let prefix = unique_prefix("f");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Broken { ready_timeout_secs: 1 });
    let api: Api = cp.api();
    let id = format!("{prefix}-c");
    assert_eq!(api.post("/v1/cache-clusters", &json!({"cache_cluster_id": id})).status, 201);
    let path = format!("/v1/cache-clusters/{id}");
    api.wait_status(&path, "create-failed", Duration::from_secs(30));
    let events = api.get(&format!("/v1/events?source_identifier={id}"));
    let last = events.body["events"].as_array().and_then(|e| e.last()).cloned().unwrap_or_default();
    assert!(last["message"].as_str().unwrap_or("").starts_with("Cache cluster creation failed:"), "{last}");
    // A failed cluster can be deleted.
    assert_eq!(api.delete(&path).status, 202);
    api.wait_gone(&path, Duration::from_secs(30));
}

/// Every answer names its request; a body over the limit is refused at once
/// with our error body, not read to the end (nor hung on).
#[test]
fn requests_have_ids_and_bodies_a_limit() {
    let prefix = unique_prefix("r");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Broken { ready_timeout_secs: 60 });
    let api = cp.api();
    let ok = api.get("/v1/cache-clusters");
    assert_eq!(ok.status, 200);
    let first = ok.request_id.expect("x-request-id on a success");
    assert_eq!(first.len(), 36, "a UUID: {first}");
    assert_ne!(api.get("/healthz").request_id.as_deref(), Some(first.as_str()), "one id per request");
    // Routing errors carry the same body as every other error.
    expect(&api.send("PUT", "/v1/cache-clusters", None), 405, "MethodNotAllowed");
    expect(&api.delete("/v1/events"), 405, "MethodNotAllowed");
    expect(&api.get("/v1/no-such-thing"), 404, "UnknownOperation");

    // 10 MiB announced, only the start sent: the answer must not wait for the rest.
    let address = cp.url.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(address).expect("connect");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let head = format!(
        "POST /v1/cache-clusters HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"cache_cluster_id\": \"",
        cp.token,
        10 << 20
    );
    std::io::Write::write_all(&mut socket, head.as_bytes()).expect("send");
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut socket, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "RequestEntityTooLarge", "{answer}");
    assert!(body["error"]["request_id"].is_string(), "{answer}");
    assert_eq!(api.get("/v1/cache-clusters").body["cache_clusters"], json!([]), "nothing was created");
}

/// Running out of node ports is the client's to fix (fewer nodes, a wider
/// --node-ports): ElastiCache's InsufficientCacheClusterCapacity, a 400.
#[test]
fn running_out_of_node_ports_is_insufficient_capacity() {
    let prefix = unique_prefix("p");
    let dir = DataDir::new(&prefix);
    // Nothing listens on it: these nodes never start.
    let cp =
        ControlPlane::start_with(&dir.0, &Runtime::Broken { ready_timeout_secs: 60 }, &["--node-ports", "29999-29999"]);
    let api = cp.api();
    assert_eq!(api.post("/v1/cache-clusters", &json!({"cache_cluster_id": format!("{prefix}-a")})).status, 201);
    let refused = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": format!("{prefix}-b")}));
    expect(&refused, 400, "InsufficientCacheClusterCapacity");
    let group = json!({
        "replication_group_id": format!("{prefix}-g"),
        "replication_group_description": "two nodes, one port",
        "num_cache_clusters": 2
    });
    expect(&api.post("/v1/replication-groups", &group), 400, "InsufficientCacheClusterCapacity");
    assert_eq!(api.get(&format!("/v1/replication-groups/{prefix}-g")).status, 404, "no half-made group");
}
