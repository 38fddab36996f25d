//! Whether Postgres answers, as this process last saw it.
//!
//! While Postgres is unreachable a claim cannot succeed, and every job pulled from Redis
//! would fail the same way: one after another, each after the pool's acquire timeout. So
//! the first claim that finds Postgres unavailable closes a gate: claims wait at it (taking
//! no delivery, changing nothing) while one probe asks Postgres again with growing pauses,
//! and the probe that gets an answer opens the gate for all of them at once. Nothing is
//! lost meanwhile: the jobs wait in this process, and Postgres still holds every delivery
//! for the sweeper.

use std::time::Duration;

use herald_store::{Store, StoreError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The pause before the first probe of an unreachable Postgres, and the longest one.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// The pause before probe `n` (0-based): doubling from a quarter second up to five seconds,
/// so a short blip is over quickly and a long outage costs one query every few seconds.
pub(crate) fn probe_pause(n: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(2u32.saturating_pow(n.min(16)))
        .min(LONGEST_PAUSE)
}

/// The gate. Open (Postgres up) until a claim reports it unavailable.
#[derive(Debug)]
pub(crate) struct Availability {
    up: watch::Sender<bool>,
}

impl Default for Availability {
    fn default() -> Self {
        Self {
            up: watch::Sender::new(true),
        }
    }
}

impl Availability {
    pub(crate) fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Takes note of a store error: one saying Postgres is unreachable closes the gate.
    /// Returns whether it was such an error.
    pub(crate) fn report(&self, error: &StoreError) -> bool {
        if !error.is_unavailable() {
            return false;
        }
        if self.up.send_replace(false) {
            tracing::warn!(%error, "Postgres is unreachable: pausing claims until it answers");
        }
        true
    }

    fn open(&self) {
        if !self.up.send_replace(true) {
            tracing::info!("Postgres answers again: claiming again");
        }
    }

    /// Waits until the gate is open. False if `stop` came first.
    pub(crate) async fn until_up(&self, stop: &CancellationToken) -> bool {
        let mut up = self.up.subscribe();
        tokio::select! {
            seen = up.wait_for(|up| *up) => seen.is_ok(),
            () = stop.cancelled() => false,
        }
    }

    /// While the gate is closed, asks Postgres with growing pauses and opens it once
    /// Postgres answers. Runs until `stop`.
    pub(crate) async fn probe(&self, store: &Store, stop: &CancellationToken) {
        let mut down = self.up.subscribe();
        loop {
            tokio::select! {
                seen = down.wait_for(|up| !*up) => if seen.is_err() { return },
                () = stop.cancelled() => return,
            }
            let mut n = 0;
            loop {
                tokio::select! {
                    () = tokio::time::sleep(probe_pause(n)) => {}
                    () = stop.cancelled() => return,
                }
                if store.ping().await.is_ok() {
                    self.open();
                    break;
                }
                n = n.saturating_add(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_back_off_from_a_quarter_second_to_five_seconds() {
        let pauses: Vec<u128> = (0..8).map(|n| probe_pause(n).as_millis()).collect();
        assert_eq!(pauses, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(probe_pause(u32::MAX), LONGEST_PAUSE);
    }

    #[tokio::test]
    async fn an_unavailable_error_closes_the_gate_and_other_errors_do_not() {
        let gate = Availability::default();
        assert!(!gate.report(&StoreError::from(sqlx::Error::RowNotFound)));
        assert!(gate.is_up());
        assert!(gate.report(&StoreError::from(sqlx::Error::PoolTimedOut)));
        assert!(!gate.is_up());

        // A closed gate holds a waiter until it opens, or until the process stops.
        let stop = CancellationToken::new();
        let held = tokio::time::timeout(Duration::from_millis(50), gate.until_up(&stop)).await;
        assert!(held.is_err(), "the waiter is held while Postgres is down");
        let waiter = gate.until_up(&stop);
        gate.open();
        assert!(waiter.await, "opening the gate releases the waiter");

        assert!(gate.report(&StoreError::from(sqlx::Error::PoolTimedOut)));
        stop.cancel();
        assert!(!gate.until_up(&stop).await, "stopping releases it too");
    }
}
