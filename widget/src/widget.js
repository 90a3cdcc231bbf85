// @ts-check
/* The widget: one per host element. It starts the thread's first request at once, builds
   its parts in the reader's language, loads the thread and keeps it live. */

class Widget {
  /** @param {HTMLElement} host @param {DOMStringMap} options the script's data-* attributes
   * @param {URL} server where the script came from */
  constructor(host, options, server) {
    this.site = options.site || "";
    const canonical = /** @type {HTMLLinkElement|null} */ (document.querySelector("link[rel=canonical]"));
    this.url = pageKey((canonical && canonical.href) || location.href);
    this.page = options.page || this.url;
    this.saved = new SavedState(this.site);
    this.api = new ThreadApi(server, this.site, this.saved);
    /** @type {string|undefined} the site's policy: anonymous, sso-optional or sso-only */
    this.policy = undefined;
    const hostData = host.dataset;
    const pageToken = meantFor(shared.token, this.site) ? shared.token : null;
    this.signOn = new SingleSignOn(this, hostData.ssoToken || options.ssoToken || pageToken,
      hostData.loginUrl || options.loginUrl);
    /** @type {string|null} where the next page of the thread starts: none for the first */
    this.cursor = null;
    // An id the server can take (1 to 18 digits, not 0): a crafted one must not stop the thread.
    const linked = /^#threadline-comment-([1-9]\d{0,17})$/.exec(location.hash);
    /** @type {Record<string, string>} the reader's order; and for the first page a linked comment */
    this.query = linked ? { around: linked[1] } : {};
    // Only an order the server knows: another stored one (an older or tampered value) is dropped.
    if (/^(newest|oldest|best)$/.test(this.saved.order || "")) this.query.order = /** @type {string} */ (this.saved.order);
    /** @type {Promise<any>|null} */
    this.firstPage = this.api.thread(this.page, null, this.query);  // first: in flight while we build the DOM
    // Reactions, sorting, pins and links: a second script, fetched meanwhile (immutable URL).
    /** @type {any} what it installs */
    this.engage = null;
    this.engaging = import(`${server.origin}/widget-engage.js?v=ENGAGE-VERSION`)
      .catch((error) => log("no reactions, sorting or links: " + error));
    this.live = new LiveConnection(`${server.protocol === "https:" ? "wss" : "ws"}://${server.host}`
      + `/ws?v=1&site=${encodeURIComponent(this.site)}`, this);
    const wanted = options.lang ? [options.lang] : [...(navigator.languages || [navigator.language || "en"])];
    // English is built in; anything else is one cached request, in flight with the thread's.
    const catalogue = /^en\b/i.test(wanted[0] || "en") ? null
      : fetch(`${server.origin}/i18n?lang=${encodeURIComponent(wanted.slice(0, 6).join(","))}`)
        .then((response) => (response.ok ? response.json() : null)).catch(() => null);
    this.editWindowSeconds = 900;
    this.loadFailures = 0;
    /** @type {Set<number>} the reader's comments the status line says await approval */
    this.awaiting = new Set();
    if (!catalogue) this.start(host, options);
    else catalogue.then((answer) => this.start(host, options, answer));
  }

  /** Build and load, in the catalogue's language, or in English when it is unusable.
   * @param {HTMLElement} host @param {DOMStringMap} options @param {any=} catalogue */
  start(host, options, catalogue) {
    this.texts = Texts.from(catalogue);
    try {
      this.build(host, options.theme || "auto");
      this.loadThread();
      this.signOn.start(this.signOn.token);
    } catch (error) { log("could not start: " + error); }
  }

  /** @param {HTMLElement} host @param {string} theme */
  build(host, theme) {
    const texts = this.texts;
    const root = host.shadowRoot || host.attachShadow({ mode: "open" });
    const style = applyStyles(root);
    const section = this.section = element("section", "threadline");
    section.dataset.theme = theme;
    section.lang = texts.language;
    const thread = this.thread = new ThreadView(this);
    this.composer = new Composer(this);
    const top = element("div", "top");
    top.append(thread.countHeading, thread.activeLabel);
    this.status = element("div", "status");
    this.status.setAttribute("role", "status");
    this.status.setAttribute("aria-live", "polite");
    this.loadError = element("p", "status error");
    this.retryButton = button(texts.text("retry"), () => this.loadThread(), "link");
    this.loadError.hidden = true;
    this.form = this.composer.form(null);
    this.lock(true);  // until the thread is there
    section.append(top, this.loadError, this.composer.notice, this.form, this.status, thread.typingLine, thread.newComments,
      thread.list, thread.emptyNote, thread.moreButton);
    root.replaceChildren(...(style ? [style] : []), section);
  }

