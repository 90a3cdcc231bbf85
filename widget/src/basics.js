// @ts-check
/* Threadline widget: <div id="threadline"></div>
   <script src="https://HOST/widget.js" data-site="SITE" async></script>
   Plain JS, no build step: the server joins widget/src/*.js in the order server/web/
   widget_source.py lists, inside one function, and serves that minified. User text only ever
   reaches the DOM through textContent.
   This part: what every other part uses (console lines, timing marks, DOM helpers). */

/* Read now: document.currentScript is only set while this script first runs. */
const script = /** @type {HTMLScriptElement|null} */ (document.currentScript);

/** A timing mark the browser tests and `make bench` read. @param {string} name */
const mark = (name) => {
  try { performance.mark("threadline:" + name); } catch { /* old browser */ }
};
if (script) mark("start");

/** One line for the site's developer, in the browser console. @param {string} message */
const log = (message) => console.warn("[threadline] " + message);

/** @param {string} tag @param {string=} className @param {string=} text */
const element = (tag, className, text) => {
  const created = document.createElement(tag);
  if (className) created.className = className;
  if (text != null) created.textContent = text;
  return created;
};

/** @param {string} text @param {(event: Event) => void} onClick @param {string=} className */
const button = (text, onClick, className) => {
  const created = /** @type {HTMLButtonElement} */ (element("button", className, text));
  created.type = "button";
  created.addEventListener("click", onClick);
  return created;
};

/** 32 random hex digits: idempotency keys and element ids. */
const randomHex = () => Array.from(crypto.getRandomValues(new Uint8Array(16)),
  (byte) => byte.toString(16).padStart(2, "0")).join("");
