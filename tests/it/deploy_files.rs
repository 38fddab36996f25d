//! The files under `deploy/` parse, and say what the README promises: every YAML document
//! (docker-compose and the Kubernetes manifests) is valid YAML, the containers run the herald
//! image with the right subcommand, the API is probed on `/healthz` and `/readyz`, the worker
//! stops gracefully, the Secret holds placeholders only, KEDA scales the worker Deployment on
//! the exact Redis list apalis-redis keeps waiting jobs in, and the Dockerfile is a
//! multi-stage build that runs as a non-root user. No cluster or Docker is needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use herald_queue::{PUBLISH_QUEUE, RedisKeys};
use serde::Deserialize;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read deploy/") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Every document of a (multi-document) YAML file, as JSON values.
fn parse_yaml(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read YAML file");
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(&text) {
        let value = serde_norway::Value::deserialize(doc)
            .unwrap_or_else(|err| panic!("{}: invalid YAML: {err}", path.display()));
        if value.is_null() {
            continue; // an empty document (e.g. a trailing `---`)
        }
        docs.push(
            serde_json::to_value(&value)
                .unwrap_or_else(|err| panic!("{}: not JSON-like: {err}", path.display())),
        );
    }
    docs
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string at {pointer} in {value}"))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().expect("a string").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The Kubernetes manifests, by `kind/name`.
fn manifests() -> BTreeMap<String, Value> {
    let mut by_name = BTreeMap::new();
    for path in files_under(&deploy_dir().join("k8s")) {
        assert!(
            is_yaml(&path),
            "{}: deploy/k8s holds YAML only",
            path.display()
        );
        let docs = parse_yaml(&path);
        assert!(!docs.is_empty(), "{}: no documents", path.display());
        for doc in docs {
            let kind = str_at(&doc, "/kind").to_owned();
            let name = str_at(&doc, "/metadata/name").to_owned();
            str_at(&doc, "/apiVersion");
            assert!(
                doc.pointer("/metadata/namespace").is_none(),
                "{}: {kind}/{name} names a namespace; manifests are namespace-agnostic",
                path.display()
            );
            let key = format!("{kind}/{name}");
            assert!(
                by_name.insert(key.clone(), doc).is_none(),
                "{key} is defined twice"
            );
        }
    }
    by_name
}

fn get<'a>(manifests: &'a BTreeMap<String, Value>, key: &str) -> &'a Value {
    manifests
        .get(key)
        .unwrap_or_else(|| panic!("deploy/k8s has no {key}; it has {:?}", manifests.keys()))
}

