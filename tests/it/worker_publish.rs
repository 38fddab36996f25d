//! The worker publishes what it is given, once, on time: every platform, text and images,
//! LinkedIn personal and company, an X thread, a scheduled post.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::{AppType, DeliveryState, Platform, PostContent};
use support::harness::{Harness, fast_sim, text, with_image};

#[tokio::test]
async fn every_platform_publishes_a_text_post_and_an_image_post_exactly_once() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let targets = [
        (Platform::Twitter, None),
        (Platform::Linkedin, Some(AppType::Personal)),
        (Platform::Linkedin, Some(AppType::Company)),
        (Platform::Facebook, None),
        (Platform::Instagram, None),
        (Platform::Threads, None),
        (Platform::Telegram, None),
    ];
    let mut expected = Vec::new();
    let mut posts = Vec::new();
    for (platform, app_type) in targets {
        let connection = h.connect(platform, app_type).await;
        let label = format!("{platform} {app_type:?}");
        if platform != Platform::Instagram {
            let body = format!("hello from herald on {label}");
            posts.push((connection, text(&body)));
            expected.push((platform, body));
        }
        let body = format!("a picture on {label}");
        posts.push((connection, with_image(&body, h.image_url("1080x1080"))));
        expected.push((platform, body));
    }
    let ids = h.posts(&posts, None).await;

    let done = h.until_final(&ids, Duration::from_secs(30)).await;
    for delivery in &done {
        assert_eq!(
            delivery.state,
            DeliveryState::Published,
            "{} on {}: {:?}",
            delivery.id,
            delivery.platform,
            delivery.error
        );
        assert!(
            delivery.remote_id.is_some(),
            "{}: a remote id",
            delivery.platform
        );
        assert_eq!(delivery.attempts, 1, "{}: one attempt", delivery.platform);
    }
    for (platform, body) in &expected {
        assert_eq!(
            h.sim_count(platform.as_str(), body).await,
            1,
            "exactly one `{body}` on {platform}"
        );
    }
    let with_media = h
        .sim_posts("telegram")
        .await
        .into_iter()
        .filter(|p| p["media"].as_array().is_some_and(|m| !m.is_empty()))
        .count();
    assert_eq!(with_media, 1, "the Telegram image post carries its photo");
    // Results live in Postgres: finished jobs leave Redis.
    let data_key = format!("{}:data", h.queue.keys().queue("publish"));
    let redis = h.redis.connection().await;
    let emptied = support::eventually(Duration::from_secs(10), || {
        let key = data_key.clone();
        let mut redis = redis.clone();
        async move {
            let left: usize = redis::cmd("HLEN")
                .arg(&key)
                .query_async(&mut redis)
                .await
                .ok()?;
            (left == 0).then_some(())
        }
    })
    .await;
    assert!(emptied.is_some(), "finished jobs are trimmed from Redis");
    worker.stop().await;
}

#[tokio::test]
async fn an_x_thread_of_three_parts_is_posted_as_one_reply_chain() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Twitter, None).await;
    let content = PostContent {
        text: Some("thread 1/3: the queue".into()),
        thread: vec!["thread 2/3: the worker".into(), "thread 3/3: done".into()],
        ..PostContent::default()
    };
    let id = h.post(connection, content, None).await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    let posts = h.sim_posts("twitter").await;
    assert_eq!(posts.len(), 3, "three tweets: {posts:?}");
    let by_text = |t: &str| {
        posts
            .iter()
            .find(|p| p["text"].as_str() == Some(t))
            .unwrap_or_else(|| panic!("`{t}` was posted"))
            .clone()
    };
    let first = by_text("thread 1/3: the queue");
    let second = by_text("thread 2/3: the worker");
    let third = by_text("thread 3/3: done");
    assert_eq!(
        delivery.remote_id.as_deref(),
        first["id"].as_str(),
        "the thread is its first tweet"
    );
    assert_eq!(second["reply_to"], first["id"]);
    assert_eq!(third["reply_to"], second["id"]);
    let steps = h.store.journal().steps(id).await.unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
    assert!(
        names.contains(&"publish") && names.contains(&"part:1") && names.contains(&"part:2"),
        "{names:?}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_post_scheduled_five_seconds_ahead_is_published_within_a_second_of_its_time() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Telegram, None).await;
    let at = Utc::now() + TimeDelta::seconds(5);
    let id = h.post(connection, text("on the dot"), Some(at)).await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(10))
        .await;
    let posted = h.sim_posts("telegram").await;
    let created: DateTime<Utc> = posted[0]["created_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("the simulator records when it was posted");
    assert!(created >= at, "posted {created}, not before {at}");
    assert!(
        created - at < TimeDelta::seconds(1),
        "posted {} ms after its time",
        (created - at).num_milliseconds()
    );
    assert!(delivery.finished_at.unwrap() >= at);
    worker.stop().await;
}

#[tokio::test]
async fn an_image_from_herald_s_media_store_is_read_from_the_store_and_published() {
    let mut h = Harness::start(fast_sim()).await;
    let dir = std::env::temp_dir().join(format!("herald-media-{}", h.redis.prefix()));
    h.config.media.dir = dir.clone();
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Telegram, None).await;
    let bytes = reqwest::get(h.image_url("800x600"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let id = herald_domain::MediaId::new();
    let key = format!("{}/{id}.jpg", h.tenant);
    std::fs::create_dir_all(dir.join(h.tenant.to_string())).unwrap();
    std::fs::write(dir.join(&key), &bytes).unwrap();
    h.store
        .media()
        .insert(&herald_store::NewMedia {
            id,
            tenant_id: h.tenant,
            content_type: "image/jpeg".into(),
            bytes: bytes.len() as i64,
            width: 800,
            height: 600,
            sha256: [7; 32],
            storage_key: key,
            filename: None,
            video: None,
            derived: None,
            expires_at: None,
        })
        .await
        .unwrap();
    let content = PostContent {
        text: Some("from the media store".into()),
        media: vec![herald_domain::MediaRef::Stored { media_id: id }],
        ..PostContent::default()
    };
    let delivery = h.post(connection, content, None).await;

    let done = h.until_final(&[delivery], Duration::from_secs(20)).await;
    assert_eq!(
        done[0].state,
        DeliveryState::Published,
        "{:?}",
        done[0].error
    );
    let posts = h.sim_posts("telegram").await;
    assert!(
        posts[0]["media"].as_array().is_some_and(|m| m.len() == 1),
        "{posts:?}"
    );
    worker.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
