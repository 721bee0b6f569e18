//! The figures parsed as XML from fixed results: bars, markers and links match the data, the page is self-contained, and insta pins each figure's structure.

use super::*;
use crate::explain::{Context, analyze};
use crate::plan::{Plan, Request};
use crate::report::fixtures;
use crate::sweep::{Parameter, PointResult, SweepResults};
use crate::trace::{OpKind, OpRecord, Trace};
use crate::vocab::{Mode, Scenario, TrialStatus};

fn parse(xml: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(xml, options).expect("well-formed XML")
}

/// Elements with `class` among their classes.
fn with_class<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
    class: &str,
) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split_whitespace().any(|c| c == class))
        })
        .collect()
}

/// Attributes that vary per datum and would defeat folding.
const SKIP: [&str; 13] = [
    "data-seq",
    "data-op",
    "data-count",
    "data-bin",
    "data-lo",
    "data-hi",
    "data-trial",
    "data-balance",
    "data-value",
    "data-share",
    "data-ci-low",
    "data-ci-high",
    "data-inconsistent",
];

/// One line per element, indented by depth, with its name, id, class and
/// `data-*` attributes (no coordinates, no per-datum values); runs of
/// identical siblings fold into one line marked `×N`. With `into_svg`
/// false an `<svg>` is one line.
fn outline(xml: &str, into_svg: bool) -> String {
    block(parse(xml).root_element(), into_svg).join("\n")
}

fn block(node: roxmltree::Node, into_svg: bool) -> Vec<String> {
    let mut line = node.tag_name().name().to_string();
    for a in node.attributes() {
        let name = a.name();
        if name == "id" || name == "class" || name.starts_with("data-") && !SKIP.contains(&name) {
            line.push_str(&format!(" {name}={:?}", a.value()));
        }
    }
    let mut out = vec![line];
    if node.has_tag_name("svg") && !into_svg {
        return out;
    }
    let children: Vec<Vec<String>> = node
        .children()
        .filter(|c| c.is_element())
        .map(|c| block(c, into_svg))
        .collect();
    let mut i = 0;
    while i < children.len() {
        let mut j = i + 1;
        while j < children.len() && children[j] == children[i] {
            j += 1;
        }
        for (k, l) in children[i].iter().enumerate() {
            let fold = if k == 0 && j - i > 1 {
                format!("  ×{}", j - i)
            } else {
                String::new()
            };
            out.push(format!("  {l}{fold}"));
        }
        i = j;
    }
    out
}

/// The fixture run, with its first unlocked trial traced: D1 and W1 both
/// read 200, D1 writes 201, W1 writes 199 over it.
fn explained() -> crate::stats::Results {
    let mut results = fixtures::results();
    let update = |read_seq, seen: i64, write_seq, overwritten, delta| OpRecord {
        kind: OpKind::Update,
        account: 0,
        read_seq,
        write_seq,
        seen,
        written: seen + delta,
        overwritten,
    };
    let trace = Trace {
        locks: Vec::new(),
        workers: vec![
            vec![update(1, 200, 3, 200, 1)],
            vec![update(2, 200, 4, 201, -1)],
        ],
    };
    let t = &mut results.modes[0].trials[0];
    t.trace = Some(
        analyze(
            &trace,
            &Context {
                initial: 200,
                depositors: 1,
                expected: 200,
                final_balance: 199,
                complete: true,
                killed: None,
                finals: Vec::new(),
            },
            crate::explain::Detail::Events,
        )
        .expect("a small trace fits in memory"),
    );
    results
}

fn sweep_results() -> SweepResults {
    let plan = Plan::build(
        Request {
            trials: 10,
            seed: Some(3),
            ..Request::default()
        },
        || unreachable!(),
    )
    .unwrap();
    let point = |value: f64, label: &str, kind: Mode, k: u32| {
        let (ci_low, ci_high) = crate::wilson::interval(u64::from(k), 10);
        PointResult {
            value,
            label: label.into(),
            mode: kind.id(),
            kind,
            trials: 10,
            failed: 0,
            inconsistent: k,
            inconsistent_share: f64::from(k) / 10.0,
            ci_low,
            ci_high,
            mean_abs_deviation_per_op: Some(0.01 * f64::from(k)),
            ops_per_sec: 5000.0,
            stopped_early: false,
        }
    };
    SweepResults {
        seed: 3,
        scenario: Scenario::LostUpdate,
        parameter: Parameter::Window,
        unit: "s",
        parameters: plan,
        ci_width: None,
        points: vec![
            point(0.0, "0", Mode::NoLock, 0),
            point(0.0, "0", Mode::Mutex, 0),
            point(5e-5, "50us", Mode::NoLock, 5),
            point(5e-5, "50us", Mode::Mutex, 0),
            point(1e-4, "100us", Mode::NoLock, 10),
            point(1e-4, "100us", Mode::Mutex, 0),
        ],
        interrupted: None,
        signal: None,
    }
}

