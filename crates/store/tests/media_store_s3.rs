//! The media store's S3 backend against a real S3-compatible server: moto's server mode,
//! started by each test on a free port (installed by `tests/run`'s `need_moto`, or found on
//! PATH). Large files go up as multipart uploads and come back byte-identical, streamed;
//! presigned URLs work with a plain HTTP client.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use herald_domain::{MediaId, TenantId};
use herald_store::{MediaStore, S3Settings};
use secrecy::SecretString;

/// A moto server, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> PathBuf {
    let venv = PathBuf::from("/var/tmp/herald-tools/moto/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .map(|dir| dir.join("moto_server"))
            .collect::<Vec<_>>()
    });
    for candidate in on_path {
        if candidate.exists() {
            return candidate;
        }
    }
    panic!(
        "moto_server is not installed: run `bash tests/run` once, or \
         `python3 -m venv /var/tmp/herald-tools/moto && \
         /var/tmp/herald-tools/moto/bin/pip install 'moto[server]'`"
    );
}

async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let moto = Moto { child, endpoint };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{}/moto-api/", moto.endpoint))
            .send()
            .await
            .is_ok()
        {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not answer on {}", moto.endpoint);
}

/// A fresh bucket on `moto` and a store on it.
async fn bucket(moto: &Moto, prefix: Option<&str>) -> (MediaStore, String) {
    let bucket = format!(
        "herald-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .expect("moto answers");
    assert!(created.status().is_success(), "{}", created.status());
    let store = MediaStore::s3(S3Settings {
        bucket: bucket.clone(),
        region: Some("us-east-1".into()),
        endpoint: Some(moto.endpoint.clone()),
        prefix: prefix.map(str::to_owned),
        access_key_id: Some("testing".into()),
        secret_access_key: Some(SecretString::from("testing-secret")),
        session_token: None,
        allow_http: true,
    })
    .expect("a store");
    (store, bucket)
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("herald-s3-{name}-{}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn a_12_mb_file_goes_up_in_parts_and_comes_back_byte_identical() {
    let moto = start_moto().await;
    let (store, name) = bucket(&moto, Some("herald/media")).await;
    let key = MediaStore::key(TenantId::new(), MediaId::new(), "mp4");
    // 12 MB of varied bytes: more than one part of `PART_SIZE`.
    let data: Vec<u8> = (0..12 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(data.len() > herald_store::media_store::PART_SIZE);
    let source = scratch("source");
    std::fs::write(&source, &data).expect("the source file");
    store.put_file(&key, &source).await.expect("uploaded");

    let copy = scratch("copy");
    let size = store.copy_to_file(&key, &copy).await.expect("downloaded");
    assert_eq!(size, data.len() as u64);
    assert!(
        std::fs::read(&copy).expect("the copy") == data,
        "the copy differs"
    );

    // A byte range, as the API serves one.
    let mut read = store.open(&key, Some(1000..1010)).await.expect("a range");
    assert_eq!(read.size, data.len() as u64);
    let mut got = Vec::new();
    while let Some(chunk) = futures::TryStreamExt::try_next(&mut read.body)
        .await
        .expect("read")
    {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got, &data[1000..1010]);

    // The object lives under the prefix.
    let listed = reqwest::get(format!(
        "{}/{name}?list-type=2&prefix=herald/media/",
        moto.endpoint
    ))
    .await
    .expect("listed")
    .text()
    .await
    .expect("a listing");
    assert!(listed.contains(&format!("herald/media/{key}")), "{listed}");
    // A multipart upload's ETag ends with its number of parts.
    let head = reqwest::Client::new()
        .head(format!("{}/{name}/herald/media/{key}", moto.endpoint))
        .send()
        .await
        .expect("the object's head");
    let etag = head.headers()["etag"].to_str().expect("an ETag").to_owned();
    assert!(
        etag.trim_matches('"').ends_with("-2"),
        "not two parts: {etag}"
    );
    let _ = std::fs::remove_file(&source);
    let _ = std::fs::remove_file(&copy);
}

#[tokio::test]
async fn put_get_delete_and_a_presigned_url_fetched_with_plain_http() {
    let moto = start_moto().await;
    let (store, _) = bucket(&moto, None).await;
    let key = MediaStore::key(TenantId::new(), MediaId::new(), "png");
    store.put(&key, b"image bytes").await.expect("written");
    assert_eq!(store.get(&key).await.expect("read"), b"image bytes");

    let url = store
        .presigned_get(&key, Duration::from_secs(300))
        .await
        .expect("signed")
        .expect("S3 presigns");
    assert!(url.as_str().contains("X-Amz-Signature="), "a SigV4 URL");
    let fetched = reqwest::get(url.clone()).await.expect("fetched");
    assert_eq!(fetched.status(), 200);
    assert_eq!(
        fetched.bytes().await.expect("body").as_ref(),
        b"image bytes"
    );
    // The credentials' secret is in no URL and no debug output.
    assert!(!url.as_str().contains("testing-secret"));
    assert!(!format!("{store:?}").contains("testing-secret"));

    store.delete(&key).await.expect("deleted");
    let missing = store.get(&key).await.expect_err("gone");
    assert!(missing.is_not_found(), "{missing}");
    store.delete(&key).await.expect("deleting nothing is fine");
    assert!(
        MediaStore::local("/tmp")
            .presigned_get(&key, Duration::from_secs(60))
            .await
            .expect("no error")
            .is_none(),
        "the local store has no presigned URLs"
    );
}
