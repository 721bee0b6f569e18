//! The swimlanes figure of an explained trial: one lane per worker, every access a mark in the order the balance saw it, lost writes linked to the writes that erased them, overdrawn debits to the writes that spent their funds.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::model::{Access, Lanes};
use super::svg::{BAD, CAUSE, INK, MUTED, escape, marker, n, svg_open, text_width};
use crate::vocab::AccessKind;

/// Where each access goes, and what part it played.
struct Geometry<'a> {
    acc: Vec<&'a Access>,
    col: HashMap<u64, usize>,
    by_seq: HashMap<u64, &'a Access>,
    cw: f64,
    ml: f64,
    mr: f64,
    mt: f64,
    lane_h: f64,
    w: f64,
    /// Lost writes by seq, with their amount; erasing writes with how many
    /// they erased; overdrawn debits with the balance they left; spenders.
    lost_seqs: HashMap<u64, i64>,
    erasers: HashMap<u64, usize>,
    overdrawn: HashMap<u64, i64>,
    spenders: Vec<u64>,
}

impl Geometry<'_> {
    fn x(&self, seq: u64) -> f64 {
        self.ml + (self.col.get(&seq).copied().unwrap_or(0) as f64 + 0.5) * self.cw
    }

    fn y(&self, worker: usize) -> f64 {
        self.mt + worker as f64 * self.lane_h + self.lane_h / 2.0 + 2.0
    }
}

fn geometry(l: &Lanes) -> Geometry<'_> {
    let mut acc: Vec<&Access> = l.accesses.iter().collect();
    acc.sort_by_key(|a| a.seq);
    let col: HashMap<u64, usize> = acc.iter().enumerate().map(|(i, a)| (a.seq, i)).collect();
    let by_seq: HashMap<u64, &Access> = acc.iter().map(|a| (a.seq, *a)).collect();
    let widest_value = acc
        .iter()
        .map(|a| text_width(&a.value.to_string(), 11.0))
        .fold(0.0, f64::max);
    let cw = (1080.0 / acc.len().max(1) as f64).clamp((widest_value + 6.0).max(30.0), 64.0);
    let (ml, mr, mt) = (72.0, 28.0, 78.0);
    let legend_w = legend_width(&acc, l);
    let w = (ml + cw * acc.len() as f64 + mr)
        .max(legend_w + 24.0)
        .max(480.0);
    let mut erasers: HashMap<u64, usize> = HashMap::new();
    for x in &l.lost {
        *erasers.entry(x.erased_by_write_seq).or_default() += 1;
    }
    Geometry {
        lost_seqs: l.lost.iter().map(|x| (x.write_seq, x.amount)).collect(),
        erasers,
        overdrawn: l
            .overdrafts
            .iter()
            .map(|o| (o.debit_seq, o.after))
            .collect(),
        spenders: l
            .overdrafts
            .iter()
            .flat_map(|o| o.spent_by.iter().copied())
            .collect(),
        acc,
        col,
        by_seq,
        cw,
        ml,
        mr,
        mt,
        lane_h: 70.0,
        w,
    }
}

/// The interleaving of one explained trial: one lane per worker, every
/// access a mark in the order the balance saw it (read ○, write ■, check ◇,
/// debit ◆, atomic ●, with the value above), each read-to-write window a
/// band. A lost write is red with `✗` and its amount, the write that erased
/// it blue, and an arrow (`path.erase-link`) runs from the first to the
/// second. An overdrawn debit is red, the writes that spent its funds blue,
/// joined by `path.spend-link`.
pub(crate) fn lanes(l: &Lanes, id: &str) -> String {
    let g = geometry(l);
    let h = g.mt + g.lane_h * l.workers.len().max(1) as f64 + 24.0;
    let mut out = String::new();
    let desc = format!(
        "Swimlanes: {} accesses by {} workers in the order the balance saw them; {} lost write{}, {} overdraft{}.",
        g.acc.len(),
        l.workers.len(),
        l.lost.len(),
        if l.lost.len() == 1 { "" } else { "s" },
        l.overdrafts.len(),
        if l.overdrafts.len() == 1 { "" } else { "s" },
    );
    svg_open(&mut out, id, "figure lanes", g.w, h, &l.title, &desc);
    let _ = write!(
        out,
        r#"<defs><marker id="{}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{BAD}"/></marker></defs>"#,
        escape(id)
    );
    let _ = write!(
        out,
        r#"<text class="fig-title" x="12" y="22" font-size="17" font-weight="600">{}</text>"#,
        escape(&l.title)
    );
    legend(&mut out, &g, l);
    lanes_and_seq(&mut out, &g, l);
    windows(&mut out, &g, l);
    links(&mut out, &g, l, id);
    marks(&mut out, &g, l);
    out.push_str("</svg>");
    out
}

