// @ts-check
/* Single sign-on: the host page's token for the site (data-sso-token, or Threadline.login),
   exchanged for a session that writes in the reader's verified name; and the offer to show
   what they wrote here anonymously under that name. */

/** What the widgets of one page share, however many script tags run this code: the page's
 * token and one exchange per site and token. The page calls Threadline.login(token) and
 * Threadline.logout(). */
const hostWindow = /** @type {any} */ (window);
const shared = hostWindow.Threadline?.listeners ? hostWindow.Threadline : hostWindow.Threadline = {
  token: null, listeners: [], exchanges: {},
  /** @param {string|null} token */
  login(token) { shared.token = token || null; for (const listener of shared.listeners) listener(shared.token); },
  logout() { shared.login(null); },
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
      this.token = next;
      if (widget.composer) this.start(next);  // else start() runs once the widget is built
    });
    widget.api.renew = () => this.renew();
  }

  /** Sign in with the token, or out without one. @param {string|null|undefined} token */
  async start(token) {
    const widget = this.widget, api = widget.api, authorToken = widget.saved.authorToken;
    let data = null;
    if (token) {
      const key = this.key = [api.base, token, authorToken].join(" ");
      try {
        data = await (this.exchange = shared.exchanges[key] = shared.exchanges[key] || api.request("/sso/session",
          { method: "POST", body: JSON.stringify({ token, author_token: authorToken }) }, ""));
      } catch (error) {
        if (shared.exchanges[key] === this.exchange) delete shared.exchanges[key];
        const caught = /** @type {any} */ (error);
        widget.say(caught.code ? caught.message : failureMessage(widget.texts, caught), true);
      }
    }
    if (token !== this.token) return;  // signed in or out again meanwhile
    const before = api.session;
    this.data = data;
    api.session = data && data.session;
    widget.composer.refresh();
    // News meant for this reader (a rejection) follow the session.
    if (api.session !== before) widget.live.reconnect();
  }

  /** The session ended: exchange the token again, once. Whether that gave a session. */
  async renew() {
    if (shared.exchanges[this.key] === this.exchange) delete shared.exchanges[this.key];
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
