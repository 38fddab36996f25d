//! The files under `deploy/` parse, and say what the README promises: every YAML document
//! (docker-compose and the Kubernetes manifests) is valid YAML, the containers run the herald
//! image with the right subcommand, the API is probed on `/healthz` and `/readyz`, the worker
//! stops gracefully, the Secret holds placeholders only, KEDA scales the worker Deployment on
//! the exact Redis list apalis-redis keeps waiting jobs in, and the Dockerfile is a
//! multi-stage build that runs as a non-root user. No cluster or Docker is needed.
//!
//! Monitoring: the Grafana dashboards are well formed (title, uid, a `datasource` variable,
//! unique panel ids, a place and a query for every panel), the provisioning files are what
//! Grafana's file provisioning reads, every alert has a `for`, a severity and annotations that
//! say what to do, and every metric a dashboard or an alert names is one Herald exports,
//! scraped from a running `herald serve` and `herald work`: a renamed metric fails here
//! instead of silently emptying a panel or an alert.

use std::collections::{BTreeMap, BTreeSet};
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

fn dashboards() -> Vec<(PathBuf, Value)> {
    files_under(&deploy_dir().join("grafana/dashboards"))
        .into_iter()
        .map(|path| {
            assert_eq!(
                path.extension().and_then(|e| e.to_str()),
                Some("json"),
                "{}: deploy/grafana/dashboards holds dashboards as JSON only",
                path.display()
            );
            let text = std::fs::read_to_string(&path).expect("read a dashboard");
            let dashboard: Value = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{}: invalid JSON: {err}", path.display()));
            (path, dashboard)
        })
        .collect()
}

/// Every PromQL expression of the dashboards' panels, with where it is.
fn dashboard_expressions() -> Vec<(String, String)> {
    let mut expressions = Vec::new();
    for (path, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().into_iter().flatten() {
                expressions.push((
                    format!("{} panel {}", path.display(), panel["id"]),
                    str_at(target, "/expr").to_owned(),
                ));
            }
        }
    }
    expressions
}

/// The alert rules of deploy/prometheus/alerts.yml.
fn alert_rules() -> Vec<Value> {
    let docs = parse_yaml(&deploy_dir().join("prometheus/alerts.yml"));
    assert_eq!(docs.len(), 1);
    docs[0]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_array().expect("rules").clone())
        .collect()
}

