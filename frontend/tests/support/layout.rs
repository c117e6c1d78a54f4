//! Whether a page loses anything at the size it is shown at: what the
//! checks of 200 % text (WCAG 2.1, 1.4.4) look for besides the focus.

use super::Page;

/// What the page loses at its current size: a page that scrolls sideways,
/// and every element that cuts its content off (overflow hidden or clipped
/// with more inside than shown, or scrolling sideways), each named.
pub async fn losses(page: &Page) -> Vec<String> {
    let found = page
        .eval(
            r#"
            const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '')
                + ' ' + JSON.stringify((el.textContent || '').trim().slice(0, 30));
            const doc = document.documentElement;
            const out = [];
            if (doc.scrollWidth > doc.clientWidth + 1) {
                out.push(`the page scrolls sideways (${doc.scrollWidth} px wide in ${doc.clientWidth})`);
            }
            for (const el of document.body.querySelectorAll('*')) {
                if (!el.checkVisibility({ checkVisibilityCSS: true, visibilityProperty: true })) continue;
                const s = getComputedStyle(el);
                const wide = el.scrollWidth > el.clientWidth + 1;
                const tall = el.scrollHeight > el.clientHeight + 1;
                if (wide && s.overflowX !== 'visible') {
                    out.push(`${name(el)} cuts off or scrolls ${el.scrollWidth - el.clientWidth} px sideways`);
                }
                if (tall && (s.overflowY === 'hidden' || s.overflowY === 'clip')) {
                    out.push(`${name(el)} cuts off ${el.scrollHeight - el.clientHeight} px below`);
                }
            }
            return out;
            "#,
        )
        .await;
    serde_json::from_value(found).expect("a list of strings")
}

/// Fails unless the page loses nothing as it is shown now.
pub async fn assert_nothing_lost(page: &Page, screen: &str) {
    let lost = losses(page).await;
    assert!(
        lost.is_empty(),
        "{}: {screen}: content is lost:\n{}",
        page.name,
        lost.join("\n")
    );
}
