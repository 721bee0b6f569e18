//! The sweep figure: the share of trials that ended wrong per parameter value, one line per mode (colour, dash and marker shape differ), with Wilson 95 % whiskers.

use std::fmt::Write as _;

use super::model::{SweepCurve, SweepModePoint};
use super::svg::{DASHES, INK, MUTED, colour, escape, grid_line, marker, n, svg_open, text_width};

/// The plot's frame and where each point goes.
struct Plot {
    h: f64,
    ml: f64,
    mt: f64,
    pw: f64,
    ph: f64,
    /// The x of each point, and whether they are evenly spaced rather
    /// than linear in the value.
    xs: Vec<f64>,
    even: bool,
    count: usize,
    modes: Vec<String>,
}

impl Plot {
    fn x(&self, i: usize) -> f64 {
        self.xs.get(i).copied().unwrap_or(self.ml)
    }

    fn y(&self, share: f64) -> f64 {
        self.mt + self.ph - share.clamp(0.0, 1.0) * self.ph
    }

    /// Modes are nudged sideways so that their whiskers do not overlap.
    fn dodge(&self, i: usize) -> f64 {
        (i as f64 - (self.modes.len() as f64 - 1.0) / 2.0) * 6.0
    }
}

/// The x axis is linear in the value, unless two points would crowd each
/// other (or the values are not increasing): then the points are evenly
/// spaced and the axis title says so.
fn plot(c: &SweepCurve) -> Plot {
    let (w, h) = (1200.0, 420.0);
    let (ml, mr, mt, mb) = (72.0, 150.0, 66.0, 64.0);
    let (pw, ph) = (w - ml - mr, h - mt - mb);
    let mut modes: Vec<String> = Vec::new();
    for m in c.points.iter().flat_map(|p| &p.modes) {
        if !modes.contains(&m.name) {
            modes.push(m.name.clone());
        }
    }
    let values: Vec<f64> = c.points.iter().map(|p| p.value).collect();
    let (vmin, vmax) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    // Points stay clear of the y axis and of the end labels.
    let (x0, xw) = (ml + 28.0, pw - 44.0);
    let linear_x = |v: f64| {
        if vmax > vmin {
            x0 + (v - vmin) / (vmax - vmin) * xw
        } else {
            x0 + xw / 2.0
        }
    };
    let sorted = values.windows(2).all(|p| p[0] < p[1]);
    let crowded = values
        .windows(2)
        .any(|p| (linear_x(p[1]) - linear_x(p[0])).abs() < 40.0);
    let even = !sorted || crowded;
    let count = c.points.len();
    let xs = (0..count)
        .map(|i| {
            if !even {
                linear_x(values[i])
            } else if count <= 1 {
                x0 + xw / 2.0
            } else {
                x0 + i as f64 / (count - 1) as f64 * xw
            }
        })
        .collect();
    Plot {
        h,
        ml,
        mt,
        pw,
        ph,
        xs,
        even,
        count,
        modes,
    }
}

/// The share of inconsistent trials per parameter value, one line per mode,
/// with Wilson 95 % whiskers and the mode's name at the end of its line.
pub(crate) fn sweep(c: &SweepCurve, id: &str) -> String {
    let p = plot(c);
    let mut out = String::new();
    let title = format!("Share of trials that {}, by {}", c.outcome, c.parameter);
    let desc = format!(
        "Sweep over {} ({} values) for {} mode{}: share of trials that {}, with Wilson 95 % intervals.",
        c.parameter,
        c.points.len(),
        p.modes.len(),
        if p.modes.len() == 1 { "" } else { "s" },
        c.outcome,
    );
    svg_open(&mut out, id, "figure sweep", 1200.0, p.h, &title, &desc);
    let _ = write!(
        out,
        r#"<text class="fig-title" x="{}" y="22" font-size="17" font-weight="600">{}</text>"#,
        n(p.ml),
        escape(&title)
    );
    legend(&mut out, &p);
    axes(&mut out, c, &p);
    let mut ends: Vec<(f64, usize)> = Vec::new();
    for (i, m) in p.modes.iter().enumerate() {
        if let Some(y) = series(&mut out, c, &p, i, m) {
            ends.push((y, i));
        }
    }
    end_labels(&mut out, &p, ends);
    out.push_str("</svg>");
    out
}

