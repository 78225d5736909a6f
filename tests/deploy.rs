//! The deployment files (`Dockerfile`, `deploy/compose.yaml`, `deploy/nats/`,
//! `deploy/k8s/`) checked for what can be checked without Docker or Kubernetes: they
//! parse; every environment variable they set is one the service reads, and the real
//! binary accepts their values (`tradpal config show`, exit 0); ports, probes, node
//! names, NATS addresses and volumes agree with each other and with the configuration;
//! the NATS configuration passes `nats-server -t`; the image's command and health check
//! are commands the binary has, and the health check answers for a real service.

// Test code: a deadline against a real process.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde::Deserialize;
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every document of a YAML file, with `<<` merge keys applied.
fn yaml_docs(path: &str) -> Vec<Value> {
    let text = read(path);
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| {
            let mut v = Value::deserialize(doc).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
            v.apply_merge().unwrap_or_else(|e| panic!("{path}: merge keys: {e}"));
            v
        })
        .collect()
}
fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn known_variables() -> BTreeSet<&'static str> {
    tradpal_config::ENV_VARS.iter().map(|v| v.name).collect()
}

/// Test values for the secrets the files take from outside (compose `${VAR:?...}`,
/// Kubernetes `secretKeyRef`).
const TEST_API_KEYS: &str = "deploy-test-key-0123456789:admin";
const TEST_JWT_SECRET: &str = "deploy-test-jwt-secret-0123456789abcdef0123456789";

/// `tradpal config show` with exactly this environment: the settings as JSON, or a
/// panic naming the file and the binary's complaint.
fn config_with(file: &str, env: &BTreeMap<String, String>) -> serde_json::Value {
    let known = known_variables();
    for name in env.keys() {
        assert!(known.contains(name.as_str()), "{file} sets {name}, which the service does not read");
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (code, out, err) = run_cli(&["config", "show"], &pairs);
    assert_eq!(code, 0, "{file}: the binary refuses this environment: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("config show: {e}: {out}"))
}

/// The Dockerfile's instructions (continuation lines joined) of its last stage.
fn runtime_stage() -> Vec<(String, String)> {
    let text = read("Dockerfile").replace("\\\n", " ");
    let mut stage = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (op, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if op.eq_ignore_ascii_case("FROM") {
            stage.clear();
        }
        stage.push((op.to_ascii_uppercase(), rest.trim().to_string()));
    }
    stage
}

fn exec_form(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not an exec-form JSON array: {text}: {e}"))
}

fn instruction<'a>(stage: &'a [(String, String)], op: &str) -> &'a str {
    stage.iter().rev().find(|(o, _)| o == op).map(|(_, r)| r.as_str()).unwrap_or_else(|| panic!("no {op} in the runtime stage"))
}

