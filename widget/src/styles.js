// @ts-check
/* Styles: the widget's look, inside its shadow root. A host page themes it through the
   --tl-* custom properties only; every other name here is the widget's own. Text keeps 4.5:1
   contrast and form fields' edges 3:1, light and dark (tests/browser/test_accessibility.py). */

const STYLES = `
:host{display:block!important;contain:content}
.threadline{--accent:var(--tl-accent,#2563eb);--background:var(--tl-bg,#fff);--text:var(--tl-fg,#1f2937);
--muted:var(--tl-muted,#6b7280);--border:var(--tl-border,#e5e7eb);--radius:var(--tl-radius,10px);--on-accent:var(--tl-on-accent,#fff);
all:initial;display:block;box-sizing:border-box;font:16px/1.5 var(--tl-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);
color:var(--text);background:var(--background);padding:16px;border-radius:var(--radius);text-align:left}
.threadline[data-theme=dark]{--accent:var(--tl-accent,#60a5fa);--on-accent:var(--tl-on-accent,#0b1220);--background:var(--tl-bg,transparent);--text:var(--tl-fg,#e5e7eb);--muted:var(--tl-muted,#9ca3af);--border:var(--tl-border,#374151);--shade:72%;--on-shade:#111827;--error:#f87171}
@media (prefers-color-scheme:dark){.threadline[data-theme=auto]{--accent:var(--tl-accent,#60a5fa);--on-accent:var(--tl-on-accent,#0b1220);--background:var(--tl-bg,#111827);--text:var(--tl-fg,#e5e7eb);--muted:var(--tl-muted,#9ca3af);--border:var(--tl-border,#374151);--shade:72%;--on-shade:#111827;--error:#f87171}}
*,*::before,*::after{box-sizing:border-box}
h2{font-size:1.15em;margin:0;font-weight:650}
.top{display:flex;justify-content:space-between;align-items:baseline;gap:8px;margin-bottom:12px}
.muted,time,.active{color:var(--muted);font-size:.85em}
form{display:grid;gap:8px;margin:0 0 16px}
.name-row{display:flex;flex-wrap:wrap;gap:8px;align-items:center;font-size:.9em}
label{font-size:.85em;color:var(--muted);display:block}
textarea,input{display:block;width:100%;font:inherit;color:inherit;background:transparent;border:1px solid var(--muted);border-radius:calc(var(--radius)*.6);padding:8px 10px}
textarea{min-height:5em;resize:vertical}
.name-row input{width:14em;display:inline-block}.name-row label{margin-left:auto}.name-row b{font-weight:600}
textarea:focus,input:focus,button:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
button{display:inline-block;font:inherit;font-size:.9em;cursor:pointer;border-radius:calc(var(--radius)*.6);border:1px solid var(--border);background:transparent;color:inherit;padding:4px 12px;margin:0}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--on-accent);justify-self:start;padding:6px 18px}
button:disabled{opacity:.55;cursor:wait}
button.link{border:0;padding:2px 4px;color:var(--accent)}
.status{min-height:1.2em;font-size:.9em}.status.error{color:var(--error,#dc2626)}
.typing{min-height:1.3em;font-size:.85em;color:var(--muted);font-style:italic}
ol{list-style:none;margin:0;padding:0}
.comment{padding:10px 0;border-top:1px solid var(--border)}
.replies .comment{margin-left:clamp(12px,5%,40px);border-top:0;border-left:2px solid var(--border);padding-left:12px}
.comment-head{display:flex;flex-wrap:wrap;gap:6px;align-items:baseline}
.author{font-weight:600}.yours{border:1px solid var(--accent);color:var(--accent);border-radius:99px;font-size:.7em;padding:0 7px}.reply-to{color:var(--muted);font-size:.85em}article:focus{outline:2px solid var(--accent);outline-offset:2px}.moderator{background:var(--accent);color:var(--on-accent);border-radius:99px;font-size:.7em;padding:1px 8px}
.avatar{width:28px;height:28px;border-radius:50%;align-self:center;display:inline-grid;place-items:center;font-size:12px;font-weight:600;object-fit:cover;background:hsl(var(--hue) 50% var(--shade,38%));color:var(--on-shade,#fff)}.avatar::before{content:attr(data-initials)}
.verified{display:inline-grid;place-items:center;width:16px;height:16px;border-radius:50%;background:var(--accent);color:var(--on-accent);font-size:11px;align-self:center}.notice:not(:empty){margin-bottom:12px}
.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0}
a{color:var(--accent)}
.pending,.deleted{color:var(--muted);font-style:italic}
.new-comments,.load-more{display:block;width:100%;margin:8px 0}
.new-comments{position:sticky;top:8px;z-index:1;background:var(--accent);border-color:var(--accent);color:var(--on-accent)}
@media (prefers-reduced-motion:no-preference){.comment{animation:appear .25s ease-out}}
@keyframes appear{from{opacity:0;transform:translateY(-4px)}}
@media (max-width:420px){.threadline{padding:10px}.name-row input{width:100%}}
@media (pointer:coarse){button,input{min-height:44px;min-width:44px}a.reply-to{display:inline-flex;align-items:center;min-height:44px}}
[hidden]{display:none!important}`;

/** @type {CSSStyleSheet|undefined} one sheet, shared by every widget on the page */
let sharedSheet;

/** Style a shadow root. A constructed stylesheet: no host page's style-src can block it (an
 * inline <style> or a <link> would need 'unsafe-inline' or our origin there). Older browsers
 * get a <style>, returned for the caller to put first.
 * @param {ShadowRoot} root @returns {HTMLElement|null} */
const applyStyles = (root) => {
  try {
    if (!sharedSheet) (sharedSheet = new CSSStyleSheet()).replaceSync(STYLES);
    root.adoptedStyleSheets = [sharedSheet];
    return null;
  } catch {
    const style = element("style");
    style.textContent = STYLES;
    return style;
  }
};
