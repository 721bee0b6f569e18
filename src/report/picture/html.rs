//! The self-contained HTML page: parameters, verdict and every figure as inline SVG, with inline CSS for the screen (1280x720 and up) and for print.
//!
//! No network, no framework; the only script records errors into the page
//! (`#console-errors`, and `data-errors` on the root) so that a headless
//! browser's `--dump-dom` shows them. The page is also well-formed XML (void
//! elements self-closed, the script free of `<` and `&`), so tests can parse
//! it with an XML parser.

use std::fmt::Write as _;

use super::model::{Lanes, Report, SweepCurve};
use super::svg::escape;
use super::{histogram, lanes, strips, sweep};
use crate::vocab::AccessKind;

const CSS: &str = r#"
:root { color-scheme: light; --ink: #1a1a1a; --muted: #595959; --bad: #b34700; --good: #00785a; --rule: #d9d9d9; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0; color: var(--ink); font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1248px; margin: 0 auto; padding: 10px 16px 32px; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 19px; margin: 22px 0 6px; }
.summary h2 { margin-top: 6px; font-size: 16px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.lead { margin: 0 0 6px; color: var(--muted); }
.summary { display: grid; grid-template-columns: 1.45fr 1fr; gap: 0 32px; border-top: 2px solid var(--ink); border-bottom: 1px solid var(--rule); padding-bottom: 8px; }
.params { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 2px 12px; margin: 0; font-size: 15px; }
.params dt { color: var(--muted); }
.params dd { margin: 0; font-weight: 600; }
.verdict ul { list-style: none; margin: 0; padding: 0; font-size: 15px; }
.verdict li { margin: 1px 0; }
.verdict .sym { display: inline-block; width: 1.3em; font-weight: 700; }
.verdict .bad .sym, .verdict .bad strong { color: var(--bad); }
.verdict .good .sym { color: var(--good); }
figure { margin: 10px 0 20px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 4px; max-width: 80em; }
figcaption ol { margin: 4px 0 0; padding-left: 1.4em; }
.scroll { overflow-x: auto; }
.scroll svg { width: auto; max-width: none; }
table.data { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; }
table.data th, table.data td { border-bottom: 1px solid var(--rule); padding: 3px 10px; text-align: right; }
table.data th:first-child, table.data td:first-child { text-align: left; }
#console-errors { color: #fff; background: #8b0000; padding: 8px; white-space: pre-wrap; }
footer { margin-top: 24px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--rule); padding-top: 6px; }
@media (max-width: 900px) { .summary { grid-template-columns: 1fr; } }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  figure, table, .summary { break-inside: avoid; }
  .scroll { overflow: visible; }
  .scroll svg, figure svg { width: 100%; max-width: 100%; height: auto; }
  #console-errors { display: none; }
}
"#;

/// Records uncaught errors, failed resource loads, unhandled rejections and
/// `console.error` calls into `#console-errors`, and marks the root element
/// with `data-errors` once the document is parsed. Kept free of `<` and `&`.
const SCRIPT: &str = r#"
(function () {
  var seen = [];
  function show() {
    var box = document.getElementById('console-errors');
    if (!box) { return; }
    box.textContent = seen.join('\n');
    if (seen.length) { box.removeAttribute('hidden'); }
  }
  function note(text) { seen.push(String(text)); show(); }
  window.addEventListener('error', function (e) {
    if (e.target !== window) {
      note('resource failed to load: ' + (e.target.src || e.target.href || e.target.tagName));
    } else {
      note('Uncaught ' + e.message + ' (line ' + e.lineno + ')');
    }
  }, true);
  window.addEventListener('unhandledrejection', function (e) { note('Unhandled rejection: ' + e.reason); });
  var original = console.error;
  console.error = function () {
    note('console.error: ' + Array.prototype.slice.call(arguments).join(' '));
    return original.apply(console, arguments);
  };
  document.addEventListener('DOMContentLoaded', function () {
    show();
    document.documentElement.setAttribute('data-errors', String(seen.length));
  });
})();
"#;

/// The whole page for `report`.
pub(crate) fn page(report: &Report) -> String {
    page_with_extra_script(report, "")
}

