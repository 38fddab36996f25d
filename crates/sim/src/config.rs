//! The simulator's configuration: token lifetimes, rate windows, processing delays, the
//! platform modes Herald must cope with, start-up faults and the fixtures.
//!
//! Every field has a default (`#[serde(default)]` everywhere), so an empty TOML file, or none,
//! gives the standard fixtures and realistic limits. Unknown keys are rejected so a typo in a
//! test's configuration fails loudly instead of silently testing the default. Windows are in
//! seconds and may be fractional, so a test can shrink "24 hours" to two seconds.
//!
//! The running simulator keeps its own copy, which `PATCH /_sim/config` may change (a JSON
//! merge patch) and `POST /_sim/reset` restores.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::faults::FaultRule;
use crate::fixtures::Fixtures;

/// A rolling window: at most `limit` events within any `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limit {
    pub limit: u32,
    pub window_secs: f64,
}

impl Limit {
    pub const fn new(limit: u32, window_secs: f64) -> Self {
        Self { limit, window_secs }
    }

    pub(crate) fn window_ms(&self) -> u64 {
        secs_to_ms(self.window_secs)
    }
}

/// A window length in seconds as whole milliseconds (negative counts as zero).
pub(crate) fn secs_to_ms(secs: f64) -> u64 {
    (secs.max(0.0) * 1000.0).round() as u64
}

impl Default for Limit {
    fn default() -> Self {
        Self::new(100, 900.0)
    }
}

/// Everything the simulator can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seeds the fault RNG (error rates, latency jitter): the same seed and the same request
    /// sequence give the same faults.
    pub seed: u64,
    /// Master switch for every rate limit (benchmarks turn it off). Headers are still sent.
    pub rate_limits: bool,
    /// Master switch for the platforms' duplicate refusals (X's 403 duplicate content,
    /// LinkedIn's 422 DUPLICATE_POST, Facebook's 506). Off, a re-sent post is accepted and
    /// shows as a second entry in `/_sim/posts`: what a test needs to see a duplicate Herald
    /// would otherwise be saved from by the platform.
    pub detect_duplicates: bool,
    /// The base URL put into upload URLs when the request carries no `Host` header.
    pub public_base_url: Option<String>,
    pub tokens: TokenConfig,
    pub fetch: FetchConfig,
    pub x: XConfig,
    pub linkedin: LinkedInConfig,
    pub meta: MetaConfig,
    pub facebook: FacebookConfig,
    pub instagram: InstagramConfig,
    pub threads: ThreadsConfig,
    pub telegram: TelegramConfig,
    /// Faults active from the start (`PUT /_sim/faults` replaces them at run time).
    pub faults: Vec<FaultRule>,
    pub fixtures: Fixtures,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            rate_limits: true,
            detect_duplicates: true,
            public_base_url: None,
            tokens: TokenConfig::default(),
            fetch: FetchConfig::default(),
            x: XConfig::default(),
            linkedin: LinkedInConfig::default(),
            meta: MetaConfig::default(),
            facebook: FacebookConfig::default(),
            instagram: InstagramConfig::default(),
            threads: ThreadsConfig::default(),
            telegram: TelegramConfig::default(),
            faults: Vec::new(),
            fixtures: Fixtures::default(),
        }
    }
}

impl SimConfig {
    /// Reads a TOML file; a missing key takes its default.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<SimConfig, SimError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ReadConfig {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text).map_err(|error| match error {
            SimError::ParseConfig { message, .. } => SimError::ParseConfig {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text (the same format as [`SimConfig::from_toml_file`]).
    pub fn from_toml_str(text: &str) -> Result<SimConfig, SimError> {
        toml::from_str(text).map_err(|error| SimError::ParseConfig {
            path: "<string>".to_owned(),
            message: error.to_string(),
        })
    }

    /// The defaults with every rate limit off: for load tests, where the limits would be the
    /// thing measured.
    pub fn unlimited() -> Self {
        Self {
            rate_limits: false,
            ..Self::default()
        }
    }
}

/// Lifetimes of codes and tokens, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    /// Authorization codes are single-use and live this long (about 10 minutes on the real platforms).
    pub code_ttl_secs: u64,
    pub x_access_secs: u64,
    pub x_refresh_secs: u64,
    pub linkedin_access_secs: u64,
    pub linkedin_refresh_secs: u64,
    /// Facebook/Instagram user token from the code exchange.
    pub meta_short_secs: u64,
    /// After `fb_exchange_token`.
    pub meta_long_secs: u64,
    pub threads_short_secs: u64,
    pub threads_long_secs: u64,
    /// `th_refresh_token` needs a long-lived token at least this old.
    pub threads_refresh_min_age_secs: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            code_ttl_secs: 600,
            x_access_secs: 7200,
            x_refresh_secs: 180 * 86400,
            linkedin_access_secs: 60 * 86400,
            linkedin_refresh_secs: 365 * 86400,
            meta_short_secs: 3600,
            meta_long_secs: 60 * 86400,
            threads_short_secs: 3600,
            threads_long_secs: 60 * 86400,
            threads_refresh_min_age_secs: 86400,
        }
    }
}

