//! What a page is shown on, changed inside one browser session: the colour
//! scheme the system asks for, the window's size, and the browser's zoom.
//!
//! The scheme and the zoom go through Chrome DevTools commands, which
//! chromedriver passes on (`POST /session/{id}/goog/cdp/execute`): a
//! command-line flag (`--blink-settings=preferredColorScheme=…`,
//! `--force-device-scale-factor`) would need a new browser, and a new
//! person, for each scheme. Each change is checked in the page itself
//! (`matchMedia`, `devicePixelRatio`), so a browser that ignored it fails
//! the test instead of checking the same thing twice.

use super::{eventually, Page};
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{json, Value};
use std::time::Duration;

/// How long a page gets to lay itself out again after its window or media
/// changed (the phone drawer slides for 0.2 s).
pub const SETTLE: Duration = Duration::from_millis(350);

/// The window of a desktop browser, in CSS pixels.
pub const DESKTOP: (u32, u32) = (1280, 880);
/// A phone held upright (an iPhone 12 to 15), in CSS pixels.
pub const PHONE: (u32, u32) = (390, 844);

/// The colour scheme the system asks pages for (`prefers-color-scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Light.
    Light,
    /// Dark.
    Dark,
}

impl Scheme {
    /// The value of the media feature.
    pub fn name(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

/// A width and a colour scheme a page is checked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// What it is called in failure messages.
    pub name: &'static str,
    /// The window's size.
    pub size: (u32, u32),
    /// The colour scheme.
    pub scheme: Scheme,
}

/// Every width and scheme the issue names: desktop and phone, light and dark.
pub const VIEWS: [View; 4] = [
    View {
        name: "desktop, light",
        size: DESKTOP,
        scheme: Scheme::Light,
    },
    View {
        name: "desktop, dark",
        size: DESKTOP,
        scheme: Scheme::Dark,
    },
    View {
        name: "phone, light",
        size: PHONE,
        scheme: Scheme::Light,
    },
    View {
        name: "phone, dark",
        size: PHONE,
        scheme: Scheme::Dark,
    },
];

/// A Chrome DevTools Protocol command, sent through chromedriver.
#[derive(Debug)]
struct Cdp {
    method: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

impl Page {
    /// Runs a DevTools command in this page's browser.
    pub async fn cdp(&self, method: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { method, params })
            .await
            .unwrap_or_else(|err| panic!("{}: DevTools {method}: {err}", self.name))
    }

    /// Makes the page see this colour scheme, and checks that it does.
    pub async fn set_scheme(&self, scheme: Scheme) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme.name() }] }),
        )
        .await;
        let query = format!(
            "return matchMedia('(prefers-color-scheme: {})').matches",
            scheme.name()
        );
        let what = format!("{} to be shown in the {} scheme", self.name, scheme.name());
        eventually(&what, || async {
            (self.eval(&query).await == json!(true)).then_some(())
        })
        .await;
    }

    /// Resizes the window, and waits until the page has the new width and
    /// has settled in it (a drawer that hides slides away first).
    pub async fn set_size(&self, (width, height): (u32, u32)) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|err| panic!("{}: resize to {width}x{height}: {err}", self.name));
        let what = format!("{}'s page to be {width} px wide", self.name);
        eventually(&what, || async {
            (self.eval("return window.innerWidth").await == json!(width)).then_some(())
        })
        .await;
        tokio::time::sleep(SETTLE).await;
    }

    /// Shows the page in this view, settled.
    pub async fn set_view(&self, view: View) {
        self.set_size(view.size).await;
        self.set_scheme(view.scheme).await;
    }

    /// Zooms the page as Chromium's zoom (Ctrl and +) does, to `factor`
    /// times its size in a window of `window` device pixels: the page then
    /// lays itself out in `window / factor` CSS pixels, each drawn `factor`
    /// device pixels wide, which is the whole of what zoom changes for a
    /// page. Checked through `innerWidth` and `devicePixelRatio`.
    pub async fn zoom(&self, window: (u32, u32), factor: u32) {
        let (width, height) = (window.0 / factor, window.1 / factor);
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": factor,
                "mobile": false,
            }),
        )
        .await;
        let what = format!("{}'s page to be zoomed to {factor}00 %", self.name);
        eventually(&what, || async {
            let seen = self
                .eval("return [window.innerWidth, window.devicePixelRatio]")
                .await;
            (seen == json!([width, factor])).then_some(())
        })
        .await;
        tokio::time::sleep(SETTLE).await;
    }
}