/// `ENV A=1 B=2` pairs of the runtime stage.
fn image_env(stage: &[(String, String)]) -> BTreeMap<String, String> {
    stage
        .iter()
        .filter(|(o, _)| o == "ENV")
        .flat_map(|(_, r)| r.split_whitespace().map(|kv| kv.split_once('=').expect("ENV KEY=VALUE")))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_image_runs_the_binary_as_non_root_with_a_health_check_it_has() {
    let dockerfile = read("Dockerfile");
    // The shipped build: Cargo.toml's `dist` profile (the release one with LTO) unless
    // the builder asks for another, copied from where that profile writes it.
    assert!(dockerfile.contains("\nARG PROFILE=dist\n"), "the dist profile by default");
    assert!(dockerfile.contains(r#"cargo build --profile "$PROFILE" --locked --bin tradpal"#), "the build stage builds the binary");
    assert!(dockerfile.contains(r#"cp "target/$PROFILE/tradpal" "#), "the image gets the binary the build stage built");
    let manifest = read("Cargo.toml");
    let dist = manifest.split("[profile.dist]").nth(1).expect("Cargo.toml has a dist profile");
    let dist = dist.split("\n[").next().unwrap();
    assert!(dist.contains("inherits = \"release\"") && dist.contains("lto = \"fat\""), "dist is release with LTO: {dist}");
    assert!(dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")) >= 2, "multi-stage");
    let stage = runtime_stage();
    let from = instruction(&stage, "FROM");
    assert!(from.contains("-slim") || from.contains("distroless"), "a small runtime base: {from}");
    let user = instruction(&stage, "USER");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "0" && uid != "root", "USER {user}: not root");

    // ENTRYPOINT + CMD is a command the binary has (clap accepts it with --help).
    let mut command = exec_form(instruction(&stage, "ENTRYPOINT"));
    command.extend(exec_form(instruction(&stage, "CMD")));
    assert_eq!(command[0], "tradpal", "the entry point is the binary");
    let mut help: Vec<&str> = command[1..].iter().map(String::as_str).collect();
    help.push("--help");
    let (code, _, err) = run_cli(&help, &[]);
    assert_eq!(code, 0, "`{}` is not a command of the binary: {err}", command.join(" "));
    assert_eq!(command[1], "serve");

    // The image's environment is accepted as is (API keys come from the operator).
    let mut env = image_env(&stage);
    let port = env["TRADING_SERVICE_PORT"].clone();
    assert_eq!(instruction(&stage, "EXPOSE"), port, "EXPOSE is the service's port");
    env.insert("TRADPAL_API_KEYS".into(), TEST_API_KEYS.into());
    let shown = config_with("Dockerfile", &env);
    assert_eq!(shown["service"]["port"].to_string(), port, "{shown}");
    assert!(dockerfile.contains(&format!("VOLUME [\"{}\"]", env["TRADPAL_DATA_DIR"])), "the data directory is a volume");

    // The health check is the binary's own probe.
    let healthcheck = instruction(&stage, "HEALTHCHECK");
    let probe = exec_form(healthcheck.split_once("CMD").expect("HEALTHCHECK ... CMD [...]").1.trim());
    assert_eq!(probe[..2], ["tradpal", "probe"], "{healthcheck}");
}

/// `tradpal probe`: 0 for a live (and, with --ready, ready) service, 1 for none.
#[test]
fn the_probe_answers_for_a_real_service_and_fails_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (code, out, err) = run_cli(&["probe", "--url", &server.base], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"ok\""), "{out}");
    // Readiness waits for every actor: poll briefly.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (code, out, err) = run_cli(&["probe", "--ready", "--url", &server.base], &[]);
        if code == 0 {
            assert!(out.contains("\"ready\""), "{out}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready: {out}{err}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let port = server.base.rsplit(':').next().unwrap().to_string();
    drop(server);
    let (code, _, err) = run_cli(&["probe", "--url", &format!("http://127.0.0.1:{port}")], &[]);
    assert_eq!(code, 1, "nothing listens any more: {err}");
    assert!(err.contains("no answer from"), "{err}");
}

/// `${VAR:?message}` and `${VAR}` of a compose file, with the test secrets.
fn substitute(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').expect("closing brace") + i;
        let name = rest[i + 2..end].split([':', '-', '?']).next().unwrap();
        out.push_str(match name {
            "TRADPAL_API_KEYS" => TEST_API_KEYS,
            "TRADPAL_JWT_SECRET" => TEST_JWT_SECRET,
            other => panic!("compose reads ${{{other}}}: add a test value"),
        });
        rest = &rest[end + 1..];
    }
    out + rest
}

fn env_map(v: &Value) -> BTreeMap<String, String> {
    v.as_mapping().map(|m| m.iter().map(|(k, v)| (s(k), substitute(&s(v)))).collect()).unwrap_or_default()
}

/// (host, port) of every server of a NATS_URL list.
fn nats_servers(url: &str) -> Vec<(String, u16)> {
    url.split(',')
        .map(|u| {
            let hostport = u.trim().split_once("://").expect("scheme://host:port").1;
            let (h, p) = hostport.rsplit_once(':').expect("host:port");
            (h.to_string(), p.parse().expect("port"))
        })
        .collect()
}

/// A `listen: host:port` line of the NATS config (`scope`: the block it is in, or top).
fn nats_listen_port(conf: &str, block: Option<&str>) -> u16 {
    let body = match block {
        None => conf.split('{').next().unwrap(),
        Some(b) => conf.split(&format!("{b} {{")).nth(1).expect("block").split('}').next().unwrap(),
    };
    let line = body.lines().map(str::trim).find(|l| l.starts_with("listen:")).expect("listen line");
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

#[test]
fn compose_runs_three_clustered_nats_servers_and_two_nodes_that_agree_with_the_config() {
    let doc = yaml_docs("deploy/compose.yaml").remove(0);
    let services = doc["services"].as_mapping().expect("services");
    let conf = read("deploy/nats/cluster.conf");
    let (client_port, route_port) = (nats_listen_port(&conf, None), nats_listen_port(&conf, Some("cluster")));
    assert!(conf.contains("sync_interval: always"), "a JetStream ack means fsynced");

    let mut nats = BTreeSet::new();
    let mut nodes = BTreeMap::new();
    for (name, svc) in services {
        let name = s(name);
        let env = env_map(&svc["environment"]);
        if s(&svc["image"]).starts_with("nats:") {
            assert_eq!(env["NATS_SERVER_NAME"], name, "server_name is the service name");
            // Its configuration is the mounted file, valid for nats-server with this env.
            let volumes: Vec<String> = svc["volumes"].as_sequence().unwrap().iter().map(s).collect();
            assert!(volumes.iter().any(|v| v.starts_with("./nats/cluster.conf:/etc/nats/cluster.conf")), "{volumes:?}");
            assert!(volumes.iter().any(|v| v.ends_with(":/data")), "a volume for the JetStream store: {volumes:?}");
            let out = std::process::Command::new("nats-server")
                .args(["-t", "-c"])
                .arg(root().join("deploy/nats/cluster.conf"))
                .env("NATS_SERVER_NAME", &env["NATS_SERVER_NAME"])
                .env("NATS_ROUTES", &env["NATS_ROUTES"])
                .output()
                .expect("nats-server on PATH (scripts/test.sh installs it)");
            assert!(out.status.success(), "nats-server -t for {name}: {}", String::from_utf8_lossy(&out.stderr));
            nats.insert((name, env["NATS_ROUTES"].clone()));
        } else {
            nodes.insert(name, (env, svc.clone()));
        }
    }
    assert_eq!(nats.len(), 3, "three nats-servers (JetStream needs a majority)");
    let nats_names: BTreeSet<String> = nats.iter().map(|(n, _)| n.clone()).collect();
    for (name, routes) in &nats {
        let want: BTreeSet<String> = nats_names.iter().filter(|n| *n != name).map(|n| format!("nats-route://{n}:{route_port}")).collect();
        let got: BTreeSet<String> = routes.trim_matches(['[', ']']).split(',').map(|r| r.trim().to_string()).collect();
        assert_eq!(got, want, "{name} routes to the other two");
    }

    assert_eq!(nodes.len(), 2, "two tradpal nodes");
    let mut node_names = BTreeSet::new();
    let mut host_ports = BTreeSet::new();
    for (name, (env, svc)) in &nodes {
        let shown = config_with(&format!("deploy/compose.yaml {name}"), env);
        assert_eq!(shown["nats_replicas"], 3, "{name}: R3 streams on a 3-server cluster");
        assert!(node_names.insert(shown["node"].as_str().expect("TRADPAL_NODE").to_string()), "{name}: node names differ");
        let servers = nats_servers(&env["NATS_URL"]);
        let hosts: BTreeSet<String> = servers.iter().map(|(h, _)| h.clone()).collect();
        assert_eq!(hosts, nats_names, "{name}: NATS_URL lists every nats-server");
        assert!(servers.iter().all(|(_, p)| *p == client_port), "{name}: NATS client port {client_port}");
        let port = shown["service"]["port"].to_string();
        let mapping = s(&svc["ports"][0]);
        let (host_port, container_port) = mapping.split_once(':').unwrap();
        assert_eq!(container_port, port, "{name}: the published port is the service's");
        assert!(host_ports.insert(host_port.to_string()), "{name}: host ports differ");
        let data_dir = shown["data_dir"].as_str().expect("data_dir").to_string();
        let volumes: Vec<String> = svc["volumes"].as_sequence().unwrap().iter().map(s).collect();
        assert!(volumes.iter().any(|v| v.ends_with(&format!(":{data_dir}"))), "{name}: the data directory is a volume");
        assert_eq!(s(&svc["build"]["dockerfile"]), "Dockerfile");
        assert!(Path::new(&root().join("deploy").join(s(&svc["build"]["context"])).join("Dockerfile")).exists());
    }
}

#[test]
fn kubernetes_runs_a_statefulset_whose_readiness_is_the_leader_role() {
    let mut objects = BTreeMap::new();
    for file in ["deploy/k8s/statefulset.yaml", "deploy/k8s/service.yaml", "deploy/k8s/secret.example.yaml"] {
        for doc in yaml_docs(file) {
            objects.insert((s(&doc["kind"]), s(&doc["metadata"]["name"])), doc);
        }
    }
    let kustomization = yaml_docs("deploy/k8s/kustomization.yaml").remove(0);
    for r in kustomization["resources"].as_sequence().unwrap() {
        assert!(root().join("deploy/k8s").join(s(r)).exists(), "kustomization lists {r:?}");
    }
    let sts = &objects[&("StatefulSet".to_string(), "tradpal".to_string())];
    let pod = &sts["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert_eq!(&sts["spec"]["selector"]["matchLabels"], labels);
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["args"][0], "serve");
    let security = &pod["spec"]["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    let stage = runtime_stage();
    assert_eq!(s(&security["runAsUser"]), instruction(&stage, "USER").split(':').next().unwrap(), "the image's user");

    // Environment: literal values, the pod name as the node name, secrets from the Secret.
    let secret = &objects[&("Secret".to_string(), "tradpal-secrets".to_string())];
    let mut env = BTreeMap::new();
    for e in container["env"].as_sequence().unwrap() {
        let value = if let Some(v) = e.get("value") {
            s(v)
        } else if let Some(r) = e["valueFrom"].get("secretKeyRef") {
            assert_eq!(s(&r["name"]), "tradpal-secrets");
            assert!(secret["stringData"].get(s(&r["key"])).is_some(), "the Secret has {}", s(&r["key"]));
            (if s(&e["name"]) == "TRADPAL_API_KEYS" { TEST_API_KEYS } else { TEST_JWT_SECRET }).to_string()
        } else {
            assert_eq!(s(&e["valueFrom"]["fieldRef"]["fieldPath"]), "metadata.name");
            format!("{}-0", s(&sts["metadata"]["name"])) // the first pod's name
        };
        env.insert(s(&e["name"]), value);
    }
    let shown = config_with("deploy/k8s/statefulset.yaml", &env);
    assert_eq!(shown["node"], "tradpal-0", "the pod name is a valid node name");
    assert_eq!(shown["nats_replicas"], 3);

    // Ports and probes: readiness on /ready (the leader role), liveness on /health.
    let port = shown["service"]["port"].as_u64().unwrap();
    let named = &container["ports"][0];
    assert_eq!(named["containerPort"].as_u64(), Some(port));
    let port_name = s(&named["name"]);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(s(&container[probe]["httpGet"]["port"]), port_name, "{probe} port");
    }

    // The journal on a persistent volume at the data directory.
    let claim = s(&sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]);
    let mounts = container["volumeMounts"].as_sequence().unwrap();
    assert!(
        mounts.iter().any(|m| s(&m["name"]) == claim && Some(s(&m["mountPath"]).as_str()) == shown["data_dir"].as_str()),
        "the claim {claim} is mounted at the data directory"
    );

    // Services: the client one selects ready pods (the leader); the headless one governs.
    let client = &objects[&("Service".to_string(), "tradpal".to_string())];
    assert_eq!(&client["spec"]["selector"], labels);
    assert_eq!(s(&client["spec"]["ports"][0]["targetPort"]), port_name);
    let headless = &objects[&("Service".to_string(), s(&sts["spec"]["serviceName"]))];
    assert_eq!(headless["spec"]["clusterIP"], "None");

    // NATS: the chart's pods nats-0..N-1 behind nats-headless, R3 with N = 3.
    let values = yaml_docs("deploy/k8s/nats-values.yaml").remove(0);
    assert_eq!(values["config"]["cluster"]["enabled"], true);
    let replicas = values["config"]["cluster"]["replicas"].as_u64().unwrap();
    assert_eq!(replicas, 3);
    assert_eq!(values["config"]["jetstream"]["enabled"], true);
    let hosts: BTreeSet<String> = nats_servers(&env["NATS_URL"]).into_iter().map(|(h, _)| h).collect();
    let want: BTreeSet<String> = (0..replicas).map(|i| format!("nats-{i}.nats-headless")).collect();
    assert_eq!(hosts, want, "NATS_URL lists every server of the chart");
}
