//! The plain (uncompressed) live feeds, sent with `sendfile(2)` from a memfd copy of the
//! rendered bytes.
//!
//! Why by hand: hyper writes a body from user memory, so each 160 KB `/feed.xml` costs one more
//! copy into the socket than a static file server's `sendfile` from the page cache; that copy
//! was a third of the server's CPU and kept plain `/feed.xml` at 0.75× nginx's requests/s
//! (`bench/results-serve.md`). No crate serves a body from a file descriptor through hyper.
//!
//! Requests are still parsed by `httparse` (hyper's own parser). Only a keep-alive HTTP/1.1
//! `GET` or `HEAD` of a live feed whose answer is the plain `200` is answered here; the first
//! request that is anything else (compressed, conditional, another path, a body, `Connection:
//! close`, HTTP/1.0, a malformed head) hands the connection, with every byte already read, to
//! hyper for the rest of its life. So this path never has to get an edge of HTTP right that it
//! does not need.

use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::{choose, live, Feeds, Variant};
use crate::render::{Rendered, Snapshot};

/// A request head larger than this is left to hyper (which answers `431`).
const MAX_HEAD: usize = 16 * 1024;

/// How a connection left this path.
pub(super) enum Outcome {
    /// The peer closed, an I/O error ended it, or the daemon is stopping.
    Closed,
    /// Hyper takes over, reading `read` (the bytes not answered yet) before the socket.
    HandOver(BytesMut),
}

/// Memfd copies of the newest snapshot's plain live documents, shared by every connection and
/// made by the first request that needs them after a change (at most once a second).
#[derive(Default)]
pub(super) struct Spools {
    latest: Mutex<Option<Arc<Spooled>>>,
}

impl Spools {
    fn of(&self, snapshot: &Arc<Snapshot>) -> Arc<Spooled> {
        // A panic while spooling leaves nothing half-written behind the lock: take it anyway.
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(spooled) = latest.as_ref() {
            if Arc::ptr_eq(&spooled.snapshot, snapshot) {
                return spooled.clone();
            }
        }
        let spooled = Arc::new(Spooled::of(snapshot.clone()));
        *latest = Some(spooled.clone());
        spooled
    }
}

/// One snapshot's spooled documents, in the order of [`live`]'s paths.
struct Spooled {
    snapshot: Arc<Snapshot>,
    docs: Vec<Option<Spool>>,
}

impl Spooled {
    fn of(snapshot: Arc<Snapshot>) -> Spooled {
        let docs = (0..super::LIVE_PATHS.len())
            .map(|i| live(&snapshot, i).and_then(Spool::of))
            .collect();
        Spooled { snapshot, docs }
    }
}

/// A document's plain body in a memfd, and its `200` status line and headers (all but `Date`).
struct Spool {
    file: OwnedFd,
    len: u64,
    head: Vec<u8>,
}

impl Spool {
    /// `None` when the kernel will not make a memfd (then hyper serves the document).
    fn of(doc: &Rendered) -> Option<Spool> {
        let file = rustix::fs::memfd_create("feedmerge-feed", rustix::fs::MemfdFlags::CLOEXEC)
            .map_err(|e| tracing::debug!("no memfd for sendfile, serving through hyper: {e}"))
            .ok()?;
        let mut written = 0;
        while written < doc.body.len() {
            match rustix::io::write(&file, &doc.body[written..]) {
                Ok(0) | Err(_) => return None,
                Ok(n) => written += n,
            }
        }
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for (name, value) in &doc.heads.identity {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        Some(Spool {
            file,
            len: doc.body.len() as u64,
            head,
        })
    }
}

/// What one parsed request asks of this path.
struct Plain {
    /// Index into [`super::LIVE_PATHS`].
    doc: usize,
    head_only: bool,
}

/// Answers plain live-feed requests on `stream` until one is not, the peer leaves, or `stop`.
pub(super) async fn answer(
    stream: &mut TcpStream,
    feeds: &mut Feeds,
    spools: &Spools,
    stop: &CancellationToken,
) -> Outcome {
    let mut read = BytesMut::with_capacity(4096);
    let mut spooled: Option<Arc<Spooled>> = None;
    loop {
        let parsed = {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&read) {
                Ok(httparse::Status::Complete(len)) => Some((len, plain(&request, feeds))),
                Ok(httparse::Status::Partial) => None,
                Err(_) => return Outcome::HandOver(read),
            }
        };
        let Some((len, wanted)) = parsed else {
            if read.len() > MAX_HEAD {
                return Outcome::HandOver(read);
            }
            let got = tokio::select! {
                biased;
                () = stop.cancelled() => return Outcome::Closed,
                got = stream.read_buf(&mut read) => got,
            };
            match got {
                Ok(0) | Err(_) => return Outcome::Closed,
                Ok(_) => continue,
            }
        };
        let Some(wanted) = wanted else {
            return Outcome::HandOver(read);
        };
        let current = feeds.current.clone();
        let spooled = match &spooled {
            Some(s) if Arc::ptr_eq(&s.snapshot, &current) => s.clone(),
            _ => {
                let s = spools.of(&current);
                spooled = Some(s.clone());
                s
            }
        };
        let Some(spool) = spooled.docs.get(wanted.doc).and_then(Option::as_ref) else {
            return Outcome::HandOver(read);
        };
        read.advance(len);
        if send(stream, spool, wanted.head_only).await.is_err() || stop.is_cancelled() {
            return Outcome::Closed;
        }
    }
}

