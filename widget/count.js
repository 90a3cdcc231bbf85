// Threadline comment counts for index pages. One batched request for every
//   <span data-threadline-count data-page="KEY"></span>
// on the page (data-url="URL" instead of data-page counts the thread the widget keys by
// that URL). Optional data-one="{n} comment" / data-other="{n} comments" templates; the
// number alone otherwise. Text is set with textContent only.
(() => {
  "use strict";
  const script = /** @type {HTMLScriptElement|null} */ (document.currentScript);
  if (!script) return;
  const site = script.dataset.site || "";
  const api = `${new URL(script.src).origin}/api/v1/sites/${encodeURIComponent(site)}/counts`;
  // A GET with query parameters is a "simple" CORS request: no preflight, so one round trip.
  const MAX_PAGES = 100, MAX_URL = 6000;

  // The widget's key for a page known by its URL (widget/src/page-key.js): no fragment,
  // no tracking parameters, the rest of the query kept and encoded as Python's urlencode.
  const TRACKING_PARAMETERS = /^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|ref_src|_ga|_gl)$/i;
  const formEncode = (/** @type {string} */ text) => encodeURIComponent(text)
    .replace(/[!'()*]/g, (character) => "%" + character.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, "+");

  /** @param {HTMLElement} span */
  const keyOf = (span) => {
    const data = span.dataset;
    if (data.page && data.page.trim()) return data.page.trim();
    if (!data.url) return null;
    try {
      const address = new URL(data.url, location.href);
      const query = [...address.searchParams].filter(([name]) => !TRACKING_PARAMETERS.test(name))
        .map(([name, value]) => formEncode(name) + "=" + formEncode(value)).join("&");
      address.search = address.hash = "";
      return address.href + (query && "?" + query);
    } catch {
      return null;
    }
  };

  /** @param {HTMLElement} span @param {number} count */
  const show = (span, count) => {
    const template = count === 1 ? span.dataset.one : span.dataset.other;
    span.textContent = template ? template.replace("{n}", String(count)) : String(count);
    span.dataset.threadlineCountLoaded = "";
  };

  const run = () => {
    /** @type {Map<string, HTMLElement[]>} */
    const byKey = new Map();
    for (const span of /** @type {NodeListOf<HTMLElement>} */ (
      document.querySelectorAll("[data-threadline-count]"))) {
      const key = keyOf(span);
      if (key === null) continue;
      const spans = byKey.get(key);
      if (spans) spans.push(span); else byKey.set(key, [span]);
    }
    /** @type {string[][]} */
    const batches = [[]];
    let length = api.length;
    for (const key of byKey.keys()) {
      const cost = encodeURIComponent(key).length + 6;
      let batch = batches[batches.length - 1];
      if (batch.length >= MAX_PAGES || (batch.length && length + cost > MAX_URL)) {
        batches.push(batch = []);
        length = api.length;
      }
      batch.push(key);
      length += cost;
    }
    for (const batch of batches) {
      if (!batch.length) continue;
      const query = batch.map((key) => "page=" + encodeURIComponent(key)).join("&");
      fetch(`${api}?${query}`, { credentials: "omit" })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((body) => {
          for (const key of batch) {
            const count = body.counts && body.counts[key];
            for (const span of byKey.get(key) || []) show(span, typeof count === "number" ? count : 0);
          }
        })
        .catch((error) => console.warn("[threadline] counts unavailable:", error));
    }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
