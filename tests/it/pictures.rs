//! The HTML and SVG exports of real runs: parsed as XML against the run's own JSON, and loaded in a real browser (Debian's `chromium`, headless).
//!
//! The browser test takes a screenshot at 1280x720 and checks its size from
//! the PNG header; dumps the rendered DOM and checks that every figure is
//! there, with one bar per bin and mode, and that the page's own script ran
//! and recorded no error (`data-errors="0"`, an empty `#console-errors`);
//! and checks Chromium's log for console messages. A control page with a
//! deliberate error proves that both detectors fire. Without Chromium the
//! tests skip with a message, unless `BANKRACE_REQUIRE_BROWSER=1` (as CI
//! sets it), when they fail. `BANKRACE_SCREENSHOT_DIR=DIR` keeps the
//! screenshots (the README's pictures are made this way).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{CERTAIN_RACE, assert_empty, bankrace_in};

/// Runs `bankrace ARGS` in a private TMPDIR and checks that it succeeded.
fn ok(args: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = bankrace_in(args, Some(tmp.path()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_empty(tmp.path());
}

fn parse(xml: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(xml, options).expect("well-formed XML")
}

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

/// A real run written to `dir` as HTML, SVG and JSON.
fn exports(dir: &Path, run: &[&str]) -> (String, String, Value) {
    let (html, svg, json) = (dir.join("r.html"), dir.join("h.svg"), dir.join("r.json"));
    let mut args = vec!["run"];
    args.extend(run);
    args.extend([
        "--export-html",
        html.to_str().unwrap(),
        "--export-svg",
        svg.to_str().unwrap(),
    ]);
    args.extend(["--export-json", json.to_str().unwrap()]);
    ok(&args);
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap();
    (
        read(&html),
        read(&svg),
        serde_json::from_str(&read(&json)).unwrap(),
    )
}

/// Two deposits, unlocked and locked side by side, racing or not.
const TWO_MODES: [&str; 12] = [
    "--depositors",
    "2",
    "--withdrawers",
    "0",
    "--ops",
    "1",
    "--window",
    "0",
    "--trials",
    "4",
    "--seed",
    "8",
];

/// The unlocked mode forced to lose a deposit in every trial, traced.
fn explained(dir: &Path) -> (String, String, Value) {
    let mut args = CERTAIN_RACE.to_vec();
    args.extend(["--trials", "2", "--trace", "--seed", "8"]);
    exports(dir, &args)
}

/// The histogram's bins: one per balance from the lowest final balance
/// (or the expected one) to the highest, as the span is small.
fn bins_of(json: &Value) -> usize {
    let expected = json["modes"][0]["expected_balance"].as_i64().unwrap();
    let finals = json["modes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["trials"].as_array().unwrap())
        .filter(|t| t["status"] == "ok")
        .map(|t| t["final_balance"].as_i64().unwrap());
    let (lo, hi) = finals.fold((expected, expected), |(lo, hi), v| (lo.min(v), hi.max(v)));
    (hi - lo + 1) as usize
}

#[test]
fn the_svg_export_has_a_bar_per_bin_and_mode_and_the_expected_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (_, svg, json) = exports(dir.path(), &TWO_MODES);
    let doc = parse(&svg);
    let bars = with_class(&doc, "bar");
    let modes = json["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 2);
    assert_eq!(bars.len(), bins_of(&json) * 2, "bars = bins × modes");
    for (m, name) in modes.iter().zip(["no lock", "mutex"]) {
        let counted: u64 = bars
            .iter()
            .filter(|b| b.attribute("data-mode") == Some(name))
            .map(|b| b.attribute("data-count").unwrap().parse::<u64>().unwrap())
            .sum();
        let finished =
            m["summary"]["trials"].as_u64().unwrap() - m["summary"]["failed"].as_u64().unwrap();
        assert_eq!(counted, finished, "{name}: every finished trial in a bar");
        assert!(
            with_class(&doc, "legend-item")
                .iter()
                .any(|l| l.attribute("data-mode") == Some(name))
        );
    }
    let expected = with_class(&doc, "expected");
    assert_eq!(expected.len(), 1);
    assert_eq!(expected[0].attribute("data-value"), Some("202"));
}

#[test]
fn the_html_export_draws_the_explained_trials() {
    let dir = tempfile::tempdir().unwrap();
    let (html, _, _) = explained(dir.path());
    let doc = parse(&html);
    // Both trials explained, each linking D1's lost write (seq 3) to D2's
    // write (seq 4), which erased it.
    let links = with_class(&doc, "erase-link");
    assert_eq!(links.len(), 2);
    assert!(
        links
            .iter()
            .all(|l| l.attribute("data-lost-seq") == Some("3")
                && l.attribute("data-erased-by-seq") == Some("4"))
    );
    assert!(html.contains("forced schedule"));
}

/// The browser, or `None` (after saying so) when the test should skip.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("BANKRACE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "BANKRACE_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: chromium not found on PATH; browser test not run (BANKRACE_REQUIRE_BROWSER=1 makes this fail)"
        );
    }
    found
}

