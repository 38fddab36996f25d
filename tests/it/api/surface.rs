//! What every route shares: rate limits, body limits, problem documents for unknown routes,
//! probes, metrics and the OpenAPI description.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{TestApp, problem};

#[tokio::test]
async fn each_key_is_rate_limited_with_retry_after_and_ratelimit_headers() {
    let app = TestApp::spawn_with(&[
        ("HERALD_API__RATE_LIMIT_PER_SECOND", "1"),
        ("HERALD_API__RATE_LIMIT_BURST", "3"),
    ])
    .await;
    let ok = app.get("/v1/connections", &app.keys.read).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["ratelimit-limit"], "3");
    assert_eq!(ok.headers()["ratelimit-remaining"], "2");
    let mut refused = None;
    for _ in 0..5 {
        let response = app.get("/v1/connections", &app.keys.read).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the burst runs out");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after));
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    assert!(refused.headers().contains_key("ratelimit-reset"));
    let (_, body) = problem(refused).await;
    assert_eq!(body["code"], "rate_limited");

    let other_key = app.get("/v1/connections", &app.keys.admin).await;
    assert_eq!(
        other_key.status(),
        StatusCode::OK,
        "another key has its own budget"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_they_are_read() {
    let app = TestApp::spawn_with(&[("HERALD_API__JSON_LIMIT_BYTES", "2048")]).await;
    let telegram = app.connect_telegram().await;
    let (status, body) = problem(
        app.create_post(&json!({"targets": [telegram], "text": "x".repeat(5000)}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_documents() {
    let app = TestApp::spawn().await;
    let (status, body) = problem(app.get("/v1/nothing-here", &app.keys.read).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    let (status, body) = problem(app.get("/nothing", &app.keys.read).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["type"].as_str().unwrap().ends_with("/not_found"));
    let (status, body) = problem(
        app.request(Method::DELETE, "/v1/posts", &app.keys.read)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn probes_metrics_and_the_openapi_description_are_served() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    app.post_ok(&json!({"targets": [telegram], "text": "count me"}))
        .await;

    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ready: Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready, json!({"postgres": "ok", "redis": "ok"}));

    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("herald_api_posts_created_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("herald_deliveries{platform=\"telegram\",state=\"queued\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"/v1/posts\",status=\"202\""),
        "{metrics}"
    );

    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/posts",
        "/v1/posts/{id}",
        "/v1/posts/{id}/cancel",
        "/v1/deliveries",
        "/v1/deliveries/{id}/resolve",
        "/v1/media",
        "/v1/connections/telegram",
        "/v1/connect/{platform}",
        "/v1/events",
        "/v1/webhooks/{id}/deliveries",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} is documented");
    }
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    let docs = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("<html"));
}

/// The served description is one a client generator can use: OpenAPI 3.1, unique
/// operation ids, every answer described, path parameters only where the path has them,
/// every error a problem document, the errors every authenticated route can answer
/// declared, typed ids and enums, a target as an id or an object, and the webhook events.
#[tokio::test]
async fn the_openapi_description_declares_what_the_routes_answer() {
    let app = TestApp::spawn().await;
    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1."));
    let schemas = &spec["components"]["schemas"];
    let problem_ref = json!({"$ref": "#/components/schemas/Problem"});
    let mut operation_ids = std::collections::BTreeSet::new();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let id = operation["operationId"].as_str().unwrap().to_owned();
            assert!(
                operation_ids.insert(id.clone()),
                "{name}: {id} is used twice"
            );
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let placeholder = format!("{{{}}}", parameter["name"].as_str().unwrap());
                assert_eq!(
                    parameter["in"] == "path",
                    path.contains(&placeholder),
                    "{name}: {parameter}"
                );
            }
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                assert!(
                    !response["description"].as_str().unwrap_or("").is_empty(),
                    "{name} {status} has no description"
                );
                if status.starts_with(['4', '5']) {
                    assert_eq!(
                        response["content"],
                        json!({"application/problem+json": {"schema": problem_ref}}),
                        "{name} {status}"
                    );
                }
            }
            if operation["security"].is_array() {
                for status in ["401", "403", "429", "503"] {
                    assert!(responses.contains_key(status), "{name} lacks {status}");
                }
                assert!(
                    responses["429"]["headers"]["Retry-After"].is_object(),
                    "{name}"
                );
            }
            operations.push((method.clone(), path.clone(), responses.clone()));
        }
    }
    assert!(operation_ids.contains("list_webhook_deliveries"));

    // What a client without a key gets is what the description declares, in its media type.
    for (method, path, responses) in operations {
        let concrete = path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{platform}", "telegram");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let answer = app
            .http
            .request(method.clone(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16().to_string();
        assert!(
            responses.contains_key(&status),
            "{method} {path} answered {status}, undeclared"
        );
        assert_eq!(
            answer.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
    }

    let uuid = json!({"type": "string", "format": "uuid"});
    assert_eq!(schemas["PostOut"]["properties"]["id"], uuid);
    assert_eq!(
        schemas["PostOut"]["properties"]["state"]["$ref"],
        "#/components/schemas/PostState"
    );
    assert_eq!(
        schemas["ConnectionOut"]["properties"]["platform"]["$ref"],
        "#/components/schemas/Platform"
    );
    assert_eq!(
        schemas["ConnectionOut"]["properties"]["status"]["$ref"],
        "#/components/schemas/ConnectionStatus"
    );
    let target = &schemas["Target"]["oneOf"];
    assert_eq!(target[0]["format"], "uuid", "{target}");
    assert_eq!(target[1]["$ref"], "#/components/schemas/TargetSchema");
    let upload = &spec["paths"]["/v1/media"]["post"]["requestBody"]["content"];
    assert_eq!(
        upload["multipart/form-data"]["schema"]["$ref"],
        "#/components/schemas/MediaUpload"
    );
    assert_eq!(
        schemas["MediaUpload"]["properties"]["file"]["format"],
        "binary"
    );
    let create = &spec["paths"]["/v1/posts"]["post"];
    assert!(create["requestBody"]["content"]["application/json"]["example"]["targets"].is_array());
    let published = &spec["webhooks"]["delivery.published"]["post"];
    assert_eq!(
        published["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/DeliveryEvent"
    );
    assert!(schemas["DeliveryEventData"]["properties"]["post_id"].is_object());
}

/// Every id-bearing route: another tenant's admin key finds nothing (404), and a key of our
/// own tenant without the route's scope is refused (403) before anything is looked up.
#[tokio::test]
async fn every_route_is_scoped_to_its_tenant_and_to_its_scope() {
    let app = TestApp::spawn().await;
    let connection = app.connect_telegram().await;
    let post = app
        .post_ok(&json!({"targets": [connection], "text": "mine"}))
        .await;
    let post_id = post["id"].as_str().unwrap().to_owned();
    let delivery = post["deliveries"][0]["id"].as_str().unwrap().to_owned();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(herald_sim::jpeg(700, 700)).file_name("a.jpg"),
    );
    let media: Value = app
        .request(Method::POST, "/v1/media", &app.keys.producer)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let media = media["id"].as_str().unwrap().to_owned();
    let hook: Value = app
        .post_json(
            "/v1/webhooks",
            &app.keys.admin,
            &json!({"url": "https://a.example/h", "event_types": ["*"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let hook = hook["id"].as_str().unwrap().to_owned();
    let other = app.other_tenant().await;

    // (method, path, body, a key of ours that lacks the scope)
    let routes: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::GET,
            format!("/v1/posts/{post_id}"),
            None,
            &app.keys.publish,
        ),
        (
            Method::POST,
            format!("/v1/posts/{post_id}/cancel"),
            None,
            &app.keys.read,
        ),
        (
            Method::GET,
            format!("/v1/deliveries/{delivery}"),
            None,
            &app.keys.publish,
        ),
        (
            Method::POST,
            format!("/v1/deliveries/{delivery}/retry"),
            None,
            &app.keys.read,
        ),
        (
            Method::POST,
            format!("/v1/deliveries/{delivery}/resolve"),
            Some(json!({"outcome": "retry"})),
            &app.keys.read,
        ),
        (
            Method::GET,
            format!("/v1/media/{media}"),
            None,
            &app.keys.publish,
        ),
        (
            Method::GET,
            format!("/v1/connections/{connection}"),
            None,
            &app.keys.publish,
        ),
        (
            Method::DELETE,
            format!("/v1/connections/{connection}"),
            None,
            &app.keys.producer,
        ),
        (
            Method::GET,
            format!("/v1/connections/{connection}/pages"),
            None,
            &app.keys.publish,
        ),
        (
            Method::PUT,
            format!("/v1/connections/{connection}/page"),
            Some(json!({"page_id": "1"})),
            &app.keys.producer,
        ),
        (
            Method::GET,
            format!("/v1/webhooks/{hook}"),
            None,
            &app.keys.publish,
        ),
        (
            Method::DELETE,
            format!("/v1/webhooks/{hook}"),
            None,
            &app.keys.producer,
        ),
        (
            Method::GET,
            format!("/v1/webhooks/{hook}/deliveries"),
            None,
            &app.keys.publish,
        ),
    ];
    for (method, path, body, unscoped) in &routes {
        let send = |key: &str| {
            let mut request = app.request(method.clone(), path, key);
            if let Some(body) = body {
                request = request.json(body);
            }
            request.send()
        };
        let (status, _) = problem(send(&other.admin).await.unwrap()).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {path} for another tenant"
        );
        let (status, _) = problem(send(unscoped).await.unwrap()).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {path} without its scope"
        );
    }

    // Routes without ids: lacking the scope is refused.
    let lists: [(Method, &str, &str); 6] = [
        (Method::GET, "/v1/deliveries", &app.keys.publish),
        (Method::GET, "/v1/connections", &app.keys.publish),
        (Method::GET, "/v1/webhooks", &app.keys.publish),
        (Method::GET, "/v1/events", &app.keys.publish),
        (Method::POST, "/v1/connect/x", &app.keys.producer),
        (Method::POST, "/v1/webhooks", &app.keys.producer),
    ];
    for (method, path, key) in lists {
        let request = app
            .request(method.clone(), path, key)
            .json(&json!({"url": "https://a.example/h", "event_types": ["*"]}));
        let (status, _) = problem(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
}