#[test]
fn the_histogram_has_a_bar_per_bin_and_mode_and_the_expected_marker() {
    let results = fixtures::results();
    let text = svg(&results);
    let doc = parse(&text);
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let bins = histogram_bins(&results);
    let bars = with_class(&doc, "bar");
    assert_eq!(
        bars.len(),
        bins * results.modes.len(),
        "bars = bins × modes"
    );
    for m in &results.modes {
        let name = m.mode.name();
        let mine: Vec<_> = bars
            .iter()
            .filter(|b| b.attribute("data-mode") == Some(name))
            .collect();
        assert_eq!(mine.len(), bins, "{name} has a bar in every bin");
        let counted: usize = mine
            .iter()
            .map(|b| b.attribute("data-count").unwrap().parse::<usize>().unwrap())
            .sum();
        let ok = m
            .trials
            .iter()
            .filter(|t| t.status == TrialStatus::Ok)
            .count();
        assert_eq!(counted, ok, "{name} counts every finished trial");
        assert!(
            with_class(&doc, "legend-item")
                .iter()
                .any(|l| l.attribute("data-mode") == Some(name)),
            "{name} is in the legend"
        );
    }
    let expected = with_class(&doc, "expected");
    assert_eq!(expected.len(), 1);
    assert_eq!(expected[0].attribute("data-value"), Some("200"));
    assert!(
        expected[0].attribute("stroke-dasharray").is_some(),
        "dashed"
    );
}

#[test]
fn the_swimlanes_link_the_lost_write_to_its_eraser() {
    let page = html(&explained());
    let doc = parse(&page);
    assert_eq!(with_class(&doc, "lane").len(), 2);
    assert_eq!(with_class(&doc, "mark").len(), 4);
    let links = with_class(&doc, "erase-link");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].attribute("data-lost-seq"), Some("3"));
    assert_eq!(links[0].attribute("data-erased-by-seq"), Some("4"));
    let seqs: Vec<&str> = with_class(&doc, "mark")
        .iter()
        .map(|m| m.attribute("data-seq").unwrap())
        .collect();
    assert_eq!(
        seqs,
        ["1", "2", "3", "4"],
        "marks in the order the balance saw them"
    );
}

#[test]
fn the_sweep_has_a_whisker_per_point_and_mode() {
    let s = sweep_results();
    let doc_text = sweep_svg(&s);
    let doc = parse(&doc_text);
    assert_eq!(with_class(&doc, "whisker").len(), 6);
    assert_eq!(with_class(&doc, "curve").len(), 2);
    let top = with_class(&doc, "point")
        .into_iter()
        .find(|p| {
            p.attribute("data-mode") == Some("no lock")
                && p.attribute("data-value") == Some("100us")
        })
        .unwrap();
    assert_eq!(top.attribute("data-share"), Some("1.0000"));
}

#[test]
fn the_page_is_self_contained_and_well_formed() {
    let page = html(&explained());
    for forbidden in ["https://", "src=", "<link", "@import", "url(http"] {
        assert!(!page.contains(forbidden), "the page references {forbidden}");
    }
    let external = page.matches("http://").count();
    assert_eq!(
        external,
        page.matches("http://www.w3.org/2000/svg").count(),
        "only the SVG namespace"
    );
    let doc = parse(&page);
    for id in [
        "summary",
        "verdict",
        "fig-histogram",
        "fig-strips",
        "fig-lanes-1",
        "console-errors",
    ] {
        assert!(
            doc.descendants().any(|n| n.attribute("id") == Some(id)),
            "#{id} missing"
        );
    }
    assert!(page.contains("@media print"));
    let mut ids: Vec<_> = doc
        .descendants()
        .filter_map(|n| n.attribute("id"))
        .collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "ids are unique");
}

#[test]
fn snapshot_histogram_svg() {
    insta::assert_snapshot!(outline(&svg(&fixtures::results()), true));
}

#[test]
fn snapshot_page() {
    insta::assert_snapshot!(outline(&html(&explained()), false));
}

#[test]
fn snapshot_lanes_and_strips() {
    let page = html(&explained());
    let doc = parse(&page);
    let figures: Vec<String> = ["fig-strips", "fig-lanes-1"]
        .iter()
        .map(|id| {
            let fig = doc
                .descendants()
                .find(|n| n.attribute("id") == Some(id))
                .unwrap();
            let svg = fig.descendants().find(|n| n.has_tag_name("svg")).unwrap();
            block(svg, true).join("\n")
        })
        .collect();
    insta::assert_snapshot!(figures.join("\n\n"));
}

#[test]
fn snapshot_sweep_page() {
    insta::assert_snapshot!(outline(&sweep_html(&sweep_results()), true));
}
