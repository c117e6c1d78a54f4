//! axe-core, the accessibility checker, run inside the page: its rules of
//! WCAG 2.0 and 2.1, levels A and AA (and its best practices), on whatever
//! the page shows at that moment. The script comes from npm (`tools/package.json`, installed by
//! `cargo xtask setup`) and is injected over WebDriver.

use super::emulation::{View, VIEWS};
use super::{workspace_root, Page};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// Where npm puts axe-core, relative to the workspace root.
const AXE_SCRIPT: &str = "tools/node_modules/axe-core/axe.min.js";

/// The rule sets checked: every rule of WCAG 2.0 and 2.1 at levels A and
/// AA, and axe's best practices (landmarks, headings, unique names...),
/// which are not WCAG requirements but which the client meets too, and
/// which keep new screens from drifting where the WCAG rules do not look.
pub const TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/// Longest one run of axe may take; a page of this size takes well under
/// a second, but a loaded 2-core machine is slower.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The text of `axe.min.js`, read once per test process.
fn script() -> &'static str {
    static SCRIPT: OnceLock<String> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let path: PathBuf = workspace_root().join(AXE_SCRIPT);
        std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!(
                "{} cannot be read ({err}): the accessibility tests need axe-core from npm: run \
                 `cargo xtask setup` (or `npm ci` in tools/)",
                path.display()
            )
        })
    })
}

/// Runs axe on `page` as it is now and returns its violations, each as
/// one line per rule followed by one line per element.
pub async fn violations(page: &Page) -> Vec<String> {
    // The script stays in the page until it is reloaded.
    let loaded = page.eval("return typeof window.axe === 'object'").await;
    if loaded != json!(true) {
        page.eval(script()).await;
    }
    let run = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, {
            runOnly: { type: 'tag', values: arguments[0] },
            resultTypes: ['violations'],
        }).then(
            (results) => done({ violations: results.violations.map((rule) => ({
                id: rule.id,
                impact: rule.impact,
                help: rule.help,
                nodes: rule.nodes.map((node) => ({
                    target: node.target.join(' '),
                    html: node.html,
                    summary: node.failureSummary,
                })),
            })) }),
            (error) => done({ error: String(error) }),
        );
    "#;
    let answer = tokio::time::timeout(
        RUN_TIMEOUT,
        page.client.execute_async(run, vec![json!(TAGS)]),
    )
    .await
    .unwrap_or_else(|_| panic!("{}: axe ran for more than {RUN_TIMEOUT:?}", page.name))
    .unwrap_or_else(|err| panic!("{}: running axe: {err}", page.name));
    if let Some(error) = answer.get("error") {
        panic!("{}: axe failed: {error}", page.name);
    }
    let rules = answer["violations"].as_array().cloned().unwrap_or_default();
    rules.iter().map(describe).collect()
}

/// One violated rule and every element that violates it.
fn describe(rule: &Value) -> String {
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let mut lines = vec![format!(
        "{} ({}): {}",
        text(&rule["id"]),
        text(&rule["impact"]),
        text(&rule["help"])
    )];
    for node in rule["nodes"].as_array().into_iter().flatten() {
        let summary = text(&node["summary"]).replace('\n', " ");
        lines.push(format!(
            "    {}  {}  -- {summary}",
            text(&node["target"]),
            text(&node["html"])
        ));
    }
    lines.join("\n")
}

/// The checks of one test: every state in every view, with what failed
/// kept until the end, so that one run lists every problem.
#[derive(Default)]
pub struct Audit {
    /// How many times axe ran.
    pub runs: usize,
    failures: Vec<String>,
}

impl Audit {
    /// Checks `page` as it is, in the view it is shown in, calling the
    /// state `state` in the report.
    pub async fn check(&mut self, page: &Page, state: &str, view: View) {
        self.runs += 1;
        let found = violations(page).await;
        if !found.is_empty() {
            self.failures
                .push(format!("{state}, {}:\n{}", view.name, found.join("\n")));
        }
    }

    /// Checks `page` in each of [`VIEWS`], as it is otherwise, and leaves
    /// it in the first (the desktop) again.
    pub async fn check_views(&mut self, page: &Page, state: &str) {
        for view in VIEWS {
            page.set_view(view).await;
            self.check(page, state, view).await;
        }
        page.set_view(VIEWS[0]).await;
    }

    /// Fails the test with every violation found, naming the state, the
    /// view, the rule and the elements.
    pub fn assert_clean(&self) {
        assert!(
            self.failures.is_empty(),
            "axe-core found violations ({TAGS:?}) in {} of {} checks:\n\n{}",
            self.failures.len(),
            self.runs,
            self.failures.join("\n\n")
        );
        eprintln!("axe-core: {} checks, no violation", self.runs);
    }
}
