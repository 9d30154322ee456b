//! Geo commands answer as redis-server answers: the same scores, positions,
//! hashes, distances and search results (order included), in RESP2 and RESP3.

use crate::common::{Node, cmd, err_of};
use crate::persistence::{RedisServer, temp_dir, tool};

fn populate(c: &mut redis::Connection) {
    let places: &[(f64, f64, &str)] = &[
        (13.361389, 38.115556, "Palermo"),
        (15.087269, 37.502669, "Catania"),
        (13.583333, 37.316667, "Agrigento"),
        (12.758489, 38.788135, "edge1"),
        (-73.9454966, 40.747533, "lic market"),
        (-0.1278, 51.5074, "London"),
        (2.3522, 48.8566, "Paris"),
        (179.9, 85.0, "far north east"),
        (-179.9, -85.0, "far south west"),
    ];
    for (lon, lat, name) in places {
        let _: i64 = cmd("GEOADD").arg("Sicily").arg(lon).arg(lat).arg(name).query(c).unwrap();
    }
    for i in 0..200 {
        let (lon, lat) = (-10.0 + (i as f64) * 0.137, 35.0 + ((i * 7) % 200) as f64 * 0.11);
        let _: i64 = cmd("GEOADD").arg("grid").arg(lon).arg(lat).arg(format!("p{i}")).query(c).unwrap();
    }
}

fn queries() -> Vec<redis::Cmd> {
    let mut q = Vec::new();
    let c = |parts: &[&str]| {
        let mut c = cmd(parts[0]);
        parts[1..].iter().for_each(|p| {
            c.arg(*p);
        });
        c
    };
    q.push(c(&["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"]));
    q.push(c(&["GEOPOS", "Sicily", "Palermo", "Catania", "nowhere", "far north east"]));
    q.push(c(&["GEOHASH", "Sicily", "Palermo", "Catania", "London", "nowhere"]));
    q.push(c(&["GEODIST", "Sicily", "Palermo", "Catania"]));
    q.push(c(&["GEODIST", "Sicily", "London", "Paris", "mi"]));
    q.push(c(&["GEODIST", "Sicily", "Palermo", "nowhere"]));
    q.push(c(&["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"]));
    q.push(c(&["GEORADIUS", "Sicily", "15", "37", "200", "km"]));
    q.push(c(&["GEORADIUS_RO", "Sicily", "15", "37", "2000", "km", "COUNT", "3", "DESC"]));
    q.push(c(&["GEORADIUSBYMEMBER", "Sicily", "Palermo", "300", "km", "WITHDIST"]));
    q.push(c(&["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHCOORD"]));
    q.push(c(&["GEOSEARCH", "Sicily", "FROMMEMBER", "Paris", "BYRADIUS", "500", "km", "WITHDIST"]));
    q.push(c(&["GEOSEARCH", "grid", "FROMLONLAT", "0", "40", "BYRADIUS", "800", "km"]));
    q.push(c(&["GEOSEARCH", "grid", "FROMLONLAT", "3", "41", "BYBOX", "900", "300", "km", "DESC", "WITHDIST"]));
    q.push(c(&["GEOSEARCH", "grid", "FROMLONLAT", "0", "40", "BYRADIUS", "5000", "km", "COUNT", "5", "ANY"]));
    q.push(c(&["GEOSEARCHSTORE", "stored", "grid", "FROMLONLAT", "0", "40", "BYRADIUS", "600", "km", "STOREDIST"]));
    q.push(c(&["ZRANGE", "stored", "0", "-1", "WITHSCORES"]));
    q.push(c(&["GEORADIUS", "grid", "1", "41", "300", "km", "STORE", "stored2"]));
    q.push(c(&["ZRANGE", "stored2", "0", "-1", "WITHSCORES"]));
    q
}

#[test]
fn geo_answers_are_redis_servers() {
    let Some(redis_server) = tool("redis-server") else { return };
    let dir = temp_dir("geo");
    let redis = RedisServer::start(&redis_server, &dir);
    let node = Node::start();
    for resp3 in [false, true] {
        let mut theirs = redis.try_conn().expect("connect");
        let mut ours = node.conn();
        if resp3 {
            for c in [&mut theirs, &mut ours] {
                let _: redis::Value = cmd("HELLO").arg(3).query(c).unwrap();
            }
        }
        let _: () = cmd("FLUSHALL").query(&mut theirs).unwrap();
        let _: () = cmd("FLUSHALL").query(&mut ours).unwrap();
        populate(&mut theirs);
        populate(&mut ours);
        for q in queries() {
            let want: redis::Value = q.query(&mut theirs).unwrap();
            let got: redis::Value = q.query(&mut ours).unwrap();
            assert_eq!(got, want, "{:?} (resp3: {resp3})", String::from_utf8_lossy(&q.get_packed_command()));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_geo_arguments_are_refused_as_redis_does() {
    let node = Node::start();
    let mut c = node.conn();
    assert_eq!(
        err_of(cmd("GEOADD").arg("g").arg(200).arg(10).arg("m").query(&mut c)),
        "ERR invalid longitude,latitude pair 200.000000,10.000000"
    );
    assert_eq!(err_of(cmd("GEOADD").arg("g").arg(10).arg(10).arg("m").arg(11).query(&mut c)), "ERR syntax error");
    let _: i64 = cmd("GEOADD").arg("g").arg(10).arg(10).arg("m").query(&mut c).unwrap();
    assert_eq!(
        err_of(cmd("GEODIST").arg("g").arg("m").arg("m").arg("parsecs").query(&mut c)),
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    );
    assert_eq!(
        err_of(cmd("GEOSEARCH").arg("g").arg("BYRADIUS").arg(1).arg("km").arg("ASC").arg("WITHDIST").query(&mut c)),
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"
    );
    assert_eq!(
        err_of(cmd("GEORADIUS").arg("g").arg(10).arg(10).arg(-1).arg("km").query(&mut c)),
        "ERR radius cannot be negative"
    );
    assert_eq!(
        err_of(cmd("GEOSEARCH").arg("g").arg("FROMMEMBER").arg("x").arg("BYRADIUS").arg(1).arg("km").query(&mut c)),
        "ERR could not decode requested zset member"
    );
    assert_eq!(
        err_of(
            cmd("GEORADIUS")
                .arg("g")
                .arg(10)
                .arg(10)
                .arg(1)
                .arg("km")
                .arg("WITHDIST")
                .arg("STORE")
                .arg("d")
                .query(&mut c)
        ),
        "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    );
}
