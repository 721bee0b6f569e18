//! The histogram figure: every mode's final balances on one shared axis with shared bins, side by side, the expected balance dashed.

use std::fmt::Write as _;

use super::model::Figure;
use super::svg::{INK, MUTED, colour, escape, grid_line, n, patterns, svg_open, text_width, ticks};
use crate::histogram;

/// A range of balances `lo..=hi`, shared by every mode's histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bin {
    pub lo: i64,
    pub hi: i64,
}

impl Bin {
    pub(crate) fn label(&self) -> String {
        if self.lo == self.hi {
            self.lo.to_string()
        } else {
            format!("{}–{}", self.lo, self.hi)
        }
    }
}

/// At most `max_bins` bins of equal integer width covering every mode's
/// final balances and the expected balance, as the terminal histogram bins
/// them (`histogram::bins`): one bin per balance when the span is small.
pub(crate) fn shared_bins(fig: &Figure, max_bins: usize) -> Vec<Bin> {
    let mut values = std::collections::BTreeMap::new();
    let finals = fig.modes.iter().flat_map(|m| m.finals.iter().flatten());
    for &v in finals.chain([&fig.expected]) {
        *values.entry(v).or_insert(0u32) += 1;
    }
    histogram::bins(&values, max_bins)
        .into_iter()
        .map(|b| Bin { lo: b.lo, hi: b.hi })
        .collect()
}

/// Which bin of `bins` holds `v`, if any.
pub(crate) fn bin_of(bins: &[Bin], v: i64) -> Option<usize> {
    let first = bins.first()?;
    let width = i128::from(first.hi) - i128::from(first.lo) + 1;
    let i = (i128::from(v) - i128::from(first.lo)).checked_div(width)?;
    let i = usize::try_from(i).ok()?;
    (i < bins.len() && (bins[i].lo..=bins[i].hi).contains(&v)).then_some(i)
}

/// Per mode, how many of its (successful) trials fall in each bin.
pub(crate) fn bin_counts(fig: &Figure, bins: &[Bin]) -> Vec<Vec<u32>> {
    fig.modes
        .iter()
        .map(|m| {
            let mut counts = vec![0u32; bins.len()];
            for v in m.finals.iter().flatten() {
                if let Some(i) = bin_of(bins, *v) {
                    counts[i] += 1;
                }
            }
            counts
        })
        .collect()
}

/// The most bins the histogram gets.
pub(crate) const MAX_BINS: usize = 20;

/// Where things go: margins, plot size, the y scale and bar widths.
struct Layout {
    h: f64,
    ml: f64,
    mt: f64,
    pw: f64,
    ph: f64,
    ymax: f64,
    /// Width of one bin, of the bars' group within it, and of one bar.
    bw: f64,
    group: f64,
    bar_w: f64,
}

impl Layout {
    fn y(&self, c: f64) -> f64 {
        self.mt + self.ph - c / self.ymax * self.ph
    }
}

