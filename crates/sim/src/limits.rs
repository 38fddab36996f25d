//! Rolling windows for every platform limit.
//!
//! A window is a log of event times per key (`x:user24:{id}`, `tg:chat:{id}`, ...). An event
//! is admitted while fewer than `limit` events fall inside the last `window`; the window frees
//! a slot when its oldest event ages out, which is the reset time the platforms announce
//! (X's `x-rate-limit-reset`, Telegram's `retry_after`) and what Herald schedules against.
//! Refused events are not logged, so a log never holds more than `limit` entries and memory
//! stays bounded whatever the traffic. Times come from the simulator's clock, which
//! `/_sim/clock/advance` can move forward, so a test can cross a 24-hour window at once.

use std::collections::{HashMap, VecDeque};

use crate::config::Limit;

/// Where a window stands after (or instead of) an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) limit: u32,
    pub(crate) used: u32,
    pub(crate) remaining: u32,
    /// When the oldest counted event leaves the window (unix ms).
    pub(crate) reset_ms: u64,
}

impl Usage {
    /// Seconds until a slot frees, rounded up, at least 1.
    pub(crate) fn retry_after_secs(&self, now_ms: u64) -> u64 {
        self.reset_ms.saturating_sub(now_ms).div_ceil(1000).max(1)
    }

    /// Unix seconds of the reset, rounded up.
    pub(crate) fn reset_secs(&self) -> u64 {
        self.reset_ms.div_ceil(1000)
    }

    /// Percent of the window used, as Meta's usage headers report it.
    pub(crate) fn percent(&self) -> u32 {
        if self.limit == 0 {
            return 100;
        }
        ((u64::from(self.used) * 100) / u64::from(self.limit)).min(100) as u32
    }
}

#[derive(Debug, Default)]
pub(crate) struct Windows {
    logs: HashMap<String, VecDeque<u64>>,
}

impl Windows {
    /// Admits an event if the window has room (and logs it), else reports the full window.
    /// With limits disabled every event is admitted and nothing is logged.
    pub(crate) fn try_take(
        &mut self,
        enabled: bool,
        key: &str,
        limit: &Limit,
        now: u64,
    ) -> Result<Usage, Usage> {
        if !enabled {
            return Ok(Self::idle(limit, now));
        }
        let window = limit.window_ms();
        let log = self.logs.entry(key.to_owned()).or_default();
        prune(log, now, window);
        if log.len() >= limit.limit as usize {
            return Err(usage_of(log, limit, now, window));
        }
        log.push_back(now);
        Ok(usage_of(log, limit, now, window))
    }

    /// The window as it stands, without an event.
    pub(crate) fn peek(&mut self, enabled: bool, key: &str, limit: &Limit, now: u64) -> Usage {
        if !enabled {
            return Self::idle(limit, now);
        }
        let window = limit.window_ms();
        match self.logs.get_mut(key) {
            Some(log) => {
                prune(log, now, window);
                usage_of(log, limit, now, window)
            }
            None => Self::idle(limit, now),
        }
    }

    /// Whether an event would be admitted now.
    pub(crate) fn has_room(&mut self, enabled: bool, key: &str, limit: &Limit, now: u64) -> bool {
        self.peek(enabled, key, limit, now).remaining > 0
    }

    fn idle(limit: &Limit, now: u64) -> Usage {
        Usage {
            limit: limit.limit,
            used: 0,
            remaining: limit.limit,
            reset_ms: now + limit.window_ms(),
        }
    }
}

fn prune(log: &mut VecDeque<u64>, now: u64, window: u64) {
    while let Some(&oldest) = log.front() {
        if oldest + window <= now {
            log.pop_front();
        } else {
            break;
        }
    }
}

fn usage_of(log: &VecDeque<u64>, limit: &Limit, now: u64, window: u64) -> Usage {
    let used = log.len() as u32;
    Usage {
        limit: limit.limit,
        used,
        remaining: limit.limit.saturating_sub(used),
        reset_ms: log.front().map_or(now + window, |oldest| oldest + window),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_window_frees_a_slot_when_its_oldest_event_ages_out() {
        let mut windows = Windows::default();
        let limit = Limit::new(2, 10.0);
        assert!(windows.try_take(true, "k", &limit, 1_000).is_ok());
        assert!(windows.try_take(true, "k", &limit, 2_000).is_ok());
        let full = windows.try_take(true, "k", &limit, 3_000).unwrap_err();
        assert_eq!(full.remaining, 0);
        assert_eq!(full.reset_ms, 11_000);
        assert_eq!(full.retry_after_secs(3_000), 8);
        assert!(windows.try_take(true, "k", &limit, 11_000).is_ok());
    }

    #[test]
    fn disabled_limits_admit_everything() {
        let mut windows = Windows::default();
        let limit = Limit::new(0, 10.0);
        assert!(windows.try_take(false, "k", &limit, 0).is_ok());
    }
}
