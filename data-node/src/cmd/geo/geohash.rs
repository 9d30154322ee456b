//! Redis's geohash: 52-bit interleaved scores (26 bits of latitude, 26 of
//! longitude, latitude limited to what Web Mercator covers), the haversine
//! distance on Redis's earth radius, and the nine boxes a radius or box
//! search reads. Each computation is redis-server's (geohash.c,
//! geohash_helper.c), so scores, distances and search results agree with it.

pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.051_128_78;
pub const LAT_MAX: f64 = 85.051_128_78;
pub const STEP_MAX: u8 = 26;
const EARTH_RADIUS_IN_METERS: f64 = 6_372_797.560_856;
const MERCATOR_MAX: f64 = 20_037_726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bits {
    pub bits: u64,
    pub step: u8,
}

impl Bits {
    const ZERO: Bits = Bits { bits: 0, step: 0 };

    fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy)]
struct Range {
    min: f64,
    max: f64,
}

const WGS84_LONG: Range = Range { min: LONG_MIN, max: LONG_MAX };
const WGS84_LAT: Range = Range { min: LAT_MIN, max: LAT_MAX };

struct Area {
    longitude: Range,
    latitude: Range,
}

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x >> 4)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x >> 8)) & 0x0000_ffff_0000_ffff;
    ((x | (x >> 16)) & 0x0000_0000_ffff_ffff) as u32
}

/// Latitude in the even bits, longitude in the odd ones.
fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

fn encode_in(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<Bits> {
    if step == 0 || step > 32 || !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude)
    {
        return None;
    }
    if !(lat_range.min..=lat_range.max).contains(&latitude) || !(long_range.min..=long_range.max).contains(&longitude) {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * scale;
    Some(Bits { bits: interleave(lat_offset as u32, long_offset as u32), step })
}

/// The hash of a position at `step` bits per coordinate (None off the map).
pub fn encode(longitude: f64, latitude: f64, step: u8) -> Option<Bits> {
    encode_in(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

/// A position's sorted-set score: its 26-step hash, as a 52-bit integer.
pub fn score_of(longitude: f64, latitude: f64) -> Option<f64> {
    encode(longitude, latitude, STEP_MAX).map(|h| align52(h) as f64)
}

fn align52(hash: Bits) -> u64 {
    hash.bits << (52 - u32::from(hash.step) * 2)
}

fn decode_in(long_range: Range, lat_range: Range, hash: Bits) -> Area {
    let scale = (1u64 << hash.step) as f64;
    let ilat = f64::from(squash(hash.bits));
    let ilon = f64::from(squash(hash.bits >> 1));
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    Area {
        latitude: Range {
            min: lat_range.min + (ilat / scale) * lat_scale,
            max: lat_range.min + ((ilat + 1.0) / scale) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilon / scale) * long_scale,
            max: long_range.min + ((ilon + 1.0) / scale) * long_scale,
        },
    }
}

/// The centre of a score's cell: [longitude, latitude].
pub fn decode_score(score: f64) -> [f64; 2] {
    let area = decode_in(WGS84_LONG, WGS84_LAT, Bits { bits: score as u64, step: STEP_MAX });
    let longitude = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [longitude, latitude]
}

/// The standard 11-character geohash (latitude over -90..90) of a score.
pub fn geohash_string(score: f64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [longitude, latitude] = decode_score(score);
    let standard_lat = Range { min: -90.0, max: 90.0 };
    let bits = encode_in(WGS84_LONG, standard_lat, longitude, latitude, STEP_MAX).map_or(0, |h| h.bits);
    (0..11)
        .map(|i| {
            // 52 bits make 10 characters; the 11th is always '0', as in Redis.
            let index = if i == 10 { 0 } else { (bits >> (52 - (i + 1) * 5)) & 0x1f };
            ALPHABET[index as usize] as char
        })
        .collect()
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in metres, as redis-server computes it.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lon1r, lon2r) = (deg_rad(lon1), deg_rad(lon2));
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Radius in metres.
    Circle(f64),
    /// Width and height in metres.
    Box(f64, f64),
}

/// A search: around `center` ([longitude, latitude]), within `shape`.
pub struct Search {
    pub center: [f64; 2],
    pub shape: Shape,
}

impl Search {
    /// The distance from the centre to a point inside the shape, or None.
    pub fn distance_if_inside(&self, point: [f64; 2]) -> Option<f64> {
        let [x1, y1] = self.center;
        let [x2, y2] = point;
        match self.shape {
            Shape::Circle(radius) => Some(distance(x1, y1, x2, y2)).filter(|d| *d <= radius),
            Shape::Box(width, height) => {
                if lat_distance(y2, y1) > height / 2.0 || distance(x2, y2, x1, y2) > width / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, x2, y2))
            }
        }
    }

    /// [min longitude, min latitude, max longitude, max latitude] around the shape.
    fn bounding_box(&self) -> [f64; 4] {
        let [longitude, latitude] = self.center;
        let (height, width) = match self.shape {
            Shape::Circle(r) => (r, r),
            Shape::Box(w, h) => (h / 2.0, w / 2.0),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let long_delta = if latitude < 0.0 { long_delta_bottom } else { long_delta_top };
        [longitude - long_delta, latitude - lat_delta, longitude + long_delta, latitude + lat_delta]
    }

    /// The score ranges [min, max) of the boxes to read, in redis-server's
    /// order (centre, north, south, east, west, then the corners), a box
    /// equal to the one before it skipped.
    pub fn score_ranges(&self) -> Vec<(f64, f64)> {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let radius = match self.shape {
            Shape::Circle(r) => r,
            Shape::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
        };
        let [longitude, latitude] = self.center;
        let mut step = estimate_step(radius, latitude);
        let mut hash = encode(longitude, latitude, step).unwrap_or(Bits::ZERO);
        let mut around = neighbours(hash);
        let edge_too_near = {
            let [north, south, east, west] =
                [around[0], around[1], around[2], around[3]].map(|n| decode_in(WGS84_LONG, WGS84_LAT, n));
            north.latitude.max < max_lat
                || south.latitude.min > min_lat
                || east.longitude.max < max_lon
                || west.longitude.min > min_lon
        };
        if step > 1 && edge_too_near {
            step -= 1;
            hash = encode(longitude, latitude, step).unwrap_or(Bits::ZERO);
            around = neighbours(hash);
        }
        let area = decode_in(WGS84_LONG, WGS84_LAT, hash);
        // around: north, south, east, west, north-east, north-west, south-east, south-west.
        if step >= 2 {
            let mut drop = |which: &[usize]| which.iter().for_each(|&i| around[i] = Bits::ZERO);
            if area.latitude.min < min_lat {
                drop(&[1, 7, 6]);
            }
            if area.latitude.max > max_lat {
                drop(&[0, 4, 5]);
            }
            if area.longitude.min < min_lon {
                drop(&[3, 7, 5]);
            }
            if area.longitude.max > max_lon {
                drop(&[2, 6, 4]);
            }
        }
        let boxes: Vec<Bits> = std::iter::once(hash).chain(around).collect();
        let mut ranges = Vec::with_capacity(9);
        // Redis skips a box equal to the last one read, unless that was the centre.
        let mut last = 0;
        for (i, b) in boxes.iter().enumerate() {
            if b.is_zero() || (last > 0 && *b == boxes[last]) {
                continue;
            }
            let next = Bits { bits: b.bits + 1, step: b.step };
            ranges.push((align52(*b) as f64, align52(next) as f64));
            last = i;
        }
        ranges
    }
}

