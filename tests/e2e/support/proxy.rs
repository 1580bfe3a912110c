//! A TCP proxy in front of the shared Synapse that a test can cut and restore, so the bot sees
//! what a homeserver restart or a network failure looks like without disturbing other tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use url::Url;

pub struct Proxy {
    url: Url,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target` (host:port).
    pub async fn start(target: &Url) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let upstream = format!(
            "{}:{}",
            target.host_str().expect("host"),
            target.port_or_known_default().expect("port")
        );
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (up2, conns) = (up.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if !up2.load(Ordering::SeqCst) {
                    // Down: refuse by closing at once.
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let handle = tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = copy_bidirectional(&mut client, &mut server).await;
                });
                conns
                    .lock()
                    .expect("connections")
                    .push(handle.abort_handle());
            }
        });
        Proxy {
            url: Url::parse(&format!("http://127.0.0.1:{port}")).expect("url"),
            up,
            connections,
            task,
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Drops every open connection and refuses new ones, as a stopped homeserver would.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.connections.lock().expect("connections").drain(..) {
            c.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
