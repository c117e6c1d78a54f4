//! The keyboard, as a person without a mouse uses it: key presses through
//! WebDriver actions (so the page gets real key events, and the browser
//! moves the focus itself), and what the focus does: where it goes, in
//! which order, and whether the control that has it shows it.

use super::{eventually, Page};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use serde::Deserialize;
use serde_json::json;

/// Key codes of WebDriver actions.
pub const TAB: char = '\u{E004}';
/// Enter.
pub const ENTER: char = '\u{E007}';
/// Shift, held for Shift+Tab.
pub const SHIFT: char = '\u{E008}';
/// Escape.
pub const ESCAPE: char = '\u{E00C}';

/// Most Tab presses one walk through a page takes before it counts as
/// lost (the richest screen has about 30 stops).
pub const MAX_TAB_STOPS: usize = 80;

/// Least contrast of a focus indicator against what is next to it (WCAG
/// 2.1, 1.4.11, non-text contrast).
pub const FOCUS_CONTRAST: f64 = 3.0;

/// The page's side of the focus checks, installed once per page load. It
/// remembers the control that has the focus and how it and its two nearest
/// ancestors look (outline, box shadow); once the focus has moved on, it
/// compares with how they look then. A control shows its focus when one of
/// them had an outline or shadow only while it was focused, which also
/// covers a ring drawn around a group (the message box's). The contrast of
/// that indicator is measured against the first opaque background behind
/// it.
const PROBE: &str = r#"
if (!window.__focusProbe) {
  const ids = new WeakMap();
  let next = 1;
  const idOf = (el) => { if (!ids.has(el)) ids.set(el, next++); return ids.get(el); };
  const chain = (el) => {
    const out = [];
    for (let e = el; e && e !== document.documentElement && out.length < 3; e = e.parentElement) out.push(e);
    return out;
  };
  const look = (el) => {
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
      ? `${s.outlineWidth} ${s.outlineStyle} ${s.outlineColor} offset ${s.outlineOffset}` : '';
    return { outline, shadow: s.boxShadow === 'none' ? '' : s.boxShadow,
      outlineColor: s.outlineColor, outlineOffset: parseFloat(s.outlineOffset) || 0 };
  };
  const rgba = (text) => {
    const m = /rgba?\(([^)]+)\)/.exec(text || '');
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const backdrop = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c[3] >= 1) return c;
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? [0, 0, 0, 1] : [255, 255, 255, 1];
  };
  const luminance = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (fg, bg) => {
    const mixed = [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [luminance(mixed), luminance(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  };
  const region = (el) => {
    const r = el.closest('.sidebar, .members, main, form.card');
    if (!r) return { name: 'page', left: 0, top: 0 };
    const box = inPage(r.getBoundingClientRect(), 0, 0);
    const name = r.matches('.sidebar') ? 'rooms' : r.matches('.members') ? 'members' : r.tagName.toLowerCase();
    return { name, left: box.left, top: box.top };
  };
  // The nearest ancestor that scrolls its content (the message list, the
  // room list): its content is compared among itself as if unscrolled,
  // and with the rest of the page by the scroller's own box.
  const scrollerOf = (el) => {
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (/(auto|scroll)/.test(s.overflowX + ' ' + s.overflowY)) return e;
    }
    return null;
  };
  // A box in the page's coordinates, which do not change as it scrolls.
  const inPage = (box, dx, dy) => ({ left: box.left + scrollX + dx, top: box.top + scrollY + dy,
    right: box.right + scrollX + dx, bottom: box.bottom + scrollY + dy });
  const describe = (el) => {
    const box = el.getBoundingClientRect();
    const scroller = scrollerOf(el);
    const at = inPage(box, scroller ? scroller.scrollLeft : 0, scroller ? scroller.scrollTop : 0);
    const anchor = scroller ? inPage(scroller.getBoundingClientRect(), 0, 0) : at;
    const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
    const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
    const hit = document.elementFromPoint(x, y);
    const inView = box.width > 0 && box.height > 0 && box.left >= -1 && box.top >= -1
      && box.right <= innerWidth + 1 && box.bottom <= innerHeight + 1;
    const classes = typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '';
    return {
      id: idOf(el),
      what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes,
      name: (el.getAttribute('aria-label') || el.textContent || el.value || '').trim().slice(0, 40),
      ...at,
      scroller: scroller ? idOf(scroller) : 0,
      anchor,
      visible: inView && !!hit && (el === hit || el.contains(hit)),
      region: region(el),
    };
  };
  window.__focusProbe = {
    held: null,
    step() {
      const result = { left: null, now: null };
      if (this.held && this.held.el.isConnected && document.activeElement !== this.held.el) {
        const { el, looks, info } = this.held;
        const members = chain(el);
        let best = null;
        looks.forEach((was, i) => {
          const now = members[i] ? look(members[i]) : { outline: '', shadow: '' };
          const outline = was.outline && was.outline !== now.outline;
          const shadow = was.shadow && was.shadow !== now.shadow;
          if (!outline && !shadow) return;
          const color = rgba(outline ? was.outlineColor : was.shadow);
          // An outline drawn inside the element lies on its own background.
          const behind = outline && was.outlineOffset < 0 ? members[i] : members[i].parentElement;
          const ratio = color ? contrast(color, backdrop(behind || members[i])) : 0;
          if (!best || ratio > best.contrast) {
            best = { contrast: ratio, indicator: `${members[i].tagName.toLowerCase()}: ${outline ? was.outline : was.shadow}` };
          }
        });
        result.left = { ...info, shown: !!best, contrast: best ? best.contrast : 0, indicator: best ? best.indicator : '' };
      }
      const el = document.activeElement;
      if (el && el !== document.body && el !== document.documentElement) {
        this.held = { el, looks: chain(el).map(look), info: describe(el) };
        result.now = this.held.info;
      } else {
        this.held = null;
      }
      return result;
    },
    tabbable() {
      const all = document.querySelectorAll(
        'a[href], button, input, textarea, select, [tabindex]');
      return Array.from(all).filter((el) => !el.disabled && el.tabIndex >= 0
        && !el.closest('[inert]')
        && el.checkVisibility({ checkVisibilityCSS: true, visibilityProperty: true }))
        .map(describe);
    },
    positiveTabindex() {
      return Array.from(document.querySelectorAll('[tabindex]'))
        .filter((el) => el.tabIndex > 0).map(describe);
    },
  };
}
return true;
"#;

/// The region of the page a control is in, and where that region starts.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Region {
    /// `rooms` (the sidebar), `main`, `members`, `form` (the name card) or `page`.
    pub name: String,
    /// Its left edge.
    pub left: f64,
    /// Its top edge.
    pub top: f64,
}

