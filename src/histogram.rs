//! Terminal histograms of final balances: binning and drawing with Unicode block characters. Pure.

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

/// Eighths of a block, for bars with sub-character resolution.
const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/// Draws `bins` as lines of `label │bar count`, the longest bar `bar_width`
/// characters wide. The bin holding `marker` (the expected balance) is
/// flagged. Every line fits in `label width + bar_width + 20` columns.
pub fn render(bins: &[Bin], bar_width: usize, marker: Option<i64>) -> Vec<String> {
    let labels: Vec<String> = bins
        .iter()
        .map(|b| {
            if b.lo == b.hi {
                b.lo.to_string()
            } else {
                format!("{}..{}", b.lo, b.hi)
            }
        })
        .collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let most = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let count_width = most.to_string().len();
    bins.iter()
        .zip(&labels)
        .map(|(bin, label)| {
            let bar = bar(bin.count, most, bar_width);
            let pad = bar_width - bar.chars().count();
            let mark = match marker {
                Some(m) if (bin.lo..=bin.hi).contains(&m) => "  ◀ expected",
                _ => "",
            };
            format!(
                "{label:>label_width$} │{bar}{:pad$} {:>count_width$}{mark}",
                "", bin.count
            )
        })
        .collect()
}

/// A bar of `count / most × width` characters, in eighths. A non-zero count
/// always gets at least a sliver, so a single trial is never invisible.
fn bar(count: u32, most: u32, width: usize) -> String {
    let eighths = (u64::from(count) * width as u64 * 8).div_ceil(u64::from(most)) as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(EIGHTHS[eighths % 8 - 1]);
    }
    s
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
    fn extreme_values_do_not_overflow() {
        let b = bins(&[i64::MIN, i64::MAX, 0], 10);
        assert_eq!(b.iter().map(|b| b.count).sum::<u32>(), 3);
        assert!(b.len() <= 10);
    }

    #[test]
    fn empty_input_draws_nothing() {
        assert!(bins(&[], 10).is_empty());
        assert!(render(&[], 40, None).is_empty());
    }

    #[test]
    fn bars_scale_to_the_fullest_bin_and_mark_the_expected_one() {
        let lines = render(&bins(&[1, 2, 2, 2, 2], 10), 8, Some(2));
        assert_eq!(lines[0], "1 │██       1");
        assert_eq!(lines[1], "2 │████████ 4  ◀ expected");
    }

    #[test]
    fn small_counts_still_show() {
        assert_eq!(bar(1, 1000, 40), "▏");
        assert_eq!(bar(0, 1000, 40), "");
        assert_eq!(bar(3, 8, 8), "███");
    }

    #[test]
    fn lines_fit_in_80_columns() {
        let values: Vec<i64> = (0..50).map(|i| -5_000_000_000 + i * 123_456_789).collect();
        for line in render(&bins(&values, 16), 40, Some(0)) {
            assert!(line.chars().count() <= 80, "{line}");
        }
    }
}
