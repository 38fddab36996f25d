//! A TCP proxy the test owns, in front of Postgres or Redis, that can cut the service off
//! and bring it back: how a test makes a dependency go away under running processes without
//! touching the real server (which other tests share).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Forwards every connection to `target` until [`TcpProxy::cut`]; then drops the live
/// connections and stops listening (a connection is refused, as by a host whose server is
/// down) until [`TcpProxy::restore`] listens on the same port again.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    target: String,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    accept: Option<AbortHandle>,
    pipes: Vec<AbortHandle>,
}

impl TcpProxy {
    /// A proxy on a free local port to `target` (`host:port`).
    pub async fn start(target: &str) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let proxy = TcpProxy {
            addr: listener.local_addr().expect("bound"),
            target: target.to_owned(),
            state: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target.clone();
        let state = Arc::clone(&self.state);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut state = state.lock().expect("not poisoned");
                state.pipes.retain(|p| !p.is_finished());
                state.pipes.push(pipe.abort_handle());
            }
        });
        self.state.lock().expect("not poisoned").accept = Some(accept.abort_handle());
    }

    /// A proxy in front of the service a URL names (`postgres://user@host:port/db`,
    /// `redis://host:port`), and that URL pointed at the proxy instead.
    pub async fn in_front_of(url: &str) -> (TcpProxy, String) {
        let mut parsed = url::Url::parse(url).expect("a service URL");
        let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
        let port = parsed
            .port_or_known_default()
            .unwrap_or(match parsed.scheme() {
                "redis" => 6379,
                _ => 5432,
            });
        let proxy = TcpProxy::start(&format!("{host}:{port}")).await;
        parsed
            .set_host(Some("127.0.0.1"))
            .expect("the URL takes a host");
        parsed
            .set_port(Some(proxy.addr.port()))
            .expect("the URL takes a port");
        (proxy, parsed.to_string())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service is gone: live connections are dropped and new ones refused.
    pub fn cut(&self) {
        let mut state = self.state.lock().expect("not poisoned");
        if let Some(accept) = state.accept.take() {
            accept.abort();
        }
        for pipe in state.pipes.drain(..) {
            pipe.abort();
        }
    }

    /// The service is back: the proxy listens on its port again.
    pub async fn restore(&self) {
        // The aborted accept loop drops its listener as it ends: retry until the port is free.
        for _ in 0..100 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                self.serve(listener);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the proxy could not listen on {} again", self.addr);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