/// A rectangle, in CSS pixels.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Right edge.
    pub right: f64,
    /// Bottom edge.
    pub bottom: f64,
}

impl Rect {
    /// Whether `self` comes after `before` in reading order: below it, or
    /// on its row and not to its left.
    fn follows(&self, before: &Rect) -> bool {
        let same_row = self.top < before.bottom && self.bottom > before.top;
        if same_row {
            self.left >= before.left - 1.0
        } else {
            self.top > before.top
        }
    }
}

/// A control that had the focus.
#[derive(Debug, Clone, Deserialize)]
pub struct Stop {
    /// The same number for the same element, as long as the page lives.
    pub id: u64,
    /// Tag, id and classes.
    pub what: String,
    /// Its label or text, shortened.
    pub name: String,
    /// Where it is in the page, in CSS pixels, as if nothing scrolled.
    #[serde(flatten)]
    pub at: Rect,
    /// The element that scrolls it (0 when only the page does).
    pub scroller: u64,
    /// Where that scroller is, or the control itself when there is none:
    /// what it is compared with outside its scroller.
    pub anchor: Rect,
    /// Whether it is inside the window and not covered by something else.
    pub visible: bool,
    /// The part of the page it is in.
    pub region: Region,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} at ({:.0}, {:.0})",
            self.what, self.name, self.at.left, self.at.top
        )
    }
}

