//! Replies held back while a client pipelines (reply coalescing).
//!
//! A client that queues several small requests on its connection (`warden-client`'s
//! `AeadContext::seal_regions`: region references in, nonce and tag out) is waiting for a
//! run of answers, not for each one. Writing each answer at once wakes the client per
//! answer, and on a VM whose idle vCPUs halt a wake-up costs the *writer* ≈ 20 µs (perf:
//! `sock_def_readable` → `try_to_wake_up`, a fifth of a worker's time while pipelining
//! 1 MiB seals). So when the next request is already queued behind the one just served, its
//! small reply is kept here and written together with the following ones: one wake-up for up
//! to [`HELD_MAX_REPLIES`] answers.
//!
//! Bounds, so that nobody waits on a reply for long: a reply is held only if the next
//! frame's header has already arrived, only while the oldest held reply is younger than
//! [`HELD_MAX_AGE`], only for frames of at most [`HELD_MAX_FRAME`] bytes, and everything
//! held is written before the connection's worker turn ends (the lane hand-off included).
//! A client sending one request at a time never has a next header queued, so it never
//! waits. The buffer is wiped after every write (a small reply may carry random bytes or an
//! exported key).

use std::time::{Duration, Instant};

use warden_wire::HEADER_LEN;

/// Most replies written together.
pub(crate) const HELD_MAX_REPLIES: usize = 8;
/// Largest reply frame (header + body) that is held; larger ones are written at once.
pub(crate) const HELD_MAX_FRAME: usize = 256;
/// Bytes of held replies per connection (counted in the memory budget's reply buffers).
pub(crate) const HELD_BYTES: usize = HELD_MAX_REPLIES * HELD_MAX_FRAME;
/// The oldest held reply is written once it is this old, whatever follows.
pub(crate) const HELD_MAX_AGE: Duration = Duration::from_millis(1);

/// Complete reply frames (header + body each) waiting to be written, oldest first.
pub(crate) struct HeldReplies {
    buf: Box<[u8; HELD_BYTES]>,
    len: usize,
    count: usize,
    since: Option<Instant>,
}

impl HeldReplies {
    pub(crate) fn new() -> Self {
        Self {
            buf: Box::new([0; HELD_BYTES]),
            len: 0,
            count: 0,
            since: None,
        }
    }

    /// The held frames, in order.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps the frame `head` + `body` if it is small, there is room for it and one more
    /// (the last of a run is written, not held) and the oldest held reply is still young.
    /// Returns whether it was kept; if not, nothing changed.
    pub(crate) fn try_hold(&mut self, head: &[u8; HEADER_LEN], body: &[u8], now: Instant) -> bool {
        let frame = HEADER_LEN + body.len();
        if frame > HELD_MAX_FRAME || self.count + 1 >= HELD_MAX_REPLIES {
            return false;
        }
        if self
            .since
            .is_some_and(|t| now.duration_since(t) >= HELD_MAX_AGE)
        {
            return false;
        }
        let Some(dst) = self.buf.get_mut(self.len..self.len + frame) else {
            return false;
        };
        let (h, b) = dst.split_at_mut(HEADER_LEN);
        h.copy_from_slice(head);
        b.copy_from_slice(body);
        debug_assert!(
            self.len + frame <= HELD_BYTES,
            "held replies overflow their buffer"
        );
        self.len += frame;
        self.count += 1;
        self.since.get_or_insert(now);
        true
    }

    /// Forgets everything held, wiping the bytes (after they were written, or on close).
    pub(crate) fn clear(&mut self) {
        if let Some(used) = self.buf.get_mut(..self.len) {
            warden_arena::wipe(used);
        }
        self.len = 0;
        self.count = 0;
        self.since = None;
    }
}

impl Drop for HeldReplies {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(n: u8) -> [u8; HEADER_LEN] {
        [n; HEADER_LEN]
    }

    #[test]
    fn holds_small_frames_in_order_and_leaves_room_for_the_last() {
        let mut h = HeldReplies::new();
        let now = Instant::now();
        let mut want = Vec::new();
        for n in 1..HELD_MAX_REPLIES {
            let body = vec![n as u8; n];
            assert!(h.try_hold(&head(n as u8), &body, now), "reply {n}");
            want.extend_from_slice(&head(n as u8));
            want.extend_from_slice(&body);
        }
        // The last of a run is written together with the held ones, not held.
        assert!(!h.try_hold(&head(0xee), b"ef", now));
        assert_eq!(h.bytes(), &want[..]);
        h.clear();
        assert!(h.is_empty());
        assert!(h.buf.iter().all(|&b| b == 0), "cleared bytes are wiped");
        assert!(h.try_hold(&head(1), b"", now), "room again after a write");
    }

    #[test]
    fn refuses_large_frames_and_old_runs() {
        let mut h = HeldReplies::new();
        let now = Instant::now();
        let big = [7u8; HELD_MAX_FRAME - HEADER_LEN + 1];
        assert!(!h.try_hold(&head(1), &big, now));
        assert!(h.is_empty());
        let fits = [7u8; HELD_MAX_FRAME - HEADER_LEN];
        assert!(h.try_hold(&head(1), &fits, now));
        let later = now + HELD_MAX_AGE;
        assert!(!h.try_hold(&head(2), b"x", later), "the run is too old");
        assert_eq!(h.bytes().len(), HELD_MAX_FRAME);
    }
}