/// The `herald_...` metric names an expression uses (label values such as `herald-api` use
/// a hyphen, so they are not mistaken for names).
fn herald_names(expression: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expression;
    while let Some(at) = rest.find("herald_") {
        let preceded = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if !preceded {
            names.insert(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    names
}

#[test]
fn grafana_dashboards_are_well_formed() {
    let dashboards = dashboards();
    assert!(
        dashboards.len() >= 2,
        "expected the dashboards, found {dashboards:?}"
    );
    let mut uids = BTreeSet::new();
    for (path, dashboard) in &dashboards {
        let at = path.display();
        assert!(!str_at(dashboard, "/title").is_empty(), "{at}: a title");
        let uid = str_at(dashboard, "/uid");
        assert!(
            !uid.is_empty()
                && uid.len() <= 40
                && uid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{at}: a stable uid of at most 40 letters, digits, - and _, not {uid:?}"
        );
        assert!(uids.insert(uid.to_owned()), "{at}: uid {uid} is used twice");
        assert!(
            dashboard.get("id").is_none_or(Value::is_null),
            "{at}: no numeric id (Grafana assigns it; the uid is what stays)"
        );
        let variables = dashboard["templating"]["list"]
            .as_array()
            .expect("templating");
        assert!(
            variables.iter().any(|v| v["name"] == "datasource"
                && v["type"] == "datasource"
                && v["query"] == "prometheus"),
            "{at}: a `datasource` variable of type datasource (prometheus)"
        );
        let panels = dashboard["panels"].as_array().expect("panels");
        assert!(!panels.is_empty(), "{at}: no panels");
        let mut ids = BTreeSet::new();
        for panel in panels {
            let id = panel["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{at}: a panel without an id"));
            assert!(ids.insert(id), "{at}: panel id {id} is used twice");
            let title = str_at(panel, "/title");
            for field in ["x", "y", "w", "h"] {
                assert!(
                    panel["gridPos"][field].is_u64(),
                    "{at}: panel {title:?} lacks gridPos.{field}"
                );
            }
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{at}: panel {title:?} queries the chosen data source"
            );
            let targets = panel["targets"].as_array().map_or(&[][..], Vec::as_slice);
            assert!(!targets.is_empty(), "{at}: panel {title:?} has no query");
            for target in targets {
                assert!(
                    !str_at(target, "/expr").trim().is_empty(),
                    "{at}: panel {title:?} has an empty query"
                );
            }
        }
    }
}

#[test]
fn grafana_provisioning_loads_the_dashboards_and_a_prometheus() {
    let grafana = deploy_dir().join("grafana/provisioning");
    let datasources = parse_yaml(&grafana.join("datasources/herald.yml"));
    assert_eq!(datasources[0]["apiVersion"], 1);
    let source = &datasources[0]["datasources"][0];
    assert_eq!(source["type"], "prometheus");
    assert!(str_at(source, "/url").starts_with("http"));
    let providers = parse_yaml(&grafana.join("dashboards/herald.yml"));
    assert_eq!(providers[0]["apiVersion"], 1);
    let provider = &providers[0]["providers"][0];
    assert_eq!(provider["type"], "file");
    assert!(str_at(provider, "/options/path").starts_with('/'));
}

#[test]
fn every_alert_waits_before_firing_has_a_severity_and_says_what_to_do() {
    let rules = alert_rules();
    let names: Vec<&str> = rules.iter().map(|rule| str_at(rule, "/alert")).collect();
    for expected in [
        "HeraldDeliveriesDead",
        "HeraldDeliveriesOutcomeUnknown",
        "HeraldConnectionsNeedReconnect",
        "HeraldQueueNotDraining",
        "HeraldNoWorkerAlive",
    ] {
        assert!(
            names.contains(&expected),
            "alerts.yml lacks {expected}: {names:?}"
        );
    }
    let tests = std::fs::read_to_string(deploy_dir().join("prometheus/alerts_test.yml"))
        .expect("alerts_test.yml");
    for rule in &rules {
        let name = str_at(rule, "/alert");
        assert!(!str_at(rule, "/for").is_empty(), "{name}: a `for`");
        assert!(
            ["critical", "warning", "info"].contains(&str_at(rule, "/labels/severity")),
            "{name}: severity critical, warning or info"
        );
        assert!(
            !str_at(rule, "/annotations/summary").is_empty(),
            "{name}: a summary"
        );
        assert!(
            str_at(rule, "/annotations/description").len() > 80,
            "{name}: a description that says what to do"
        );
        assert!(
            tests.contains(&format!("alertname: {name}\n")),
            "{name} has no promtool test in alerts_test.yml"
        );
    }
}

/// The one place a rename of a metric meets the dashboards and the alerts.
#[tokio::test]
async fn every_metric_a_dashboard_or_an_alert_names_is_exported() {
    let _serial = support::serial().await;
    let families = Box::pin(crate::worker_metrics::scrape_a_running_stack())
        .await
        .families();
    let exported = |name: &str| {
        let kind = |family: &str| families.get(family).map(String::as_str);
        kind(name) == Some("gauge")
            || name
                .strip_suffix("_total")
                .is_some_and(|family| kind(family) == Some("counter"))
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .is_some_and(|family| kind(family) == Some("histogram"))
            })
    };
    let mut used = dashboard_expressions();
    for rule in alert_rules() {
        used.push((
            format!("alert {}", str_at(&rule, "/alert")),
            str_at(&rule, "/expr").to_owned(),
        ));
    }
    let mut checked = 0;
    for (place, expression) in &used {
        for name in herald_names(expression) {
            assert!(
                exported(&name),
                "{place}: {name} is not a metric Herald exports (a counter is <family>_total, \
                 a histogram <family>_bucket/_sum/_count); exported: {families:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} names were checked");
}

#[test]
fn names_are_read_out_of_expressions() {
    assert_eq!(
        herald_names(
            r#"sum by (le) (rate(herald_publish_latency_seconds_bucket{job="herald-worker"}[5m])) / xherald_no"#
        ),
        BTreeSet::from(["herald_publish_latency_seconds_bucket".to_owned()])
    );
}
