//! openapi.yaml parses, and lists exactly the routes the router serves.

use std::collections::BTreeSet;

use serde_json::Value;

#[test]
fn openapi_describes_every_route() {
    let text = include_str!("../../openapi.yaml");
    let spec: Value = serde_norway::from_str(text).expect("openapi.yaml parses");
    assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "an OpenAPI 3 document");
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> =
        control_plane::api::served_routes().into_iter().map(|(m, p)| (m.to_owned(), p.to_owned())).collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in openapi.yaml: {undocumented:?}");
    assert!(unserved.is_empty(), "in openapi.yaml but not served: {unserved:?}");

    // Every error code the API can answer with is documented.
    for code in [
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "CacheClusterAlreadyExists",
        "ReplicationGroupAlreadyExists",
        "CacheClusterNotFound",
        "ReplicationGroupNotFoundFault",
        "InvalidCacheClusterState",
        "InvalidReplicationGroupState",
        "MissingAuthenticationToken",
        "InvalidToken",
        "ExpiredToken",
        "AccessDenied",
        "SnapshotNotFoundFault",
        "SnapshotAlreadyExistsFault",
        "InvalidSnapshotState",
        "SnapshotQuotaExceededFault",
        "CacheParameterGroupNotFound",
        "CacheParameterGroupAlreadyExists",
        "InvalidCacheParameterGroupState",
    ] {
        assert!(text.contains(code), "openapi.yaml does not mention {code}");
    }
}