/// Every mode's histogram of final balances on one shared x axis with shared
/// bins: within each bin, one bar per mode side by side. The expected
/// balance is a dashed vertical line with a label. One `rect.bar` per mode
/// and bin, empty bins included (height 0), so `bars = bins × modes`.
pub(crate) fn histogram(fig: &Figure, id: &str) -> String {
    let bins = shared_bins(fig, MAX_BINS);
    let counts = bin_counts(fig, &bins);
    let modes = fig.modes.len();
    let (w, h) = (1200.0, 400.0);
    let (ml, mr, mt, mb) = (64.0, 20.0, 86.0, 62.0);
    let (pw, ph) = (w - ml - mr, h - mt - mb);
    let most = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    // Headroom above the tallest bar for its count.
    let yticks = ticks(0.0, f64::from(most) * 1.08, 5, 1.0);
    let ymax = yticks
        .last()
        .copied()
        .unwrap_or(1.0)
        .max(f64::from(most) * 1.08);
    let bw = pw / bins.len().max(1) as f64;
    let group = bw * 0.84;
    let l = Layout {
        h,
        ml,
        mt,
        pw,
        ph,
        ymax,
        bw,
        group,
        bar_w: group / modes.max(1) as f64,
    };

    let mut out = String::new();
    let failed: usize = fig
        .modes
        .iter()
        .map(|m| m.finals.iter().filter(|f| f.is_none()).count())
        .sum();
    let desc = format!(
        "Histogram of final balances for {} mode{} ({}), {} bin{} on one shared axis; expected balance {}.{}",
        modes,
        if modes == 1 { "" } else { "s" },
        fig.modes
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        bins.len(),
        if bins.len() == 1 { "" } else { "s" },
        fig.expected,
        if failed > 0 {
            format!(" {failed} failed trials are not counted.")
        } else {
            String::new()
        }
    );
    svg_open(&mut out, id, "figure histogram", w, h, &fig.title, &desc);
    out.push_str("<defs>");
    patterns(&mut out, id, modes);
    out.push_str("</defs>");
    legend(&mut out, fig, id, ml);
    y_axis(&mut out, &l, &yticks);
    bars(&mut out, fig, id, &bins, &counts, &l);
    x_axis(&mut out, &bins, &l);
    expected_line(&mut out, fig, &bins, &l);
    out.push_str("</svg>");
    out
}

/// The title, and one legend entry per mode (its pattern) and for the expected line.
fn legend(out: &mut String, fig: &Figure, id: &str, ml: f64) {
    let _ = write!(
        out,
        r#"<text class="fig-title" x="{}" y="22" font-size="17" font-weight="600">{}</text>"#,
        n(ml),
        escape(&fig.title)
    );
    let mut lx = ml;
    for (i, m) in fig.modes.iter().enumerate() {
        let failed = m.finals.iter().filter(|f| f.is_none()).count();
        let label = if failed > 0 {
            format!("{} ({failed} failed)", m.name)
        } else {
            m.name.clone()
        };
        let _ = write!(
            out,
            r#"<g class="legend-item" data-mode="{name}"><rect x="{x}" y="34" width="18" height="14" fill="url(#{id}-pat-{i})" stroke="{c}"/><text x="{tx}" y="46">{label}</text></g>"#,
            name = escape(&m.name),
            id = escape(id),
            x = n(lx),
            tx = n(lx + 24.0),
            c = colour(i),
            label = escape(&label),
        );
        lx += 24.0 + text_width(&label, 13.0) + 22.0;
    }
    let _ = write!(
        out,
        r#"<g class="legend-item legend-expected"><line x1="{}" y1="41" x2="{}" y2="41" stroke="{INK}" stroke-width="2" stroke-dasharray="6 4"/><text x="{}" y="46">expected balance</text></g>"#,
        n(lx),
        n(lx + 26.0),
        n(lx + 32.0)
    );
}

/// Grid lines, tick labels and the title of the y axis (trials).
fn y_axis(out: &mut String, l: &Layout, yticks: &[f64]) {
    let (ml, mt, pw, ph) = (l.ml, l.mt, l.pw, l.ph);
    let y = |c: f64| l.y(c);
    for t in yticks {
        grid_line(out, ml, pw, y(*t), &n(*t));
    }
    let _ = write!(
        out,
        r#"<text class="axis-title" transform="translate(18 {}) rotate(-90)" text-anchor="middle" font-size="13" fill="{MUTED}">trials</text>"#,
        n(mt + ph / 2.0)
    );
}

