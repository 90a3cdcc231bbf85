// @ts-check
/* API: the site's JSON endpoints over fetch, and what their errors mean to a reader. */

/** A refused or failed request: the API's error code, the HTTP status (none when the
 * server was not reached) and how long to wait when rate limited. */
class ApiError extends Error {
  /** @param {string} message @param {string|undefined} code @param {number} status @param {number} waitSeconds */
  constructor(message, code, status, waitSeconds) {
    super(message);
    this.code = code;
    this.status = status;
    this.waitSeconds = waitSeconds;
  }
}

class ThreadApi {
  /** @param {URL} server where the script came from @param {string} site @param {SavedState} saved */
  constructor(server, site, saved) {
    this.origin = server.origin;
    this.base = `${server.origin}/api/v1/sites/${encodeURIComponent(site)}`;
    this.saved = saved;
    /** @type {string|null} a signed-in reader's session: it writes instead of the author token */
    this.session = null;
    /** @type {() => Promise<boolean>} a new session for an ended one, if the token still gives one */
    this.renew = async () => false;
  }

  /** @param {string} path @param {RequestInit=} init
   * @param {string|null|undefined} credential @param {boolean=} retried */
  async request(path, init = {}, credential = this.session || this.saved.authorToken, retried) {
    const headers = /** @type {Record<string,string>} */ ({ ...(init.headers || {}) });
    if (init.body) headers["Content-Type"] = "application/json";
    // Reads go without the token: a simple request, no preflight round trip.
    if (credential && init.method) headers.Authorization = "Bearer " + credential;
    const response = await fetch(this.base + path, { ...init, headers });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = body.error || {};
      if (error.code === "session_expired" && credential === this.session && !retried && await this.renew()) {
        return this.request(path, init, this.session, true);
      }
      throw new ApiError(error.message || String(response.status), error.code, response.status,
        +(response.headers.get("Retry-After") || 0));
    }
    return body;
  }

  /** One page of a thread; the first without a cursor.
   * @param {string} page @param {string|null} cursor @param {Record<string, string>=} options order, around */
  thread(page, cursor, options) {
    const query = new URLSearchParams({ page, ...options });
    if (cursor) query.set("cursor", cursor);
    return this.request("/thread?" + query);
  }
}

/** The catalogue's reason for each error code the API gives a reader. @type {Record<string, string>} */
const ERROR_TEXT_KEYS = {
  duplicate_comment: "eDup", author_banned: "eBanned", rate_limited: "eRate", body_too_long: "eLong",
  comment_rejected: "eWords", edit_window_closed: "eClosed", comment_not_editable: "eClosed",
  unknown_parent: "eGone", comment_not_found: "eGone", unknown_site: "noSite", origin_not_allowed: "noOrigin",
  name_reserved: "eName", sso_required: "logInTo"
};

/** Why a request failed, in the reader's language. @param {Texts} texts @param {any} error */
const failureMessage = (texts, error) => {
  const key = error.status === 429 ? "eRate" : ERROR_TEXT_KEYS[error.code] || (error.status ? "oops" : "offline");
  return texts.text(key, key === "eRate" ? error.waitSeconds || 60 : 5000);
};

/** Full jitter, so a server that comes back is not met by every reader at once: a random
 * wait up to ``base * 2 ** attempt``, at most ``ceiling``, all in milliseconds.
 * @param {number} attempt @param {number} base @param {number} ceiling */
const backoff = (attempt, base, ceiling) => Math.random() * Math.min(ceiling, base * 2 ** attempt);
