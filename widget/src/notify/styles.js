// @ts-check
/* Styles: the centre's sheet beside the widget's, in the same shadow root, from the widget's
   custom properties (light and dark themes, a host page's --tl-* choices). An unread item is
   marked by a word and a bar, not by colour alone. */

const NOTIFY_STYLES = `
.bell{display:inline-flex;align-items:center;gap:4px;align-self:center;padding:2px 8px}.top .active{margin-left:auto}
.bell svg{width:18px;height:18px;fill:none;stroke:currentColor;stroke-width:2}
.bell .unread-count{background:var(--accent);color:var(--on-accent);border-radius:99px;font-size:.8em;padding:0 6px;font-weight:600}
.notifications{border:1px solid var(--border);border-radius:var(--radius);padding:8px 12px;margin:0 0 16px}
.notifications-head{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline;justify-content:space-between}
.notifications h3{font-size:1em;margin:0}.notifications .status{margin:0}
.notifications li{display:flex;gap:8px;align-items:flex-start;padding:8px 0 8px 8px;border-top:1px solid var(--border);border-left:3px solid transparent}
.notifications li.unread{border-left-color:var(--accent)}
.notifications li a{flex:1;display:block;color:inherit;text-decoration:none;overflow-wrap:anywhere;border-radius:4px}
.notifications li a:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.notifications li a:hover .sentence{text-decoration:underline}
.notifications .sentence{display:block}.notifications li.unread .sentence{font-weight:600}
.notifications .excerpt{display:block;white-space:pre-wrap;margin:2px 0}
.notifications .meta{display:block;color:var(--muted);font-size:.85em}
.notifications .new-label{border:1px solid var(--accent);color:var(--accent);border-radius:99px;font-size:.7em;padding:0 7px;margin-right:6px;font-weight:600}
.mail-offer{border:1px dashed var(--border);border-radius:var(--radius);padding:8px 12px;margin:0 0 16px;font-size:.9em}
.mail-offer p{margin:0 0 6px}.mail-offer input{max-width:24em;margin:4px 0}.mail-offer input[type=checkbox]{display:inline;width:auto;margin:0}
.mail-offer .mail-thread{display:block;margin:4px 0 8px}.mail-offer .status:empty{display:none}`;

/** @type {CSSStyleSheet|undefined} one sheet, shared by every widget on the page */
let notifySheet;

/** Add the centre's sheet to a widget's shadow root (a <style> where the browser cannot
 * construct one). @param {ShadowRoot} root */
const addNotifyStyles = (root) => {
  try {
    if (!notifySheet) (notifySheet = new CSSStyleSheet()).replaceSync(NOTIFY_STYLES);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, notifySheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = NOTIFY_STYLES;
    root.prepend(style);
  }
};