/// One `rect.bar` per bin and mode, with its count on top when it fits.
fn bars(out: &mut String, fig: &Figure, id: &str, bins: &[Bin], counts: &[Vec<u32>], l: &Layout) {
    let (ml, mt, ph, bw, group, bar_w) = (l.ml, l.mt, l.ph, l.bw, l.group, l.bar_w);
    let y = |c: f64| l.y(c);
    for (b, bin) in bins.iter().enumerate() {
        let gx = ml + b as f64 * bw + (bw - group) / 2.0;
        for (i, m) in fig.modes.iter().enumerate() {
            let c = counts[i][b];
            let x = gx + i as f64 * bar_w;
            let top = y(f64::from(c));
            let _ = write!(
                out,
                r#"<rect class="bar" data-mode="{name}" data-bin="{b}" data-lo="{lo}" data-hi="{hi}" data-count="{c}" x="{x}" y="{top}" width="{bwid}" height="{ht}" fill="url(#{id}-pat-{i})" stroke="{col}" stroke-width="1"><title>{title}</title></rect>"#,
                name = escape(&m.name),
                lo = bin.lo,
                hi = bin.hi,
                x = n(x + 0.5),
                top = n(top),
                bwid = n((bar_w - 1.0).max(1.0)),
                ht = n(mt + ph - top),
                id = escape(id),
                col = colour(i),
                title = escape(&format!(
                    "{}: {c} trial{} ended at {}",
                    m.name,
                    if c == 1 { "" } else { "s" },
                    bin.label()
                )),
            );
            if c > 0 && text_width(&c.to_string(), 11.0) + 4.0 <= bar_w {
                let _ = write!(
                    out,
                    r##"<text class="count" x="{}" y="{}" text-anchor="middle" font-size="11" fill="{MUTED}" stroke="#fff" stroke-width="3" paint-order="stroke">{c}</text>"##,
                    n(x + bar_w / 2.0),
                    n(top - 4.0)
                );
            }
        }
    }
}

/// The baseline and the bins' labels, thinned so that they do not collide.
fn x_axis(out: &mut String, bins: &[Bin], l: &Layout) {
    let (ml, mt, pw, ph, bw, h) = (l.ml, l.mt, l.pw, l.ph, l.bw, l.h);
    let _ = write!(
        out,
        r#"<line class="axis" x1="{}" y1="{b}" x2="{}" y2="{b}" stroke="{INK}"/>"#,
        n(ml),
        n(ml + pw),
        b = n(mt + ph)
    );
    let widest = bins
        .iter()
        .map(|b| text_width(&b.label(), 12.0))
        .fold(0.0, f64::max);
    let every = ((widest + 10.0) / bw).ceil().max(1.0) as usize;
    for (b, bin) in bins.iter().enumerate() {
        if b % every != 0 {
            continue;
        }
        let cx = ml + (b as f64 + 0.5) * bw;
        let _ = write!(
            out,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{INK}"/><text class="tick bin-label" x="{x}" y="{}" text-anchor="middle" font-size="12" fill="{MUTED}">{}</text>"#,
            n(mt + ph),
            n(mt + ph + 5.0),
            n(mt + ph + 19.0),
            escape(&bin.label()),
            x = n(cx),
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis-title" x="{}" y="{}" text-anchor="middle" font-size="13" fill="{MUTED}">final balance</text>"#,
        n(ml + pw / 2.0),
        n(h - 14.0)
    );
}

/// The expected balance: a dashed line through the plot, labelled on top.
fn expected_line(out: &mut String, fig: &Figure, bins: &[Bin], l: &Layout) {
    let (ml, mt, pw, ph, bw) = (l.ml, l.mt, l.pw, l.ph, l.bw);
    if let Some(b) = bin_of(bins, fig.expected) {
        let bin = bins[b];
        let frac = (fig.expected - bin.lo) as f64 + 0.5;
        let x = ml + (b as f64 + frac / (bin.hi - bin.lo + 1) as f64) * bw;
        let label = format!("expected {}", fig.expected);
        // Keep the label inside the figure.
        let half = text_width(&label, 13.0) / 2.0 + 6.0;
        let lx = x.clamp(ml + half, ml + pw - half);
        let _ = write!(
            out,
            r##"<line class="expected" data-value="{v}" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{INK}" stroke-width="2" stroke-dasharray="6 4"/><rect x="{}" y="{}" width="{}" height="18" rx="3" fill="#fff" fill-opacity="0.9"/><text class="expected-label" x="{}" y="{}" text-anchor="middle" font-weight="600">{}</text>"##,
            n(mt - 4.0),
            n(mt + ph),
            n(lx - half),
            n(mt - 22.0 + 2.0),
            n(half * 2.0),
            n(lx),
            n(mt - 7.0 + 2.0),
            escape(&label),
            v = fig.expected,
            x = n(x),
        );
    }
}
