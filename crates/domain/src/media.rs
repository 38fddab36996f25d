//! What a media file is: an image or a video, and for a video the facts its platforms judge
//! it by, read from the file's own metadata (its `moov` box), never from its name or the
//! type a producer declared.
//!
//! [`VideoInfo::read`] reads an MP4 or QuickTime file from any [`Read`]er in one pass, so a
//! 512 MB video is inspected while it streams to the media store, without being held in
//! memory. Tracks, durations, sample entries and frame counts come from `mp4parse`
//! (Mozilla's ISO BMFF parser, the one Firefox uses); the brand and the order of the
//! top-level boxes (whether `moov` comes before `mdat`, what Instagram asks for) and the
//! sample entry's four-character code (HEVC's `hvc1`/`hev1`, which `mp4parse` does not name)
//! come from a walk of the box headers that runs alongside it.

use std::io::{self, Read, Seek, SeekFrom};

use crate::state::string_enum;

string_enum!(
    /// What kind of file a media item is.
    MediaKind, "media kind" {
        Image => "image",
        Video => "video",
    }
);

string_enum!(
    /// A video's container, from its `ftyp` brand.
    VideoContainer, "video container" {
        Mp4 => "mp4",
        Mov => "mov",
    }
);

impl VideoContainer {
    pub const fn mime_type(self) -> &'static str {
        match self {
            VideoContainer::Mp4 => "video/mp4",
            VideoContainer::Mov => "video/quicktime",
        }
    }

    pub const fn extension(self) -> &'static str {
        match self {
            VideoContainer::Mp4 => "mp4",
            VideoContainer::Mov => "mov",
        }
    }

    /// The container with this MIME type.
    pub fn from_mime_type(mime: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.mime_type() == mime)
    }
}

/// What a video file holds, as its platforms judge it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoInfo {
    pub container: VideoContainer,
    /// The file's size.
    pub bytes: u64,
    /// The first video track's display size.
    pub width: u32,
    pub height: u32,
    pub duration_ms: u64,
    /// Frames per second (the track's sample count over its duration).
    pub frame_rate: f64,
    /// The video sample entry's four-character code: `avc1`/`avc3` (H.264), `hvc1`/`hev1`
    /// (HEVC), `vp09`, `av01`, ...
    pub video_codec: String,
    /// The first audio track's codec (`mp4a` for AAC), if there is one.
    pub audio_codec: Option<String>,
    /// Whether the `moov` box comes before the media data ("fast start").
    pub moov_first: bool,
}

impl VideoInfo {
    /// Width over height.
    pub fn aspect_ratio(&self) -> f64 {
        f64::from(self.width) / f64::from(self.height.max(1))
    }

    /// Whether the video track is H.264 or HEVC, the codecs every platform takes.
    pub fn is_h264_or_hevc(&self) -> bool {
        matches!(self.video_codec.as_str(), "avc1" | "avc3" | "hvc1" | "hev1")
    }

