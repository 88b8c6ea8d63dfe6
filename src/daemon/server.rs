//! The HTTP server as the daemon runs it: bound to `[server] listen` or on the socket systemd
//! passed, and stopped (finishing in-flight requests) on shutdown or when a reload moves it to
//! another address.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::exit::Failure;
use crate::serve;

/// The HTTP server on one address; replaced whole when `[server] listen` changes.
pub(super) struct Server {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Serves on the socket systemd passed, if it passed one, else binds `listen`. Returns
    /// whether the socket came from systemd.
    pub async fn start(
        listen: SocketAddr,
        shared: &serve::Shared,
    ) -> Result<(Server, bool), Failure> {
        match Server::activated(shared)? {
            Some(server) => {
                tracing::info!(addr = %server.addr, "using the socket systemd passed; [server] listen is not used");
                Ok((server, true))
            }
            None => Ok((Server::bind(listen, shared.clone()).await?, false)),
        }
    }

    pub async fn bind(listen: SocketAddr, shared: serve::Shared) -> Result<Server, Failure> {
        let listener = TcpListener::bind(listen).await.map_err(|e| {
            Failure::Listen(format!(
                "cannot listen on {listen}: {e}; change [server] listen"
            ))
        })?;
        Server::serve(listener, shared)
    }

    /// The socket systemd passed (socket activation, `feedmerge.socket`), if it passed one;
    /// `[server] listen` is not used then: the socket unit owns the address.
    fn activated(shared: &serve::Shared) -> Result<Option<Server>, Failure> {
        // listenfd checks LISTEN_PID and LISTEN_FDS and takes fd 3 only when they are ours.
        let mut passed = listenfd::ListenFd::from_env();
        let Some(socket) = passed.take_tcp_listener(0).map_err(|e| {
            Failure::Listen(format!(
                "systemd passed a socket that is not a TCP listener: {e}; make feedmerge.socket a ListenStream="
            ))
        })?
        else {
            return Ok(None);
        };
        socket
            .set_nonblocking(true)
            .map_err(|e| Failure::Listen(format!("cannot use the socket systemd passed: {e}")))?;
        let listener = TcpListener::from_std(socket)
            .map_err(|e| Failure::Listen(format!("cannot use the socket systemd passed: {e}")))?;
        Server::serve(listener, shared.clone()).map(Some)
    }

    fn serve(listener: TcpListener, shared: serve::Shared) -> Result<Server, Failure> {
        let addr = listener
            .local_addr()
            .map_err(|e| Failure::Listen(format!("cannot read the bound address: {e}")))?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(serve::serve(listener, shared, stop.clone()));
        Ok(Server { addr, stop, task })
    }

    /// Stops accepting and waits for in-flight requests to finish.
    pub async fn stop(self) {
        self.stop.cancel();
        match self.task.await {
            Ok(Err(e)) => tracing::error!("server error: {e}"),
            Err(e) => tracing::error!("server task failed: {e}"),
            Ok(Ok(())) => {}
        }
    }
}
