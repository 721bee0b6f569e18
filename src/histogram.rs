//! Binning final balances for histograms, the terminal's (drawn by `report/fit.rs`) and the pictures'. Pure.

use std::collections::BTreeMap;

/// A range of balances `lo..=hi` and how many trials ended in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bin {
    pub lo: i64,
    pub hi: i64,
    pub count: u32,
}

/// Sorts the values of `counts` (value to how many trials ended there) into
/// at most `max_bins` bins of equal width covering `min..=max`. When the
/// values span few enough integers, each integer gets a bin of its own, empty
/// ones included, so the shape of the spread shows.
pub(crate) fn bins(counts: &BTreeMap<i64, u32>, max_bins: usize) -> Vec<Bin> {
    let (Some(&min), Some(&max)) = (counts.keys().next(), counts.keys().next_back()) else {
        return Vec::new();
    };
    let max_bins = max_bins.max(1) as i128;
    let span = i128::from(max) - i128::from(min) + 1;
    let width = (span + max_bins - 1) / max_bins;
    let count = (span + width - 1) / width;
    let mut bins: Vec<Bin> = (0..count)
        .map(|i| {
            let lo = i128::from(min) + i * width;
            let hi = (lo + width - 1).min(i128::from(max));
            Bin {
                lo: lo as i64,
                hi: hi as i64,
                count: 0,
            }
        })
        .collect();
    for (&v, &n) in counts {
        let i = ((i128::from(v) - i128::from(min)) / width) as usize;
        bins[i].count += n;
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bins of a list of values.
    fn bins(values: &[i64], max_bins: usize) -> Vec<Bin> {
        let mut counts = BTreeMap::new();
        for &v in values {
            *counts.entry(v).or_default() += 1;
        }
        super::bins(&counts, max_bins)
    }

    #[test]
    fn one_bin_per_value_when_the_range_is_small() {
        let b = bins(&[198, 200, 200, 201], 20);
        assert_eq!(b.len(), 4);
        assert_eq!(
            b[0],
            Bin {
                lo: 198,
                hi: 198,
                count: 1
            }
        );
        assert_eq!(b[1].count, 0, "empty values between keep their bin");
        assert_eq!(b[2].count, 2);
    }

    #[test]
    fn wide_ranges_share_bins_and_keep_every_value() {
        let values: Vec<i64> = (0..1000).collect();
        let b = bins(&values, 12);
        assert!(b.len() <= 12);
        assert_eq!(b.iter().map(|b| b.count).sum::<u32>(), 1000);
        assert_eq!((b[0].lo, b.last().unwrap().hi), (0, 999));
    }

    #[test]
    fn empty_input_has_no_bins() {
        assert!(bins(&[], 10).is_empty());
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let b = bins(&[i64::MIN, i64::MAX, 0], 10);
        assert_eq!(b.iter().map(|b| b.count).sum::<u32>(), 3);
        assert!(b.len() <= 10);
    }
}
