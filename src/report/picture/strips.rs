//! The strips figure: each mode's final balance per trial, in trial order, one row per mode on shared scales, so nondeterminism shows at a glance.

use std::fmt::Write as _;

use super::model::{Figure, ModeSeries};
use super::svg::{GRID, INK, MUTED, colour, escape, marker, n, svg_open, ticks};

/// The shared scales of every row.
struct Scales {
    ml: f64,
    pw: f64,
    mt: f64,
    row_h: f64,
    title_h: f64,
    gap: f64,
    trials: usize,
    lo: f64,
    hi: f64,
    r: f64,
    xticks: Vec<f64>,
    expected: i64,
}

impl Scales {
    fn x(&self, t: usize) -> f64 {
        if self.trials == 1 {
            self.ml + self.pw / 2.0
        } else {
            self.ml + (t as f64 - 1.0) / (self.trials as f64 - 1.0) * self.pw
        }
    }
}

/// Each mode's final balance per trial (trial number on x, balance on y),
/// one row per mode with shared scales, the expected balance dashed. Failed
/// trials show as `×` under the row. One `.trial` per successful trial.
pub(crate) fn strips(fig: &Figure, id: &str) -> String {
    let w = 1200.0;
    let (ml, mr, mt) = (80.0, 24.0, 34.0);
    let (row_h, title_h, gap) = (84.0, 26.0, 16.0);
    let pw = w - ml - mr;
    let rows = fig.modes.len().max(1);
    let h = mt + rows as f64 * (title_h + row_h + gap) + 40.0;
    let trials = fig
        .modes
        .iter()
        .map(|m| m.finals.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let (mut lo, mut hi) = (fig.expected, fig.expected);
    for v in fig.modes.iter().flat_map(|m| m.finals.iter().flatten()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let (lo, hi) = if lo == hi {
        (lo as f64 - 1.0, hi as f64 + 1.0)
    } else {
        (lo as f64, hi as f64)
    };
    let r = if trials > 150 {
        2.5
    } else if trials > 60 {
        3.5
    } else {
        4.5
    };

    let mut out = String::new();
    let desc = format!(
        "Final balance of every trial, one row per mode, trial number on the x axis; expected balance {}.",
        fig.expected
    );
    svg_open(
        &mut out,
        id,
        "figure strips",
        w,
        h,
        "Final balance of each trial",
        &desc,
    );
    let _ = write!(
        out,
        r#"<text class="fig-title" x="{}" y="22" font-size="17" font-weight="600">Final balance of each trial, in trial order</text>"#,
        n(ml)
    );
    let s = Scales {
        ml,
        pw,
        mt,
        row_h,
        title_h,
        gap,
        trials,
        lo,
        hi,
        r,
        xticks: ticks(1.0, trials as f64, 10, 1.0),
        expected: fig.expected,
    };
    for (i, m) in fig.modes.iter().enumerate() {
        strip(&mut out, &s, i, m);
        strip_points(&mut out, &s, i, m);
    }
    x_axis(&mut out, &s, rows);
    out.push_str("</svg>");
    out
}

/// The trial numbers under the last row, and the axis title.
fn x_axis(out: &mut String, s: &Scales, rows: usize) {
    let (ml, pw, mt, row_h, title_h, gap) = (s.ml, s.pw, s.mt, s.row_h, s.title_h, s.gap);
    let bottom = mt + rows as f64 * (title_h + row_h + gap);
    for t in &s.xticks {
        let _ = write!(
            out,
            r#"<text class="tick" x="{}" y="{}" text-anchor="middle" font-size="12" fill="{MUTED}">{}</text>"#,
            n(s.x(*t as usize)),
            n(bottom + 6.0),
            n(*t)
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis-title" x="{}" y="{}" text-anchor="middle" fill="{MUTED}">trial number (dashed: expected balance {})</text>"#,
        n(ml + pw / 2.0),
        n(bottom + 26.0),
        s.expected
    );
}

/// Row `i`: mode `m`'s trials as points, the expected balance dashed,
/// failed trials as `×` under the row.
fn strip(out: &mut String, s: &Scales, i: usize, m: &ModeSeries) {
    let (ml, pw, row_h, lo, hi) = (s.ml, s.pw, s.row_h, s.lo, s.hi);
    let top = s.mt + i as f64 * (s.title_h + row_h + s.gap) + s.title_h;
    let x = |t: usize| s.x(t);
    let fig_expected = s.expected;
    let y = |v: f64| top + row_h - 8.0 - (v - lo) / (hi - lo) * (row_h - 16.0);
    let ok = m.finals.iter().flatten().count();
    let exact = m
        .finals
        .iter()
        .flatten()
        .filter(|v| **v == fig_expected)
        .count();
    let failed = m.finals.len() - ok;
    let mut summary = format!("{exact} of {} at the expected balance", m.finals.len());
    if failed > 0 {
        let _ = write!(summary, ", {failed} failed (×)");
    }
    let _ = write!(
        out,
        r##"<g class="strip" data-mode="{name}"><rect x="{}" y="{}" width="{}" height="{}" fill="#f7f7f7"/>"##,
        n(ml),
        n(top),
        n(pw),
        n(row_h),
        name = escape(&m.name),
    );
    let mark = marker(
        i,
        ml - 60.0,
        top - 9.0,
        5.0,
        &format!(r#"fill="{}""#, colour(i)),
    );
    let _ = write!(
        out,
        r#"{mark}<text class="strip-title" x="{}" y="{}" font-weight="600" font-size="14">{}<tspan font-weight="400" fill="{MUTED}">  {}</tspan></text>"#,
        n(ml - 48.0),
        n(top - 4.0),
        escape(&m.name),
        escape(&format!("· {summary}")),
    );
    for t in &s.xticks {
        let _ = write!(
            out,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{GRID}"/>"#,
            n(top),
            n(top + row_h),
            x = n(x(*t as usize))
        );
    }
    // Y labels: the range and the expected balance.
    let mut labels = vec![(lo, lo.to_string()), (hi, hi.to_string())];
    let ey = fig_expected as f64;
    if (y(ey) - y(lo)).abs() > 14.0 && (y(ey) - y(hi)).abs() > 14.0 {
        labels.push((ey, fig_expected.to_string()));
    }
    for (v, text) in labels {
        let _ = write!(
            out,
            r#"<text class="tick" x="{}" y="{}" text-anchor="end" font-size="12" fill="{MUTED}">{}</text>"#,
            n(ml - 8.0),
            n(y(v) + 4.0),
            escape(text.trim_end_matches(".0"))
        );
    }
    let _ = write!(
        out,
        r#"<line class="expected" data-value="{}" x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4"/>"#,
        fig_expected,
        n(ml),
        n(ml + pw),
        y = n(y(ey)),
    );
}

/// The points of row `i`: a faint line through the trials, a mark per
/// finished trial, `×` under the row for a failed one.
fn strip_points(out: &mut String, s: &Scales, i: usize, m: &ModeSeries) {
    let (row_h, lo, hi, r) = (s.row_h, s.lo, s.hi, s.r);
    let top = s.mt + i as f64 * (s.title_h + row_h + s.gap) + s.title_h;
    let x = |t: usize| s.x(t);
    let y = |v: f64| top + row_h - 8.0 - (v - lo) / (hi - lo) * (row_h - 16.0);
    let pts: Vec<String> = m
        .finals
        .iter()
        .enumerate()
        .filter_map(|(t, v)| v.map(|v| format!("{},{}", n(x(t + 1)), n(y(v as f64)))))
        .collect();
    if pts.len() > 1 {
        let _ = write!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-opacity="0.35" stroke-width="1"/>"#,
            pts.join(" "),
            colour(i)
        );
    }
    for (t, v) in m.finals.iter().enumerate() {
        let cx = x(t + 1);
        match v {
            Some(v) => {
                let shape = marker(
                    i,
                    cx,
                    y(*v as f64),
                    r,
                    &format!(r##"fill="{}" stroke="#fff" stroke-width="0.8""##, colour(i)),
                );
                let _ = write!(
                    out,
                    r#"<g class="trial" data-mode="{}" data-trial="{}" data-balance="{v}">{shape}<title>trial {}: {v}</title></g>"#,
                    escape(&m.name),
                    t + 1,
                    t + 1
                );
            }
            None => {
                let _ = write!(
                    out,
                    r#"<text class="failed-trial" data-mode="{}" data-trial="{}" x="{}" y="{}" text-anchor="middle" font-size="14" font-weight="700" fill="{MUTED}">×<title>trial {} failed</title></text>"#,
                    escape(&m.name),
                    t + 1,
                    n(cx),
                    n(top + row_h + 13.0),
                    t + 1
                );
            }
        }
    }
    out.push_str("</g>");
}