/// The one container of a pod template, checked to run the herald image with `subcommand`
/// and to take its environment from the ConfigMap and the Secret.
fn herald_container<'a>(pod_spec: &'a Value, subcommand: &str) -> &'a Value {
    let containers = pod_spec["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "one container per pod: {pod_spec}");
    let container = &containers[0];
    let image = str_at(container, "/image");
    let repository = image.rsplit_once(':').map_or(image, |(repo, _)| repo);
    assert!(
        repository.rsplit('/').next() == Some("herald"),
        "container runs the herald image, not {image}"
    );
    // The image's ENTRYPOINT is the binary; `command` may only restate it.
    let command = strings(container.get("command"));
    assert!(
        command.is_empty() || command == ["/usr/local/bin/herald"],
        "unexpected command {command:?}"
    );
    let args = strings(container.get("args"));
    assert_eq!(
        args.first().map(String::as_str),
        Some(subcommand),
        "args {args:?}"
    );
    let env_from: Vec<&str> = container["envFrom"]
        .as_array()
        .expect("envFrom")
        .iter()
        .filter_map(|source| {
            source
                .pointer("/configMapRef/name")
                .or_else(|| source.pointer("/secretRef/name"))
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(env_from, ["herald-config", "herald-secrets"]);
    container
}

#[test]
fn every_yaml_file_under_deploy_parses() {
    let yaml: Vec<PathBuf> = files_under(&deploy_dir())
        .into_iter()
        .filter(|path| is_yaml(path))
        .collect();
    assert!(
        yaml.len() >= 7,
        "expected compose and k8s files, found {yaml:?}"
    );
    for path in yaml {
        assert!(!parse_yaml(&path).is_empty(), "{}: empty", path.display());
    }
}

#[test]
fn compose_runs_api_worker_migrate_and_the_simulator() {
    let docs = parse_yaml(&deploy_dir().join("docker-compose.yml"));
    assert_eq!(docs.len(), 1);
    let services = &docs[0]["services"];
    for (service, subcommand) in [
        ("migrate", "migrate"),
        ("api", "serve"),
        ("worker", "work"),
        ("sim", "sim"),
    ] {
        let command = strings(services[service].get("command"));
        assert_eq!(
            command.first().map(String::as_str),
            Some(subcommand),
            "{service}"
        );
        assert_eq!(
            str_at(&services[service], "/build/dockerfile"),
            "deploy/Dockerfile"
        );
    }
    for service in ["api", "worker", "migrate"] {
        let env = &services[service]["environment"];
        for key in ["DATABASE_URL", "REDIS_URL", "HERALD_ENCRYPTION_KEYS"] {
            assert!(env.get(key).is_some(), "{service} lacks {key}");
        }
    }
    // `herald sim` reads no Herald configuration; it runs only under its profile.
    assert!(services["sim"].get("environment").is_none());
    assert_eq!(strings(services["sim"].get("profiles")), ["sim"]);
    assert!(services["worker"].get("stop_grace_period").is_some());
    assert!(services.get("postgres").is_some() && services.get("redis").is_some());
}

#[test]
fn api_deployment_and_service() {
    let manifests = manifests();
    let api = get(&manifests, "Deployment/herald-api");
    let pod = &api["spec"]["template"]["spec"];
    let container = herald_container(pod, "serve");
    assert!(strings(container.get("args")).contains(&"0.0.0.0:8080".to_owned()));
    assert_eq!(str_at(container, "/livenessProbe/httpGet/path"), "/healthz");
    assert_eq!(str_at(container, "/readinessProbe/httpGet/path"), "/readyz");
    assert_eq!(container["ports"][0]["containerPort"], 8080);
    assert_eq!(
        api["spec"]["selector"]["matchLabels"],
        api["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);

    let service = get(&manifests, "Service/herald-api");
    assert_eq!(
        service["spec"]["selector"],
        api["spec"]["template"]["metadata"]["labels"]
    );
    let target = &service["spec"]["ports"][0]["targetPort"];
    assert!(
        target == &container["ports"][0]["name"]
            || target == &container["ports"][0]["containerPort"],
        "the Service targets the API's port"
    );
}

#[test]
fn worker_stops_gracefully_on_sigterm() {
    let manifests = manifests();
    let worker = get(&manifests, "Deployment/herald-worker");
    let pod = &worker["spec"]["template"]["spec"];
    let container = herald_container(pod, "work");
    assert_eq!(strings(container.get("args")), ["work"]);
    // SIGTERM goes straight to herald (PID 1): no preStop hook.
    assert!(container.pointer("/lifecycle/preStop").is_none());
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    assert!(grace >= 30, "terminationGracePeriodSeconds {grace} < 30");
    // ...and longer than the worker's own drain time.
    let config = get(&manifests, "ConfigMap/herald-config");
    let drain: u64 = str_at(&config["data"], "/HERALD_WORKER__SHUTDOWN_GRACE_SECS")
        .parse()
        .expect("a number of seconds");
    assert!(
        grace > drain,
        "grace {grace} s must exceed the drain {drain} s"
    );
    assert_eq!(
        worker["spec"]["selector"]["matchLabels"],
        worker["spec"]["template"]["metadata"]["labels"]
    );
}

#[test]
fn migration_job_runs_herald_migrate() {
    let manifests = manifests();
    let job = get(&manifests, "Job/herald-migrate");
    let pod = &job["spec"]["template"]["spec"];
    herald_container(pod, "migrate");
    assert_ne!(pod["restartPolicy"], "Always");
}

#[test]
fn configmap_sets_production() {
    let manifests = manifests();
    let data = &get(&manifests, "ConfigMap/herald-config")["data"];
    assert_eq!(str_at(data, "/HERALD_ENV"), "production");
    assert!(str_at(data, "/HERALD_PUBLIC_URL").starts_with("https://"));
    assert!(!str_at(data, "/HERALD_REDIS_PREFIX").is_empty());
    for (key, value) in data.as_object().expect("data") {
        assert!(value.is_string(), "ConfigMap values are strings: {key}");
    }
}

#[test]
fn secret_holds_placeholders_only() {
    let manifests = manifests();
    let secret = get(&manifests, "Secret/herald-secrets");
    assert!(
        secret.get("data").is_none(),
        "base64 `data` hides what is committed; use stringData placeholders"
    );
    let data = secret["stringData"].as_object().expect("stringData");
    for key in [
        "HERALD_ENCRYPTION_KEYS",
        "DATABASE_URL",
        "REDIS_URL",
        "TWITTER_CLIENT_SECRET",
        "LINKEDIN_CLIENT_SECRET",
        "LINKEDIN_COMPANY_CLIENT_SECRET",
        "FACEBOOK_CLIENT_SECRET",
    ] {
        assert!(data.contains_key(key), "the Secret lacks {key}");
    }
    for (key, value) in data {
        let value = value.as_str().expect("a string");
        assert!(
            value.contains("REPLACE_ME"),
            "{key} is not a placeholder: put REPLACE_ME in it"
        );
        // Nothing key- or token-like: no long run of base64/hex characters.
        let longest = value
            .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest < 24, "{key} looks like a real secret");
    }
}

#[test]
fn keda_scales_the_worker_on_the_waiting_list() {
    let manifests = manifests();
    let scaled = get(&manifests, "ScaledObject/herald-worker");
    assert_eq!(str_at(scaled, "/spec/scaleTargetRef/kind"), "Deployment");
    let target = str_at(scaled, "/spec/scaleTargetRef/name");
    get(&manifests, &format!("Deployment/{target}"));
    assert_eq!(target, "herald-worker");
    assert!(scaled["spec"]["minReplicaCount"].as_u64().unwrap_or(0) >= 1);

    let trigger = &scaled["spec"]["triggers"][0];
    assert_eq!(trigger["type"], "redis");
    // The key apalis-redis keeps due jobs in: `<queue>:active` under Herald's queue name.
    let prefix = str_at(
        &get(&manifests, "ConfigMap/herald-config")["data"],
        "/HERALD_REDIS_PREFIX",
    );
    let list = format!("{}:active", RedisKeys::new(prefix).queue(PUBLISH_QUEUE));
    assert_eq!(list, "{herald:queue:publish}:active");
    assert_eq!(str_at(trigger, "/metadata/listName"), list);
    let length: u64 = str_at(trigger, "/metadata/listLength")
        .parse()
        .expect("listLength is a number");
    assert!(length > 0);
    let auth = str_at(trigger, "/authenticationRef/name");
    get(&manifests, &format!("TriggerAuthentication/{auth}"));
}

#[test]
fn dockerfile_is_multi_stage_and_non_root() {
    let text = std::fs::read_to_string(deploy_dir().join("Dockerfile")).expect("Dockerfile");
    let instructions: Vec<(String, String)> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let (word, rest) = line.split_once(char::is_whitespace)?;
            Some((word.to_ascii_uppercase(), rest.trim().to_owned()))
        })
        .collect();
    let stages: Vec<&str> = instructions
        .iter()
        .filter(|(word, _)| word == "FROM")
        .map(|(_, rest)| rest.as_str())
        .collect();
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");
    let build_stage = stages[0]
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|pair| pair[0].eq_ignore_ascii_case("AS"))
        .map(|pair| pair[1].to_owned())
        .expect("the build stage is named (FROM ... AS name)");
    assert!(
        instructions.iter().any(
            |(word, rest)| word == "COPY" && rest.starts_with(&format!("--from={build_stage}"))
        ),
        "the runtime stage copies the binary from the build stage"
    );
    // Everything after the last FROM is the runtime image.
    let last_from = instructions
        .iter()
        .rposition(|(word, _)| word == "FROM")
        .expect("FROM");
    let runtime = &instructions[last_from..];
    let user = runtime
        .iter()
        .rev()
        .find(|(word, _)| word == "USER")
        .map(|(_, rest)| rest.as_str())
        .expect("the runtime stage sets USER");
    let user = user.split(':').next().unwrap_or(user);
    assert!(
        user != "root" && user != "0",
        "the runtime image runs as root"
    );
    assert!(
        runtime
            .iter()
            .any(|(word, rest)| word == "ENTRYPOINT" && rest.contains("herald")),
        "ENTRYPOINT is the herald binary (so SIGTERM reaches it as PID 1)"
    );
    assert!(
        runtime
            .iter()
            .any(|(word, rest)| word == "ENV" && rest.contains("HERALD_ENV=production"))
    );
}
