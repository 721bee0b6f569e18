//! What every figure shares: the palette (Okabe-Ito, plus patterns, dashes and marker shapes so colour is never alone), escaping, the `<svg>` opening, ticks and markers.
//!
//! Every figure is a complete `<svg>` element with `xmlns`, so it works
//! inline in the HTML page and alone as a file (`--export-svg`); it is styled
//! with presentation attributes, not CSS, for the same reason. Elements a
//! test or a reader may count carry a class and `data-*` attributes:
//! `rect.bar[data-mode][data-bin][data-count]`, `line.expected[data-value]`,
//! `.trial[data-mode][data-trial]`, `.mark[data-seq]`, `path.erase-link`,
//! `line.whisker`.

use std::fmt::Write as _;

/// Escapes text for HTML or XML content and quoted attribute values; control
/// characters other than tab and newline (not allowed in XML 1.0) become U+FFFD.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Okabe-Ito colours, in the order modes get them. Yellow (`#F0E442`) is left
/// out: too light on white.
pub(crate) const PALETTE: [&str; 7] = [
    "#0072B2", // blue
    "#D55E00", // vermillion
    "#009E73", // bluish green
    "#CC79A7", // reddish purple
    "#E69F00", // orange
    "#56B4E9", // sky blue
    "#000000", // black
];
/// Highlight for what went wrong (lost writes, overdrawn debits).
pub(crate) const BAD: &str = "#D55E00";
/// Highlight for what caused it (erasing writes, spenders).
pub(crate) const CAUSE: &str = "#0072B2";
pub(crate) const INK: &str = "#1a1a1a";
pub(crate) const MUTED: &str = "#595959";
pub(crate) const GRID: &str = "#e3e3e3";
pub(crate) const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif";

/// The fill patterns of the modes' bars, drawn in white over the colour:
/// none, diagonal, dots, crosshatch, horizontal, vertical, other diagonal.
pub(crate) const PATTERNS: [&str; 7] = [
    "",
    "M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4",
    "dots",
    "M0,0 l8,8 M8,0 l-8,8",
    "M0,4 h8",
    "M4,0 v8",
    "M-2,6 l4,4 M0,0 l8,8 M6,-2 l4,4",
];
/// The dash patterns of the modes' lines.
pub(crate) const DASHES: [&str; 6] = ["", "9 4", "2 3", "10 3 2 3", "5 5", "1 2"];

pub(crate) fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A coordinate with at most one decimal.
/// A horizontal grid line across a plot from `x` over `width` at `y`, with
/// its tick label to the left: the y axes of every figure.
pub(crate) fn grid_line(out: &mut String, x: f64, width: f64, y: f64, label: &str) {
    let _ = write!(
        out,
        r#"<line class="grid" x1="{}" y1="{yy}" x2="{}" y2="{yy}" stroke="{GRID}"/><text class="tick" x="{}" y="{}" text-anchor="end" font-size="12" fill="{MUTED}">{label}</text>"#,
        n(x),
        n(x + width),
        n(x - 8.0),
        n(y + 4.0),
        yy = n(y),
    );
}

pub(crate) fn n(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Roughly how wide `text` is at `size` px in a sans-serif font.
pub(crate) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.5
}

/// Round tick values covering `lo..=hi`, about `target` of them, on steps of
/// 1, 2 or 5 × 10ⁿ (never below `min_step`).
pub(crate) fn ticks(lo: f64, hi: f64, target: usize, min_step: f64) -> Vec<f64> {
    let span = (hi - lo).abs().max(f64::EPSILON);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(min_step);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

pub(crate) fn svg_open(
    out: &mut String,
    id: &str,
    class: &str,
    w: f64,
    h: f64,
    title: &str,
    desc: &str,
) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="{class}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{font}" font-size="13" fill="{INK}">"#,
        id = escape(id),
        class = escape(class),
        w = n(w),
        h = n(h),
        font = escape(FONT),
    );
    let _ = write!(
        out,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc),
        id = escape(id),
    );
}

/// `<pattern>` definitions for the bars of `modes` modes, ids `{id}-pat-{i}`.
pub(crate) fn patterns(out: &mut String, id: &str, modes: usize) {
    for i in 0..modes {
        let c = colour(i);
        let _ = write!(
            out,
            r#"<pattern id="{}-pat-{i}" patternUnits="userSpaceOnUse" width="8" height="8"><rect width="8" height="8" fill="{c}"/>"#,
            escape(id)
        );
        match PATTERNS[i % PATTERNS.len()] {
            "" => {}
            "dots" => out.push_str(r##"<circle cx="4" cy="4" r="1.7" fill="#fff"/>"##),
            d => {
                let _ = write!(out, r##"<path d="{d}" stroke="#fff" stroke-width="1.8"/>"##);
            }
        }
        out.push_str("</pattern>");
    }
}

/// A marker of shape `shape` (circle, square, triangle, diamond, triangle
/// down, plus) centred on `(x, y)` with radius about `r`; `attrs` are added
/// as they are (already escaped).
pub(crate) fn marker(shape: usize, x: f64, y: f64, r: f64, attrs: &str) -> String {
    let p = |pts: &[(f64, f64)]| {
        let mut d = String::new();
        for (i, (dx, dy)) in pts.iter().enumerate() {
            let _ = write!(
                d,
                "{}{},{} ",
                if i == 0 { "M" } else { "L" },
                n(x + dx * r),
                n(y + dy * r)
            );
        }
        format!(r#"<path d="{d}Z" {attrs}/>"#)
    };
    match shape % 6 {
        0 => format!(
            r#"<circle cx="{}" cy="{}" r="{}" {attrs}/>"#,
            n(x),
            n(y),
            n(r)
        ),
        1 => p(&[(-0.9, -0.9), (0.9, -0.9), (0.9, 0.9), (-0.9, 0.9)]),
        2 => p(&[(0.0, -1.2), (1.1, 0.85), (-1.1, 0.85)]),
        3 => p(&[(0.0, -1.3), (1.3, 0.0), (0.0, 1.3), (-1.3, 0.0)]),
        4 => p(&[(0.0, 1.2), (1.1, -0.85), (-1.1, -0.85)]),
        _ => p(&[
            (-0.35, -1.1),
            (0.35, -1.1),
            (0.35, -0.35),
            (1.1, -0.35),
            (1.1, 0.35),
            (0.35, 0.35),
            (0.35, 1.1),
            (-0.35, 1.1),
            (-0.35, 0.35),
            (-1.1, 0.35),
            (-1.1, -0.35),
            (-0.35, -0.35),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b"), "a\u{FFFD}b");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0.0, 40.0, 5, 1.0), [0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(ticks(0.0, 3.0, 5, 1.0), [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(
            ticks(1.0, 40.0, 10, 1.0),
            [5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]
        );
    }
}