/// How the control that had the focus looked while it had it.
#[derive(Debug, Clone, Deserialize)]
pub struct Verdict {
    /// The control.
    #[serde(flatten)]
    pub stop: Stop,
    /// Whether it (or its group) showed an outline or shadow only then.
    pub shown: bool,
    /// That indicator's contrast against its background.
    pub contrast: f64,
    /// What the indicator was.
    pub indicator: String,
}

#[derive(Debug, Deserialize)]
struct Step {
    left: Option<Verdict>,
    now: Option<Stop>,
}

impl Page {
    async fn probe(&self) -> Step {
        self.eval(PROBE).await;
        let step = self.eval("return window.__focusProbe.step()").await;
        serde_json::from_value(step).expect("the focus probe's answer")
    }

    /// Presses one key (with Shift held when `shift`) on whatever has the
    /// focus, and returns what has it afterwards. When the focus moved away
    /// from a control that is still on the page, fails the test unless that
    /// control showed its focus with enough contrast.
    pub async fn press(&self, key: char, shift: bool) -> Option<Stop> {
        // What has the focus now, to judge once it has moved on.
        self.probe().await;
        let mut keys = KeyActions::new("keyboard".to_owned());
        if shift {
            keys = keys.then(KeyAction::Down { value: SHIFT });
        }
        keys = keys
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        if shift {
            keys = keys.then(KeyAction::Up { value: SHIFT });
        }
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|err| panic!("{}: pressing {key:?}: {err}", self.name));
        let step = self.probe().await;
        if let Some(verdict) = step.left {
            assert_focus_shown(&verdict);
        }
        step.now
    }

    /// Types `text` into whatever has the focus, key by key.
    pub async fn type_keys(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".to_owned());
        for c in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|err| panic!("{}: typing {text:?}: {err}", self.name));
    }

    /// What has the focus now.
    pub async fn focused(&self) -> Option<Stop> {
        self.eval(PROBE).await;
        let now = self
            .eval(
                "const el = document.activeElement; \
                 if (!el || el === document.body) return null; \
                 window.__focusProbe.held = null; return window.__focusProbe.step().now",
            )
            .await;
        serde_json::from_value(now).expect("the focused element")
    }

    /// Waits until the element matching `css` has the focus.
    pub async fn wait_for_focus(&self, css: &str) {
        let what = format!("{}: the focus to be on {css}", self.name);
        let script = format!(
            "return document.activeElement && document.activeElement.matches({})",
            json!(css)
        );
        eventually(&what, || async {
            (self.eval(&script).await == json!(true)).then_some(())
        })
        .await;
    }

    /// Presses Tab (or Shift+Tab when `back`) until the element matching
    /// `css` has the focus, failing after [`MAX_TAB_STOPS`] presses.
    pub async fn tab_to(&self, css: &str, back: bool) {
        let script = format!(
            "return !!document.activeElement && document.activeElement.matches({})",
            json!(css)
        );
        for _ in 0..MAX_TAB_STOPS {
            if self.eval(&script).await == json!(true) {
                return;
            }
            self.press(TAB, back).await;
        }
        panic!(
            "{}: {css} never got the focus in {MAX_TAB_STOPS} presses of {}Tab",
            self.name,
            if back { "Shift+" } else { "" }
        );
    }

    /// The controls a Tab can reach, in the order of the document.
    pub async fn tabbable(&self) -> Vec<Stop> {
        self.eval(PROBE).await;
        let all = self.eval("return window.__focusProbe.tabbable()").await;
        serde_json::from_value(all).expect("the tabbable elements")
    }

    /// Walks the page with Tab from what has the focus until the focus
    /// comes back to it, and checks the walk: every control that can be
    /// reached is reached, once, in the order of the document (no
    /// `tabindex` above 0 reorders it), which is the order in which it is
    /// seen (each region top to bottom, a row left to right, regions left
    /// to right), each one on screen and uncovered when it has the focus,
    /// and each one shows that it has it. Returns the stops, starting with
    /// the first control of the document.
    pub async fn walk(&self, screen: &str) -> Vec<Stop> {
        let start = self
            .focused()
            .await
            .unwrap_or_else(|| panic!("{}: {screen}: nothing has the focus", self.name));
        let mut stops = vec![start.clone()];
        loop {
            assert!(
                stops.len() <= MAX_TAB_STOPS,
                "{}: {screen}: the focus did not come back to {start} in {MAX_TAB_STOPS} presses \
                 of Tab",
                self.name
            );
            match self.press(TAB, false).await {
                // Back at the start: measured again here, as the page may
                // have been moving when the walk began (a drawer sliding in).
                Some(stop) if stop.id == start.id => {
                    stops[0] = stop;
                    break;
                }
                Some(stop) => stops.push(stop),
                // Past the last control the focus leaves the page for a
                // moment (the browser's own controls) before it wraps.
                None => {}
            }
        }
        let positive = self
            .eval("return window.__focusProbe.positiveTabindex()")
            .await;
        assert_eq!(
            positive,
            json!([]),
            "{}: {screen}: tabindex above 0 reorders the focus",
            self.name
        );

        let expected = self.tabbable().await;
        let first = expected
            .first()
            .unwrap_or_else(|| panic!("{}: {screen}: no control to focus", self.name));
        let at = stops
            .iter()
            .position(|stop| stop.id == first.id)
            .unwrap_or_else(|| panic!("{}: {screen}: Tab never reached {first}", self.name));
        stops.rotate_left(at);
        let seen: Vec<String> = stops.iter().map(ToString::to_string).collect();
        let wanted: Vec<String> = expected.iter().map(ToString::to_string).collect();
        assert_eq!(
            stops.iter().map(|stop| stop.id).collect::<Vec<_>>(),
            expected.iter().map(|stop| stop.id).collect::<Vec<_>>(),
            "{}: {screen}: Tab went through\n{seen:#?}\nbut the page's controls are\n{wanted:#?}",
            self.name
        );
        for stop in &stops {
            assert!(
                stop.visible,
                "{}: {screen}: {stop} had the focus off screen or covered",
                self.name
            );
        }
        assert_visual_order(&self.name, screen, &stops);
        stops
    }
}

