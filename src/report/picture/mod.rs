//! Pictures for people: the HTML report and SVG figures of a run or a sweep. Pure: each function takes results and returns text.
//!
//! - `model.rs`: the plain data the figures draw; `adapt.rs` fills it from
//!   [`Results`], the analyses of explained trials, and [`SweepResults`];
//! - `svg.rs`: what every figure shares (palette, escaping, ticks, markers);
//! - `histogram.rs`, `strips.rs`, `lanes.rs`, `sweep.rs`: one figure each;
//! - `html.rs`: the self-contained page around them.

mod adapt;
mod histogram;
mod html;
mod lanes;
mod model;
mod strips;
mod svg;
mod sweep;

use crate::stats::Results;
use crate::sweep::SweepResults;

/// The HTML report of a run: parameters, verdict, histograms, strips and
/// the swimlanes of the first explained trials.
pub fn html(results: &Results) -> String {
    html::page(&adapt::report(results))
}

/// The histogram figure of a run alone, as an SVG document.
pub fn svg(results: &Results) -> String {
    histogram::histogram(&adapt::figure(results), "histogram")
}

/// The HTML report of a sweep: its parameters, the curve and the table.
pub fn sweep_html(sweep: &SweepResults) -> String {
    html::page(&adapt::sweep_report(sweep))
}

/// The sweep curve alone, as an SVG document.
pub fn sweep_svg(sweep: &SweepResults) -> String {
    sweep::sweep(&adapt::curve(sweep), "sweep")
}

/// The HTML report with an extra script that misbehaves on purpose: for
/// the browser test's check that console errors are seen.
#[doc(hidden)]
pub fn html_with_script(results: &Results, script: &str) -> String {
    html::page_with_extra_script(&adapt::report(results), script)
}

/// How many bins the HTML and SVG histograms of `results` have, for tests
/// that count bars.
#[doc(hidden)]
pub fn histogram_bins(results: &Results) -> usize {
    histogram::shared_bins(&adapt::figure(results), histogram::MAX_BINS).len()
}

#[cfg(test)]
mod tests;
