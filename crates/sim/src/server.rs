//! Serving: the router, the listener, and the handle that can break a connection.
//!
//! Connections are accepted by [`SimListener`], which wraps each TCP stream in a
//! [`SimStream`] carrying a shared kill switch. Handlers reach the switch through
//! [`ConnHandle`] (axum's connect info). Flipping it makes every later write fail, so hyper
//! abandons the connection without sending a byte: with `KillMode::Close` the socket closes
//! normally (the client reads EOF where a response should be), with `KillMode::Reset` the
//! socket is closed with `SO_LINGER` 0 and the client sees a reset. That is how
//! accept-then-drop, connection resets and hangs are simulated with a real TCP peer.
//!
//! Shutdown is graceful: the listener stops, hung requests are released by the cancellation
//! token, and open connections finish their current response.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::request::MAX_BODY;
use crate::state::{SharedSim, Sim};
use crate::{SimError, control, faults, graph, linkedin, telegram, threads, twitter};

/// How a handler ends its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillMode {
    /// Close normally (FIN) before any response byte.
    Close,
    /// Close with a TCP reset.
    Reset,
}

const OPEN: u8 = 0;
const CLOSE: u8 = 1;
const RESET: u8 = 2;

#[derive(Debug, Default)]
struct KillSwitch(AtomicU8);

/// A handler's grip on its own connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle(Arc<KillSwitch>);

impl ConnHandle {
    pub(crate) fn kill(&self, mode: KillMode) {
        let value = match mode {
            KillMode::Close => CLOSE,
            KillMode::Reset => RESET,
        };
        self.0.0.store(value, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        ConnHandle(stream.io().switch.clone())
    }
}

/// A TCP stream that can be made to fail on demand.
#[derive(Debug)]
pub(crate) struct SimStream {
    inner: TcpStream,
    switch: Arc<KillSwitch>,
    reset_applied: bool,
}

impl SimStream {
    fn killed(&mut self) -> Option<io::Error> {
        match self.switch.0.load(Ordering::SeqCst) {
            OPEN => None,
            state => {
                if state == RESET && !self.reset_applied {
                    self.reset_applied = true;
                    // Best effort: without it the peer sees a close instead of a reset.
                    let _ = self.inner.set_zero_linger();
                }
                Some(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "connection dropped by a simulated fault",
                ))
            }
        }
    }
}

impl AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(error) = self.killed() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(error) = self.killed() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(error) = self.killed() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed().is_some() {
            // No FIN ahead of the reset: the drop closes the socket.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Accepts TCP connections and wraps them in [`SimStream`]s.
#[derive(Debug)]
pub(crate) struct SimListener {
    inner: TcpListener,
}

impl Listener for SimListener {
    type Io = SimStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let io = SimStream {
                        inner: stream,
                        switch: Arc::default(),
                        reset_applied: false,
                    };
                    return (io, addr);
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "simulator accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Every route: the platforms behind the fault layer, the control API beside it.
pub(crate) fn router(sim: SharedSim) -> Router {
    let platforms = Router::new()
        .merge(twitter::routes())
        .merge(linkedin::routes())
        .merge(graph::routes())
        .merge(threads::routes())
        .merge(telegram::routes())
        .layer(axum::middleware::from_fn_with_state(
            sim.clone(),
            faults::layer,
        ));
    platforms
        .merge(control::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(sim)
}

async fn serve(
    sim: SharedSim,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimError> {
    let cancel = sim.cancel.clone();
    let app = router(sim).into_make_service_with_connect_info::<ConnHandle>();
    axum::serve(SimListener { inner: listener }, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            cancel.cancel();
        })
        .await
        .map_err(SimError::Io)
}

/// Serves the simulator on `listener` until `shutdown` completes (`herald sim --addr`).
pub async fn run(
    config: SimConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimError> {
    let sim = Arc::new(Sim::new(config)?);
    let addr = listener.local_addr().map_err(SimError::Io)?;
    tracing::info!(%addr, "platform simulator listening");
    serve(sim, listener, shutdown).await
}

/// Starts the simulator on `127.0.0.1` and a free port.
pub async fn spawn(config: SimConfig) -> Result<SimServer, SimError> {
    let sim = Arc::new(Sim::new(config)?);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(SimError::Io)?;
    let addr = listener.local_addr().map_err(SimError::Io)?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(sim, listener, async move {
        let _ = rx.await;
    }));
    Ok(SimServer {
        addr,
        stop: Some(tx),
        task: Some(task),
    })
}

/// A running simulator. Dropping it stops the server (without waiting).
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), SimError>>>,
}

impl SimServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base_url()` followed by `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting, releases hung requests, and waits for open responses to finish.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| SimError::Io(io::Error::other(e.to_string())))?,
            None => Ok(()),
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