/// One entry per mode (its line, dash and marker), and one for the whiskers.
fn legend(out: &mut String, p: &Plot) {
    let modes = &p.modes;
    let mut lx = p.ml;
    for (i, m) in modes.iter().enumerate() {
        let _ = write!(
            out,
            r#"<g class="legend-item" data-mode="{name}"><line x1="{}" y1="41" x2="{}" y2="41" stroke="{c}" stroke-width="2.5" stroke-dasharray="{d}"/>{mk}<text x="{}" y="46">{name}</text></g>"#,
            n(lx),
            n(lx + 30.0),
            n(lx + 36.0),
            name = escape(m),
            c = colour(i),
            d = DASHES[i % DASHES.len()],
            mk = marker(
                i,
                lx + 15.0,
                41.0,
                4.5,
                &format!(r##"fill="{}" stroke="#fff""##, colour(i))
            ),
        );
        lx += 36.0 + text_width(m, 13.0) + 22.0;
    }
    let _ = write!(
        out,
        r#"<g class="legend-item"><line x1="{x}" y1="33" x2="{x}" y2="49" stroke="{INK}" stroke-width="1.5"/><line x1="{}" y1="33" x2="{}" y2="33" stroke="{INK}" stroke-width="1.5"/><line x1="{}" y1="49" x2="{}" y2="49" stroke="{INK}" stroke-width="1.5"/><text x="{}" y="46">95 % interval (Wilson)</text></g>"#,
        n(lx - 4.0),
        n(lx + 4.0),
        n(lx - 4.0),
        n(lx + 4.0),
        n(lx + 12.0),
        x = n(lx),
    );
}

/// The grid, the y axis in percent, the values under the x axis and both titles.
fn axes(out: &mut String, c: &SweepCurve, p: &Plot) {
    let (ml, mt, pw, ph, h, even) = (p.ml, p.mt, p.pw, p.ph, p.h, p.even);
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        grid_line(out, ml, pw, p.y(t), &format!("{} %", (t * 100.0) as i64));
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{}" y1="{b}" x2="{}" y2="{b}" stroke="{INK}"/>"#,
        n(ml),
        n(ml + pw),
        b = n(mt + ph)
    );
    let mut last_label = f64::NEG_INFINITY;
    for (i, point) in c.points.iter().enumerate() {
        let x = p.x(i);
        let _ = write!(
            out,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{INK}"/>"#,
            n(mt + ph),
            n(mt + ph + 5.0),
            x = n(x)
        );
        if x - last_label >= text_width(&point.value_label, 12.0) + 8.0 {
            let _ = write!(
                out,
                r#"<text class="tick x-label" x="{}" y="{}" text-anchor="middle" font-size="12" fill="{MUTED}">{}</text>"#,
                n(x),
                n(mt + ph + 19.0),
                escape(&point.value_label)
            );
            last_label = x;
        }
    }
    let unit = if c.unit.is_empty() {
        String::new()
    } else {
        format!(" ({})", c.unit)
    };
    let spacing = if even && c.points.len() > 2 {
        ", evenly spaced"
    } else {
        ""
    };
    let _ = write!(
        out,
        r#"<text class="axis-title" x="{}" y="{}" text-anchor="middle" fill="{MUTED}">{}</text>"#,
        n(ml + pw / 2.0),
        n(h - 14.0),
        escape(&format!("{}{unit}{spacing}", c.parameter))
    );
    let _ = write!(
        out,
        r#"<text class="axis-title" transform="translate(18 {}) rotate(-90)" text-anchor="middle" fill="{MUTED}">trials with a wrong final balance</text>"#,
        n(mt + ph / 2.0)
    );
}

