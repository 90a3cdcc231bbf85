// @ts-check
/* Single sign-on: the host page's token for the site (data-sso-token, or Threadline.login),
   exchanged for a session that writes in the reader's verified name; and the offer to show
   what they wrote here anonymously under that name. */

/** What the widgets of one page share, however many script tags run this code: the page's
 * token and who listens for it. The page calls Threadline.login(token) and
 * Threadline.logout(). Sessions are never here: any script of the page could read them. */
const hostWindow = /** @type {any} */ (window), found = hostWindow.Threadline;
// Not an element the page named "Threadline" (DOM clobbering), nor anything else it made.
const shared = found && Array.isArray(found.listeners) && typeof found.login === "function" ? found
  : hostWindow.Threadline = {
    token: null, listeners: [],
    /** @param {string|null} token */
    login(token) { shared.token = token || null; for (const listener of shared.listeners) listener(shared.token); },
    logout() { shared.login(null); },
  };
/** This copy's exchanges by server, site, token and author token, kept out of the page's
 * reach. @type {Map<string, Promise<any>>} */
const exchanges = new Map();

/** Whether a token the page shares is meant for ``site``: its aud, read without verifying,
 * only to route it. A token for another site (perhaps on another server) never leaves here.
 * @param {string|null} token @param {string} site */
const meantFor = (token, site) => {
  try {
    const claims = JSON.parse(atob(/** @type {string} */ (token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return [].concat(claims.aud).includes(/** @type {never} */ (site));
  } catch { return false; }
};

class SingleSignOn {
  /** @param {Widget} widget @param {string|null|undefined} token @param {string|undefined} loginUrl */
  constructor(widget, token, loginUrl) {
    this.widget = widget;
    this.token = token;
    this.loginUrl = loginUrl;
    /** @type {any} the exchange's answer while signed in: session, identity, claimable */
    this.data = null;
    shared.listeners.push((/** @type {string|null} */ next) => {
      if (next && !meantFor(next, widget.site)) return;  // another site's reader
      this.token = next;
      if (widget.composer) this.start(next);  // else start() runs once the widget is built
    });
    widget.api.renew = () => this.renew();
  }

  /** Sign in with the token, or out without one. @param {string|null|undefined} token */
  async start(token) {
    const widget = this.widget, api = widget.api, authorToken = widget.saved.authorToken;
    let data = null;
    if (api.session && token !== this.signedInWith) {
      // Signed out, or another reader in: the session ends on the server too, not only in
      // this page's memory.
      api.request("/sso/session", { method: "DELETE" }, api.session, true).catch(() => {});
      exchanges.clear();
    }
    if (token) {
      const key = this.key = [api.base, token, authorToken].join(" ");
      try {
        const exchange = exchanges.get(key) || api.request("/sso/session",
          { method: "POST", body: JSON.stringify({ token, author_token: authorToken }) }, "");
        exchanges.set(key, this.exchange = exchange);
        data = await exchange;
      } catch (error) {
        if (exchanges.get(key) === this.exchange) exchanges.delete(key);
        const caught = /** @type {any} */ (error);
        widget.say(caught.code ? caught.message : failureMessage(widget.texts, caught), true);
      }
    }
    if (token !== this.token) return;  // signed in or out again meanwhile
    const before = api.session;
    this.signedInWith = data && token;
    this.data = data;
    api.session = data && data.session;
    widget.composer.refresh();
    // News meant for this reader (a rejection) follow the session.
    if (api.session !== before) widget.live.reconnect();
  }

  /** The session ended: exchange the token again, once. Whether that gave a session. */
  async renew() {
    if (exchanges.get(this.key) === this.exchange) exchanges.delete(this.key);
    await this.start(this.token);
    return !!this.data;
  }

  /** "Log in", to the host page's data-login-url (http or https), when it has one. */
  link() {
    try {
      const url = new URL(/** @type {string} */ (this.loginUrl), location.href);
      if (!this.loginUrl || !/^https?:$/.test(url.protocol)) return "";
      const link = /** @type {HTMLAnchorElement} */ (element("a", "", this.widget.texts.text("logIn")));
      link.href = url.href;
      return link;
    } catch { return ""; }
  }

  /** Attach what this browser wrote anonymously to the signed-in reader; the comments
   * change live, by the comment.edited frames that follow. */
  async claim() {
    const widget = this.widget, saved = widget.saved, texts = widget.texts;
    try {
      const answer = await widget.api.request("/sso/claim",
        { method: "POST", body: JSON.stringify({ author_token: saved.authorToken }) });
      this.data.claimable = 0;
      saved.authorToken = undefined;  // those comments are the reader's now
      saved.save();
      widget.composer.refresh();
      widget.say(texts.text("claimed", answer.claimed));
    } catch (error) { widget.say(failureMessage(texts, error), true); }
  }
}