/// Whether `request` is one this path answers, and which document it wants.
fn plain(request: &httparse::Request, feeds: &mut Feeds) -> Option<Plain> {
    if request.version != Some(1) {
        return None;
    }
    let head_only = match request.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return None,
    };
    let path = request.path?.split('?').next()?;
    let doc = super::LIVE_PATHS.iter().position(|p| *p == path)?;
    // The headers that decide the variant; any header that changes how the connection or the
    // request body works sends the request to hyper.
    let mut deciding = HeaderMap::new();
    for h in request.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("connection")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("expect")
            || name.eq_ignore_ascii_case("upgrade")
            || (name.eq_ignore_ascii_case("content-length") && h.value != b"0")
        {
            return None;
        }
        let known = [
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::ACCEPT_ENCODING,
        ];
        if let Some(known) = known.iter().find(|k| name.eq_ignore_ascii_case(k.as_str())) {
            let value = HeaderValue::from_bytes(h.value).ok()?;
            deciding.append(HeaderName::clone(known), value);
        }
    }
    match choose(live(feeds.latest(), doc)?, &deciding) {
        Variant::Identity => Some(Plain { doc, head_only }),
        _ => None,
    }
}

/// Writes the head (with today's `Date`) and, unless `head_only`, the body by `sendfile`.
async fn send(stream: &TcpStream, spool: &Spool, head_only: bool) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(spool.head.len() + 48);
    head.extend_from_slice(&spool.head);
    head.extend_from_slice(b"date: ");
    head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\n\r\n");
    // MSG_MORE: the head waits for the body's first segment instead of going out alone.
    let flags = if head_only {
        rustix::net::SendFlags::empty()
    } else {
        rustix::net::SendFlags::MORE
    };
    let mut sent = 0;
    while sent < head.len() {
        sent += write_with(stream, || {
            Ok(rustix::net::send(stream, &head[sent..], flags)?)
        })
        .await?;
    }
    if head_only {
        return Ok(());
    }
    let mut offset = 0u64;
    while offset < spool.len {
        let left = (spool.len - offset) as usize;
        write_with(stream, || {
            Ok(rustix::fs::sendfile(
                stream,
                &spool.file,
                Some(&mut offset),
                left,
            )?)
        })
        .await?;
    }
    Ok(())
}

/// Runs a non-blocking write `op` once the socket is writable, again after each `WouldBlock`.
/// Zero bytes written means the peer is gone.
async fn write_with(
    stream: &TcpStream,
    mut op: impl FnMut() -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    loop {
        stream.writable().await?;
        match stream.try_io(Interest::WRITABLE, &mut op) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A socket whose first reads return the bytes this path read but did not answer, so hyper
/// sees the connection from where this path left it.
pub(super) struct Prefixed {
    pub(super) read: BytesMut,
    pub(super) stream: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.read.is_empty() {
            let n = this.read.len().min(buf.remaining());
            buf.put_slice(&this.read[..n]);
            this.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
