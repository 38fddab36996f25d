//! LinkedIn videos (Videos API, current flow only).
//!
//! `media:{i}` = `POST /rest/videos?action=initializeUpload` with the owner and the size,
//! which answers the video URN, an upload token and one instruction per part (4 MiB each but
//! the last: always follow the ranges given); each part's bytes are read from the spooled
//! file on their own ([`MediaInput::read_range`], never the whole video) and `PUT` to the
//! part's pre-signed URL, whose `ETag` is kept; `POST /rest/videos?action=finalizeUpload`
//! lists the ETags in instruction order. The whole step is repeatable: an upload left
//! unfinished is harmless, and the next attempt starts a new one. That is also how the two
//! upload failures a retry fixes are treated: an upload URL that expired mid-way, and a
//! finalize that finds a part missing or its ETag different (both retryable, with a hint).
//!
//! `media:{i}:ready` polls `GET /rest/videos/{urn}` until `AVAILABLE` for at most
//! `container_wait` (the wait Instagram and Threads containers get; retryable after it, the
//! next attempt resumes polling the same video). `PROCESSING_FAILED` is permanent: the
//! reason LinkedIn gives, and a hint with its rules.
//!
//! The pre-signed part URLs get no `Authorization` header: they carry their own signature,
//! and the token is not sent where it is not needed. The URLs never appear in a failure.

use herald_domain::{Code, ErrorClass, PlatformFailure};
use serde::Deserialize;
use serde_json::{Value, json};

use super::publish::author_urn;
use super::{Linkedin, P};
use crate::classify::Call;
use crate::hints;
use crate::http::{Reply, Sent};
use crate::steps::{StepContext, StepOutcome};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instruction {
    first_byte: u64,
    last_byte: u64,
    upload_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Initialized {
    video: String,
    #[serde(default)]
    upload_token: Option<String>,
    upload_instructions: Vec<Instruction>,
}

#[derive(Deserialize)]
struct InitializeAnswer {
    value: Initialized,
}

fn shape(message: String) -> PlatformFailure {
    PlatformFailure::new(ErrorClass::Retryable, P, message).with_herald_code(Code::Shape)
}

/// The message of a LinkedIn error body, or the status.
fn message_of(reply: &Reply) -> String {
    serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("HTTP {}", reply.status.as_u16()))
}

impl Linkedin {
    /// Initialize, every part, finalize: the video's URN.
    pub(super) async fn upload_video(
        &self,
        ctx: &StepContext<'_>,
        index: usize,
    ) -> Result<StepOutcome, PlatformFailure> {
        let account = ctx.account;
        let token = &account.access_token;
        let media = ctx.media(index)?;
        let call = Self::call(account);
        let request = self
            .rest(
                self.http
                    .client()
                    .post(self.config.api_url.join("/rest/videos")),
                token,
            )
            .query(&[("action", "initializeUpload")])
            .json(&json!({ "initializeUploadRequest": {
                "owner": author_urn(account)?,
                "fileSizeBytes": media.len,
                "uploadCaptions": false,
                "uploadThumbnail": false,
            }}));
        let reply = self
            .send(request, Sent::Repeatable, call)
            .await
            .map_err(|failure| match failure.status {
                // A video LinkedIn refuses outright (its size): say what it takes.
                Some(400 | 422) if failure.hint.is_none() => {
                    failure.with_hint(hints::LINKEDIN_VIDEO_FAILED)
                }
                _ => failure,
            })?;
        let init: InitializeAnswer = reply.json(P, Sent::Repeatable)?;
        let init = init.value;
        if init.upload_instructions.is_empty() {
            return Err(shape(format!(
                "LinkedIn gave no upload instructions for video {}",
                init.video
            )));
        }
        let mut etags = Vec::with_capacity(init.upload_instructions.len());
        for (part, instruction) in init.upload_instructions.iter().enumerate() {
            let (first, last) = (instruction.first_byte, instruction.last_byte);
            if last < first || last >= media.len {
                return Err(shape(format!(
                    "LinkedIn's upload instruction {part} asks for bytes {first}-{last} of a {}-byte video",
                    media.len
                )));
            }
            let wanted = last - first + 1;
            let bytes = media.read_range(first, wanted).await.map_err(|e| {
                PlatformFailure::new(
                    ErrorClass::Retryable,
                    P,
                    format!("cannot read bytes {first}-{last} of the video: {e}"),
                )
                .with_herald_code(Code::MediaMissing)
            })?;
            let put = self
                .http
                .client()
                .put(&instruction.upload_url)
                .header("Content-Type", "application/octet-stream")
                .body(bytes);
            let reply = self.http.send(P, put, Sent::Repeatable).await?;
            if !reply.is_success() {
                return Err(part_failure(&reply, part, call));
            }
            let etag = reply.header("etag").ok_or_else(|| {
                shape(format!(
                    "LinkedIn's answer to part {part} of video {} has no ETag",
                    init.video
                ))
            })?;
            etags.push(etag.to_owned());
        }
        let request = self
            .rest(
                self.http
                    .client()
                    .post(self.config.api_url.join("/rest/videos")),
                token,
            )
            .query(&[("action", "finalizeUpload")])
            .json(&json!({ "finalizeUploadRequest": {
                "video": init.video,
                "uploadToken": init.upload_token.unwrap_or_default(),
                "uploadedPartIds": etags,
            }}));
        let reply = self.http.send(P, request, Sent::Repeatable).await?;
        if matches!(reply.status.as_u16(), 400 | 404) {
            // The parts LinkedIn holds are not the ones listed (a part lost, an ETag that
            // does not match) or the upload is gone: a new upload fixes it.
            return Err(PlatformFailure::new(
                ErrorClass::Retryable,
                P,
                format!(
                    "LinkedIn refused to finalize video {}: {}",
                    init.video,
                    message_of(&reply)
                ),
            )
            .with_status(reply.status.as_u16())
            .with_hint(hints::LINKEDIN_VIDEO_PARTS));
        }
        let reply = reply.ok_or_failure(P, call)?;
        Ok(StepOutcome::new(init.video, reply.rate))
    }
}

/// A part's PUT refused: an expired upload URL is retryable (a new upload gets new URLs);
/// anything else is classified like any LinkedIn answer. The URL itself is never named.
fn part_failure(reply: &Reply, part: usize, call: Call) -> PlatformFailure {
    let message = message_of(reply);
    let expired = reply.body.to_ascii_lowercase().contains("expired");
    if expired && matches!(reply.status.as_u16(), 400 | 403 | 410) {
        return PlatformFailure::new(
            ErrorClass::Retryable,
            P,
            format!("the upload URL of video part {part} expired: {message}"),
        )
        .with_status(reply.status.as_u16())
        .with_platform_code("UPLOAD_URL_EXPIRED")
        .with_hint(hints::LINKEDIN_VIDEO_URL_EXPIRED);
    }
    reply.failure(P, call)
}
