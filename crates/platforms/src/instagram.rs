//! Instagram Business through the Graph API: container, processing, publish.
//!
//! - Connect: Facebook Login with the Instagram scopes (`graph.rs`); the Instagram business
//!   accounts are the `instagram_business_account`s of the user's Pages. None is a failure
//!   with a hint (Business/Creator account, linked to a Page, admin of both).
//! - Publish: an image is required, and Instagram fetches it itself, so the image needs a
//!   public URL (Herald's signed media URL). `container` creates the media container
//!   (`POST /{ig}/media {image_url, caption}`), `container:ready` polls `status_code` until
//!   FINISHED (publishing earlier is refused with 9007/2207027), `publish` calls
//!   `media_publish {creation_id}` and reads the `permalink`.
//! - Lookup: the account's recent media, by caption, paged by `paging.cursors.after`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_config::MetaConfig;
use herald_domain::{Platform, PlatformFailure, PostContent};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::account::{Account, Target, TargetKind};
use crate::classify::{Call, Operation};
use crate::graph::{Created, Meta, RecentPosts};
use crate::hints;
use crate::http::{Http, HttpSettings, Sent};
use crate::lookup::Lookup;
use crate::steps::{Step, StepAction, StepContext, StepKey, StepOutcome, unpublishable};

const P: Platform = Platform::Instagram;
/// The account's recent media; the edge takes no `since`, so the time is checked here.
const MEDIA: RecentPosts = RecentPosts {
    fields: "id,caption,timestamp,permalink",
    text: "caption",
    time: "timestamp",
    url: "permalink",
    since: false,
    limit: "50",
};

#[derive(Debug, Clone)]
pub(crate) struct Instagram {
    meta: Meta,
    poll_interval: Duration,
    container_wait: Duration,
}

impl Instagram {
    pub(crate) fn new(http: Http, config: &MetaConfig, settings: &HttpSettings) -> Self {
        Self {
            meta: Meta::new(http, P, config),
            poll_interval: settings.poll_interval,
            container_wait: settings.container_wait,
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
        let mut targets = Vec::new();
        for page in pages {
            let Some(ig) = page.instagram_business_account else {
                continue;
            };
            let mut target = Target::new(TargetKind::InstagramAccount, ig.id.clone());
            target.page_id = Some(page.id);
            if let Ok(reply) = self
                .meta
                .graph
                .get(
                    &format!("/{}", ig.id),
                    token,
                    &[("fields", "id,username,name")],
                    Call::new(Operation::Connect),
                )
                .await
                && let Ok(profile) = serde_json::from_str::<Value>(&reply.body)
            {
                target.username = profile
                    .get("username")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                target.name = profile
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            if target.name.is_none() {
                target.name = page.name;
            }
            targets.push(target);
        }
        if targets.is_empty() {
            return Err(crate::classify::no_targets(P));
        }
        Ok(targets)
    }

    pub(crate) fn plan(&self, content: &PostContent) -> Result<Vec<Step>, PlatformFailure> {
        match content.media.len() {
            0 => Err(unpublishable(
                P,
                "Instagram requires an image",
                hints::INSTAGRAM_IMAGE_REQUIRED,
            )),
            1 if content.thread.is_empty() => Ok(vec![
                Step::new(P, StepKey::container(), StepAction::CreateContainer),
                Step::new(P, StepKey::container_ready(), StepAction::AwaitContainer),
                Step::new(P, StepKey::publish(), StepAction::Publish),
            ]),
            1 => Err(unpublishable(
                P,
                "Instagram posts are not threads",
                "Send one caption",
            )),
            _ => Err(unpublishable(
                P,
                "Herald publishes single-image Instagram posts (no carousels yet)",
                "Attach one image",
            )),
        }
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let ig = ctx.account.account_id.as_str();
        let token = &ctx.account.access_token;
        let graph = &self.meta.graph;
        match step.action {
            StepAction::CreateContainer => {
                let image_url = ctx.media(0)?.public_url.as_deref().ok_or_else(|| {
                    unpublishable(
                        P,
                        "Instagram needs a public image URL",
                        hints::INSTAGRAM_IMAGE_URL,
                    )
                })?;
                let reply = graph
                    .post(
                        &format!("/{ig}/media"),
                        token,
                        &json!({ "image_url": image_url, "caption": ctx.text() }),
                        Sent::Repeatable,
                        Call::new(Operation::Media),
                    )
                    .await?;
                let container: Created = reply.json(P, Sent::Repeatable)?;
                Ok(StepOutcome::new(container.id, reply.rate))
            }
            StepAction::AwaitContainer => {
                let container = ctx.prior.require(P, &StepKey::container())?;
                graph
                    .await_container(
                        container,
                        token,
                        "status_code",
                        self.poll_interval,
                        self.container_wait,
                    )
                    .await
            }
            StepAction::Publish => {
                let container = ctx.prior.require(P, &StepKey::container())?;
                let reply = graph
                    .post(
                        &format!("/{ig}/media_publish"),
                        token,
                        &json!({ "creation_id": container }),
                        Sent::Publishes,
                        Call::new(Operation::Publish).with_media(true),
                    )
                    .await?;
                let media: Created = reply.json(P, Sent::Publishes)?;
                let url = graph.field(&media.id, token, "permalink").await;
                Ok(StepOutcome::new(media.id, reply.rate).with_url(url))
            }
            _ => Err(crate::oauth::unsupported(P, "this step")),
        }
    }

    pub(crate) async fn lookup(
        &self,
        account: &Account,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        self.meta
            .graph
            .lookup_recent(
                &format!("/{}/media", account.account_id),
                &account.access_token,
                MEDIA,
                text,
                since,
            )
            .await
    }
}