/// Only the kinds of mark this trial has.
fn legend(out: &mut String, g: &Geometry, l: &Lanes) {
    // Legend: only the kinds of mark this trial has.
    let mut lx = 12.0;
    let ly = 46.0;
    let items = legend_items(&g.acc, l);
    for (glyph, text) in &items {
        let gx = lx + 6.0;
        let (glyph, pad) = match *glyph {
            Glyph::Access(kind) => (access_mark(kind, gx, ly, INK, ""), 18.0),
            Glyph::Bad => (access_mark(AccessKind::Write, gx, ly, BAD, ""), 18.0),
            Glyph::Cause => (access_mark(AccessKind::Write, gx, ly, CAUSE, ""), 18.0),
            Glyph::Window => (
                format!(
                    r##"<rect x="{}" y="{}" width="30" height="16" rx="8" fill="#dcdcdc"/>"##,
                    n(lx),
                    n(ly - 8.0)
                ),
                36.0,
            ),
        };
        let _ = write!(
            out,
            r#"<g class="legend-item">{glyph}<text x="{}" y="{}">{}</text></g>"#,
            n(lx + pad),
            n(ly + 4.0),
            escape(text)
        );
        lx += pad + text_width(text, 13.0) + 22.0;
    }
}

/// The lanes, one per worker, and the sequence numbers above them.
fn lanes_and_seq(out: &mut String, g: &Geometry, l: &Lanes) {
    let (ml, mr, mt, lane_h, w, cw) = (g.ml, g.mr, g.mt, g.lane_h, g.w, g.cw);
    // Lanes and the sequence axis.
    for (i, name) in l.workers.iter().enumerate() {
        let top = mt + i as f64 * lane_h;
        let _ = write!(
            out,
            r#"<g class="lane" data-worker="{name}"><rect x="{}" y="{}" width="{}" height="{}" fill="{}"/><text x="14" y="{}" font-size="16" font-weight="700">{name}</text></g>"#,
            n(ml - 4.0),
            n(top),
            n(w - ml - mr + 8.0),
            n(lane_h),
            if i % 2 == 0 { "#f6f6f6" } else { "#ececec" },
            n(top + lane_h / 2.0 + 7.0),
            name = escape(name),
        );
    }
    let _ = write!(
        out,
        r#"<text x="14" y="{}" font-size="11" fill="{MUTED}">seq</text>"#,
        n(mt - 6.0)
    );
    let every = if cw >= 22.0 { 1 } else { 5 };
    for (i, a) in g.acc.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text class="seq" x="{}" y="{}" text-anchor="middle" font-size="11" fill="{MUTED}">{}</text>"#,
                n(g.x(a.seq)),
                n(mt - 6.0),
                a.seq
            );
        }
    }
}

