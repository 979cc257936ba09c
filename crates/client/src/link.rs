//! `Link`: what every handle (stack, key guard, context) holds to reach the daemon. A leaf
//! below the handles, so dependencies run one way: stack → contexts/keys → link → connection.

use std::path::Path;
use std::sync::Arc;

use warden_core::{ErrorCode, Timeout};
use warden_wire::Version;
use warden_wire::messages::{Request, Response};

use crate::codec;
use crate::config::StackConfig;
use crate::connection::Connection;
use crate::error::{Error, Result};

/// What every handle (stack, guard, context) needs to talk to the daemon: the shared
/// connection and the stack's configuration (for the default timeout).
#[derive(Clone)]
pub(crate) struct Link {
    conn: Arc<Connection>,
    config: Arc<StackConfig>,
}

impl Link {
    pub(crate) fn new(conn: Arc<Connection>, config: Arc<StackConfig>) -> Self {
        Self { conn, config }
    }

    /// The socket path of the shared connection.
    pub(crate) fn path(&self) -> &Path {
        self.conn.path()
    }

    /// The protocol version negotiated on the shared connection.
    pub(crate) fn version(&self) -> Version {
        self.conn.version()
    }

    /// Sends `req` with timeout setting `timeout` and hands the decoded answer to `f`.
    pub(crate) fn request<T>(
        &self,
        req: &Request<'_>,
        timeout: Timeout,
        f: impl FnOnce(Response<'_>) -> Result<T>,
    ) -> Result<T> {
        let op = req.opcode();
        if !op.available_in(self.conn.version()) {
            return Err(Error::Invalid(warden_core::Error::new(
                ErrorCode::UnsupportedOperation,
                "the daemon's protocol version predates this operation",
            )));
        }
        let deadline = self.config.effective(timeout);
        let max_len = self.conn.max_request_len() as usize;
        codec::with_encoded(req, max_len, |body| {
            self.conn
                .call(op, body, deadline, self.config.waiting(), |reply| {
                    f(codec::decode(op, reply)?)
                })
        })
    }

    /// Sends `reqs` with timeout setting `timeout`, at most `depth` unanswered at a time
    /// ([`Connection::call_pipelined`]: small requests and answers only), and hands each
    /// decoded answer, or the daemon's error for that request, to `f` in order.
    pub(crate) fn request_pipelined(
        &self,
        reqs: &[Request<'_>],
        depth: usize,
        timeout: Timeout,
        mut f: impl FnMut(usize, Result<Response<'_>>) -> Result<()>,
    ) -> Result<()> {
        let version = self.conn.version();
        if reqs.iter().any(|r| !r.opcode().available_in(version)) {
            return Err(Error::Invalid(warden_core::Error::new(
                ErrorCode::UnsupportedOperation,
                "the daemon's protocol version predates this operation",
            )));
        }
        let deadline = self.config.effective(timeout);
        let max_len = self.conn.max_request_len() as usize;
        self.conn.call_pipelined(
            reqs.len(),
            depth,
            deadline,
            self.config.waiting(),
            |i, send| {
                let req = reqs.get(i).ok_or(Error::Protocol("pipeline index"))?;
                codec::with_encoded(req, max_len, |body| send(req.opcode(), body))
            },
            |i, reply| {
                let op = reqs
                    .get(i)
                    .ok_or(Error::Protocol("pipeline index"))?
                    .opcode();
                match reply {
                    Ok(body) => f(i, codec::decode(op, body)),
                    Err(e) => f(i, Err(e)),
                }
            },
        )
    }

    /// As [`Link::request`], with `fd` attached to the frame (`SCM_RIGHTS`): a region's memfd.
    pub(crate) fn request_with_fd<T>(
        &self,
        req: &Request<'_>,
        fd: std::os::fd::BorrowedFd<'_>,
        timeout: Timeout,
        f: impl FnOnce(Response<'_>) -> Result<T>,
    ) -> Result<T> {
        let op = req.opcode();
        if !op.available_in(self.conn.version()) {
            return Err(Error::Invalid(warden_core::Error::new(
                ErrorCode::UnsupportedOperation,
                "the daemon's protocol version predates this operation",
            )));
        }
        let deadline = self.config.effective(timeout);
        let max_len = self.conn.max_request_len() as usize;
        codec::with_encoded(req, max_len, |body| {
            self.conn.call_with_fd(
                op,
                body,
                Some(fd),
                deadline,
                self.config.waiting(),
                |reply| f(codec::decode(op, reply)?),
            )
        })
    }

    /// `t` with `Default` replaced by this stack's default (a number or `Disabled`): what a
    /// context must tell the daemon, which otherwise applies *its* configured default.
    pub(crate) fn resolve_timeout(&self, t: Timeout) -> Timeout {
        match self.config.effective(t) {
            Some(ms) => Timeout::Millis(ms),
            None => Timeout::Disabled,
        }
    }

    /// The highest protocol version the daemon announced in the handshake.
    pub(crate) fn daemon_version(&self) -> Version {
        self.conn.daemon_version()
    }

    /// The largest request frame the daemon accepts.
    pub(crate) fn max_request_len(&self) -> u32 {
        self.conn.max_request_len()
    }

    pub(crate) fn same_connection(&self, other: &Link) -> bool {
        Arc::ptr_eq(&self.conn, &other.conn)
    }
}
