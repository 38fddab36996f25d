//! When a failed delivery runs again.
//!
//! A retry is a row in Postgres (`retrying`, `run_at` = the next try) and a job scheduled in
//! Redis for that time, never a sleep inside the worker: the slot is free at once and the
//! retry survives a crash (in-process retries hold a slot and die with the
//! process).
//!
//! **The schedule** is a list of waits, one per retry, the last repeating: by default 5 s,
//! 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, in the spirit of svix's and Sidekiq's growing
//! schedules: quick enough to ride out a blip, patient enough to outlast an outage, and over
//! within a few hours so a post does not go out a day late. Each wait is varied by a random
//! `jitter` fraction of itself, so deliveries that failed together do not come back together.
//!
//! **The platform's word wins**: a `Retry-After` or a rate-limit reset (`retry_at` on the
//! failure) replaces the computed wait when it is later.
//!
//! **Attempts.** A claim takes an attempt; once `attempts` reaches `max_attempts`, a
//! retryable failure makes the delivery `dead`. Waiting for a rate window gives the attempt
//! back (the delivery was never tried).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Waits between attempts, with jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
    jitter: f64,
}

impl RetrySchedule {
    /// `delays[n]` is the wait before retry `n + 1`; the last repeats. An empty list means
    /// one second.
    pub fn new(delays: Vec<Duration>, jitter: f64) -> Self {
        Self {
            delays,
            jitter: jitter.clamp(0.0, 1.0),
        }
    }

    /// The wait after the `attempt`-th attempt (1-based) failed, before jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        self.delays
            .get(index)
            .or(self.delays.last())
            .copied()
            .unwrap_or(Duration::from_secs(1))
    }

    /// The wait after the `attempt`-th attempt failed, jittered by up to `jitter` of itself
    /// either way.
    pub fn delay(&self, attempt: u32) -> Duration {
        crate::jitter::jittered(self.base_delay(attempt), self.jitter)
    }

    /// When to try again after the `attempt`-th attempt failed at `now`; `platform_says` (a
    /// Retry-After or reset) wins when it is later.
    pub fn next_run(
        &self,
        attempt: u32,
        now: DateTime<Utc>,
        platform_says: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        let computed = now + TimeDelta::from_std(self.delay(attempt)).unwrap_or(TimeDelta::MAX);
        match platform_says {
            Some(at) if at > computed => at,
            _ => computed,
        }
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::new(
            [5, 30, 120, 600, 1800, 3600, 7200]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            0.2,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_along_the_schedule_and_the_last_repeats() {
        let schedule =
            RetrySchedule::new(vec![Duration::from_secs(1), Duration::from_secs(10)], 0.0);
        assert_eq!(schedule.delay(1), Duration::from_secs(1));
        assert_eq!(schedule.delay(2), Duration::from_secs(10));
        assert_eq!(schedule.delay(9), Duration::from_secs(10));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let schedule = RetrySchedule::new(vec![Duration::from_secs(100)], 0.2);
        for _ in 0..200 {
            let wait = schedule.delay(1);
            assert!(wait >= Duration::from_secs(80) && wait <= Duration::from_secs(120));
        }
    }

    #[test]
    fn a_later_retry_after_wins_and_an_earlier_one_does_not() {
        let schedule = RetrySchedule::new(vec![Duration::from_secs(5)], 0.0);
        let now = Utc::now();
        let later = now + TimeDelta::seconds(60);
        assert_eq!(schedule.next_run(1, now, Some(later)), later);
        let sooner = now + TimeDelta::seconds(1);
        assert_eq!(
            schedule.next_run(1, now, Some(sooner)),
            now + TimeDelta::seconds(5)
        );
    }
}