fn estimate_step(mut range_meters: f64, latitude: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&latitude) {
        step -= 1;
        if !(-80.0..=80.0).contains(&latitude) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

fn move_x(hash: Bits, d: i8) -> Bits {
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64.checked_shr(shift).unwrap_or(0);
    Bits { bits: x | y, step: hash.step }
}

fn move_y(hash: Bits, d: i8) -> Bits {
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64.checked_shr(shift).unwrap_or(0);
    Bits { bits: x | y, step: hash.step }
}

/// north, south, east, west, north-east, north-west, south-east, south-west.
fn neighbours(hash: Bits) -> [Bits; 8] {
    [
        move_y(hash, 1),
        move_y(hash, -1),
        move_x(hash, 1),
        move_x(hash, -1),
        move_y(move_x(hash, 1), 1),
        move_y(move_x(hash, -1), 1),
        move_y(move_x(hash, 1), -1),
        move_y(move_x(hash, -1), -1),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_positions_as_redis_server_has_them() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania"
        // then ZSCORE, GEOPOS, GEODIST and GEOHASH, as redis-server 7.0 answers.
        let palermo = score_of(13.361389, 38.115556).unwrap();
        let catania = score_of(15.087269, 37.502669).unwrap();
        assert_eq!(palermo, 3479099956230698.0);
        assert_eq!(catania, 3479447370796909.0);
        let [lon, lat] = decode_score(palermo);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        let [lon2, lat2] = decode_score(catania);
        assert_eq!(format!("{:.4}", distance(lon, lat, lon2, lat2)), "166274.1516");
        assert_eq!(geohash_string(palermo), "sqc8b49rny0");
        assert_eq!(geohash_string(catania), "sqdtr74hyu0");
    }

    #[test]
    fn off_the_map_is_refused() {
        assert_eq!(score_of(181.0, 0.0), None);
        assert_eq!(score_of(0.0, 86.0), None);
    }
}
