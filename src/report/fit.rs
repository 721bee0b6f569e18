//! Making terminal text fit a width: wrapped verdicts, scaled histogram bars,
//! and wide tables stacked into narrower ones.
//!
//! Widths are counted in `char`s, which is the display width of everything
//! bankrace prints (ASCII, box drawing, block elements, `◀`, `±`, `µ`); text
//! with double-width characters would need a real width table.

/// Display width of `s`, in columns.
pub fn width_of(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to at most `width` columns, ending in `…` when something was cut.
pub fn truncate(s: &str, width: usize) -> String {
    if width_of(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Wraps `text` at spaces into lines of at most `width` columns. A word
/// longer than a line is split. Runs of spaces collapse; no line has
/// trailing spaces. Empty text gives no lines.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    wrap_with(text, width, "", "")
}

/// [`wrap`] with a prefix on the first line and another on the others (a
/// hanging indent, e.g. `"verdict: "` then nine spaces). Prefixes wider than
/// the line leave at least one column of text.
pub fn wrap_with<'a>(text: &str, width: usize, first: &'a str, rest: &'a str) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut prefix = first;
    let room = |p: &str| width.saturating_sub(width_of(p)).max(1);
    let mut line = String::new();
    let mut line_w = 0usize;
    let flush = |lines: &mut Vec<String>, line: &mut String, prefix: &mut &'a str| {
        let fitted = truncate(prefix, width.saturating_sub(1));
        lines.push(format!("{fitted}{line}"));
        line.clear();
        *prefix = rest;
    };
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let avail = room(prefix);
            let need = if line_w == 0 {
                word.len()
            } else {
                line_w + 1 + word.len()
            };
            if need <= avail {
                if line_w > 0 {
                    line.push(' ');
                }
                line.extend(word.iter());
                line_w = need;
                break;
            }
            if line_w > 0 {
                flush(&mut lines, &mut line, &mut prefix);
                line_w = 0;
                continue;
            }
            // A word longer than a whole line: split it.
            let avail = room(prefix);
            line.extend(word[..avail].iter());
            word.drain(..avail);
            flush(&mut lines, &mut line, &mut prefix);
            if word.is_empty() {
                break;
            }
        }
    }
    if line_w > 0 {
        flush(&mut lines, &mut line, &mut prefix);
    }
    lines
}

/// Eighths of a block, for bars with sub-character resolution.
const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/// A bar of `count / most × width` columns, drawn in eighths of a block. A
/// non-zero count always shows at least a sliver. Never wider than `width`.
pub fn bar(count: u64, most: u64, width: usize) -> String {
    if count == 0 || width == 0 {
        return String::new();
    }
    let most = most.max(count);
    let eighths = (u128::from(count) * width as u128 * 8).div_ceil(u128::from(most)) as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(EIGHTHS[eighths % 8 - 1]);
    }
    s
}

/// The flag on the histogram row holding the expected balance.
pub const MARKER: &str = "◀ expected";

/// A histogram as lines `label │bar count ◀ expected`, fitted to `width`:
/// the bars take whatever the labels, counts and marker leave (at least 4
/// columns), and labels are cut with `…` when even that does not fit. The
/// row `marked` (an index into `rows`) carries the marker, shortened to `◀`
/// on narrow widths.
pub fn histogram(rows: &[(String, u64)], width: usize, marked: Option<usize>) -> Vec<String> {
    const MIN_BAR: usize = 4;
    let most = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let count_w = width_of(&most.to_string());
    let mut label_w = rows.iter().map(|r| width_of(&r.0)).max().unwrap_or(0);
    // " │" after the label, " " before the count.
    let fixed = |label_w: usize, marker_w: usize| label_w + 2 + 1 + count_w + marker_w;
    let mut marker = if marked.is_some() {
        format!(" {MARKER}")
    } else {
        String::new()
    };
    if fixed(label_w, width_of(&marker)) + MIN_BAR > width && marked.is_some() {
        marker = " ◀".to_string();
    }
    let marker_w = width_of(&marker);
    if fixed(label_w, marker_w) + MIN_BAR > width {
        label_w = width.saturating_sub(fixed(0, marker_w) + MIN_BAR).max(1);
    }
    let bar_w = width.saturating_sub(fixed(label_w, marker_w));
    rows.iter()
        .enumerate()
        .map(|(i, (label, count))| {
            let label = truncate(label, label_w);
            let b = bar(*count, most, bar_w);
            let pad = bar_w - width_of(&b);
            let mark = if marked == Some(i) {
                marker.as_str()
            } else {
                ""
            };
            let line = format!("{label:>label_w$} │{b}{:pad$} {count:>count_w$}{mark}", "");
            // Only reachable below ~10 columns: never exceed the width.
            truncate(line.trim_end(), width)
        })
        .collect()
}

