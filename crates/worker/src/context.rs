//! What every delivery's pipeline shares within one process.

use std::collections::HashMap;
use std::sync::Arc;

use herald_domain::{DeliveryId, Platform};
use herald_platforms::Platforms;
use herald_queue::{JobQueue, RateLimiter};
use herald_store::Store;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::availability::Availability;
use crate::gates::Politeness;
use crate::group::{Claims, Writer};
use crate::media::MediaFetcher;
use crate::metrics::Metrics;
use crate::settings::WorkerSettings;

/// The services a worker process runs on.
#[derive(Debug, Clone)]
pub struct Deps {
    pub store: Store,
    pub platforms: Platforms,
    pub queue: JobQueue,
    pub metrics: Metrics,
}

/// Shared by every pipeline of one process.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) settings: WorkerSettings,
    pub(crate) store: Store,
    pub(crate) platforms: Platforms,
    pub(crate) queue: JobQueue,
    pub(crate) limiter: RateLimiter,
    pub(crate) metrics: Metrics,
    pub(crate) media: MediaFetcher,
    pub(crate) politeness: Politeness,
    /// The group-commit writer of journal rows and outcomes.
    pub(crate) writer: Writer,
    /// Claims, taken in batches.
    pub(crate) claims: Claims,
    /// Connections read at most a second ago.
    pub(crate) connections: crate::cache::Connections,
    /// Per-platform caps on deliveries running at once.
    slots: HashMap<Platform, Arc<Semaphore>>,
    /// Cancelled when the process is asked to stop: take no new work, checkpoint between
    /// steps.
    pub(crate) stopping: CancellationToken,
    /// Cancelled when the grace period is over: abandon whatever still runs.
    pub(crate) hard_stop: CancellationToken,
    /// Cancelled at the stopping process' deadline: every pipeline still running is dropped
    /// where it waits.
    pub(crate) dropped: CancellationToken,
    /// Whether Postgres answers: claims wait while it does not.
    pub(crate) database: Availability,
    /// Every running pipeline, so a stopping process waits for their records.
    pub(crate) tasks: tokio_util::task::TaskTracker,
    /// Deliveries this process holds a lease on.
    in_flight: std::sync::Mutex<std::collections::HashSet<DeliveryId>>,
}

impl Ctx {
    pub(crate) fn new(settings: WorkerSettings, deps: Deps) -> Result<Self, crate::MediaError> {
        let slots = Platform::ALL
            .into_iter()
            .map(|p| {
                (
                    p,
                    Arc::new(Semaphore::new(settings.per_platform_concurrency.max(1))),
                )
            })
            .collect();
        let media = MediaFetcher::new(settings.media.clone())?;
        let limiter = RateLimiter::new(deps.queue.connection(), deps.queue.keys().clone());
        let politeness = Politeness::new(settings.limits.per_account_per_second);
        // Both stop once the last pipeline holding the context is gone.
        let (writer, _) = Writer::start(deps.store.clone(), settings.group);
        let (claims, _) = Claims::start(
            deps.store.clone(),
            settings.name.clone(),
            settings.lease,
            settings.group,
        );
        Ok(Self {
            settings,
            store: deps.store,
            platforms: deps.platforms,
            queue: deps.queue,
            limiter,
            metrics: deps.metrics,
            media,
            politeness,
            writer,
            claims,
            connections: crate::cache::Connections::default(),
            slots,
            stopping: CancellationToken::new(),
            hard_stop: CancellationToken::new(),
            dropped: CancellationToken::new(),
            database: Availability::default(),
            tasks: tokio_util::task::TaskTracker::new(),
            in_flight: std::sync::Mutex::new(std::collections::HashSet::new()),
        })
    }

    pub(crate) fn worker(&self) -> &str {
        &self.settings.name
    }

    pub(crate) fn slot(&self, platform: Platform) -> Arc<Semaphore> {
        self.slots
            .get(&platform)
            .cloned()
            .unwrap_or_else(|| Arc::new(Semaphore::new(1)))
    }

    pub(crate) fn track(&self, id: DeliveryId) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.insert(id);
        }
        self.metrics.in_flight().inc();
    }

    pub(crate) fn untrack(&self, id: DeliveryId) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(&id);
        }
        self.metrics.in_flight().dec();
    }

    pub(crate) fn in_flight(&self) -> Vec<DeliveryId> {
        self.in_flight
            .lock()
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default()
    }
}