    /// Reads a video's facts from a file: one pass of `mp4parse` over it, then a walk of
    /// its top-level box headers (seeking past the media data) for the brand, the box order
    /// and the sample entries' codes.
    pub fn read<R: Read + Seek>(mut reader: R) -> Result<VideoInfo, VideoError> {
        let layout = Layout::read(&mut reader)?;
        reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| VideoError::Malformed(e.to_string()))?;
        let context =
            mp4parse::read_mp4(&mut reader).map_err(|e| VideoError::Malformed(e.to_string()))?;
        let container = match &layout.brand {
            b"qt  " => VideoContainer::Mov,
            _ => VideoContainer::Mp4,
        };
        let mut entries = layout.sample_entries.iter();
        let mut video = None;
        let mut audio_codec = None;
        for track in context.tracks.iter() {
            let code = entries.next();
            match track.track_type {
                mp4parse::TrackType::Video if video.is_none() => video = Some((track, code)),
                mp4parse::TrackType::Audio if audio_codec.is_none() => {
                    audio_codec = code.map(|c| String::from_utf8_lossy(c).into_owned());
                }
                _ => {}
            }
        }
        let (video, code) = video.ok_or(VideoError::NoVideoTrack)?;
        let (width, height) = match (&video.tkhd, video_entry(video)) {
            (Some(tkhd), _) if tkhd.width >> 16 > 0 && tkhd.height >> 16 > 0 => {
                (tkhd.width >> 16, tkhd.height >> 16)
            }
            (_, Some(entry)) => (u32::from(entry.width), u32::from(entry.height)),
            _ => (0, 0),
        };
        if width == 0 || height == 0 {
            return Err(VideoError::Malformed(
                "the video track has no dimensions".to_owned(),
            ));
        }
        let duration_ms = match (video.duration, video.timescale) {
            (Some(duration), Some(scale)) if scale.0 > 0 => {
                duration.0.saturating_mul(1000) / scale.0
            }
            _ => 0,
        };
        let frames: u64 = video.stts.as_ref().map_or(0, |stts| {
            stts.samples.iter().map(|s| u64::from(s.sample_count)).sum()
        });
        let frame_rate = if duration_ms > 0 {
            frames as f64 * 1000.0 / duration_ms as f64
        } else {
            0.0
        };
        Ok(VideoInfo {
            container,
            bytes: layout.bytes,
            width,
            height,
            duration_ms,
            frame_rate: (frame_rate * 100.0).round() / 100.0,
            video_codec: code
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .unwrap_or_default(),
            audio_codec,
            moov_first: layout.moov_first,
        })
    }
}

fn video_entry(track: &mp4parse::Track) -> Option<&mp4parse::VideoSampleEntry> {
    track
        .stsd
        .as_ref()?
        .descriptions
        .iter()
        .find_map(|entry| match entry {
            mp4parse::SampleEntry::Video(video) => Some(video),
            _ => None,
        })
}

/// Why a file is not a video Herald can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    #[error("the file is not an MP4 or QuickTime video")]
    NotAVideo,
    #[error("the video has no video track")]
    NoVideoTrack,
    #[error("the video's metadata cannot be read: {0}")]
    Malformed(String),
}

/// What the top-level box headers say: the brand, whether `moov` precedes `mdat`, the
/// sample entries' codes (one per track, in track order) and the file's size.
struct Layout {
    brand: [u8; 4],
    moov_first: bool,
    sample_entries: Vec<[u8; 4]>,
    bytes: u64,
}

/// The largest `moov` read for its sample entries (the metadata of long videos is a few MB).
const MAX_MOOV: u64 = 64 * 1024 * 1024;

impl Layout {
    fn read<R: Read + Seek>(reader: &mut R) -> Result<Layout, VideoError> {
        let malformed = |e: io::Error| VideoError::Malformed(e.to_string());
        let bytes = reader.seek(SeekFrom::End(0)).map_err(malformed)?;
        reader.seek(SeekFrom::Start(0)).map_err(malformed)?;
        let mut brand = None;
        let mut moov_first = false;
        let mut mdat_seen = false;
        let mut sample_entries = Vec::new();
        let mut position = 0u64;
        while position + 8 <= bytes {
            let mut header = [0u8; 16];
            reader.read_exact(&mut header[..8]).map_err(malformed)?;
            let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
            let (size, header_len) =
                match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
                    1 => {
                        reader.read_exact(&mut header[8..16]).map_err(malformed)?;
                        let mut large = [0u8; 8];
                        large.copy_from_slice(&header[8..16]);
                        (u64::from_be_bytes(large), 16)
                    }
                    0 => (bytes - position, 8),
                    n => (u64::from(n), 8),
                };
            if position == 0 && &kind != b"ftyp" {
                return Err(VideoError::NotAVideo);
            }
            if size < header_len || position.saturating_add(size) > bytes {
                return Err(VideoError::Malformed(format!(
                    "the `{}` box at byte {position} runs past the end of the file",
                    String::from_utf8_lossy(&kind)
                )));
            }
            if position == 0 {
                let mut major = [0u8; 4];
                reader.read_exact(&mut major).map_err(malformed)?;
                brand = Some(major);
            }
            match &kind {
                b"mdat" => mdat_seen = true,
                b"moov" if size <= MAX_MOOV => {
                    moov_first = !mdat_seen;
                    reader
                        .seek(SeekFrom::Start(position + header_len))
                        .map_err(malformed)?;
                    let mut moov = vec![0u8; (size - header_len) as usize];
                    reader.read_exact(&mut moov).map_err(malformed)?;
                    find_sample_entries(&moov, &mut sample_entries);
                }
                b"moov" => moov_first = !mdat_seen,
                _ => {}
            }
            position += size;
            reader.seek(SeekFrom::Start(position)).map_err(malformed)?;
        }
        let brand = brand.ok_or(VideoError::NotAVideo)?;
        Ok(Layout {
            brand,
            moov_first,
            sample_entries,
            bytes,
        })
    }
}