/// Mode `i`'s line, whiskers and points; the y of its last point.
fn series(out: &mut String, c: &SweepCurve, p: &Plot, i: usize, m: &str) -> Option<f64> {
    let col = colour(i);
    let pts: Vec<(usize, &SweepModePoint)> = c
        .points
        .iter()
        .enumerate()
        .filter_map(|(pi, pt)| pt.modes.iter().find(|q| q.name == *m).map(|q| (pi, q)))
        .collect();
    let line: Vec<String> = pts
        .iter()
        .map(|(pi, q)| format!("{},{}", n(p.x(*pi) + p.dodge(i)), n(p.y(q.share))))
        .collect();
    let _ = write!(
        out,
        r#"<g class="series" data-mode="{name}"><polyline class="curve" data-mode="{name}" points="{}" fill="none" stroke="{col}" stroke-width="2.5" stroke-dasharray="{}"/>"#,
        line.join(" "),
        DASHES[i % DASHES.len()],
        name = escape(m),
    );
    for (pi, q) in &pts {
        let x = p.x(*pi) + p.dodge(i);
        let (y1, y2) = (p.y(q.ci_low), p.y(q.ci_high));
        let _ = write!(
            out,
            r#"<line class="whisker" data-mode="{name}" data-value="{vl}" data-ci-low="{lo:.4}" data-ci-high="{hi:.4}" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{col}" stroke-width="1.5"/><line x1="{}" y1="{a}" x2="{}" y2="{a}" stroke="{col}" stroke-width="1.5"/><line x1="{}" y1="{b}" x2="{}" y2="{b}" stroke="{col}" stroke-width="1.5"/>"#,
            n(y1),
            n(y2),
            n(x - 4.0),
            n(x + 4.0),
            n(x - 4.0),
            n(x + 4.0),
            name = escape(m),
            vl = escape(&c.points[*pi].value_label),
            lo = q.ci_low,
            hi = q.ci_high,
            x = n(x),
            a = n(y1),
            b = n(y2),
        );
        let title = format!(
            "{m} at {}: {} of {} trials ({:.0} %), 95 % interval {:.0}–{:.0} %",
            c.points[*pi].value_label,
            q.inconsistent,
            q.trials,
            q.share * 100.0,
            q.ci_low * 100.0,
            q.ci_high * 100.0
        );
        let attrs = format!(
            r##"class="point" data-mode="{}" data-value="{}" data-share="{:.4}" data-trials="{}" data-inconsistent="{}" fill="{col}" stroke="#fff" stroke-width="1""##,
            escape(m),
            escape(&c.points[*pi].value_label),
            q.share,
            q.trials,
            q.inconsistent
        );
        let _ = write!(
            out,
            r#"<g>{}<title>{}</title></g>"#,
            marker(i, x, p.y(q.share), 5.5, &attrs),
            escape(&title)
        );
    }
    out.push_str("</g>");
    pts.last().map(|(_, q)| p.y(q.share))
}

/// Names each line at its end; labels that would overlap are pushed apart:
/// down first, then back up from the bottom of the plot.
fn end_labels(out: &mut String, p: &Plot, mut ends: Vec<(f64, usize)>) {
    ends.sort_by(|a, b| a.0.total_cmp(&b.0));
    let gap = 16.0;
    for k in 1..ends.len() {
        if ends[k].0 < ends[k - 1].0 + gap {
            ends[k].0 = ends[k - 1].0 + gap;
        }
    }
    let bottom = p.mt + p.ph + 4.0;
    for k in (0..ends.len()).rev() {
        let limit = if k + 1 == ends.len() {
            bottom
        } else {
            ends[k + 1].0 - gap
        };
        if ends[k].0 > limit {
            ends[k].0 = limit;
        }
    }
    let placed = ends;
    let last_x = p.x(p.count.saturating_sub(1)) + 14.0 + p.dodge(p.modes.len().saturating_sub(1));
    for (ly, i) in placed {
        let _ = write!(
            out,
            r#"<text class="curve-label" data-mode="{name}" x="{}" y="{}" font-weight="600" fill="{}">{name}</text>"#,
            n(last_x),
            n(ly + 4.0),
            colour(i),
            name = escape(&p.modes[i]),
        );
    }
}
