//! The Wilson score 95 % interval of a share (k of n trials), as sweeps report it. Pure.

/// The two-sided 95 % normal quantile, Φ⁻¹(0.975).
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score 95 % interval for `k` successes in `n` trials, as
/// `(low, high)` within `0..=1`. With no trials nothing is known: `(0, 1)`.
/// `k` larger than `n` is treated as `n`.
pub fn interval(k: u64, n: u64) -> (f64, f64) {
    interval_z(k, n, Z95)
}

/// [`interval`] for any quantile `z`.
pub fn interval_z(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = k.min(n) as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    // At k = 0 and k = n one bound is exactly 0 or 1; rounding can leave it
    // a hair off, so pin it.
    let low = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if k >= n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed independently with python3 from
    /// `(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`, z = 1.959963984540054.
    fn close(got: (f64, f64), want: (f64, f64)) {
        let eps = 5e-7;
        assert!(
            (got.0 - want.0).abs() < eps && (got.1 - want.1).abs() < eps,
            "got {got:?}, want {want:?}"
        );
    }

    #[test]
    fn none_of_ten() {
        close(interval(0, 10), (0.0, 0.277_533));
        assert_eq!(interval(0, 10).0, 0.0);
    }

    #[test]
    fn half_of_ten() {
        close(interval(5, 10), (0.236_593, 0.763_407));
    }

    #[test]
    fn all_of_ten() {
        close(interval(10, 10), (0.722_467, 1.0));
        assert_eq!(interval(10, 10).1, 1.0);
    }

    #[test]
    fn one_of_a_hundred() {
        close(interval(1, 100), (0.001_767, 0.054_486));
    }

    #[test]
    fn three_of_seven() {
        close(interval(3, 7), (0.158_220, 0.749_542));
    }

    #[test]
    fn symmetric_and_contains_the_share() {
        for n in 1..60u64 {
            for k in 0..=n {
                let (lo, hi) = interval(k, n);
                let (lo2, hi2) = interval(n - k, n);
                assert!((lo - (1.0 - hi2)).abs() < 1e-12 && (hi - (1.0 - lo2)).abs() < 1e-12);
                let p = k as f64 / n as f64;
                assert!(lo <= p && p <= hi && (0.0..=1.0).contains(&lo) && hi <= 1.0);
            }
        }
    }

    #[test]
    fn no_trials_means_no_knowledge() {
        assert_eq!(interval(0, 0), (0.0, 1.0));
    }
}
