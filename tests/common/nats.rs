//! A real nats-server for tests: JetStream on, a free loopback port, a temporary store
//! directory. Fails loudly when nats-server is missing (./scripts/test.sh installs it).
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
            server.launch();
            std::thread::sleep(Duration::from_millis(100));
            if server.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None))) {
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
        // sync_interval: always makes a publish ack mean "fsynced": without it a killed
        // nats-server can lose acknowledged messages (see STACK.md), which no consumer
        // could recover. Production deployments that need the guarantee set it too.
        let conf = self.store.join("nats.conf");
        let mut text = format!(
            "listen: 127.0.0.1:{}\njetstream {{\n  store_dir: {:?}\n  sync_interval: always\n}}\n",
            self.port,
            self.store.join("js")
        );
        if let Some((cert, key)) = &self.tls {
            text.push_str(&format!("tls {{\n  cert_file: {cert:?}\n  key_file: {key:?}\n}}\n"));
        }
        std::fs::write(&conf, text).unwrap();
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nats-server ({e}): run ./scripts/test.sh, which installs it"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
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

/// Three nats-servers on loopback forming one JetStream cluster: distinct client and
/// cluster ports, routes to each other, each with its own store and `sync_interval:
/// always`. `url()` lists all three, as a deployment's `NATS_URL` would.
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
    cluster_ports: Vec<u16>,
}

/// Servers in the test cluster (JetStream needs a majority: 3 tolerates one down).
pub const CLUSTER_NODES: usize = 3;

impl NatsCluster {
    pub fn start() -> NatsCluster {
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
        let mut cluster = NatsCluster { nodes, cluster_ports };
        for i in 0..CLUSTER_NODES {
            cluster.launch(i);
        }
        cluster
    }

    pub fn url(&self) -> String {
        self.nodes.iter().map(|n| n.url()).collect::<Vec<_>>().join(",")
    }

    /// Starts (or restarts, same ports and store) server `i`.
    pub fn launch(&mut self, i: usize) {
        let routes: Vec<String> =
            (0..CLUSTER_NODES).filter(|&j| j != i).map(|j| format!("nats-route://127.0.0.1:{}", self.cluster_ports[j])).collect();
        let node = &mut self.nodes[i];
        let conf = node.store.join("nats.conf");
        let text = format!(
            "server_name: n{i}\nlisten: 127.0.0.1:{}\njetstream {{\n  store_dir: {:?}\n  sync_interval: always\n}}\n\
             cluster {{\n  name: tradpal-test\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
            node.port,
            node.store.join("js"),
            self.cluster_ports[i],
            routes.join(", ")
        );
        std::fs::write(&conf, text).unwrap();
        node.child = Some(
            Command::new("nats-server")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start nats-server ({e}): run ./scripts/test.sh, which installs it")),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", node.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server n{i} did not listen on {}", node.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until JetStream answers with an R3 stream (the cluster formed and elected
    /// its meta leader), creating and deleting a probe stream.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let nc = async_nats::connect(self.url().split(',').collect::<Vec<_>>()).await.unwrap();
        let js = async_nats::jetstream::new(nc);
        loop {
            let config = async_nats::jetstream::stream::Config {
                name: "PROBE".into(),
                subjects: vec!["probe".into()],
                num_replicas: CLUSTER_NODES,
                ..Default::default()
            };
            if js.get_or_create_stream(config).await.is_ok() {
                let _ = js.delete_stream("PROBE").await;
                return;
            }
            assert!(Instant::now() < deadline, "the nats cluster never formed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