/// The read-to-write window of each operation, as a band; the windows of
/// erasing writes stand out.
fn windows(out: &mut String, g: &Geometry, l: &Lanes) {
    let cw = g.cw;
    // Read-to-write windows of each operation.
    let mut ops: Vec<(usize, u64, u64, u64)> = Vec::new(); // worker, op, first seq, last seq
    for a in &g.acc {
        match ops.iter_mut().find(|o| o.0 == a.worker && o.1 == a.op) {
            Some(o) => o.3 = a.seq,
            None => ops.push((a.worker, a.op, a.seq, a.seq)),
        }
    }
    for (worker, op, first, last) in &ops {
        if first == last {
            continue;
        }
        let erasing = g.erasers.contains_key(last);
        let (x1, x2) = (g.x(*first) - cw * 0.36, g.x(*last) + cw * 0.36);
        let _ = write!(
            out,
            r##"<rect class="window{}" data-worker="{}" data-op="{op}" x="{}" y="{}" width="{}" height="22" rx="11" fill="{}" stroke="{}" stroke-width="{}"/>"##,
            if erasing { " erasing" } else { "" },
            escape(l.workers.get(*worker).map(String::as_str).unwrap_or("?")),
            n(x1),
            n(g.y(*worker) - 11.0),
            n(x2 - x1),
            if erasing { "#d6e8f5" } else { "#dcdcdc" },
            if erasing { CAUSE } else { "none" },
            if erasing { "1.5" } else { "0" },
        );
    }
}

/// Links under the marks: lost write to the write that erased it, spender
/// to the debit that overdrew.
fn links(out: &mut String, g: &Geometry, l: &Lanes, id: &str) {
    // Links under the marks: lost write → the write that erased it.
    let link = |out: &mut String, class: &str, from: u64, to: u64, attrs: String| {
        let (Some(fa), Some(ta)) = (g.by_seq.get(&from), g.by_seq.get(&to)) else {
            return;
        };
        let (x1, y1, x2, y2) = (
            g.x(from),
            g.y(fa.worker) + 9.0,
            g.x(to),
            g.y(ta.worker) + 9.0,
        );
        let dip = y1.max(y2) + 16.0 + (x2 - x1).abs().min(200.0) * 0.05;
        let _ = write!(
            out,
            r#"<path class="{class}" {attrs} d="M{},{} Q{},{} {},{}" fill="none" stroke="{BAD}" stroke-width="2" stroke-dasharray="5 3" marker-end="url(#{}-arrow)"/>"#,
            n(x1),
            n(y1),
            n((x1 + x2) / 2.0),
            n(dip),
            n(x2),
            n(y2),
            escape(id)
        );
    };
    for lw in &l.lost {
        let attrs = format!(
            r#"data-lost-seq="{}" data-erased-by-seq="{}""#,
            lw.write_seq, lw.erased_by_write_seq
        );
        link(
            out,
            "erase-link",
            lw.write_seq,
            lw.erased_by_write_seq,
            attrs,
        );
    }
    for o in &l.overdrafts {
        for s in &o.spent_by {
            let attrs = format!(r#"data-spender-seq="{s}" data-debit-seq="{}""#, o.debit_seq);
            link(out, "spend-link", *s, o.debit_seq, attrs);
        }
    }
}

/// The marks, with values above and verdicts below.
fn marks(out: &mut String, g: &Geometry, l: &Lanes) {
    // The marks, with values above and verdicts below.
    for a in &g.acc {
        let (cx, cy) = (g.x(a.seq), g.y(a.worker));
        let lost = g.lost_seqs.get(&a.seq);
        let erased = g.erasers.get(&a.seq);
        let over = g.overdrawn.get(&a.seq);
        let spender = g.spenders.contains(&a.seq);
        let (colour_, role) = if lost.is_some() {
            (BAD, " lost")
        } else if over.is_some() {
            (BAD, " overdrawn")
        } else if erased.is_some() {
            (CAUSE, " eraser")
        } else if spender {
            (CAUSE, " spender")
        } else {
            (INK, "")
        };
        let worker = l.workers.get(a.worker).map(String::as_str).unwrap_or("?");
        let mut title = format!(
            "seq {} · {worker} op {} · {} {}",
            a.seq,
            a.op,
            a.kind.name(),
            a.value
        );
        if let Some(o) = a.overwrote {
            let _ = write!(title, " (replaced {o})");
        }
        if a.refused {
            title.push_str(" · refused");
        }
        let attrs = format!(
            r#"class="mark {kind}{role}" data-seq="{seq}" data-worker="{w}" data-kind="{kind}" data-value="{v}""#,
            kind = a.kind.name(),
            seq = a.seq,
            w = escape(worker),
            v = a.value,
        );
        let _ = write!(
            out,
            r#"<g {attrs}><title>{}</title>{}</g>"#,
            escape(&title),
            access_mark(a.kind, cx, cy, colour_, "")
        );
        let _ = write!(
            out,
            r#"<text class="value" x="{}" y="{}" text-anchor="middle" font-size="11" fill="{}">{}</text>"#,
            n(cx),
            n(cy - 15.0),
            if role.is_empty() { MUTED } else { colour_ },
            a.value
        );
        // Links leave a mark to the right and reach the next from the left,
        // so a label under the start of a link sits left, under its end right.
        let below = if let Some(amount) = lost {
            Some((format!("✗ {amount:+}"), BAD, "end", 4.0))
        } else if let Some(count) = erased {
            Some((format!("erases {count}"), CAUSE, "start", -4.0))
        } else if let Some(after) = over {
            Some((format!("✗ → {after}"), BAD, "start", -4.0))
        } else if spender {
            Some(("spent first".to_string(), CAUSE, "end", 4.0))
        } else if a.refused {
            Some(("refused".to_string(), MUTED, "middle", 0.0))
        } else {
            None
        };
        if let Some((text, c, anchor, dx)) = below {
            let _ = write!(
                out,
                r#"<text class="verdict" x="{}" y="{}" text-anchor="{anchor}" font-size="11" font-weight="700" fill="{c}">{}</text>"#,
                n(cx + dx),
                n(cy + 26.0),
                escape(&text)
            );
        }
    }
}

/// The legend of a swimlane figure: (glyph, text) pairs, only for what the
/// trial has.
/// What a legend entry shows beside its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glyph {
    /// The mark of one kind of access.
    Access(AccessKind),
    /// The band between an operation's read and its write.
    Window,
    /// A write drawn in the colour of what went wrong.
    Bad,
    /// A write drawn in the colour of what caused it.
    Cause,
}

