//! RESP on the wire: `parse` turns request bytes into argument spans (multibulk
//! or inline), `reply` encodes answers for RESP2 or RESP3 clients.

mod parse;
pub mod reply;

pub use parse::{Limits, Parsed, ProtocolError, parse_request, split_args};
pub use reply::{Reply, format_double, format_score};
