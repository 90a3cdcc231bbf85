// @ts-check
/* Page keys: which thread a page shows when it does not name one (data-page). */

// A page known by its URL is keyed by the rule the importers share (url_page_key in
// server/core/urls.py): no fragment, no tracking parameters, the rest of the query in its
// order, encoded as Python's urlencode does. A test holds the two to the same answers.
const TRACKING_PARAMETERS = /^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|ref_src|_ga|_gl)$/i;

/** One query name or value as Python's urlencode writes it. @param {string} text */
const formEncode = (text) => encodeURIComponent(text)
  .replace(/[!'()*]/g, (character) => "%" + character.charCodeAt(0).toString(16).toUpperCase())
  .replace(/%20/g, "+");

/** @param {string} href */
const pageKey = (href) => {
  const address = new URL(href);
  const query = [...address.searchParams].filter(([name]) => !TRACKING_PARAMETERS.test(name))
    .map(([name, value]) => formEncode(name) + "=" + formEncode(value)).join("&");
  address.search = address.hash = "";
  return address.href + (query && "?" + query);
};