/// [`page`] with one more script before the end of the body. For the
/// browser test's negative control only.
#[doc(hidden)]
pub(crate) fn page_with_extra_script(report: &Report, extra: &str) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    out.push_str("<meta name=\"generator\" content=\"bankrace\"/>\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&report.title));
    let _ = writeln!(out, "<script>{SCRIPT}</script>");
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(
        out,
        "<header><h1>{}</h1><p class=\"lead\">{}</p></header>",
        escape(&report.title),
        escape(&report.lead)
    );
    summary(&mut out, report);
    if let Some(fig) = &report.figure {
        let _ = writeln!(
            out,
            "<figure class=\"fig\" id=\"fig-histogram\">{}<figcaption>Every mode's final balances on one axis with the same bins: within each bin, one bar per mode (colour and pattern as in the legend; a bar's tooltip gives its count). The dashed line is the balance a correct bank ends at; failed trials are not counted.</figcaption></figure>",
            histogram::histogram(fig, "histogram")
        );
        let _ = writeln!(
            out,
            "<figure class=\"fig\" id=\"fig-strips\">{}<figcaption>One point per trial, in the order the trials ran: a locked mode stays on the dashed line, the race scatters around it. × marks a failed trial.</figcaption></figure>",
            strips::strips(fig, "strips")
        );
    }
    if !report.explained.is_empty() {
        out.push_str("<section id=\"explained\"><h2>How the money was lost</h2>\n");
        for (i, l) in report.explained.iter().enumerate() {
            lanes_figure(&mut out, l, &format!("lanes-{}", i + 1));
        }
        out.push_str("</section>\n");
    }
    if let Some(c) = &report.sweep {
        sweep_section(&mut out, c);
    }
    out.push_str("<pre id=\"console-errors\" hidden=\"hidden\"></pre>\n");
    out.push_str("<footer>Made by bankrace. This page is self-contained: it loads nothing from the network and prints on its own.</footer>\n");
    out.push_str("</main>\n");
    if !extra.is_empty() {
        let _ = writeln!(out, "<script>{}</script>", extra.replace("</", "<\\/"));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The parameters and the verdict, side by side.
fn summary(out: &mut String, report: &Report) {
    out.push_str(
        "<section class=\"summary\" id=\"summary\">\n<div><h2>Parameters</h2><dl class=\"params\">",
    );
    for (k, v) in &report.parameters {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
    }
    out.push_str("</dl></div>\n<div class=\"verdict\" id=\"verdict\"><h2>Verdict</h2><ul>");
    for v in &report.verdict {
        let _ = write!(
            out,
            "<li class=\"{}\" data-mode=\"{}\"><span class=\"sym\" aria-hidden=\"true\">{}</span><strong>{}</strong>: {}</li>",
            if v.bad { "bad" } else { "good" },
            escape(&v.mode),
            if v.bad { "✗" } else { "✓" },
            escape(&v.mode),
            escape(&v.text)
        );
    }
    out.push_str("</ul></div>\n</section>\n");
}

fn lanes_figure(out: &mut String, l: &Lanes, id: &str) {
    let name = |seq: u64| {
        l.accesses
            .iter()
            .find(|a| a.seq == seq)
            .and_then(|a| l.workers.get(a.worker))
            .map_or("?", String::as_str)
    };
    let _ = write!(
        out,
        "<figure class=\"fig lanes-fig\" id=\"fig-{id}\"><div class=\"scroll\">{}</div><figcaption>",
        lanes::lanes(l, id)
    );
    if !l.caption.is_empty() {
        let _ = write!(out, "<p>{}</p>", escape(&l.caption));
    }
    if !l.lost.is_empty() || !l.overdrafts.is_empty() {
        out.push_str("<ol>");
        for x in &l.lost {
            let _ = write!(
                out,
                "<li>{}</li>",
                escape(&format!(
                    "{}'s {:+} written at seq {} was lost: {} wrote over it at seq {}, with a value computed from its read at seq {}.",
                    name(x.write_seq),
                    x.amount,
                    x.write_seq,
                    name(x.erased_by_write_seq),
                    x.erased_by_write_seq,
                    x.erased_by_read_seq
                ))
            );
        }
        for o in &l.overdrafts {
            let spenders: Vec<String> = o
                .spent_by
                .iter()
                .map(|s| format!("{} (seq {s})", name(*s)))
                .collect();
            let _ = write!(
                out,
                "<li>{}</li>",
                escape(&format!(
                    "{}'s debit at seq {} overdrew the balance to {}: its check at seq {} saw {}, but {} took the funds in between.",
                    name(o.debit_seq),
                    o.debit_seq,
                    o.after,
                    o.check_seq,
                    o.seen,
                    spenders.join(" and ")
                ))
            );
        }
        out.push_str("</ol>");
    }
    let kinds: Vec<&str> = [
        AccessKind::Read,
        AccessKind::Write,
        AccessKind::Check,
        AccessKind::Debit,
        AccessKind::Atomic,
    ]
    .into_iter()
    .filter(|k| l.accesses.iter().any(|a| a.kind == *k))
    .map(AccessKind::name)
    .collect();
    let _ = writeln!(
        out,
        "<p>{}</p></figcaption></figure>",
        escape(&format!(
            "One lane per worker; marks ({}) left to right in the order the balance saw them, with the value seen or left above each.",
            kinds.join(", ")
        ))
    );
}

fn sweep_section(out: &mut String, c: &SweepCurve) {
    let _ = writeln!(
        out,
        "<section id=\"sweep-section\"><h2>{}</h2>",
        escape(&format!("Sweep over {}", c.parameter))
    );
    let _ = writeln!(
        out,
        "<figure class=\"fig\" id=\"fig-sweep\">{}<figcaption>{}: the share at each value; whiskers are Wilson 95 % intervals, so a short line of trials is not mistaken for certainty.</figcaption></figure>",
        sweep::sweep(c, "sweep"),
        escape(&format!("Trials that {}", c.outcome))
    );
    let mut modes: Vec<&str> = Vec::new();
    for m in c.points.iter().flat_map(|p| &p.modes) {
        if !modes.contains(&m.name.as_str()) {
            modes.push(&m.name);
        }
    }
    out.push_str("<table class=\"data\" id=\"sweep-table\"><thead><tr>");
    let _ = write!(out, "<th scope=\"col\">{}</th>", escape(&c.parameter));
    for m in &modes {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(m));
    }
    out.push_str("</tr></thead><tbody>");
    for p in &c.points {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", escape(&p.value_label));
        for m in &modes {
            match p.modes.iter().find(|q| q.name == *m) {
                Some(q) => {
                    let _ = write!(
                        out,
                        "<td>{}</td>",
                        escape(&format!(
                            "{}/{} · {:.0} % ({:.0}–{:.0} %)",
                            q.inconsistent,
                            q.trials,
                            q.share * 100.0,
                            q.ci_low * 100.0,
                            q.ci_high * 100.0
                        ))
                    );
                }
                None => out.push_str("<td>–</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n</section>\n");
}
