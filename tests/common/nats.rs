//! A real nats-server for tests: JetStream on, a free loopback port, a temporary store
//! directory. Fails loudly when nats-server is missing (./scripts/test.sh installs it).
#![allow(dead_code)]

use super::{holds, wait_until, wait_until_blocking};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    pub store: PathBuf,
    _dir: Option<tempfile::TempDir>,
    /// `(cert, key)` PEM files: the server requires TLS (`tls://` URLs).
    tls: Option<(PathBuf, PathBuf)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(None)
    }

    /// A server that requires TLS with this certificate and key.
    pub fn start_tls(cert: PathBuf, key: PathBuf) -> NatsServer {
        NatsServer::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(PathBuf, PathBuf)>) -> NatsServer {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().to_path_buf();
        let mut server = NatsServer { child: None, port: free_port(), store, _dir: Some(dir), tls };
        // A free port can be taken by another test between the probe and the bind: then
        // this server exits at once (and the port answers for the other one), so it is
        // started again on another port.
        for _ in 0..5 {
            if server.try_launch() {
                return server;
            }
            server.kill();
            server.port = free_port();
        }
        panic!("nats-server did not stay up on 5 ports in a row");
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "tls" } else { "nats" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Starts (or restarts, on the same port and store) the server process.
    pub fn launch(&mut self) {
        assert!(self.try_launch(), "nats-server exited at start instead of listening on {}", self.port);
    }

    /// Starts the server process; true once it listens, false if it exited (its port was
    /// taken).
    fn try_launch(&mut self) -> bool {
        // sync_interval: always makes a publish ack mean "fsynced": without it a killed
        // nats-server can lose acknowledged messages (see STACK.md), which no consumer
        // could recover. Production deployments that need the guarantee set it too.
        let mut text = format!(
            "listen: 127.0.0.1:{}\njetstream {{\n  store_dir: {:?}\n  sync_interval: always\n}}\n",
            self.port,
            self.store.join("js")
        );
        if let Some((cert, key)) = &self.tls {
            text.push_str(&format!("tls {{\n  cert_file: {cert:?}\n  key_file: {key:?}\n}}\n"));
        }
        let (child, listening) = spawn_listening(&self.store, text, self.port, "nats-server");
        self.child = Some(child);
        listening
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Longest wait for a started nats-server to listen (or exit).
pub const NATS_START_WAIT_MS: u64 = 20_000;
/// Longest wait for the service to create its streams after it starts.
pub const STREAM_WAIT_MS: u64 = 20_000;
/// Longest wait for the market-data consumer to drain: a lost ack is redelivered after
/// the service's ACK_WAIT_MS (5 s), then acked again.
pub const DRAIN_WAIT_MS: u64 = 30_000;

/// Writes `conf` (plus a ports file directory) into `store`, starts nats-server on it,
/// and waits until it listens (true) or exits (false: its port was taken).
///
/// The signal is the ports file nats-server writes once its listeners are up, in a
/// directory fresh for this start: a connection to the port alone could reach another
/// process that holds it.
fn spawn_listening(store: &Path, mut conf: String, port: u16, what: &str) -> (Child, bool) {
    let ports_dir = store.join("ports");
    let _ = std::fs::remove_dir_all(&ports_dir);
    std::fs::create_dir_all(&ports_dir).unwrap();
    conf.push_str(&format!("ports_file_dir: {ports_dir:?}\n"));
    let conf_path = store.join("nats.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut child = Command::new("nats-server")
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what} ({e}): run ./scripts/test.sh, which installs it"));
    let listening = wait_until_blocking(&format!("{what} to listen on {port} or exit"), NATS_START_WAIT_MS, || {
        if std::fs::read_dir(&ports_dir).unwrap().next().is_some() {
            return Ok(true);
        }
        match child.try_wait() {
            Ok(Some(_)) => Ok(false),
            _ => Err("no ports file yet, still running".to_string()),
        }
    });
    // The ports file comes with the listeners; the port answering is checked as well.
    if listening {
        wait_until_blocking(&format!("{what} to accept on {port}"), NATS_START_WAIT_MS, || {
            TcpStream::connect(("127.0.0.1", port)).map(drop).map_err(|e| e.to_string())
        });
    }
    (child, listening)
}

/// Waits until the service has created the JetStream stream `name`.
pub async fn wait_stream(js: &async_nats::jetstream::Context, name: &str) {
    wait_until(&format!("stream {name}"), STREAM_WAIT_MS, || async move { js.get_stream(name).await.map(drop).map_err(|e| e.to_string()) })
        .await;
}

/// Waits until the service's market-data consumer has been sent every message in the
/// stream and has acked each: from then on nothing can be redelivered, so a count of
/// stored bars is final.
pub async fn wait_ingest_drained(js: &async_nats::jetstream::Context) {
    let (stream, consumer) = (tradpal_messages::subjects::MD_STREAM, tradpal_messages::subjects::MD_INGEST_CONSUMER);
    wait_until("the market-data consumer drained and acked", DRAIN_WAIT_MS, || async move {
        let s = js.get_stream(stream).await.map_err(|e| e.to_string())?;
        let info = s.consumer_info(consumer).await.map_err(|e| e.to_string())?;
        holds(info.num_pending == 0 && info.num_ack_pending == 0, || {
            format!("{} pending, {} unacked", info.num_pending, info.num_ack_pending)
        })
    })
    .await;
}

/// Three nats-servers on loopback forming one JetStream cluster: distinct client and
/// cluster ports, routes to each other, each with its own store and `sync_interval:
/// always`. `url()` lists all three, as a deployment's `NATS_URL` would.
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
    cluster_ports: Vec<u16>,
}

/// Longest wait for the test cluster to form and elect its meta leader.
pub const CLUSTER_FORM_WAIT_MS: u64 = 30_000;

/// Servers in the test cluster (JetStream needs a majority: 3 tolerates one down).
pub const CLUSTER_NODES: usize = 3;

impl NatsCluster {
    pub fn start() -> NatsCluster {
        // As `NatsServer::start`: a free port can be taken by another test between the
        // probe and the bind, and then a node exits at once; the cluster starts again on
        // fresh ports (its nodes name each other's ports, so all of them change).
        for _ in 0..5 {
            let mut cluster = NatsCluster::on_free_ports();
            if (0..CLUSTER_NODES).all(|i| cluster.try_launch(i)) {
                return cluster;
            }
            // Dropping the cluster kills the nodes that did start.
        }
        panic!("the nats cluster did not stay up on 5 sets of ports in a row");
    }

    /// A cluster not started yet, on distinct free client and cluster ports.
    fn on_free_ports() -> NatsCluster {
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 2 * CLUSTER_NODES {
            let p = free_port();
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
        let cluster_ports = ports[CLUSTER_NODES..].to_vec();
        let nodes = (0..CLUSTER_NODES)
            .map(|i| {
                let dir = tempfile::tempdir().unwrap();
                NatsServer { child: None, port: ports[i], store: dir.path().to_path_buf(), _dir: Some(dir), tls: None }
            })
            .collect();
        NatsCluster { nodes, cluster_ports }
    }

    pub fn url(&self) -> String {
        self.nodes.iter().map(|n| n.url()).collect::<Vec<_>>().join(",")
    }

    /// Starts (or restarts, same ports and store) server `i`.
    pub fn launch(&mut self, i: usize) {
        let port = self.nodes[i].port;
        assert!(self.try_launch(i), "nats-server n{i} exited at start instead of listening on {port}");
    }

    /// Starts server `i`; true once it listens, false if it exited (a port was taken).
    fn try_launch(&mut self, i: usize) -> bool {
        let routes: Vec<String> =
            (0..CLUSTER_NODES).filter(|&j| j != i).map(|j| format!("nats-route://127.0.0.1:{}", self.cluster_ports[j])).collect();
        let node = &mut self.nodes[i];
        let text = format!(
            "server_name: n{i}\nlisten: 127.0.0.1:{}\njetstream {{\n  store_dir: {:?}\n  sync_interval: always\n}}\n\
             cluster {{\n  name: tradpal-test\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
            node.port,
            node.store.join("js"),
            self.cluster_ports[i],
            routes.join(", ")
        );
        let (child, listening) = spawn_listening(&node.store, text, node.port, &format!("nats-server n{i}"));
        node.child = Some(child);
        listening
    }

    /// Waits until JetStream answers with an R3 stream (the cluster formed and elected
    /// its meta leader), creating and deleting a probe stream.
    pub async fn wait_ready(&self) {
        let nc = async_nats::connect(self.url().split(',').collect::<Vec<_>>()).await.unwrap();
        let js = &async_nats::jetstream::new(nc);
        wait_until("the nats cluster to form (an R3 probe stream)", CLUSTER_FORM_WAIT_MS, || async move {
            let config = async_nats::jetstream::stream::Config {
                name: "PROBE".into(),
                subjects: vec!["probe".into()],
                num_replicas: CLUSTER_NODES,
                ..Default::default()
            };
            js.get_or_create_stream(config).await.map(drop).map_err(|e| e.to_string())
        })
        .await;
        let _ = js.delete_stream("PROBE").await;
    }
}
