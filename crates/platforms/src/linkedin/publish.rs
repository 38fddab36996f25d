//! LinkedIn publishing: image upload and processing, posts in both flows (one image or video,
//! or several images), the media fallback, first comments, and lookups by author. See
//! `mod.rs` for the flows and `video.rs` for videos.

use chrono::{DateTime, Utc};
use herald_config::LinkedinFlow;
use herald_domain::{Code, ErrorClass, PlatformFailure, PostTargetType};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use serde::Deserialize;

use super::{Linkedin, P, RESERVED, string_at};

/// What LinkedIn processes after an upload before a post may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asset {
    Image,
    Video,
}

impl Asset {
    /// The word in its URN (`urn:li:video:`) and in its REST path (`/rest/videos/`).
    fn noun(self) -> &'static str {
        match self {
            Asset::Image => "image",
            Asset::Video => "video",
        }
    }
}
use crate::account::Account;
use crate::classify::{self, Call, Operation};
use crate::hints;
use crate::http::{Reply, Sent};
use crate::lookup::{self, Candidate, Lookup};
use crate::steps::{
    Degraded, DegradedKind, FallbackPolicy, StepContext, StepKey, StepOutcome, unpublishable,
};

impl Linkedin {
    pub(super) fn call(account: &Account) -> Call {
        Call::new(Operation::Media).for_organization(account.target == PostTargetType::Page)
    }

    pub(super) async fn upload(
        &self,
        ctx: &StepContext<'_>,
        index: usize,
    ) -> Result<StepOutcome, PlatformFailure> {
        let account = ctx.account;
        let token = &account.access_token;
        let owner = author_urn(account)?;
        let media = ctx.media(index)?;
        if media.body.is_none() {
            return Err(unpublishable(
                P,
                "LinkedIn needs the image bytes to upload",
                "Provide the image file",
            ));
        }
        let bytes = media.read_all().await.map_err(|e| {
            PlatformFailure::new(
                ErrorClass::Retryable,
                P,
                format!("cannot read image {index}: {e}"),
            )
            .with_herald_code(Code::MediaMissing)
        })?;
        let (upload_url, urn, rate) = match self.config.flow {
            LinkedinFlow::Current => {
                let request = self
                    .rest(
                        self.http
                            .client()
                            .post(self.config.api_url.join("/rest/images")),
                        token,
                    )
                    .query(&[("action", "initializeUpload")])
                    .json(&json!({ "initializeUploadRequest": { "owner": owner } }));
                let reply = self
                    .send(request, Sent::Repeatable, Self::call(account))
                    .await?;
                let value: Value = reply.json(P, Sent::Repeatable)?;
                (
                    string_at(&value, "/value/uploadUrl")?,
                    string_at(&value, "/value/image")?,
                    reply.rate,
                )
            }
            LinkedinFlow::Legacy => {
                let request = self
                    .http
                    .client()
                    .post(self.config.api_url.join("/v2/assets"))
                    .query(&[("action", "registerUpload")])
                    .bearer_auth(token.expose_secret())
                    .header("X-Restli-Protocol-Version", "2.0.0")
                    .json(&json!({ "registerUploadRequest": {
                        "recipes": ["urn:li:digitalmediaRecipe:feedshare-image"],
                        "owner": owner,
                        "serviceRelationships": [{
                            "relationshipType": "OWNER",
                            "identifier": "urn:li:userGeneratedContent"
                        }]
                    }}));
                let reply = self
                    .send(request, Sent::Repeatable, Self::call(account))
                    .await?;
                let value: Value = reply.json(P, Sent::Repeatable)?;
                (
                    string_at(
                        &value,
                        "/value/uploadMechanism/com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest/uploadUrl",
                    )?,
                    string_at(&value, "/value/asset")?,
                    reply.rate,
                )
            }
        };
        let put = self
            .http
            .client()
            .put(upload_url)
            .bearer_auth(token.expose_secret())
            .body(bytes);
        self.send(put, Sent::Repeatable, Self::call(account))
            .await?;
        Ok(StepOutcome::new(urn, rate))
    }

    pub(super) async fn send(
        &self,
        request: RequestBuilder,
        sent: Sent,
        call: Call,
    ) -> Result<Reply, PlatformFailure> {
        self.http
            .send(P, request, sent)
            .await?
            .ok_or_failure(P, call)
    }