fn legend_items(acc: &[&Access], l: &Lanes) -> Vec<(Glyph, &'static str)> {
    let mut items = Vec::new();
    for kind in [
        AccessKind::Read,
        AccessKind::Write,
        AccessKind::Check,
        AccessKind::Debit,
        AccessKind::Atomic,
    ] {
        if acc.iter().any(|a| a.kind == kind) {
            items.push((Glyph::Access(kind), kind.name()));
        }
    }
    items.push((Glyph::Window, "read→write window"));
    if !l.lost.is_empty() {
        items.push((Glyph::Bad, "✗ lost write"));
        items.push((Glyph::Cause, "the write that erased it"));
    }
    if !l.overdrafts.is_empty() {
        items.push((Glyph::Bad, "✗ debit that overdrew"));
        items.push((Glyph::Cause, "spent the funds first"));
    }
    items
}

fn legend_width(acc: &[&Access], l: &Lanes) -> f64 {
    12.0 + legend_items(acc, l)
        .iter()
        .map(|(g, t)| if *g == Glyph::Window { 36.0 } else { 18.0 } + text_width(t, 13.0) + 22.0)
        .sum::<f64>()
}

/// The glyph of an access: read ○, write ■, check ◇, debit ◆, atomic and credit ●.
fn access_mark(kind: AccessKind, x: f64, y: f64, c: &str, attrs: &str) -> String {
    let filled = format!(r##"fill="{c}" stroke="#fff" stroke-width="1" {attrs}"##);
    let open = format!(r##"fill="#fff" stroke="{c}" stroke-width="2.2" {attrs}"##);
    match kind {
        AccessKind::Read => marker(0, x, y, 6.0, &open),
        AccessKind::Write => marker(1, x, y, 7.0, &filled),
        AccessKind::Check => marker(3, x, y, 6.0, &open),
        AccessKind::Debit => marker(3, x, y, 6.5, &filled),
        AccessKind::Atomic | AccessKind::Credit => marker(0, x, y, 7.0, &filled),
    }
}
