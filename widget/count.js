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

  // The widget's key for a page known by its URL (widget/threadline.js urlKey): no fragment,
  // no tracking parameters, the rest of the query kept and encoded as Python's urlencode.
  const TRACK = /^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|ref_src|_ga|_gl)$/i;
  const enc = (/** @type {string} */ s) => encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%20/g, "+");

  /** @param {HTMLElement} el */
  const keyOf = (el) => {
    const d = el.dataset;
    if (d.page && d.page.trim()) return d.page.trim();
    if (!d.url) return null;
    try {
      const u = new URL(d.url, location.href);
      const q = [...u.searchParams].filter(([k]) => !TRACK.test(k)).map(([k, v]) => enc(k) + "=" + enc(v)).join("&");
      u.search = u.hash = "";
      return u.href + (q && "?" + q);
    } catch (_) {
      return null;
    }
  };

  /** @param {HTMLElement} el @param {number} n */
  const show = (el, n) => {
    const t = n === 1 ? el.dataset.one : el.dataset.other;
    el.textContent = t ? t.replace("{n}", String(n)) : String(n);
    el.dataset.threadlineCountLoaded = "";
  };

  const run = () => {
    /** @type {Map<string, HTMLElement[]>} */
    const byKey = new Map();
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (
      document.querySelectorAll("[data-threadline-count]"))) {
      const k = keyOf(el);
      if (k === null) continue;
      const list = byKey.get(k);
      if (list) list.push(el); else byKey.set(k, [el]);
    }
    /** @type {string[][]} */
    const batches = [[]];
    let length = api.length;
    for (const k of byKey.keys()) {
      const cost = encodeURIComponent(k).length + 6;
      let batch = batches[batches.length - 1];
      if (batch.length >= MAX_PAGES || (batch.length && length + cost > MAX_URL)) {
        batches.push(batch = []);
        length = api.length;
      }
      batch.push(k);
      length += cost;
    }
    for (const batch of batches) {
      if (!batch.length) continue;
      const q = batch.map((k) => "page=" + encodeURIComponent(k)).join("&");
      fetch(`${api}?${q}`, { credentials: "omit" })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((body) => {
          for (const k of batch) {
            const n = body.counts && body.counts[k];
            for (const el of byKey.get(k) || []) show(el, typeof n === "number" ? n : 0);
          }
        })
        .catch((e) => console.warn("[threadline] counts unavailable:", e));
    }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