    /// Polls an uploaded image or video until LinkedIn says it is AVAILABLE, for at most
    /// `image_wait` or `video_wait`. PROCESSING_FAILED is permanent (a video's failure
    /// carries LinkedIn's reason); still processing at the deadline is retryable, and the
    /// next attempt polls the same asset again.
    pub(super) async fn await_available(
        &self,
        token: &SecretString,
        asset: Asset,
        urn: &str,
    ) -> Result<StepOutcome, PlatformFailure> {
        let wait = match asset {
            Asset::Image => self.config.image_wait,
            Asset::Video => self.video_wait,
        };
        let deadline = tokio::time::Instant::now() + wait;
        let path = format!("/rest/{}s/{}", asset.noun(), encode_urn(urn));
        loop {
            let request = self.rest(
                self.http.client().get(self.config.api_url.join(&path)),
                token,
            );
            let reply = self
                .send(request, Sent::Repeatable, Call::new(Operation::Read))
                .await?;
            let value: Value = reply.json(P, Sent::Repeatable)?;
            let status = value
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match status {
                "AVAILABLE" => return Ok(StepOutcome::new(urn, reply.rate)),
                "PROCESSING_FAILED" => {
                    let (message, hint) = match asset {
                        Asset::Image => (
                            format!("LinkedIn could not process image {urn}"),
                            hints::LINKEDIN_IMAGE_FAILED,
                        ),
                        Asset::Video => {
                            let reason = value
                                .get("processingFailureReason")
                                .and_then(Value::as_str)
                                .unwrap_or("LinkedIn gave no reason");
                            (
                                format!("LinkedIn could not process video {urn}: {reason}"),
                                hints::LINKEDIN_VIDEO_FAILED,
                            )
                        }
                    };
                    return Err(PlatformFailure::new(ErrorClass::Permanent, P, message)
                        .with_platform_code("PROCESSING_FAILED")
                        .with_hint(hint));
                }
                _ => {}
            }
            if tokio::time::Instant::now() + self.poll_interval > deadline {
                let failure = PlatformFailure::new(
                    ErrorClass::Retryable,
                    P,
                    format!(
                        "{} {urn} is still {status} after {}s",
                        asset.noun(),
                        wait.as_secs()
                    ),
                )
                .with_platform_code(status);
                return Err(match asset {
                    Asset::Image => failure,
                    Asset::Video => failure.with_herald_code(Code::Processing),
                });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    fn post_request(
        &self,
        account: &Account,
        text: &str,
        media: &[String],
    ) -> Result<RequestBuilder, PlatformFailure> {
        let author = author_urn(account)?;
        let token = &account.access_token;
        Ok(match self.config.flow {
            LinkedinFlow::Current => {
                let mut body = json!({
                    "author": author,
                    "commentary": escape_little_text(text),
                    "visibility": "PUBLIC",
                    "distribution": {
                        "feedDistribution": "MAIN_FEED",
                        "targetEntities": [],
                        "thirdPartyDistributionChannels": []
                    },
                    "lifecycleState": "PUBLISHED",
                    "isReshareDisabledByAuthor": false
                });
                match media {
                    [] => {}
                    [one] => body["content"] = json!({ "media": { "id": one } }),
                    several => {
                        let images: Vec<Value> =
                            several.iter().map(|id| json!({ "id": id })).collect();
                        body["content"] = json!({ "multiImage": { "images": images } });
                    }
                }
                self.rest(
                    self.http
                        .client()
                        .post(self.config.api_url.join("/rest/posts")),
                    token,
                )
                .json(&body)
            }
            LinkedinFlow::Legacy => {
                let mut share = json!({
                    "shareCommentary": { "text": text },
                    "shareMediaCategory": "NONE"
                });
                if let Some(urn) = media.first() {
                    share["shareMediaCategory"] = json!("IMAGE");
                    share["media"] = json!([{ "status": "READY", "media": urn }]);
                }
                let body = json!({
                    "author": author,
                    "lifecycleState": "PUBLISHED",
                    "specificContent": { "com.linkedin.ugc.ShareContent": share },
                    "visibility": { "com.linkedin.ugc.MemberNetworkVisibility": "PUBLIC" }
                });
                self.http
                    .client()
                    .post(self.config.api_url.join("/v2/ugcPosts"))
                    .bearer_auth(token.expose_secret())
                    .header("X-Restli-Protocol-Version", "2.0.0")
                    .json(&body)
            }
        })
    }

    pub(super) async fn publish(
        &self,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let account = ctx.account;
        let media = (0..ctx.content.media.len())
            .map(|index| {
                ctx.prior
                    .require(P, &StepKey::media(index))
                    .map(str::to_owned)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let call = Call::new(Operation::Publish)
            .with_media(!media.is_empty())
            .for_organization(account.target == PostTargetType::Page);
        let mut degraded = Vec::new();
        let request = self.post_request(account, ctx.text(), &media)?;
        let reply = match self.send(request, Sent::Publishes, call).await {
            Ok(reply) => reply,
            Err(failure)
                if !media.is_empty()
                    && ctx.options.fallback == FallbackPolicy::Allow
                    && classify::is_linkedin_media_rejection(&failure.message) =>
            {
                tracing::warn!(code = ?failure.code(), "LinkedIn rejected the media; posting text-only");
                degraded.push(Degraded {
                    kind: DegradedKind::MediaDropped,
                    cause: failure,
                });
                let request = self.post_request(account, ctx.text(), &[])?;
                self.send(request, Sent::Publishes, call.with_media(false))
                    .await?
            }
            Err(failure) => return Err(failure),
        };
        let urn = created_urn(&reply, &["id"], "the post")?;
        let url = self.post_url(&urn);
        let mut outcome = StepOutcome::new(urn, reply.rate).with_url(Some(url));
        outcome.degraded = degraded;
        Ok(outcome)
    }

    /// The first comment under the published post, by its author. The worker journals it
    /// like a publish; its failure only degrades the delivery.
    pub(super) async fn comment(
        &self,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let account = ctx.account;
        let post = ctx.prior.require(P, &StepKey::publish())?;
        let text = ctx.content.first_comment.as_deref().unwrap_or_default();
        let body = json!({
            "actor": author_urn(account)?,
            "object": post,
            "message": { "text": text },
        });
        let path = format!("/socialActions/{}/comments", encode_urn(post));
        let request = match self.config.flow {
            LinkedinFlow::Current => self.rest(
                self.http
                    .client()
                    .post(self.config.api_url.join(&format!("/rest{path}"))),
                &account.access_token,
            ),
            LinkedinFlow::Legacy => self
                .http
                .client()
                .post(self.config.api_url.join(&format!("/v2{path}")))
                .bearer_auth(account.access_token.expose_secret())
                .header("X-Restli-Protocol-Version", "2.0.0"),
        }
        .json(&body);
        let call =
            Call::new(Operation::Publish).for_organization(account.target == PostTargetType::Page);
        let reply = self.send(request, Sent::Publishes, call).await?;
        let urn = created_urn(&reply, &["$URN", "id"], "the comment")?;
        Ok(StepOutcome::new(urn, reply.rate))
    }

    /// Pages back through the author's posts (`start`/`count`, newest first) until it passes
    /// the send time. A member app without `r_member_social` may not list its own posts (403
    /// ACCESS_DENIED): that lookup cannot tell.
    pub(crate) async fn lookup(
        &self,
        account: &Account,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        const COUNT: usize = 50;
        let author = author_urn(account)?;
        let mut search = lookup::Search::new(text, since, self.http.lookup_bounds());
        let mut start = 0usize;
        loop {
            let (start_param, count_param) = (start.to_string(), COUNT.to_string());
            let request = self
                .rest(
                    self.http
                        .client()
                        .get(self.config.api_url.join("/rest/posts")),
                    &account.access_token,
                )
                .header("X-RestLi-Method", "FINDER")
                .query(&[
                    ("q", "author"),
                    ("author", author.as_str()),
                    ("start", start_param.as_str()),
                    ("count", count_param.as_str()),
                ]);
            let reply = match self
                .send(request, Sent::Repeatable, Call::new(Operation::Read))
                .await
            {
                Ok(reply) => reply,
                Err(failure) if failure.status == Some(403) => {
                    tracing::info!(%failure, "LinkedIn denies listing the author's posts: the lookup cannot tell");
                    return Ok(Lookup::CannotKnow);
                }
                Err(failure) => return Err(failure),
            };
            #[derive(Deserialize)]
            struct Paging {
                total: Option<usize>,
            }
            #[derive(Deserialize)]
            struct Page {
                #[serde(default)]
                elements: Vec<Value>,
                paging: Option<Paging>,
            }
            let page: Page = reply.json(P, Sent::Repeatable)?;
            let read = page.elements.len();
            // More when the page was full and the total (if given) lies beyond it.
            let more = read >= COUNT
                && page
                    .paging
                    .and_then(|p| p.total)
                    .is_none_or(|total| start + read < total);
            let web = &self.config.web_url;
            let candidates = page.elements.iter().filter_map(|post| {
                let id = post.get("id").and_then(Value::as_str)?.to_owned();
                let commentary = post
                    .get("commentary")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let millis = post
                    .get("publishedAt")
                    .or_else(|| post.get("createdAt"))
                    .and_then(Value::as_i64);
                Some(Candidate {
                    url: Some(web.join(&format!("/feed/update/{id}"))),
                    at: millis.and_then(DateTime::from_timestamp_millis),
                    text: unescape_little_text(commentary),
                    id,
                })
            });
            if let Some(found) = search.page(candidates, more) {
                return Ok(found);
            }
            start += read;
        }
    }

    /// A post's public URL.
    pub(crate) fn post_url(&self, urn: &str) -> String {
        self.config.web_url.join(&format!("/feed/update/{urn}"))
    }

    /// Whether the post `urn` exists (`GET /rest/posts/{urn}`): a duplicate refusal names the
    /// post it repeats, which may since have been deleted. `None`: the app may not read it
    /// (403, a member app without `r_member_social`).
    pub(crate) async fn post_exists(
        &self,
        account: &Account,
        urn: &str,
    ) -> Result<Option<bool>, PlatformFailure> {
        let encoded: String = url::form_urlencoded::byte_serialize(urn.as_bytes()).collect();
        let request = self.rest(
            self.http
                .client()
                .get(self.config.api_url.join(&format!("/rest/posts/{encoded}"))),
            &account.access_token,
        );
        match self
            .send(request, Sent::Repeatable, Call::new(Operation::Read))
            .await
        {
            Ok(_) => Ok(Some(true)),
            Err(failure) if matches!(failure.status, Some(404 | 410)) => Ok(Some(false)),
            Err(failure) if failure.status == Some(403) => Ok(None),
            Err(failure) => Err(failure),
        }
    }
}

/// `urn:li:person:{sub}` or, for a page target, `urn:li:organization:{id}`.
pub(crate) fn author_urn(account: &Account) -> Result<String, PlatformFailure> {
    Ok(match account.target {
        PostTargetType::Personal => format!("urn:li:person:{}", account.account_id),
        PostTargetType::Page => format!("urn:li:organization:{}", account.page()?),
    })
}

/// Escapes "little text" reserved characters so the commentary reads as written.
pub(crate) fn escape_little_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The inverse of [`escape_little_text`].
pub(crate) fn unescape_little_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && RESERVED.contains(&next)
        {
            out.push(next);
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

/// What a 201 created: the URN in `x-restli-id` (or `x-linkedin-id`), else the first of
/// `fields` in the body. Neither is an unknown outcome: it exists, but Herald cannot name it.
fn created_urn(reply: &Reply, fields: &[&str], what: &str) -> Result<String, PlatformFailure> {
    if let Some(id) = reply
        .header("x-restli-id")
        .or_else(|| reply.header("x-linkedin-id"))
    {
        return Ok(id.to_owned());
    }
    let value: Value = reply.json(P, Sent::Publishes)?;
    fields
        .iter()
        .find_map(|field| value.get(field).and_then(Value::as_str))
        .map(str::to_owned)
        .ok_or_else(|| {
            PlatformFailure::new(
                ErrorClass::UnknownOutcome,
                P,
                format!("LinkedIn accepted {what} but named no id"),
            )
            .with_status(reply.status.as_u16())
            .with_hint(hints::UNKNOWN_OUTCOME)
        })
}

/// URNs in a path are percent-encoded (`urn%3Ali%3Aimage%3A...`).
pub(super) fn encode_urn(urn: &str) -> String {
    url::form_urlencoded::byte_serialize(urn.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_text_escapes_every_reserved_character_and_round_trips() {
        let text = r"Hi @team (v2) #launch_day *bold* [x] {y} <z> a|b ~ \";
        let escaped = escape_little_text(text);
        assert_eq!(
            escaped,
            r"Hi \@team \(v2\) \#launch\_day \*bold\* \[x\] \{y\} \<z\> a\|b \~ \\"
        );
        assert_eq!(unescape_little_text(&escaped), text);
    }
}
