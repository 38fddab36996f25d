//! Varying a wait at random, so that what failed together does not come back together: a
//! recovering platform or webhook receiver is not hit by every retry in the same instant.
//! Used by the delivery retry schedule ([`crate::retry`]) and the webhook sender
//! ([`crate::webhooks`]).

use std::time::Duration;

/// `wait`, varied by up to `fraction` of itself either way (`fraction` is clamped to 0..=1;
/// 0 gives `wait` back).
pub fn jittered(wait: Duration, fraction: f64) -> Duration {
    spread(wait, fraction, rand::random::<f64>())
}

/// `wait` varied by `fraction` of itself, `sample` (in 0..1) placing it between `-fraction`
/// and `+fraction`.
fn spread(wait: Duration, fraction: f64, sample: f64) -> Duration {
    let fraction = fraction.clamp(0.0, 1.0);
    if fraction == 0.0 {
        return wait;
    }
    let factor = 1.0 + fraction * (sample.clamp(0.0, 1.0) * 2.0 - 1.0);
    wait.mul_f64(factor.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within a microsecond: floating point does not land on whole seconds.
    fn about(actual: Duration, expected: Duration) -> bool {
        actual.abs_diff(expected) < Duration::from_micros(1)
    }

    #[test]
    fn the_extremes_of_the_sample_are_the_extremes_of_the_spread() {
        let wait = Duration::from_secs(100);
        assert!(about(spread(wait, 0.2, 0.0), Duration::from_secs(80)));
        assert!(about(spread(wait, 0.2, 0.5), wait));
        assert!(about(spread(wait, 0.2, 1.0), Duration::from_secs(120)));
        assert_eq!(spread(wait, 0.0, 1.0), wait, "no jitter");
        assert!(
            about(spread(wait, 5.0, 0.0), Duration::ZERO),
            "clamped to 1"
        );
    }

    #[test]
    fn random_waits_stay_within_their_fraction() {
        for _ in 0..200 {
            let wait = jittered(Duration::from_secs(10), 0.1);
            assert!(
                (Duration::from_secs(9)..=Duration::from_secs(11)).contains(&wait),
                "{wait:?}"
            );
        }
    }
}
