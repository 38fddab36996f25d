//! Herald's vocabulary, shared by every other crate: typed ids, the platforms, what a post
//! contains, the per-platform content rules, delivery states, job payloads and the error
//! taxonomy.
//!
//! This crate is pure: no I/O, no clocks beyond id generation, nothing async. Anything here
//! can be unit- and property-tested in isolation.

pub mod content;
pub mod error;
pub mod id;
pub mod job;
pub mod media;
pub mod platform;
pub mod rules;
pub mod state;

pub use content::{Fit, MediaRef, PostContent};
pub use error::{Code, ErrorClass, PlatformFailure};
pub use id::{ApiKeyId, ConnectionId, DeliveryId, MediaId, OAuthStateId, PostId, TenantId};
pub use job::PublishJob;
pub use media::{MediaKind, VideoContainer, VideoError, VideoInfo};
pub use platform::{AppType, InvalidChoice, Platform, PostTargetType};
pub use rules::{
    CommentRules, ContentRules, FieldPath, ImageFormat, ImageInfo, ImageRules, MediaRules,
    MediaShape, PlatformRules, RuleCode, SniffError, TextCounting, TextRules, VideoRules,
    Violation, Violations, inspect_image, twitter_weighted_length, validate_content,
    validate_content_with_media, validate_image,
};
#[cfg(feature = "decode")]
pub use rules::{DecodeLimits, VerifyError};
pub use state::{
    ConnectionStatus, DeliveryState, PostState, Scope, StepState, UnknownOutcomePolicy,
};
