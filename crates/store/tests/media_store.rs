//! The media store's local backend: what is put is read back, and no key leaves the
//! directory.

use herald_domain::{MediaId, TenantId};
use herald_store::{MediaStore, MediaStoreError};

fn scratch_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("herald-media-store-{}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn bytes_put_under_a_key_are_read_back_and_replaced_whole() {
    let dir = scratch_dir();
    let store = MediaStore::local(&dir);
    let key = MediaStore::key(TenantId::new(), MediaId::new(), "png");
    store.put(&key, b"first").await.expect("written");
    assert_eq!(store.get(&key).await.expect("read"), b"first");
    store.put(&key, b"second").await.expect("replaced");
    assert_eq!(store.get(&key).await.expect("read"), b"second");
    assert!(
        matches!(
            store.get("nobody/none.png").await,
            Err(MediaStoreError::Io(_))
        ),
        "a missing key is an I/O error"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn keys_that_climb_out_or_are_absolute_are_refused_before_any_io() {
    let dir = scratch_dir();
    let store = MediaStore::local(dir.join("media"));
    std::fs::create_dir_all(&dir).expect("the scratch directory");
    std::fs::write(dir.join("outside"), b"secret").expect("a file outside the store");
    for key in ["../outside", "/etc/hostname", "a/../../outside", "./a", ""] {
        assert!(
            matches!(store.get(key).await, Err(MediaStoreError::InvalidKey)),
            "{key}"
        );
        assert!(
            matches!(store.put(key, b"x").await, Err(MediaStoreError::InvalidKey)),
            "{key}"
        );
    }
    assert_eq!(
        std::fs::read(dir.join("outside")).expect("untouched"),
        b"secret"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
