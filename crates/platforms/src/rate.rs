//! What a platform's answer says about the remaining rate budget, read from every response so
//! the worker can slow down *before* a 429 instead of after it.
//!
//! - X sends three buckets: the endpoint's 15-minute window (`x-rate-limit-*`), the user's
//!   24-hour window (`x-user-limit-24hour-*`) and the app's (`x-app-limit-24hour-*`); each has a
//!   limit, what remains and the reset as unix seconds.
//! - Meta (Facebook, Instagram, and Threads which shares the Graph machinery) sends usage as
//!   percentages: `X-App-Usage` for the app and `X-Business-Use-Case-Usage` per business
//!   object, the latter with `estimated_time_to_regain_access` in minutes. Meta's guidance is to
//!   back off above about 90 %.
//! - LinkedIn and Telegram send no rate headers; their limits show up only as 429s
//!   (classified in `classify.rs`).

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::Platform;
use reqwest::header::HeaderMap;
use serde::Serialize;

/// Meta usage (percent) at or above which the worker should hold off.
pub const META_BACK_OFF_PERCENT: u32 = 90;

/// How long to hold off when Meta reports high usage without an estimate of when access comes
/// back. Meta's windows are rolling hours; a quarter of one lets usage decay before probing.
pub const META_DEFAULT_BACK_OFF: TimeDelta = TimeDelta::minutes(15);

/// One counted window: its size, what is left, and when it resets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RateWindow {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub resets_at: Option<DateTime<Utc>>,
}

impl RateWindow {
    /// The reset time if nothing is left in this window.
    pub fn exhausted_until(&self) -> Option<DateTime<Utc>> {
        match self.remaining {
            Some(0) => self.resets_at,
            _ => None,
        }
    }
}

/// What one response said about the caller's rate budget. Empty when the platform said
/// nothing (LinkedIn, Telegram).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RateObservation {
    /// X: the endpoint's own window (15 minutes for `POST /2/tweets`).
    pub window: Option<RateWindow>,
    /// X: the user's 24-hour window (tier dependent: Free 17, Basic 100 posts).
    pub user_daily: Option<RateWindow>,
    /// X: the app's 24-hour window.
    pub app_daily: Option<RateWindow>,
    /// Meta: the highest usage percentage across `X-App-Usage` and every business use case.
    pub usage_percent: Option<u32>,
    /// Meta: when a throttled business use case regains access.
    pub regain_access_at: Option<DateTime<Utc>>,
}

impl RateObservation {
    pub fn is_empty(&self) -> bool {
        self == &RateObservation::default()
    }

    /// When the next call should wait for, if the budget is spent (or, for Meta, nearly spent):
    /// the latest reset among exhausted windows, or the Meta regain time.
    pub fn back_off_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut until: Option<DateTime<Utc>> = [self.window, self.user_daily, self.app_daily]
            .iter()
            .flatten()
            .filter_map(RateWindow::exhausted_until)
            .max();
        if let Some(percent) = self.usage_percent
            && percent >= META_BACK_OFF_PERCENT
        {
            let meta = self.regain_access_at.unwrap_or(now + META_DEFAULT_BACK_OFF);
            until = Some(until.map_or(meta, |u| u.max(meta)));
        } else if let Some(regain) = self.regain_access_at
            && regain > now
        {
            until = Some(until.map_or(regain, |u| u.max(regain)));
        }
        until.filter(|at| *at > now)
    }
}

