//! Videos as the platforms see them: the facts a platform's limits are checked against
//! (container, duration, dimensions, frame rate, codecs), read from the file's metadata.

use std::io::Cursor;

pub(crate) use herald_domain::{VideoError, VideoInfo};

/// What the bytes of an uploaded or fetched video say about it.
pub(crate) fn probe(bytes: &[u8]) -> Result<VideoInfo, VideoError> {
    VideoInfo::read(Cursor::new(bytes))
}

/// The test videos under `tests/fixtures/video`, by file name.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/video/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fixture_is_probed_from_its_metadata() {
        let info = super::probe(&super::fixture("landscape-1280x720-4s.mp4")).unwrap();
        assert_eq!((info.width, info.height), (1280, 720));
    }
}