  /** @param {boolean} locked */
  lock(locked) {
    // The name row's field and button too, while a signed-in reader's name stands there.
    for (const control of [...this.form.elements, ...this.composer.fields]) /** @type {HTMLInputElement} */ (control).disabled = locked;
  }

  /** The status line under the form. @param {string} text @param {boolean=} isError */
  say(text, isError) {
    this.status.textContent = text;
    this.status.classList.toggle("error", !!isError);
  }

  /** The thread's first page, or its next one ("Load More Comments"). */
  async loadThread() {
    // A load started before the thread was cleared (a sort, a link, a reset) answers for a
    // thread no longer shown: its answer is dropped.
    const first = !this.cursor, thread = this.thread, generation = thread.generation;
    clearTimeout(this.retryTimer);
    thread.moreButton.disabled = this.retryButton.disabled = true;
    try {
      const early = this.firstPage;
      this.firstPage = null;
      const data = await (early || this.api.thread(this.page, this.cursor, this.query));
      if (generation !== thread.generation) return;
      if (first) mark("fetched");
      if (first) {
        this.loadError.hidden = true;
        this.lock(false);
        this.loadFailures = 0;
        this.formToken = data.form_token;
        this.live.seq = data.page.seq;
        this.editWindowSeconds = data.config.edit_window;
        this.policy = data.config.sso;
        this.composer.refresh();
        thread.setCount(data.page.count);
        this.live.watch(this.section);
        delete this.query.around;
        // Always: even an empty page of a site without reactions has a reader's bell.
        this.engaging.then((module) => module && module.install(this, data, failureMessage));
      }
      for (const comment of data.comments) {
        thread.list.append(thread.render(comment, comment.replies, comment.replies_cursor));
      }
      if (first) mark("rendered");
      this.cursor = data.cursor;
      thread.moreButton.hidden = !data.has_more;
      thread.emptyNote.hidden = thread.shown.size > 0;
    } catch (caught) {
      const error = /** @type {any} */ (caught), origin = location.origin, site = this.site;
      if (generation !== thread.generation) return;
      // A link that cannot be followed (the comment is gone, the id is refused, too many links
      // opened): the thread as usual.
      if (first && this.query.around) { delete this.query.around; return this.loadThread(); }
      // Once, and for a refusal the one line that fixes it.
      if (!this.loadFailures) log(error.code === "origin_not_allowed" ? `${origin} is not an allowed origin of site "${site}": add it with \`threadline site update ${site} --add-origin ${origin}\``
        : error.code === "unknown_site" ? `no site "${site}" on ${this.api.origin}: add it with \`threadline site add ${site} --origin ${origin}\``
        : "could not load comments: " + error.message);
      // Load More: a best order's snapshot expired, so the thread from its start; else why not.
      if (!first) return error.code === "cursor_expired" ? this.reload() : this.say(failureMessage(this.texts, error), true);
      this.lock(true);  // a reload after a reset can fail too
      thread.countHeading.textContent = this.texts.text("loadFail");
      this.loadError.replaceChildren(failureMessage(this.texts, error) + " ", this.retryButton);
      this.loadError.hidden = false;
      // Again by itself, backing off from 2 s to a minute.
      this.retryTimer = setTimeout(() => this.loadThread(), backoff(this.loadFailures++, 2e3, 6e4) + 1e3);
    } finally {
      // A dropped load leaves the buttons to the load that replaced it.
      if (generation === thread.generation) thread.moreButton.disabled = this.retryButton.disabled = false;
    }
  }

  /** The server could not replay what this widget missed: load the thread afresh. */
  reset() {
    this.live.close();
    this.reload();
  }

  /** The thread from its first page (in another order, or around another comment). */
  reload() {
    this.thread.clear();
    this.cursor = null;
    this.loadThread();
  }
}

/** Render into data-target, else #threadline, else a new element right after the script. */
const startWidget = () => {
  if (!script) return;
  const options = script.dataset;
  if (!options.site) return log('add data-site="YOUR_SITE_ID" to the <script> tag');
  let host = /** @type {HTMLElement|null} */ (document.querySelector(options.target || "#threadline"));
  if (options.target && !host) return log(`no element matches data-target="${options.target}"`);
  if (!host || host.shadowRoot) {  // none, or already taken by another widget on this page
    host = element("div");
    script.after(host);
  }
  try { new Widget(host, options, new URL(script.src)); } catch (error) { log("could not start: " + error); }
};
startWidget();