/// Runs headless Chromium on `page` with `args`, a new profile and config
/// directory inside `dir`, and a time limit; returns (stdout, stderr).
fn browse(browser: &Path, dir: &Path, name: &str, page: &Path, args: &[&str]) -> (String, String) {
    let profile = dir.join(format!("profile-{name}"));
    let (out_path, err_path) = (
        dir.join(format!("{name}.out")),
        dir.join(format!("{name}.err")),
    );
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env("XDG_CACHE_HOME", dir.join("xdg-cache"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took over 120 s ({name})");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed ({name}): {status}\n{stderr}"
    );
    (stdout, stderr)
}

/// Console messages and uncaught errors in Chromium's log.
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// What the page's own script wrote into `#console-errors`.
fn error_box(dom: &str) -> String {
    let start = dom
        .find("id=\"console-errors\"")
        .expect("#console-errors in the DOM");
    let open = start + dom[start..].find('>').unwrap() + 1;
    let close = open + dom[open..].find("</pre>").unwrap();
    dom[open..close].to_string()
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// Screenshot at 1280x720, checked, and kept when asked to.
fn screenshot(browser: &Path, dir: &Path, page: &Path, keep_as: &str) {
    let shot = dir.join(keep_as);
    let arg = format!("--screenshot={}", shot.display());
    let (_, stderr) = browse(
        browser,
        dir,
        keep_as,
        page,
        &[&arg, "--window-size=1280,720"],
    );
    let bytes = std::fs::read(&shot).expect("a screenshot was written");
    assert_eq!(png_size(&bytes), (1280, 720));
    // A blank page compresses to a few kB; the report's first screen does not.
    assert!(
        bytes.len() > 20_000,
        "screenshot suspiciously small: {} bytes",
        bytes.len()
    );
    assert!(
        console_lines(&stderr).is_empty(),
        "console: {:?}",
        console_lines(&stderr)
    );
    if let Some(keep) = std::env::var_os("BANKRACE_SCREENSHOT_DIR") {
        std::fs::copy(&shot, Path::new(&keep).join(keep_as)).unwrap();
    }
}

#[test]
fn the_report_renders_in_chromium_without_errors() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (html, _, json) = explained(dir.path());
    let page = dir.path().join("r.html");
    screenshot(&browser, dir.path(), &page, "report.png");
    let (dom, stderr) = browse(
        &browser,
        dir.path(),
        "dom",
        &page,
        &["--dump-dom", "--window-size=1280,720"],
    );
    for id in [
        "summary",
        "verdict",
        "fig-histogram",
        "fig-strips",
        "fig-lanes-1",
        "fig-lanes-2",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "#{id} missing from the rendered DOM"
        );
    }
    assert_eq!(
        dom.matches("class=\"bar\"").count(),
        bins_of(&json),
        "a bar per bin of the one mode"
    );
    assert_eq!(html.matches("class=\"bar\"").count(), bins_of(&json));
    assert_eq!(dom.matches("class=\"erase-link\"").count(), 2);
    assert!(
        dom.contains("data-errors=\"0\""),
        "the error-recording script did not run or saw errors"
    );
    assert_eq!(error_box(&dom), "", "errors recorded by the page");
    assert!(
        console_lines(&stderr).is_empty(),
        "console: {:?}",
        console_lines(&stderr)
    );
}

#[test]
fn the_sweep_page_renders_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("s.html");
    ok(&[
        "sweep",
        "--window",
        "0,1ms,2ms",
        "--depositors",
        "2",
        "--withdrawers",
        "0",
        "--ops",
        "1",
        "--trials",
        "3",
        "--seed",
        "4",
        "--export-html",
        page.to_str().unwrap(),
    ]);
    screenshot(&browser, dir.path(), &page, "sweep.png");
    let (dom, _) = browse(&browser, dir.path(), "dom", &page, &["--dump-dom"]);
    assert!(dom.contains("id=\"fig-sweep\"") && dom.contains("id=\"sweep-table\""));
    assert_eq!(
        dom.matches("class=\"whisker\"").count(),
        6,
        "3 values × 2 modes"
    );
    assert!(dom.contains("data-errors=\"0\""));
}

/// The detectors themselves: a page with an uncaught error, a
/// `console.error` and a missing image must trip both.
#[test]
fn console_errors_are_detected() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (html, _, _) = explained(dir.path());
    let script = "<script>console.error('canary-console'); \
                  var img = document.createElement('img'); img.src = 'missing-canary.png'; document.body.appendChild(img); \
                  noSuchFunction();</script></body>";
    let page = dir.path().join("broken.html");
    std::fs::write(&page, html.replace("</body>", script)).unwrap();
    let (dom, stderr) = browse(
        &browser,
        dir.path(),
        "dom",
        &page,
        &["--dump-dom", "--virtual-time-budget=2000"],
    );
    let recorded = error_box(&dom);
    assert!(
        recorded.contains("canary-console"),
        "console.error not recorded: {recorded:?}"
    );
    assert!(
        recorded.contains("noSuchFunction"),
        "uncaught error not recorded: {recorded:?}"
    );
    assert!(
        recorded.contains("missing-canary.png"),
        "failed load not recorded: {recorded:?}"
    );
    let logged = console_lines(&stderr).join("\n");
    assert!(
        logged.contains("canary-console"),
        "Chromium's log lacks the console.error: {logged}"
    );
}