/// A table with one column per mode, as text no wider than `width`. When all
/// the columns do not fit side by side, the modes are split into groups that
/// do, each group a table of its own under the previous one (separated by a
/// blank line), every one repeating the row labels. Cells too wide for even
/// one column are cut with `…`.
///
/// `columns` are the column headings (mode names); `rows` are a row label
/// and one cell per column.
pub fn table(columns: &[String], rows: &[(String, Vec<String>)], width: usize) -> Vec<String> {
    const GAP: usize = 2;
    let width = width.max(8);
    let mut label_w = rows.iter().map(|r| width_of(&r.0)).max().unwrap_or(0);
    // Leave at least 8 columns for a mode: cut the labels if need be.
    label_w = label_w.min(width.saturating_sub(GAP + 8));
    let col_w: Vec<usize> = (0..columns.len())
        .map(|c| {
            let cells = rows.iter().filter_map(|r| r.1.get(c)).map(|s| width_of(s));
            cells
                .chain([width_of(&columns[c])])
                .max()
                .unwrap_or(0)
                .min(width - label_w - GAP)
        })
        .collect();
    // Greedy grouping: as many columns as fit, in order.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut used = label_w;
    for (c, w) in col_w.iter().enumerate() {
        let need = GAP + w;
        match groups.last_mut() {
            Some(g) if used + need <= width => {
                g.push(c);
                used += need;
            }
            _ => {
                groups.push(vec![c]);
                used = label_w + need;
            }
        }
    }
    let mut out = Vec::new();
    for (gi, group) in groups.iter().enumerate() {
        if gi > 0 {
            out.push(String::new());
        }
        let mut line = format!("{:label_w$}", "");
        for &c in group {
            let w = col_w[c];
            line.push_str(&format!("{:GAP$}{:>w$}", "", truncate(&columns[c], w)));
        }
        out.push(line.trim_end().to_string());
        for (label, cells) in rows {
            let mut line = format!("{:<label_w$}", truncate(label, label_w));
            for &c in group {
                let w = col_w[c];
                let cell = cells.get(c).map(String::as_str).unwrap_or("");
                line.push_str(&format!("{:GAP$}{:>w$}", "", truncate(cell, w)));
            }
            out.push(line.trim_end().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDTHS: [usize; 3] = [60, 80, 120];

    fn assert_fits(lines: &[String], width: usize) {
        for line in lines {
            assert!(
                width_of(line) <= width,
                "{} > {width}: {line:?}",
                width_of(line)
            );
        }
    }

    /// The 411-column verdict the issue quotes, give or take.
    fn long_verdict() -> String {
        "no lock: 40 of 40 trials lost updates (total -1234), 2 failed (3 of 5 trials with a \
         dead lock holder completed); mutex: 40 of 40 exact; flock: 40 of 40 exact (1 of 2 \
         trials with a dead lock holder completed); spin: 38 of 40 exact, 2 failed; atomic: \
         40 of 40 exact; a-very-long-unbreakable-token-that-is-wider-than-sixty-columns-\
         by-quite-a-margin-indeed-0123456789"
            .to_string()
    }

    #[test]
    fn wrapped_verdicts_fit_and_keep_every_word() {
        let text = long_verdict();
        for width in WIDTHS {
            let lines = wrap(&text, width);
            assert_fits(&lines, width);
            assert!(lines.len() > 1);
            let joined: String = lines.concat().split_whitespace().collect();
            let original: String = text.split_whitespace().collect();
            assert_eq!(joined, original, "no text lost at {width}");
            let hanging = wrap_with(&text, width, "verdict: ", "         ");
            assert_fits(&hanging, width);
            assert!(hanging[0].starts_with("verdict: no lock"));
            assert!(hanging[1..].iter().all(|l| l.starts_with("         ")));
        }
    }

    #[test]
    fn wrap_edge_cases() {
        assert!(wrap("", 10).is_empty());
        assert_eq!(wrap("a b c", 3), ["a b", "c"]);
        assert_eq!(wrap("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(wrap("  spaced   out  ", 80), ["spaced out"]);
    }

    #[test]
    fn bars_scale_and_never_vanish() {
        assert_eq!(bar(4, 4, 8), "████████");
        assert_eq!(bar(1, 4, 8), "██");
        assert_eq!(bar(1, 1000, 40), "▏");
        assert_eq!(bar(0, 10, 40), "");
        assert_eq!(width_of(&bar(999, 1000, 7)), 7);
    }

    fn bins() -> Vec<(String, u64)> {
        (0..16)
            .map(|i| {
                let lo = -5_000_000_000i64 + i * 123_456_789;
                (
                    format!("{lo}..{}", lo + 123_456_788),
                    (i as u64 * 7) % 23 + 1,
                )
            })
            .collect()
    }

    #[test]
    fn histograms_fill_but_never_exceed_the_width() {
        let rows = bins();
        for width in WIDTHS {
            let lines = histogram(&rows, width, Some(3));
            assert_fits(&lines, width);
            assert!(lines[3].ends_with(MARKER), "{}", lines[3]);
            // The fullest bin uses the room it was given.
            let fullest = lines.iter().max_by_key(|l| l.matches('█').count()).unwrap();
            assert!(width_of(fullest) >= width - 12, "{fullest}");
        }
        // Narrow widths cut labels and the marker but still fit.
        for width in [12, 20, 30] {
            assert_fits(&histogram(&rows, width, Some(0)), width);
        }
    }

    #[test]
    fn histogram_small_example() {
        let rows = vec![("199".to_string(), 1), ("200".to_string(), 4)];
        let lines = histogram(&rows, 30, Some(1));
        assert_eq!(
            lines,
            ["199 │███          1", "200 │████████████ 4 ◀ expected"]
        );
    }

    fn wide_table() -> (Vec<String>, Vec<(String, Vec<String>)>) {
        let modes = ["no lock", "mutex", "flock", "spin", "atomic", "ticket lock"];
        let columns = modes.iter().map(|m| m.to_string()).collect();
        let row = |label: &str, cell: &dyn Fn(usize) -> String| {
            (
                label.to_string(),
                (0..modes.len()).map(cell).collect::<Vec<_>>(),
            )
        };
        let rows = vec![
            row("exact trials", &|i| format!("{} of 40", 40 - i * 3)),
            row("min", &|i| format!("{}", 180 + i)),
            row("mean ± σ", &|i| {
                format!("{:.1} ± {:.1}", 190.0 + i as f64, 3.25 * i as f64)
            }),
            row("throughput", &|i| format!("{}.{}M ops/s", 10 + i, i)),
        ];
        (columns, rows)
    }

    #[test]
    fn wide_tables_stack_into_narrow_ones() {
        let (columns, rows) = wide_table();
        let one = table(&columns, &rows, 200);
        assert_eq!(one.len(), rows.len() + 1, "fits side by side at 200");
        for width in WIDTHS {
            let lines = table(&columns, &rows, width);
            assert_fits(&lines, width);
            // Every mode appears exactly once as a heading.
            for m in &columns {
                assert_eq!(
                    lines.iter().filter(|l| l.contains(m.as_str())).count(),
                    1,
                    "{m} at {width}"
                );
            }
            if width < width_of(one.iter().max_by_key(|l| width_of(l)).unwrap()) {
                assert!(lines.iter().any(String::is_empty), "stacked at {width}");
            }
        }
        // Even absurdly narrow: cut, never over.
        assert_fits(&table(&columns, &rows, 12), 12);
    }

    #[test]
    fn table_snapshot_at_60() {
        let (columns, rows) = wide_table();
        insta::assert_snapshot!(table(&columns, &rows, 60).join("\n"));
    }
}