/// How the simulator fetches media by URL (Instagram and Threads `image_url`, Facebook photo
/// `url`, Telegram photo URLs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchConfig {
    /// A download slower than this fails like the platform's timeout (Instagram 2207003).
    pub timeout_ms: u64,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self { timeout_ms: 10_000 }
    }
}

/// X API access tiers (developer plans) and their `POST /2/tweets` caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XTier {
    Free,
    Basic,
    Pro,
    /// No 24-hour caps at all (not a real plan: for load tests).
    Unlimited,
}

impl XTier {
    /// (per user, per app) posts in 24 hours.
    pub(crate) fn daily_caps(self) -> (Option<u32>, Option<u32>) {
        match self {
            XTier::Free => (Some(17), Some(17)),
            XTier::Basic => (Some(100), Some(1667)),
            XTier::Pro => (Some(10_000), Some(10_000)),
            XTier::Unlimited => (None, None),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XConfig {
    /// The tier of every user without a tier of their own in the fixtures.
    pub tier: XTier,
    /// Overrides the tier's per-user 24-hour cap.
    pub user_daily_limit: Option<u32>,
    /// Overrides the tier's per-app 24-hour cap.
    pub app_daily_limit: Option<u32>,
    /// Length of the "24-hour" windows.
    pub daily_window_secs: f64,
    /// `POST /2/tweets` per user per 15 minutes.
    pub posts_per_15min: Limit,
    /// Reads other than the lookups below (users/me, media status), per user and endpoint.
    pub reads_per_15min: Limit,
    /// The lookups (`GET /2/users/{id}/tweets`, `GET /2/tweets/{id}`) per user, per endpoint.
    /// X's free plan allows one per 15 minutes: `{limit = 1, window_secs = 900}`.
    pub lookup_reads_per_user: Limit,
    /// The same lookups per app, per endpoint (free plan: one per 15 minutes too).
    pub lookup_reads_per_app: Limit,
    /// An identical text from the same user within this long is refused (403 duplicate
    /// content); an older one is accepted again.
    pub duplicate_window_secs: f64,
    /// X's documented free-tier behaviour: media upload works, a tweet with media is refused
    /// (403).
    pub free_tier_rejects_media: bool,
    pub max_weighted_length: i32,
    pub max_media_per_tweet: usize,
    pub image_max_bytes: u64,
    pub gif_max_bytes: u64,
    pub image_max_dimension: u32,
    /// Uploaded media can be attached for this long.
    pub media_expires_secs: u64,
    /// GIF and video uploads stay `pending`, then `in_progress`, for this long after
    /// FINALIZE.
    pub media_processing_ms: u64,
    /// The largest video `initialize` accepts (X: 512 MB).
    pub video_max_bytes: u64,
    /// The largest APPEND chunk. X's v1.1 APPEND documentation says 5 MB; the v2 endpoints
    /// state no limit (unconfirmed), so `None` turns the check off.
    pub append_max_bytes: Option<u64>,
    /// A video's shortest and longest duration (X: 0.5 to 140 s).
    pub video_min_duration_ms: u64,
    pub video_max_duration_ms: u64,
    /// A video's smallest and largest frame (X: 32x32 to 1280x1024, in either orientation).
    pub video_min_dimension: u32,
    pub video_max_width: u32,
    pub video_max_height: u32,
    /// The widest a video may be: width over height at most this, and height over width too
    /// (X: 3, i.e. 1:3 to 3:1).
    pub video_max_aspect: f64,
    pub video_max_frame_rate: f64,
    /// Who may reply to a post (the first comment is a reply).
    pub reply_policy: XReplyPolicy,
    /// Under `summoned_only`, whether a reply to one's own post counts as summoned. X has not
    /// said (unconfirmed), so both readings can be tested; the stricter one is the default.
    pub self_reply_is_summoned: bool,
}

/// X's reply restriction. Since 2026-02-23 the self-serve (pay-per-use) tiers may reply only
/// when the original post's author summoned the replier (mentioned the account or quoted one
/// of its posts); enterprise access may reply to anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XReplyPolicy {
    /// Any reply is accepted (enterprise access, and X before the restriction).
    Open,
    /// A reply is refused (403) unless the replier was summoned.
    SummonedOnly,
}

impl Default for XConfig {
    fn default() -> Self {
        Self {
            tier: XTier::Free,
            user_daily_limit: None,
            app_daily_limit: None,
            daily_window_secs: 86_400.0,
            posts_per_15min: Limit::new(100, 900.0),
            reads_per_15min: Limit::new(900, 900.0),
            lookup_reads_per_user: Limit::new(900, 900.0),
            lookup_reads_per_app: Limit::new(10_000, 900.0),
            duplicate_window_secs: 86_400.0,
            free_tier_rejects_media: false,
            max_weighted_length: 280,
            max_media_per_tweet: 4,
            image_max_bytes: 5 * 1024 * 1024,
            gif_max_bytes: 15 * 1024 * 1024,
            image_max_dimension: 4096,
            media_expires_secs: 86_400,
            media_processing_ms: 1_000,
            video_max_bytes: 512 * 1024 * 1024,
            append_max_bytes: Some(5 * 1024 * 1024),
            video_min_duration_ms: 500,
            video_max_duration_ms: 140_000,
            video_min_dimension: 32,
            video_max_width: 1280,
            video_max_height: 1024,
            video_max_aspect: 3.0,
            video_max_frame_rate: 60.0,
            reply_policy: XReplyPolicy::Open,
            self_reply_is_summoned: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkedInConfig {
    /// Every LinkedIn app is an approved partner app and gets refresh tokens.
    pub partner_app: bool,
    /// Company pages are refused with ACCESS_DENIED, as before business verification.
    pub company_access_denied: bool,
    /// Posts with an image are refused with "ShareMedia.media (URN) is missing".
    pub rejects_media_urn: bool,
    /// How long an uploaded image or asset stays PROCESSING.
    pub image_processing_ms: u64,
    /// `LinkedIn-Version` values older than this are retired (426).
    pub min_version: String,
    /// If not empty, exactly these versions are active (overrides `min_version`).
    pub accepted_versions: Vec<String>,
    /// Post creations per member (or organization) per window (429, serviceErrorCode 101).
    pub member_posts: Limit,
    /// Post creations per app per window.
    pub app_posts: Limit,
    /// A post with the same author, commentary and media within this long is refused (422
    /// DUPLICATE_POST, `/rest/posts` and `/v2/ugcPosts`); an older one is accepted again.
    pub duplicate_window_secs: f64,
    pub max_commentary_chars: usize,
    /// A comment's `message.text` (1,250 characters, as commonly cited: unconfirmed).
    pub max_comment_chars: usize,
    pub image_max_bytes: u64,
    pub image_min_width: u32,
    pub image_min_height: u32,
    pub image_min_aspect: f64,
    pub image_max_aspect: f64,
    /// The size of each video upload part but the last (`uploadInstructions`). LinkedIn's
    /// example ranges show 4 MiB; tests shrink it to get several parts from a small video.
    pub video_part_bytes: u64,
    /// `fileSizeBytes` below this is refused at `initializeUpload` (75 KB, per third-party
    /// guidelines: unconfirmed).
    pub video_min_bytes: u64,
    /// `fileSizeBytes` above this is refused at `initializeUpload`. Sources disagree (500 MB
    /// in publishing guidelines, 5 GB in client code citing LinkedIn's docs): 500 MB here,
    /// raise it to test the other reading.
    pub video_max_bytes: u64,
    pub video_min_duration_ms: u64,
    pub video_max_duration_ms: u64,
    /// Width over height, inclusive (1:2.4 to 2.4:1).
    pub video_min_aspect: f64,
    pub video_max_aspect: f64,
    /// How long a finalized video stays PROCESSING before it is AVAILABLE or
    /// PROCESSING_FAILED.
    pub video_processing_ms: u64,
    /// How long the part upload URLs live (`uploadUrlsExpireAt`); a PUT after that is
    /// refused. LinkedIn does not document the lifetime.
    pub video_upload_url_secs: f64,
    /// A fault: the answer to this part's PUT (0-based) carries an ETag that is not the
    /// stored part's, so a finalize listing it is refused as a mismatch.
    pub video_etag_mismatch_part: Option<usize>,
}

impl Default for LinkedInConfig {
    fn default() -> Self {
        Self {
            partner_app: false,
            company_access_denied: false,
            rejects_media_urn: false,
            image_processing_ms: 3_000,
            min_version: "202501".to_owned(),
            accepted_versions: Vec::new(),
            member_posts: Limit::new(150, 86_400.0),
            app_posts: Limit::new(100_000, 86_400.0),
            duplicate_window_secs: 86_400.0,
            max_commentary_chars: 3_000,
            max_comment_chars: 1_250,
            image_max_bytes: 5 * 1024 * 1024,
            image_min_width: 552,
            image_min_height: 276,
            image_min_aspect: 0.8,
            image_max_aspect: 3.0,
            video_part_bytes: 4 * 1024 * 1024,
            video_min_bytes: 75 * 1024,
            video_max_bytes: 500 * 1024 * 1024,
            video_min_duration_ms: 3_000,
            video_max_duration_ms: 30 * 60 * 1000,
            video_min_aspect: 1.0 / 2.4,
            video_max_aspect: 2.4,
            video_processing_ms: 5_000,
            video_upload_url_secs: 3_600.0,
            video_etag_mismatch_part: None,
        }
    }
}

/// The Graph API's own limits, shared by Facebook and Instagram.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaConfig {
    /// Calls per app (code 4; `X-App-Usage`).
    pub app_calls: Limit,
    /// Calls per user token (code 17).
    pub user_calls: Limit,
    /// Calls with a Page token, per Page (code 32).
    pub page_calls: Limit,
    /// Business use case calls per Page or Instagram account (codes 80001 / 80002;
    /// `X-Business-Use-Case-Usage`).
    pub business_calls: Limit,
}

impl Default for MetaConfig {
    fn default() -> Self {
        Self {
            app_calls: Limit::new(4_800, 3_600.0),
            user_calls: Limit::new(1_200, 3_600.0),
            page_calls: Limit::new(4_800, 3_600.0),
            business_calls: Limit::new(4_800, 86_400.0),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FacebookConfig {
    /// The platform's own limit (Herald's default of 2,000 is its own choice, not Facebook's).
    pub max_message_chars: usize,
    pub photo_max_bytes: u64,
    /// Posts and photos per Page per window before code 613.
    pub page_posts: Limit,
    /// The same text-only message on the same Page within this long is refused (506); an
    /// older one is accepted again.
    pub duplicate_window_secs: f64,
    /// Photos one feed post may attach in `attached_media`. Facebook publishes no maximum:
    /// this default is the simulator's choice (unconfirmed), a knob so tests can hit it.
    pub max_attached_photos: usize,
    /// Code 1363023 above this `file_size` ("The maximum size for a video is 2 GB").
    pub video_max_bytes: u64,
    /// Code 1363022 below this `file_size` (1 KB).
    pub video_min_bytes: u64,
    /// The window `[start_offset, end_offset)` each transfer answer asks for next. Facebook
    /// chooses it itself and does not document it (unconfirmed): a knob so tests can force
    /// several chunks.
    pub video_chunk_bytes: u64,
    /// How long a finished video reports `processing` before `ready` (or `error`).
    pub video_processing_ms: u64,
    /// An upload session not finished within this long is gone (code 1363030, "upload
    /// timeout"). Facebook's real lifetime is undocumented (unconfirmed).
    pub video_session_secs: u64,
    /// Whether a comment needs `pages_manage_engagement` besides the Page token (Meta's
    /// reference names it, client libraries disagree: unconfirmed, off by default).
    pub comment_requires_engagement_scope: bool,
}

impl Default for FacebookConfig {
    fn default() -> Self {
        Self {
            max_message_chars: 63_206,
            photo_max_bytes: 4 * 1024 * 1024,
            page_posts: Limit::new(100, 3_600.0),
            duplicate_window_secs: 86_400.0,
            max_attached_photos: 10,
            video_max_bytes: 2 * 1024 * 1024 * 1024,
            video_min_bytes: 1024,
            video_chunk_bytes: 1024 * 1024,
            video_processing_ms: 2_000,
            video_session_secs: 3_600,
            comment_requires_engagement_scope: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstagramConfig {
    /// Published posts per account per window (subcode 2207042).
    pub publishing_quota: Limit,
    /// How long a container reports IN_PROGRESS.
    pub container_processing_ms: u64,
    /// An unpublished container EXPIRES after this long.
    pub container_expiry_secs: u64,
    pub max_caption_chars: usize,
    pub image_max_bytes: u64,
    /// PNG is not accepted by the API (although some of Meta's documentation lists it): turn
    /// on to accept it.
    pub accept_png: bool,
    pub image_min_width: u32,
    pub image_min_aspect: f64,
    pub image_max_aspect: f64,
    pub max_carousel_children: usize,
    /// What a Reel (`media_type=REELS`) or a carousel's video item must be. The file size
    /// limit is one the sources disagree on (300 MB or 1 GB): 300 MB here.
    pub reels: ContainerVideoSpec,
}

impl Default for InstagramConfig {
    fn default() -> Self {
        Self {
            publishing_quota: Limit::new(50, 86_400.0),
            container_processing_ms: 3_000,
            container_expiry_secs: 86_400,
            max_caption_chars: 2_200,
            image_max_bytes: 8 * 1024 * 1024,
            accept_png: false,
            image_min_width: 320,
            image_min_aspect: 0.8,
            image_max_aspect: 1.91,
            max_carousel_children: 10,
            reels: ContainerVideoSpec {
                max_bytes: 300 * 1024 * 1024,
                min_duration_ms: 3_000,
                max_duration_ms: 15 * 60 * 1_000,
                ..ContainerVideoSpec::default()
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreadsConfig {
    pub posts: Limit,
    pub replies: Limit,
    pub container_processing_ms: u64,
    pub container_expiry_secs: u64,
    pub max_text_chars: usize,
    pub image_max_bytes: u64,
    pub max_carousel_children: usize,
    /// What a `media_type=VIDEO` container (single or carousel item) must be.
    pub video: ContainerVideoSpec,
}

impl Default for ThreadsConfig {
    fn default() -> Self {
        Self {
            posts: Limit::new(250, 86_400.0),
            replies: Limit::new(1_000, 86_400.0),
            container_processing_ms: 2_000,
            container_expiry_secs: 86_400,
            max_text_chars: 500,
            image_max_bytes: 8 * 1024 * 1024,
            max_carousel_children: 20,
            video: ContainerVideoSpec::default(),
        }
    }
}

/// The limits Instagram and Threads apply to a video they fetch from `video_url` and
/// process in the background: a video outside them leaves its container in `ERROR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContainerVideoSpec {
    /// A larger download fails.
    pub max_bytes: u64,
    pub min_duration_ms: u64,
    pub max_duration_ms: u64,
    pub max_width: u32,
    /// Width over height.
    pub min_aspect: f64,
    pub max_aspect: f64,
    pub min_frame_rate: f64,
    pub max_frame_rate: f64,
    /// How long a video container stays IN_PROGRESS (image containers use
    /// `container_processing_ms`).
    pub processing_ms: u64,
}

impl Default for ContainerVideoSpec {
    /// Threads' published video limits (5 minutes, 1 GB).
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024 * 1024,
            min_duration_ms: 0,
            max_duration_ms: 300_000,
            max_width: 1920,
            min_aspect: 0.01,
            max_aspect: 10.0,
            min_frame_rate: 23.0,
            max_frame_rate: 60.0,
            processing_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// Messages per chat (about one per second).
    pub per_chat: Limit,
    /// Messages per group or channel per minute.
    pub per_group_minute: Limit,
    /// Messages per bot across all chats (about 30 per second).
    pub per_bot: Limit,
    pub max_text_chars: usize,
    pub max_caption_chars: usize,
    pub photo_upload_max_bytes: u64,
    pub photo_url_max_bytes: u64,
    /// The largest file a multipart upload may carry (the Bot API documents 50 MB; the error
    /// for a larger one, 413 "Request Entity Too Large", is unconfirmed).
    pub file_upload_max_bytes: u64,
    /// The largest video the server fetches from a URL (20 MB).
    pub file_url_max_bytes: u64,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            per_chat: Limit::new(1, 1.0),
            per_group_minute: Limit::new(20, 60.0),
            per_bot: Limit::new(30, 1.0),
            max_text_chars: 4_096,
            max_caption_chars: 1_024,
            photo_upload_max_bytes: 10 * 1024 * 1024,
            photo_url_max_bytes: 5 * 1024 * 1024,
            file_upload_max_bytes: 50 * 1024 * 1024,
            file_url_max_bytes: 20 * 1024 * 1024,
        }
    }
}
