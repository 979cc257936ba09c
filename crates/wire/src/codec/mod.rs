//! Encoding and decoding of FlatBuffers bodies to and from the typed [`crate::messages`].
//!
//! Decoding is zero-copy and allocation-free: planus' `XxxRef` accessors read little-endian
//! scalars and hand out `&'a [u8]` / `&'a str` slices of the input (strings are UTF-8
//! validated in place); errors are `Copy` values with static strings. Every field is read (and
//! so validated) during decode, so later code holds plain values and never meets a lazy
//! FlatBuffers error. `tests/no_alloc.rs` proves it with a counting global allocator.
//!
//! Encoding writes into a caller-owned [`Builder`] (cleared first). A builder grows its buffer
//! on demand and keeps the capacity across `clear`, so a builder reused per connection stops
//! allocating once it has seen the largest body.

//! Layout: `fields` (shared readers and writers: scalars, strings, payloads, small enums,
//! KDFs), `request` (encode and decode of every request body), `response` (the same for
//! successful responses), `reply` (error details and whole reply frames as clients see them).

mod fields;
mod reply;
mod request;
mod response;

/// The FlatBuffers builder that encoding writes into (re-exported from planus so callers do
/// not depend on planus themselves). Reuse one per connection.
pub use planus::Builder;
pub use reply::{Reply, decode_error_detail, decode_reply, encode_error_detail, response_fits};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
