// @ts-check
/* Styles: the chunk's own sheet beside the widget's, in the same shadow root. Colours come
   from the widget's custom properties, so the light and dark themes (and a host page's
   --tl-* choices) apply here as they do there. A linked comment is outlined, not tinted: a
   tint would take its grey texts under 4.5:1. */

const ENGAGE_STYLES = `
.sort{display:flex;flex-wrap:wrap;gap:4px;align-items:center;margin:0 0 8px}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:0 4px}
.reactions{display:flex;flex-wrap:wrap;gap:4px;margin-left:auto}
.reactions button{padding:1px 9px;border-radius:99px;color:var(--text);min-width:2.6em}
@media (pointer:coarse){.reactions button{min-width:44px}}
.sort button[aria-pressed=true],.reactions button[aria-pressed=true]{background:var(--accent);border-color:var(--accent);color:var(--on-accent)}
.pin-label{border:1px solid var(--accent);color:var(--accent);border-radius:99px;font-size:.7em;padding:0 7px;font-weight:600}
article.target{outline:3px solid var(--accent);outline-offset:4px;border-radius:4px}`;

/** @type {CSSStyleSheet|undefined} one sheet, shared by every widget on the page */
let engageSheet;

/** Add the chunk's sheet to a widget's shadow root: a constructed one, which no host page's
 * style-src blocks; a <style> where the widget had to use one too. @param {ShadowRoot} root */
const addStyles = (root) => {
  try {
    if (!engageSheet) (engageSheet = new CSSStyleSheet()).replaceSync(ENGAGE_STYLES);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, engageSheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = ENGAGE_STYLES;
    root.prepend(style);
  }
};