/// Fails unless the control showed that it had the focus, clearly enough.
fn assert_focus_shown(verdict: &Verdict) {
    assert!(
        verdict.shown,
        "{} had the focus without showing it (no outline or ring that comes with the focus)",
        verdict.stop
    );
    assert!(
        verdict.contrast >= FOCUS_CONTRAST,
        "{} shows its focus with a contrast of {:.2}:1, under {FOCUS_CONTRAST}:1 ({})",
        verdict.stop,
        verdict.contrast,
        verdict.indicator
    );
}

/// Fails unless `stops` come in the order they are seen: regions from left
/// to right (or top to bottom), each region visited in one go, and within
/// a region each control below the one before or on its row to its right
/// (inside a scrolling list, as if it were not scrolled; a list as a whole
/// where it is).
fn assert_visual_order(who: &str, screen: &str, stops: &[Stop]) {
    let mut regions: Vec<&Region> = Vec::new();
    for pair in stops.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.region.name != b.region.name {
            continue;
        }
        let follows = if a.scroller == b.scroller {
            b.at.follows(&a.at)
        } else {
            b.anchor.follows(&a.anchor)
        };
        assert!(
            follows,
            "{who}: {screen}: the focus went from {a} to {b}, which comes before it on screen"
        );
    }
    for stop in stops {
        match regions.last() {
            Some(last) if last.name == stop.region.name => {}
            _ => {
                assert!(
                    !regions.iter().any(|r| r.name == stop.region.name),
                    "{who}: {screen}: the focus left {} and came back to it at {stop}",
                    stop.region.name
                );
                if let Some(last) = regions.last() {
                    assert!(
                        stop.region.left >= last.left || stop.region.top > last.top,
                        "{who}: {screen}: the focus went from {} to {}, which is before it on \
                         screen",
                        last.name,
                        stop.region.name
                    );
                }
                regions.push(&stop.region);
            }
        }
    }
}