/// Appends the code of the first sample entry of each `stsd` inside `moov`'s tracks
/// (`trak/mdia/minf/stbl/stsd`), in track order.
fn find_sample_entries(boxes: &[u8], out: &mut Vec<[u8; 4]>) {
    let mut rest = boxes;
    while rest.len() >= 8 {
        let size = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        if size < 8 || size > rest.len() {
            return;
        }
        let body = &rest[8..size];
        match kind {
            b"trak" | b"mdia" | b"minf" | b"stbl" => find_sample_entries(body, out),
            // Version and flags (4), entry count (4), then the first entry's size and code.
            b"stsd" if body.len() >= 16 => out.push([body[12], body[13], body[14], body[15]]),
            _ => {}
        }
        rest = &rest[size..];
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn fixture(name: &str) -> Cursor<Vec<u8>> {
        let path = format!(
            "{}/../../tests/fixtures/video/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        Cursor::new(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    #[test]
    fn an_mp4_is_read_from_its_own_metadata() {
        let info = VideoInfo::read(fixture("portrait-720x1280-4s.mp4")).unwrap();
        assert_eq!(info.container, VideoContainer::Mp4);
        assert_eq!((info.width, info.height), (720, 1280));
        assert!((3_900..=4_100).contains(&info.duration_ms), "{info:?}");
        assert!((29.0..=31.0).contains(&info.frame_rate), "{info:?}");
        assert_eq!(info.video_codec, "avc1");
        assert_eq!(info.audio_codec.as_deref(), Some("mp4a"));
        assert!(info.moov_first);
        assert!(info.is_h264_or_hevc());
        assert_eq!(
            info.bytes,
            fixture("portrait-720x1280-4s.mp4").into_inner().len() as u64
        );
    }

    #[test]
    fn a_quicktime_file_a_late_moov_and_a_silent_video_are_told_apart() {
        let mov = VideoInfo::read(fixture("clip-640x360-3s.mov")).unwrap();
        assert_eq!(mov.container, VideoContainer::Mov);
        let late = VideoInfo::read(fixture("moov-at-end-640x360-4s.mp4")).unwrap();
        assert!(!late.moov_first);
        let long = VideoInfo::read(fixture("long-320x240-320s.mp4")).unwrap();
        assert!((319_000..=321_000).contains(&long.duration_ms), "{long:?}");
        assert_eq!(long.audio_codec, None);
    }

    #[test]
    fn what_is_not_an_mp4_is_refused() {
        assert_eq!(
            VideoInfo::read(fixture("clip-640x360-3s.webm")),
            Err(VideoError::NotAVideo)
        );
        assert_eq!(
            VideoInfo::read(Cursor::new(b"\x89PNG\r\n\x1a\n".to_vec())),
            Err(VideoError::NotAVideo)
        );
        let mut cut = fixture("landscape-1280x720-4s.mp4").into_inner();
        cut.truncate(cut.len() / 2);
        assert!(matches!(
            VideoInfo::read(Cursor::new(cut)),
            Err(VideoError::Malformed(_))
        ));
    }
}
