//! The simulator's memory: one `World` behind one lock, plus the clock.
//!
//! Every handler takes the lock, reads or changes the world and lets go before any await
//! (downloads, delays), so the lock is held for microseconds and never across I/O: the
//! simulator is not the bottleneck of a benchmark. Processing states (LinkedIn images,
//! Instagram and Threads containers, X media) are not moved by background tasks; they are
//! derived from timestamps whenever they are read, which keeps them exact under a moved
//! clock and costs nothing while nobody looks.
//!
//! The clock is real time plus an offset that `/_sim/clock/advance` moves forward, so a test
//! can expire a token or cross a 24-hour window without waiting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::{SimConfig, secs_to_ms};
use crate::control::Counters;
use crate::faults::FaultTable;
use crate::fixtures::Fixtures;
use crate::limits::Windows;
use crate::oauth::OAuthStore;
use crate::{graph, linkedin, telegram, threads, twitter};

/// The six platforms, as `/_sim` names them (Herald's names: `twitter`, not `x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Platform {
    Twitter,
    Linkedin,
    Facebook,
    Instagram,
    Threads,
    Telegram,
}

impl Platform {
    pub(crate) const ALL: [Platform; 6] = [
        Platform::Twitter,
        Platform::Linkedin,
        Platform::Facebook,
        Platform::Instagram,
        Platform::Threads,
        Platform::Telegram,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Platform::Twitter => "twitter",
            Platform::Linkedin => "linkedin",
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::Threads => "threads",
            Platform::Telegram => "telegram",
        }
    }

    /// Reads a name, accepting `x` for Twitter.
    pub(crate) fn parse(name: &str) -> Option<Platform> {
        let name = name.trim().to_ascii_lowercase();
        if name == "x" {
            return Some(Platform::Twitter);
        }
        Platform::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// A post as `/_sim/posts` lists it, whatever the platform calls its parts.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SimPost {
    pub(crate) platform: &'static str,
    /// The account it was published on: X user id, LinkedIn author URN, Page id, Instagram
    /// account id, Threads user id, Telegram chat id.
    pub(crate) account: String,
    pub(crate) id: String,
    /// Tweet text, commentary, message, caption.
    pub(crate) text: String,
    pub(crate) media: Vec<String>,
    /// The stored content type of each media item, in order (`image/jpeg`, `video/mp4`).
    pub(crate) media_types: Vec<String>,
    /// The post or comment this one answers: a reply (X, Threads, Telegram) or a comment
    /// (LinkedIn, Facebook, Instagram).
    pub(crate) reply_to: Option<String>,
    pub(crate) url: String,
    pub(crate) created_at: String,
}

/// Bytes served under `/_sim/media/{id}`.
#[derive(Debug, Clone)]
pub(crate) struct Hosted {
    pub(crate) content_type: String,
    pub(crate) bytes: Bytes,
}

/// Everything the platforms remember.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) config: SimConfig,
    pub(crate) fixtures: Fixtures,
    pub(crate) oauth: OAuthStore,
    pub(crate) windows: Windows,
    pub(crate) posts: Vec<SimPost>,
    pub(crate) x: twitter::XState,
    pub(crate) linkedin: linkedin::LinkedInState,
    pub(crate) meta: graph::MetaState,
    pub(crate) threads: threads::ThreadsState,
    pub(crate) telegram: telegram::TelegramState,
    pub(crate) hosted: HashMap<String, Hosted>,
    next_id: u64,
}

impl World {
    pub(crate) fn new(config: SimConfig) -> Self {
        let mut next_id = 1;
        let mut fixtures = config.fixtures.clone();
        fixtures.fill_ids(&mut || {
            next_id += 1;
            next_id
        });
        Self {
            config,
            fixtures,
            oauth: OAuthStore::default(),
            windows: Windows::default(),
            posts: Vec::new(),
            x: twitter::XState::default(),
            linkedin: linkedin::LinkedInState::default(),
            meta: graph::MetaState::default(),
            threads: threads::ThreadsState::default(),
            telegram: telegram::TelegramState::default(),
            hosted: HashMap::new(),
            next_id: 1_000,
        }
    }

    /// A number never handed out before in this world.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adds fixtures at run time, filling missing ids.
    pub(crate) fn add_fixtures(&mut self, mut more: Fixtures) {
        let mut counter = self.next_id;
        more.fill_ids(&mut || {
            counter += 1;
            counter
        });
        self.next_id = counter;
        self.fixtures.extend(more);
    }

    pub(crate) fn record_post(&mut self, post: SimPost) {
        self.posts.push(post);
    }

    /// Whether a post made at `earlier_ms` still makes an identical one a refused duplicate:
    /// the refusals are on (`detect_duplicates`) and it lies within the platform's window.
    pub(crate) fn refuses_duplicate_of(&self, earlier_ms: u64, window_secs: f64, now: u64) -> bool {
        self.config.detect_duplicates && now < earlier_ms.saturating_add(secs_to_ms(window_secs))
    }
}

/// Real time plus an offset tests can move forward.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_ms: AtomicU64,
}

impl Clock {
    pub(crate) fn now_ms(&self) -> u64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        real + self.offset_ms.load(Ordering::Relaxed)
    }

    pub(crate) fn advance(&self, ms: u64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    pub(crate) fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }

    pub(crate) fn offset_ms(&self) -> u64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// The shared simulator.
#[derive(Debug)]
pub(crate) struct Sim {
    world: Mutex<World>,
    pub(crate) clock: Clock,
    pub(crate) faults: Mutex<FaultTable>,
    pub(crate) counters: Mutex<Counters>,
    pub(crate) http: reqwest::Client,
    /// Cancelled at shutdown: hung responses end.
    pub(crate) cancel: CancellationToken,
    /// The configuration the simulator started with, for `/_sim/reset`.
    pub(crate) initial: SimConfig,
}

pub(crate) type SharedSim = Arc<Sim>;

impl Sim {
    pub(crate) fn new(config: SimConfig) -> Result<Sim, crate::SimError> {
        let http = reqwest::Client::builder()
            .user_agent("herald-sim media fetcher")
            .build()
            .map_err(|e| crate::SimError::Http(e.to_string()))?;
        Ok(Sim {
            faults: Mutex::new(FaultTable::new(config.seed, config.faults.clone())),
            world: Mutex::new(World::new(config.clone())),
            clock: Clock::default(),
            counters: Mutex::new(Counters::default()),
            http,
            cancel: CancellationToken::new(),
            initial: config,
        })
    }

    /// The world, locked. Never hold the guard across an await.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        // A handler that panicked mid-change leaves a world that is still memory-safe; keep
        // serving rather than failing every later request.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultTable> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn counters(&self) -> MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Back to the starting configuration, fixtures and faults, with nothing posted.
    pub(crate) fn reset(&self) {
        *self.world() = World::new(self.initial.clone());
        *self.faults() = FaultTable::new(self.initial.seed, self.initial.faults.clone());
        *self.counters() = Counters::default();
        self.clock.reset();
    }
}

fn datetime(ms: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms as i64).unwrap_or_default()
}

/// `2026-11-28T12:00:00.000Z` (X, `/_sim`).
pub(crate) fn iso_millis(ms: u64) -> String {
    datetime(ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `2026-11-28T12:00:00+0000` (Graph and Threads).
pub(crate) fn graph_time(ms: u64) -> String {
    datetime(ms).format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

/// A human date for Graph's expired-token message.
pub(crate) fn graph_human_time(ms: u64) -> String {
    datetime(ms).format("%A, %d-%b-%y %H:%M:%S UTC").to_string()
}