/// Reads the rate headers `platform` sends.
pub(crate) fn observe(
    platform: Platform,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> RateObservation {
    match platform {
        Platform::Twitter => RateObservation {
            window: x_window(headers, "x-rate-limit"),
            user_daily: x_window(headers, "x-user-limit-24hour"),
            app_daily: x_window(headers, "x-app-limit-24hour"),
            ..RateObservation::default()
        },
        Platform::Facebook | Platform::Instagram | Platform::Threads => meta_usage(headers, now),
        Platform::Linkedin | Platform::Telegram => RateObservation::default(),
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn x_window(headers: &HeaderMap, prefix: &str) -> Option<RateWindow> {
    let number = |suffix: &str| {
        header(headers, &format!("{prefix}-{suffix}")).and_then(|v| v.parse::<u64>().ok())
    };
    let window = RateWindow {
        limit: number("limit"),
        remaining: number("remaining"),
        resets_at: number("reset")
            .and_then(|secs| i64::try_from(secs).ok())
            .and_then(|secs| DateTime::from_timestamp(secs, 0)),
    };
    (window != RateWindow::default()).then_some(window)
}

fn meta_usage(headers: &HeaderMap, now: DateTime<Utc>) -> RateObservation {
    let mut percent: Option<u32> = None;
    let mut regain_minutes: Option<i64> = None;
    let mut raise = |value: Option<&serde_json::Value>| {
        if let Some(p) = value.and_then(as_number) {
            let p = u32::try_from(p.max(0)).unwrap_or(u32::MAX);
            percent = Some(percent.map_or(p, |q| q.max(p)));
        }
    };
    for name in ["x-app-usage", "x-page-usage", "x-ad-account-usage"] {
        if let Some(usage) =
            header(headers, name).and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        {
            for key in [
                "call_count",
                "total_time",
                "total_cputime",
                "acc_id_util_pct",
            ] {
                raise(usage.get(key));
            }
        }
    }
    if let Some(buc) = header(headers, "x-business-use-case-usage")
        .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        && let Some(objects) = buc.as_object()
    {
        for entries in objects.values().filter_map(serde_json::Value::as_array) {
            for entry in entries {
                for key in ["call_count", "total_time", "total_cputime"] {
                    raise(entry.get(key));
                }
                if let Some(minutes) = entry
                    .get("estimated_time_to_regain_access")
                    .and_then(as_number)
                    && minutes > 0
                {
                    regain_minutes = Some(regain_minutes.map_or(minutes, |m| m.max(minutes)));
                }
            }
        }
    }
    RateObservation {
        usage_percent: percent,
        regain_access_at: regain_minutes.map(|m| now + TimeDelta::minutes(m)),
        ..RateObservation::default()
    }
}

/// Meta sends numbers, sometimes as strings.
fn as_number(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn x_headers_give_all_three_windows_and_an_exhausted_day_holds_the_account() {
        let now = Utc::now();
        let seen = observe(
            Platform::Twitter,
            &headers(&[
                ("x-rate-limit-limit", "100"),
                ("x-rate-limit-remaining", "99"),
                ("x-rate-limit-reset", "1900000000"),
                ("x-user-limit-24hour-limit", "17"),
                ("x-user-limit-24hour-remaining", "0"),
                ("x-user-limit-24hour-reset", "1900003600"),
            ]),
            now,
        );
        assert_eq!(seen.window.unwrap().remaining, Some(99));
        assert_eq!(seen.user_daily.unwrap().limit, Some(17));
        assert!(seen.app_daily.is_none());
        assert_eq!(
            seen.back_off_until(now),
            DateTime::from_timestamp(1_900_003_600, 0)
        );
    }

    #[test]
    fn meta_usage_above_ninety_percent_means_back_off_until_access_returns() {
        let now = Utc::now();
        let seen = observe(
            Platform::Facebook,
            &headers(&[
                (
                    "x-app-usage",
                    r#"{"call_count":12,"total_time":3,"total_cputime":4}"#,
                ),
                (
                    "x-business-use-case-usage",
                    r#"{"1234":[{"type":"pages","call_count":95,"total_cputime":10,"total_time":20,"estimated_time_to_regain_access":7}]}"#,
                ),
            ]),
            now,
        );
        assert_eq!(seen.usage_percent, Some(95));
        assert_eq!(seen.back_off_until(now), Some(now + TimeDelta::minutes(7)));
    }

    #[test]
    fn moderate_meta_usage_does_not_hold_anything() {
        let now = Utc::now();
        let seen = observe(
            Platform::Instagram,
            &headers(&[(
                "x-app-usage",
                r#"{"call_count":40,"total_time":3,"total_cputime":4}"#,
            )]),
            now,
        );
        assert_eq!(seen.usage_percent, Some(40));
        assert_eq!(seen.back_off_until(now), None);
    }

    #[test]
    fn linkedin_and_telegram_say_nothing() {
        let seen = observe(
            Platform::Telegram,
            &headers(&[("x-app-usage", "{}")]),
            Utc::now(),
        );
        assert!(seen.is_empty());
    }
}
