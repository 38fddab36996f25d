//! `herald-sim`: the six platform APIs Herald publishes to (X, LinkedIn, Facebook Pages,
//! Instagram, Threads, Telegram), served on one port, stateful, with faults.
//!
//! Every test, benchmark and the demo reaches "the platforms" through this crate, so it
//! follows the live APIs as their documentation describes them (request and response shapes,
//! status codes, headers, error bodies) and shares no code with `herald-platforms`: each
//! side is written on its own, so a misread API fails a test instead of agreeing with
//! itself.
//!
//! One path prefix per platform host: `/x` (x.com and api.x.com), `/linkedin`
//! (www.linkedin.com and api.linkedin.com), `/facebook` (the login dialog), `/graph`
//! (graph.facebook.com: Pages and Instagram), `/threads` (threads.net and
//! graph.threads.net), `/telegram` (`/telegram/bot{token}/{method}`); `/_sim` is the control
//! API tests use to inspect and steer it. See the crate README for the paths, fixtures,
//! faults and a measured throughput.
//!
//! ```no_run
//! # async fn demo() -> Result<(), herald_sim::SimError> {
//! let sim = herald_sim::spawn(herald_sim::SimConfig::default()).await?;
//! let base = sim.base_url(); // http://127.0.0.1:PORT
//! # let _ = base;
//! sim.shutdown().await?;
//! # Ok(())
//! # }
//! ```

// Handlers return a finished platform response as their error (`Result<T, Response>`): the
// error path is the answer the client gets, built once and moved out, so its size (128 bytes)
// is of no consequence next to the network round trip it ends.
#![allow(clippy::result_large_err)]

mod config;
mod container_video;
mod control;
mod facebook;
mod faults;
mod fetch;
mod fixtures;
mod graph;
mod imaging;
mod instagram;
mod limits;
mod linkedin;
mod linkedin_legacy;
mod linkedin_posts;
mod linkedin_videos;
mod meta_oauth;
mod oauth;
mod request;
mod server;
mod state;
mod telegram;
mod telegram_format;
mod telegram_media;
mod threads;
mod threads_oauth;
mod twitter;
mod twitter_media;
mod twitter_oauth;
mod video;

pub use config::{
    ContainerVideoSpec, FacebookConfig, FetchConfig, InstagramConfig, Limit, LinkedInConfig,
    MetaConfig, SimConfig, TelegramConfig, ThreadsConfig, TokenConfig, XConfig, XReplyPolicy,
    XTier,
};
pub use faults::{FaultAction, FaultRule};
pub use fixtures::{
    AppFixture, AppPlatform, CLOSED_CHANNEL_ID, DEV_BOT_TOKEN, DEV_CHANNEL_ID, DEV_DISCUSSION_ID,
    FacebookFixtures, FacebookPage, FacebookUser, Fixtures, InstagramAccount, LinkedInFixtures,
    LinkedInMember, LinkedInOrganization, TelegramBot, TelegramChat, TelegramFixtures,
    TelegramMember, ThreadsUser, UNLINKED_CHANNEL_ID, XUser,
};
pub use imaging::{jpeg, jpeg_of_size, png};
pub use server::{SimServer, run, spawn};

/// What can go wrong starting or running the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read simulator config {path}: {source}")]
    ReadConfig {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid simulator config {path}: {message}")]
    ParseConfig { path: String, message: String },
    #[error("cannot build the media fetcher: {0}")]
    Http(String),
    #[error("simulator I/O: {0}")]
    Io(#[source] std::io::Error),
}
