//! How results are shown: aligned tables for people, JSON for scripts, and
//! `KEY=value` lines for CI jobs (`--output env`).

use serde_json::Value;

/// Prints rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

pub fn json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn endpoint(value: &Value) -> String {
    match (value["address"].as_str(), value["port"].as_u64()) {
        (Some(address), Some(port)) => format!("{address}:{port}"),
        _ => "-".into(),
    }
}

pub fn cluster_rows(clusters: &[Value]) -> Vec<Vec<String>> {
    clusters
        .iter()
        .map(|c| {
            let endpoints: Vec<String> =
                c["cache_nodes"].as_array().into_iter().flatten().map(|n| endpoint(&n["endpoint"])).collect();
            vec![
                text(&c["cache_cluster_id"]),
                text(&c["status"]),
                text(&c["cache_node_type"]),
                text(&c["replication_group_id"]),
                endpoints.join(","),
            ]
        })
        .collect()
}

pub const CLUSTER_HEADER: [&str; 5] = ["CACHE CLUSTER", "STATUS", "NODE TYPE", "GROUP", "ENDPOINTS"];

pub fn group_rows(groups: &[Value]) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|g| {
            let node_group = &g["node_groups"][0];
            vec![
                text(&g["replication_group_id"]),
                text(&g["status"]),
                g["member_clusters"].as_array().map_or(0, Vec::len).to_string(),
                endpoint(&node_group["primary_endpoint"]),
                endpoint(&node_group["reader_endpoint"]),
            ]
        })
        .collect()
}

pub const GROUP_HEADER: [&str; 5] = ["REPLICATION GROUP", "STATUS", "MEMBERS", "PRIMARY", "READER"];

/// The member cluster a group's describe names as its primary.
pub fn primary_member(group: &Value) -> Option<&str> {
    let members = group["node_groups"][0]["node_group_members"].as_array()?;
    members.iter().find(|m| m["current_role"] == "primary")?["cache_cluster_id"].as_str()
}

/// `redis://default:<token>@host:port`: the user named (redis-cli 7.0 reads a
/// URL's lone password as a user name) and the token percent-encoded (a `#`
/// or `&` is valid in a token and would end the URL's userinfo).
pub fn redis_url(endpoint: &Value, auth_token: Option<&str>) -> Option<String> {
    let (address, port) = (endpoint["address"].as_str()?, endpoint["port"].as_u64()?);
    Some(match auth_token {
        Some(token) => format!("redis://default:{}@{address}:{port}", percent_encode(token)),
        None => format!("redis://{address}:{port}"),
    })
}

/// Encodes all but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `REDIS_URL=...` and friends for a cluster, as a CI job's environment;
/// for memcached, every node (`MEMCACHED_SERVERS`, what most clients take)
/// and the Auto Discovery endpoint.
pub fn cluster_env(cluster: &Value, auth_token: Option<&str>) {
    if cluster["engine"] == "memcached" {
        let servers: Vec<String> =
            cluster["cache_nodes"].as_array().into_iter().flatten().map(|n| endpoint(&n["endpoint"])).collect();
        println!("MEMCACHED_SERVERS={}", servers.join(","));
        println!("MEMCACHED_CONFIG_ENDPOINT={}", endpoint(&cluster["configuration_endpoint"]));
        return;
    }
    let endpoint = &cluster["cache_nodes"][0]["endpoint"];
    if let Some(url) = redis_url(endpoint, auth_token) {
        println!("REDIS_URL={url}");
        println!("REDIS_HOST={}", text(&endpoint["address"]));
        println!("REDIS_PORT={}", text(&endpoint["port"]));
    }
}

pub fn group_env(group: &Value, auth_token: Option<&str>) {
    let node_group = &group["node_groups"][0];
    if let Some(url) = redis_url(&node_group["primary_endpoint"], auth_token) {
        println!("REDIS_URL={url}");
        println!("REDIS_HOST={}", text(&node_group["primary_endpoint"]["address"]));
        println!("REDIS_PORT={}", text(&node_group["primary_endpoint"]["port"]));
    }
    if let Some(url) = redis_url(&node_group["reader_endpoint"], auth_token) {
        println!("REDIS_READER_URL={url}");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::redis_url;

    #[test]
    fn a_token_in_a_url_is_encoded_and_the_user_named() {
        let endpoint = json!({"address": "127.0.0.1", "port": 7000});
        assert_eq!(redis_url(&endpoint, None).as_deref(), Some("redis://127.0.0.1:7000"));
        assert_eq!(
            redis_url(&endpoint, Some("s3cret#with&odd/chars-._~")).as_deref(),
            Some("redis://default:s3cret%23with%26odd%2Fchars-._~@127.0.0.1:7000")
        );
    }
}
