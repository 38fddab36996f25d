//! Facebook Pages through the Graph API: Pages and their tokens, photo + feed posts.
//!
//! - Connect: Facebook Login (`graph.rs`), then `GET /me/accounts` lists the Pages the user
//!   administers, each with its own Page token: posting always uses the Page token. No Pages
//!   is a failure with a hint (the user must be a Page admin).
//! - Publish: `media:0` uploads the photo unpublished (`POST /{page}/photos`, `published=false`,
//!   the bytes as multipart `source`, or `url` when Herald only has a public URL); `publish`
//!   posts to the feed with `attached_media: [{media_fbid}]` and reads the `permalink_url`.
//! - Lookup: the Page feed since the publish time, paged by `paging.cursors.after`.

use chrono::{DateTime, Utc};
use herald_config::MetaConfig;
use herald_domain::{Platform, PlatformFailure, PostContent};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::account::{Account, Target, TargetKind};
use crate::classify::{Call, Operation};
use crate::graph::{Created, Meta, RecentPosts};
use crate::http::{Http, Sent};
use crate::lookup::Lookup;
use crate::steps::{Step, StepAction, StepContext, StepKey, StepOutcome, unpublishable};

const P: Platform = Platform::Facebook;
/// The Page feed since the publish time.
const FEED: RecentPosts = RecentPosts {
    fields: "id,message,created_time,permalink_url",
    text: "message",
    time: "created_time",
    url: "permalink_url",
    since: true,
    limit: "100",
};

#[derive(Debug, Clone)]
pub(crate) struct Facebook {
    meta: Meta,
}

impl Facebook {
    pub(crate) fn new(http: Http, config: &MetaConfig) -> Self {
        Self {
            meta: Meta::new(http, P, config),
        }
    }

    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    pub(crate) async fn targets(
        &self,
        token: &SecretString,
    ) -> Result<Vec<Target>, PlatformFailure> {
        let pages = self.meta.pages(token).await?;
        if pages.is_empty() {
            return Err(crate::classify::no_targets(P));
        }
        Ok(pages
            .into_iter()
            .map(|page| {
                let mut target = Target::new(TargetKind::FacebookPage, page.id);
                target.name = page.name;
                target.access_token = page.access_token;
                target
            })
            .collect())
    }

    pub(crate) fn plan(&self, content: &PostContent) -> Result<Vec<Step>, PlatformFailure> {
        if content.media.len() > 1 {
            return Err(unpublishable(
                P,
                "Herald posts at most one image to a Facebook Page",
                "Attach one image",
            ));
        }
        if !content.thread.is_empty() {
            return Err(unpublishable(
                P,
                "Facebook posts are not threads",
                "Send the thread parts as one text",
            ));
        }
        let mut steps: Vec<Step> = (0..content.media.len())
            .map(|i| Step::new(P, StepKey::media(i), StepAction::UploadMedia { index: i }))
            .collect();
        steps.push(Step::new(P, StepKey::publish(), StepAction::Publish));
        Ok(steps)
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let page = ctx.account.page()?;
        let token = &ctx.account.access_token;
        match step.action {
            StepAction::UploadMedia { index } => self.upload_photo(page, token, ctx, index).await,
            StepAction::Publish => {
                let mut body = json!({ "message": ctx.text() });
                if !ctx.content.media.is_empty() {
                    let photo = ctx.prior.require(P, &StepKey::media(0))?;
                    body["attached_media"] = json!([{ "media_fbid": photo }]);
                }
                let reply = self
                    .meta
                    .graph
                    .post(
                        &format!("/{page}/feed"),
                        token,
                        &body,
                        Sent::Publishes,
                        Call::new(Operation::Publish).with_media(!ctx.content.media.is_empty()),
                    )
                    .await?;
                let post: Created = reply.json(P, Sent::Publishes)?;
                let url = self
                    .meta
                    .graph
                    .field(&post.id, token, "permalink_url")
                    .await
                    .or_else(|| Some(format!("https://www.facebook.com/{}", post.id)));
                Ok(StepOutcome::new(post.id, reply.rate).with_url(url))
            }
            _ => Err(crate::oauth::unsupported(P, "this step")),
        }
    }

    async fn upload_photo(
        &self,
        page: &str,
        token: &SecretString,
        ctx: &StepContext<'_>,
        index: usize,
    ) -> Result<StepOutcome, PlatformFailure> {
        let media = ctx.media(index)?;
        let path = format!("/{page}/photos");
        let call = Call::new(Operation::Media);
        let reply = match (media.memory(), &media.public_url) {
            (Some(bytes), _) => {
                let part = Part::stream(bytes.clone())
                    .file_name(media.file_name.clone())
                    .mime_str(&media.content_type)
                    .map_err(|err| {
                        unpublishable(
                            P,
                            format!("bad content type: {err}"),
                            "Use a JPEG, PNG, GIF or WebP image",
                        )
                    })?;
                let form = Form::new().part("source", part).text("published", "false");
                let request = self
                    .meta
                    .graph
                    .http
                    .client()
                    .post(self.meta.graph.url(&path))
                    .query(&[("access_token", token.expose_secret())])
                    .multipart(form);
                self.meta
                    .graph
                    .http
                    .send(P, request, Sent::Repeatable)
                    .await?
                    .ok_or_failure(P, call)?
            }
            (None, Some(url)) => {
                self.meta
                    .graph
                    .post(
                        &path,
                        token,
                        &json!({ "url": url, "published": false }),
                        Sent::Repeatable,
                        call,
                    )
                    .await?
            }
            (None, None) => {
                return Err(unpublishable(
                    P,
                    "the image has neither bytes nor a URL",
                    "Provide the image",
                ));
            }
        };
        let photo: Created = reply.json(P, Sent::Repeatable)?;
        Ok(StepOutcome::new(photo.id, reply.rate))
    }

    pub(crate) async fn lookup(
        &self,
        account: &Account,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        let page = account.page()?;
        self.meta
            .graph
            .lookup_recent(
                &format!("/{page}/feed"),
                &account.access_token,
                FEED,
                text,
                since,
            )
            .await
    }
}
