// @ts-check
/* Threadline widget: <div id="threadline"></div>
   <script src="https://HOST/widget.js" data-site="SITE" async></script>
   Plain JS, no build step. User text only ever reaches the DOM through textContent. */
(() => {
  "use strict";
  const script = /** @type {HTMLScriptElement|null} */ (document.currentScript);
  if (!script) return;
  const mark = (/** @type {string} */ m) => { try { performance.mark("threadline:" + m); } catch { /* old browser */ } };
  mark("start");
  const log = (/** @type {string} */ m) => console.warn("[threadline] " + m);

  /* English, the source language. Other languages come from the server's catalogue
     (/i18n?lang=...) with the same keys; a text with plural forms is keyed by CLDR category.
     @type {Record<string, string|Record<string, string>>} */
  const EN = /*catalogue*/{
    "loading": "Loading", "active": "Active: {n}",
    "count": {"one": "{n} comment", "other": "{n} comments"},
    "empty": "Be the first to leave a comment.", "typing": "Someone is typing...",
    "noName": "No Name", "name": "Name", "set": "Set", "as": "Posting as",
    "comment": "Comment", "submit": "Submit", "reply": "Reply", "edit": "Edit",
    "del": "Delete", "save": "Save", "cancel": "Cancel", "moderator": "Moderator",
    "edited": "(Edited)", "justNow": "just now",
    "pending": "Your comment will appear once approved by a moderator.",
    "thanks": "Thank you! Your submission has been received!",
    "oops": "Oops! Something went wrong while submitting the form.",
    "more": "Load More Comments", "moreReplies": "Load More Replies",
    "new": {"one": "{n} new comment", "other": "{n} new comments"},
    "deleted": "This comment was deleted.", "rejected": "Your comment was not approved.",
    "replyTo": "Reply to {name}", "confirmDel": "Delete this comment?",
    "flag": "Flag", "flagged": "Flagged",
    "loadFail": "Comments could not be loaded.", "retry": "Retry",
    "noSite": "This site is not set up for comments.",
    "noOrigin": "Comments are not enabled for this page's address.",
    "offline": "The comment server cannot be reached.",
    "eDup": "You have already posted this comment.",
    "eBanned": "You can no longer comment on this site.",
    "eRate": {"one": "Too many comments for now: try again in {n} second.", "other": "Too many comments for now: try again in {n} seconds."},
    "eLong": "Your comment is too long: at most {n} characters.",
    "eWords": "Your comment contains words this site does not accept.",
    "eClosed": "This comment can no longer be changed.",
    "eGone": "That comment is no longer there.",
    "inReplyTo": "in reply to {name}", "toGone": "in reply to a deleted comment",
    "confirmFlag": "Flag this comment for the moderators to review?", "undo": "Undo", "you": "You"
  }/*end*/;
  /** The catalogue's reason for each error code the API gives a reader. @type {Record<string, string>} */
  const WHY = {
    duplicate_comment: "eDup", author_banned: "eBanned", rate_limited: "eRate", body_too_long: "eLong",
    comment_rejected: "eWords", edit_window_closed: "eClosed", comment_not_editable: "eClosed",
    unknown_parent: "eGone", comment_not_found: "eGone", unknown_site: "noSite", origin_not_allowed: "noOrigin"
  };

  const CSS = `
:host{display:block!important;contain:content}
.tl{--a:var(--tl-accent,#2563eb);--bg:var(--tl-bg,#fff);--fg:var(--tl-fg,#1f2937);
--mu:var(--tl-muted,#6b7280);--bd:var(--tl-border,#e5e7eb);--r:var(--tl-radius,10px);--on:var(--tl-on-accent,#fff);
all:initial;display:block;box-sizing:border-box;font:16px/1.5 var(--tl-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);
color:var(--fg);background:var(--bg);padding:16px;border-radius:var(--r);text-align:left}
.tl[data-theme=dark]{--a:var(--tl-accent,#60a5fa);--on:var(--tl-on-accent,#0b1220);--bg:var(--tl-bg,transparent);--fg:var(--tl-fg,#e5e7eb);--mu:var(--tl-muted,#9ca3af);--bd:var(--tl-border,#374151)}
@media (prefers-color-scheme:dark){.tl[data-theme=auto]{--a:var(--tl-accent,#60a5fa);--on:var(--tl-on-accent,#0b1220);--bg:var(--tl-bg,#111827);--fg:var(--tl-fg,#e5e7eb);--mu:var(--tl-muted,#9ca3af);--bd:var(--tl-border,#374151)}}
*,*::before,*::after{box-sizing:border-box}
h2{font-size:1.15em;margin:0;font-weight:650}
.top{display:flex;justify-content:space-between;align-items:baseline;gap:8px;margin-bottom:12px}
.mu,time,.active{color:var(--mu);font-size:.85em}
form{display:grid;gap:8px;margin:0 0 16px}
.who{display:flex;flex-wrap:wrap;gap:8px;align-items:center;font-size:.9em}
label{font-size:.85em;color:var(--mu);display:block}
textarea,input{display:block;width:100%;font:inherit;color:inherit;background:transparent;border:1px solid var(--bd);border-radius:calc(var(--r)*.6);padding:8px 10px}
textarea{min-height:5em;resize:vertical}
.who input{width:14em;display:inline-block}.who label{margin-left:auto}.who b{font-weight:600}
textarea:focus,input:focus,button:focus-visible{outline:2px solid var(--a);outline-offset:1px}
button{display:inline-block;font:inherit;font-size:.9em;cursor:pointer;border-radius:calc(var(--r)*.6);border:1px solid var(--bd);background:transparent;color:inherit;padding:4px 12px;margin:0}
button.pri{background:var(--a);border-color:var(--a);color:var(--on);justify-self:start;padding:6px 18px}
button:disabled{opacity:.55;cursor:wait}
button.ln{border:0;padding:2px 4px;color:var(--a)}
.st{min-height:1.2em;font-size:.9em}.st.err{color:#dc2626}
.typing{min-height:1.3em;font-size:.85em;color:var(--mu);font-style:italic}
ol{list-style:none;margin:0;padding:0}
.c{padding:10px 0;border-top:1px solid var(--bd)}
.replies .c{margin-left:clamp(12px,5%,40px);border-top:0;border-left:2px solid var(--bd);padding-left:12px}
.hd{display:flex;flex-wrap:wrap;gap:6px;align-items:baseline}
.nm{font-weight:600}.you{border:1px solid var(--a);color:var(--a);border-radius:99px;font-size:.7em;padding:0 7px}.rt{color:var(--mu);font-size:.85em}article:focus{outline:2px solid var(--a);outline-offset:2px}.badge{background:var(--a);color:var(--on);border-radius:99px;font-size:.7em;padding:1px 8px}
.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0}
.body a{color:var(--a)}
.pend,.gone{color:var(--mu);font-style:italic}
.new,.more{display:block;width:100%;margin:8px 0}
.new{position:sticky;top:8px;z-index:1;background:var(--a);border-color:var(--a);color:var(--on)}
@media (prefers-reduced-motion:no-preference){.c{animation:in .25s ease-out}}
@keyframes in{from{opacity:0;transform:translateY(-4px)}}
@media (max-width:420px){.tl{padding:10px}.who input{width:100%}}
@media (pointer:coarse){button,input{min-height:44px;min-width:44px}a.rt{display:inline-flex;align-items:center;min-height:44px}}
[hidden]{display:none!important}`;
  /** @type {CSSStyleSheet|undefined} one sheet, shared by every widget on the page */
  let sheet;

  /** @param {string} tag @param {string=} cls @param {string=} text */
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  /** @param {string} text @param {(e: Event) => void} fn @param {string=} cls */
  const btn = (text, fn, cls) => {
    const b = /** @type {HTMLButtonElement} */ (el("button", cls, text));
    b.type = "button";
    b.addEventListener("click", fn);
    return b;
  };
  const rnd = () => Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  // A page known by its URL is keyed by the rule the importers share (url_page_key in
  // server/core/urls.py): no fragment, no tracking parameters, the rest of the query in its
  // order, encoded as Python's urlencode does. A test holds the two to the same answers.
  const TRACK = /^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|ref_src|_ga|_gl)$/i;
  const enc = (/** @type {string} */ s) => encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%20/g, "+");
  /** @param {string} href */
  const urlKey = (href) => {
    const u = new URL(href);
    const q = [...u.searchParams].filter(([k]) => !TRACK.test(k)).map(([k, v]) => enc(k) + "=" + enc(v)).join("&");
    u.search = u.hash = "";
    return u.href + (q && "?" + q);
  };
  const LINK = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  /** Body text with http(s) links as real anchors, built with DOM APIs only.
   * @param {HTMLElement} p @param {string} text */
  const fillBody = (p, text) => {
    p.textContent = "";
    let at = 0;
    for (const m of text.matchAll(LINK)) {
      let url;
      try { url = new URL(m[0]); } catch { continue; }
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      p.append(text.slice(at, m.index));
      const a = /** @type {HTMLAnchorElement} */ (el("a", "", m[0]));
      a.href = url.href;
      a.rel = "nofollow ugc noopener noreferrer";
      a.target = "_blank";
      p.append(a);
      at = /** @type {number} */ (m.index) + m[0].length;
    }
    p.append(text.slice(at));
  };

  class Widget {
    /** @param {HTMLElement} host @param {DOMStringMap} d */
    constructor(host, d) {
      this.site = d.site || "";
      const canon = /** @type {HTMLLinkElement|null} */ (document.querySelector("link[rel=canonical]"));
      this.url = urlKey((canon && canon.href) || location.href);
      this.page = d.page || this.url;
      const base = new URL(script.src);
      this.api = `${base.origin}/api/v1/sites/${encodeURIComponent(this.site)}`;
      this.key = "threadline:" + this.site;
      /** @type {{t?: string, n?: string, m?: Record<string, number>}} */
      this.me = this.load();
      this.cursor = null;
      this.pending = this.call(this.threadPath());  // first: in flight while we build the DOM
      this.wsUrl = `${base.protocol === "https:" ? "wss" : "ws"}://${base.host}/ws?v=1&site=${encodeURIComponent(this.site)}`;
      const want = d.lang ? [d.lang] : [...(navigator.languages || [navigator.language || "en"])];
      // English is built in; anything else is one cached request, in flight with the thread's.
      const texts = /^en\b/i.test(want[0] || "en") ? null
        : fetch(`${base.origin}/i18n?lang=${encodeURIComponent(want.slice(0, 6).join(","))}`)
          .then((r) => (r.ok ? r.json() : null)).catch(() => null);
      this.lang = "en";
      this.t = EN;
      /** @type {Map<number, {data: any, li: HTMLElement, replies?: HTMLElement, moreBtn?: HTMLElement, cursor?: string|null}>} */
      this.items = new Map();
      this.seq = 0;
      /** @type {Map<number, any>} */
      this.early = new Map();
      /** @type {any[]} */
      this.waiting = [];
      this.editWindow = 900;
      this.tries = 0;
      this.fails = 0;
      /** @type {WebSocket|null} */
      this.ws = null;
      this.near = false;
      this.watching = false;
      if (!texts) this.start(host, d);
      else texts.then((m) => this.start(host, d, m));
    }

    /** Build and load, in the catalogue's language, or in English when it is unusable.
     * @param {HTMLElement} host @param {DOMStringMap} d @param {any=} m */
    start(host, d, m) {
      try {
        if (m && typeof m.messages === "object" && m.messages) {
          this.rtf = new Intl.RelativeTimeFormat(m.lang);
          this.plurals = new Intl.PluralRules(m.lang);
          this.lang = m.lang;
          this.t = { ...EN, ...m.messages };
        }
      } catch { log(`no texts for language "${m.lang}": showing English`); }
      if (!this.rtf || !this.plurals) {
        this.rtf = new Intl.RelativeTimeFormat("en");
        this.plurals = new Intl.PluralRules("en");
      }
      try {
        this.build(host, d.theme || "auto");
        this.fetchThread();
      } catch (e) { log("could not start: " + e); }
    }

    threadPath() {
      const q = new URLSearchParams({ page: this.page });
      if (this.cursor) q.set("cursor", this.cursor);
      return "/thread?" + q;
    }

    /** A text in the reader's language, with its plural form for ``n``.
     * @param {string} k @param {number=} n @param {string=} name */
    s(k, n, name) {
      let v = this.t[k] || EN[k] || k;
      if (typeof v !== "string") v = v[this.plurals.select(n || 0)] || v.other || k;
      return String(v).replace("{n}", String(n)).replace("{name}", () => name || "");
    }

    load() {
      try { return JSON.parse(localStorage.getItem(this.key) || "{}") || {}; } catch { return {}; }
    }
    save() {
      try { localStorage.setItem(this.key, JSON.stringify(this.me)); } catch { /* storage blocked */ }
    }

    /** @param {HTMLElement} host @param {string} theme */
    build(host, theme) {
      const root = host.shadowRoot || host.attachShadow({ mode: "open" });
      // A constructed stylesheet: no host page's style-src can block it (an inline <style>
      // or a <link> would need 'unsafe-inline' or our origin there). Older browsers: <style>.
      let style;
      try {
        if (!sheet) (sheet = new CSSStyleSheet()).replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } catch { (style = el("style")).textContent = CSS; }
      const tl = this.tl = el("section", "tl");
      tl.dataset.theme = theme;
      tl.lang = this.lang;
      const top = el("div", "top");
      this.countEl = el("h2", "", this.s("loading"));
      this.activeEl = el("span", "active");
      this.activeEl.hidden = true;
      top.append(this.countEl, this.activeEl);
      this.status = el("div", "st");
      this.status.setAttribute("role", "status");
      this.status.setAttribute("aria-live", "polite");
      this.loadEl = el("p", "st err");
      this.retryBtn = btn(this.s("retry"), () => this.fetchThread(), "ln");
      this.loadEl.hidden = true;
      this.form = this.composer(null);
      this.lock(true);  // until the thread is there
      this.typingEl = el("div", "typing");
      this.typingEl.setAttribute("aria-live", "polite");
      this.newBtn = btn("", () => this.showWaiting(), "new");
      this.newBtn.hidden = true;
      this.list = el("ol", "list");
      this.emptyEl = el("p", "mu", this.s("empty"));
      this.emptyEl.hidden = true;
      this.moreBtn = btn(this.s("more"), () => this.fetchThread(), "more");
      this.moreBtn.hidden = true;
      tl.append(top, this.loadEl, this.form, this.status, this.typingEl, this.newBtn, this.list, this.emptyEl,
        this.moreBtn);
      root.replaceChildren(...(style ? [style] : []), tl);
      setInterval(() => this.refreshTimes(), 30000);
      // The exact date on hover, formatted only then: Intl formatters are slow to create.
      this.list.addEventListener("pointerover", (e) => {
        const t = /** @type {HTMLTimeElement} */ (e.target);
        if (t.tagName === "TIME" && !t.title) t.title = new Date(t.dateTime).toLocaleString(this.lang);
      });
    }

    /** The comment form; with a parent it is an inline reply form.
     * @param {any} parent */
    composer(parent) {
      const form = /** @type {HTMLFormElement} */ (el("form"));
      const id = rnd().slice(0, 8);
      if (!parent) {
        const who = el("div", "who");
        this.asEl = el("span", "", "");
        const nameLabel = /** @type {HTMLLabelElement} */ (el("label", "", this.s("name")));
        const name = /** @type {HTMLInputElement} */ (el("input"));
        name.id = nameLabel.htmlFor = "n" + id;
        name.maxLength = 50;
        name.autocomplete = "nickname";
        name.value = this.me.n || "";
        const setName = () => { this.me.n = name.value.trim(); this.save(); this.showName(); };
        name.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); setName(); } });
        who.append(this.asEl, nameLabel, name, btn(this.s("set"), setName));
        form.append(who);
        this.showName();
      }
      const label = /** @type {HTMLLabelElement} */ (el("label", "", parent ? this.s("replyTo", 0, parent.name || this.s("noName")) : this.s("comment")));
      const area = /** @type {HTMLTextAreaElement} */ (el("textarea"));
      area.id = label.htmlFor = "c" + id;
      area.maxLength = 5000;
      area.required = true;
      let typed = 0;
      area.addEventListener("input", () => {
        if (Date.now() - typed > 2500) { typed = Date.now(); this.send({ type: "typing" }); }
      });
      area.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
      });
      const submit = /** @type {HTMLButtonElement} */ (el("button", "pri", this.s("submit")));
      submit.type = "submit";
      // A honeypot: form-filling bots fill it in. Hidden from people and assistive tech by
      // the attribute itself, whether or not any style applies.
      const hp = /** @type {HTMLInputElement} */ (el("input", "hp"));
      hp.name = "website";
      hp.hidden = true;
      hp.tabIndex = -1;
      hp.autocomplete = "off";
      hp.setAttribute("aria-hidden", "true");
      form.append(label, area, hp, submit);
      if (parent) {
        const close = () => { form.remove(); this.items.get(parent.id)?.li.querySelector("button")?.focus(); };
        form.append(btn(this.s("cancel"), close));
        form.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); close(); } });
      }
      form.addEventListener("submit", (e) => { e.preventDefault(); this.post(form, area, submit, parent); });
      return form;
    }

    /** @param {boolean} on */
    lock(on) { for (const e of this.form.elements) /** @type {HTMLInputElement} */ (e).disabled = on; }

    /** Why a request failed, in the reader's language. @param {any} e */
    why(e) {
      const k = e.status === 429 ? "eRate" : WHY[e.code] || (e.status ? "oops" : "offline");
      return this.s(k, k === "eRate" ? e.wait || 60 : 5000);
    }

    showName() {
      if (this.asEl) this.asEl.replaceChildren(this.s("as") + " ", el("b", "", this.me.n || this.s("noName")));
    }

    /** @param {string} path @param {RequestInit=} init */
    async call(path, init = {}) {
      const headers = /** @type {Record<string,string>} */ ({ ...(init.headers || {}) });
      if (init.body) headers["Content-Type"] = "application/json";
      // Reads go without the token: a simple request, no preflight round trip.
      if (this.me.t && init.method) headers.Authorization = "Bearer " + this.me.t;
      const r = await fetch(this.api + path, { ...init, headers });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) {
        const err = body.error || {};
        throw Object.assign(new Error(err.message || String(r.status)),
          { code: err.code, status: r.status, wait: +(r.headers.get("Retry-After") || 0) });
      }
      return body;
    }

    async fetchThread() {
      const first = !this.cursor;
      clearTimeout(this.again);
      this.moreBtn.disabled = this.retryBtn.disabled = true;
      try {
        const early = this.pending;
        this.pending = null;
        const data = await (early || this.call(this.threadPath()));
        if (first) mark("fetched");
        if (first) {
          this.loadEl.hidden = true;
          this.lock(false);
          this.fails = 0;
          this.formToken = data.form_token;
          this.seq = data.page.seq;
          this.editWindow = data.config.edit_window;
          this.setCount(data.page.count);
          this.watch();
        }
        for (const c of data.comments) this.list.append(this.render(c, c.replies, c.replies_cursor));
        if (first) mark("rendered");
        this.cursor = data.cursor;
        this.moreBtn.hidden = !data.has_more;
        this.emptyEl.hidden = this.items.size > 0;
      } catch (e) {
        const err = /** @type {any} */ (e), o = location.origin, site = this.site;
        // Once, and for a refusal the one line that fixes it.
        if (!this.fails) log(err.code === "origin_not_allowed" ? `${o} is not an allowed origin of site "${site}": add it with \`threadline site update ${site} --add-origin ${o}\``
          : err.code === "unknown_site" ? `no site "${site}" on ${this.api.split("/api/")[0]}: add it with \`threadline site add ${site} --origin ${o}\``
          : "could not load comments: " + err.message);
        if (!first) return;
        this.lock(true);  // a reload after a reset can fail too
        this.countEl.textContent = this.s("loadFail");
        this.loadEl.replaceChildren(this.why(err) + " ", this.retryBtn);
        this.loadEl.hidden = false;
        // Again by itself, backing off (full jitter) from 2 s to a minute.
        this.again = setTimeout(() => this.fetchThread(), Math.random() * Math.min(6e4, 2e3 * 2 ** this.fails++) + 1e3);
      } finally {
        this.moreBtn.disabled = this.retryBtn.disabled = false;
      }
    }

    /** @param {number} n */
    setCount(n) { this.count = n; this.countEl.textContent = this.s("count", n); }

    /** One comment's element (and its replies); updates in place when already shown.
     * @param {any} c @param {any[]=} replies @param {string|null=} cursor */
    render(c, replies, cursor) {
      const known = this.items.get(c.id);
      const li = known ? known.li : el("li", "c");
      const item = known || { data: c, li };
      item.data = c;
      this.items.set(c.id, item);
      const art = el("article");
      const head = el("div", "hd");
      const gone = c.status === "deleted";
      if (!gone) {
        head.append(el("span", "nm", c.name || this.s("noName")));
        if (c.moderator) head.append(el("span", "badge", this.s("moderator")));
        if (this.me.m && this.me.m[c.id]) head.append(el("span", "you", this.s("you")));
      }
      const time = /** @type {HTMLTimeElement} */ (el("time", "", this.ago(c.created_at)));
      time.dateTime = c.created_at;
      head.append(time);
      if (c.edited_at && !gone) head.append(el("span", "mu", this.s("edited")));
      // A reply to a reply says whom it answers, linked: replies nest one level only.
      const to = c.reply_to !== c.parent && !gone && this.items.get(c.reply_to);
      if (to) {
        const a = /** @type {HTMLAnchorElement} */ (el("a", "rt", to.data.status === "deleted" ? this.s("toGone")
          : this.s("inReplyTo", 0, to.data.name || this.s("noName"))));
        a.href = "#c" + c.reply_to;
        a.addEventListener("click", (e) => {
          e.preventDefault();  // the host page's URL is not ours to change
          const t = /** @type {HTMLElement} */ (to.li.firstChild);
          t.tabIndex = -1;
          t.focus({ preventScroll: true });
          t.scrollIntoView({ block: "nearest", behavior: "smooth" });
        });
        head.append(a);
      }
      const body = el("p", gone ? "body gone" : "body");
      if (gone) body.textContent = this.s("deleted"); else fillBody(body, c.body);
      art.append(head, body);
      if (c.status === "pending") art.append(el("p", "pend", this.s("pending")));
      else if (!gone) art.append(this.actions(c, art));
      li.replaceChildren(art);
      if (!c.parent) {
        item.replies = item.replies || el("ol", "replies");
        item.moreBtn = item.moreBtn || btn(this.s("moreReplies"), () => this.moreReplies(c.id), "more");
        li.append(item.replies, item.moreBtn);
        for (const r of replies || []) item.replies.append(this.render(r));
        if (cursor !== undefined) item.cursor = cursor;
        item.moreBtn.hidden = !item.cursor;
      }
      return li;
    }

    /** @param {any} c @param {HTMLElement} art */
    actions(c, art) {
      const box = el("div", "acts");
      box.append(btn(this.s("reply"), () => {
        const open = art.querySelector("form");
        if (open) return open.querySelector("textarea")?.focus();
        const form = this.composer(c);
        art.append(form);
        form.querySelector("textarea")?.focus();
      }, "ln"));
      const mine = this.me.m && this.me.m[c.id];
      if (mine && Date.now() - mine < this.editWindow * 1000) {
        box.append(btn(this.s("edit"), () => this.edit(c, art), "ln"),
          btn(this.s("del"), () => this.remove(c), "ln"));
      } else if (!mine) {
        // Flag asks first; once flagged it reads "Flagged" and offers Undo (its token kept
        // on the item, so a re-render keeps it).
        const item = /** @type {any} */ (this.items.get(c.id)), note = el("span", "mu", this.s("flagged"));
        const show = () => { note.hidden = !item.undo; flag.textContent = this.s(item.undo ? "undo" : "flag"); };
        const flag = btn("", async () => {
          if (!item.undo && !confirm(this.s("confirmFlag"))) return;
          flag.disabled = true;
          try {
            const u = item.undo;
            item.undo = (await this.call(`/comments/${c.id}/flag` + (u ? "?undo=" + encodeURIComponent(u) : ""),
              { method: u ? "DELETE" : "POST" })).undo;
            show();
          } catch (e) { this.say(this.why(e), true); }
          flag.disabled = false;
        }, "ln");
        show();
        box.append(note, flag);
      }
      return box;
    }

    /** @param {any} c @param {HTMLElement} art */
    edit(c, art) {
      const body = /** @type {HTMLElement} */ (art.querySelector(".body"));
      const area = /** @type {HTMLTextAreaElement} */ (el("textarea"));
      area.value = c.body;
      area.setAttribute("aria-label", this.s("edit"));
      const save = btn(this.s("save"), async () => {
        save.disabled = true;
        try {
          const data = await this.call(`/comments/${c.id}`, { method: "PATCH", body: JSON.stringify({ body: area.value }) });
          this.render(data.comment);
        } catch (e) { this.say(this.why(e), true); save.disabled = false; }
      }, "pri");
      const box = el("div");
      const cancel = () => { this.render(c); this.items.get(c.id)?.li.querySelector("button")?.focus(); };
      box.append(area, save, btn(this.s("cancel"), cancel));
      box.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); cancel(); } });
      body.replaceWith(box);
      /** @type {HTMLElement} */ (art.querySelector(".acts")).hidden = true;  // no Reply/Edit/Delete while editing
      area.focus();
    }

    /** @param {any} c */
    async remove(c) {
      if (!confirm(this.s("confirmDel"))) return;
      try {
        const data = await this.call(`/comments/${c.id}`, { method: "DELETE" });
        this.drop(data.comment);
      } catch (e) { this.say(this.why(e), true); }
    }

    /** @param {HTMLFormElement} form @param {HTMLTextAreaElement} area @param {HTMLButtonElement} submit @param {any} parent */
    async post(form, area, submit, parent) {
      if (!area.value.trim()) return;
      submit.disabled = true;
      form.dataset.key = form.dataset.key || rnd();  // same key on a retry: never two comments
      try {
        const data = await this.call("/comments", {
          method: "POST", headers: { "Idempotency-Key": form.dataset.key },
          body: JSON.stringify({
            page: this.page, url: this.url, title: document.title.slice(0, 300),
            body: area.value, name: this.me.n || null, parent: parent ? parent.id : null,
            form_token: this.formToken, hp: /** @type {HTMLInputElement} */ (form.querySelector(".hp")).value,
          }),
        });
        if (data.author_token) {
          this.me.t = data.author_token;
          // Resubscribe with the token so news meant for this author (a rejection) arrives.
          if (this.ws) { this.close(); this.wake(); }
        }
        // Own comments are remembered for a year (the newest 500): marked as the reader's.
        const now = Date.now();
        this.me.m = Object.fromEntries(Object.entries(this.me.m || {}).filter(([, at]) => now - at < 31536e6)
          .sort((a, b) => b[1] - a[1]).slice(0, 499));
        this.me.m[data.comment.id] = now;
        this.save();
        area.value = "";
        delete form.dataset.key;
        this.say(this.s("thanks") + (data.status === "pending" ? " " + this.s("pending") : ""));
        this.add(data.comment, true);
        if (parent) form.remove();
      } catch (e) {
        // The text changed since the attempt that used this key: the next one is a new post.
        if (/** @type {any} */ (e).code === "idempotency_key_reused") delete form.dataset.key;
        this.say(this.why(e), true);
      } finally {
        submit.disabled = false;
      }
    }

    /** @param {string} text @param {boolean=} err */
    say(text, err) {
      this.status.textContent = text;
      this.status.classList.toggle("err", !!err);
    }

    /** Place a comment that arrived (posted here, or live). @param {any} c @param {boolean=} own */
    add(c, own) {
      if (this.items.has(c.id)) return this.render(c);
      this.emptyEl.hidden = true;
      if (c.parent) {
        const parent = this.items.get(c.parent);
        if (!parent || !parent.replies) return;
        if (parent.cursor && !own) return;  // not all replies shown: "Load More Replies" will bring it
        parent.replies.append(this.render(c));
        return;
      }
      const top = this.list.getBoundingClientRect().top;
      if (!own && top < 0) {  // the reader is further down: do not move what they are reading
        this.waiting.push(c);
        const n = this.waiting.length;
        this.newBtn.textContent = this.s("new", n);
        this.newBtn.hidden = false;
        return;
      }
      this.list.prepend(this.render(c));
    }

    showWaiting() {
      for (const c of this.waiting.splice(0)) if (!this.items.has(c.id)) this.list.prepend(this.render(c));
      this.newBtn.hidden = true;
      this.list.scrollIntoView();  // to what they asked to see
    }

    /** @param {any} c */
    drop(c) {
      const item = this.items.get(c.id);
      if (!item) return;
      if (item.replies && item.replies.children.length) this.render(c);
      else { item.li.remove(); this.items.delete(c.id); }
      this.emptyEl.hidden = this.items.size > 0;
    }

    /** @param {number} id */
    async moreReplies(id) {
      const item = this.items.get(id);
      if (!item || !item.cursor || !item.moreBtn) return;
      item.moreBtn.setAttribute("disabled", "");
      try {
        const data = await this.call(`/comments/${id}/replies?cursor=${encodeURIComponent(item.cursor)}`);
        for (const r of data.replies) if (!this.items.has(r.id)) item.replies?.append(this.render(r));
        item.cursor = data.cursor;
        item.moreBtn.hidden = !data.has_more;
      } catch (e) { log("could not load replies: " + /** @type {Error} */ (e).message); }
      item.moreBtn.removeAttribute("disabled");
    }

    /** "just now", "5 minutes ago", "4 years ago", in the reader's language.
     * @param {string} iso */
    ago(iso) {
      const s = (Date.now() - Date.parse(iso)) / 1000;
      if (s < 45) return this.s("justNow");
      /** @type {[Intl.RelativeTimeFormatUnit, number][]} */
      const units = [["year", 31536e3], ["month", 2592e3], ["day", 864e2], ["hour", 3600], ["minute", 60]];
      for (const [unit, size] of units) {
        const n = Math.floor(s / size);
        if (n >= 1) return this.rtf.format(-n, unit);
      }
      return this.rtf.format(-1, "minute");
    }

    refreshTimes() {
      for (const t of this.tl.querySelectorAll("time")) t.textContent = this.ago(/** @type {HTMLTimeElement} */ (t).dateTime);
    }

    // ---- live --------------------------------------------------------------------------
    /** Connect while the widget is near the viewport and the tab is visible. */
    watch() {
      if (this.watching) return;  // a reset reloads the thread, not the watchers
      this.watching = true;
      new IntersectionObserver((entries) => {
        this.near = entries.some((e) => e.isIntersecting);
        this.wake();
      }, { rootMargin: "800px" }).observe(this.tl);
      document.addEventListener("visibilitychange", () => {
        clearTimeout(this.hideTimer);
        if (document.hidden) this.hideTimer = setTimeout(() => this.close(), 60000);
        else this.wake();
      });
      addEventListener("online", () => { this.tries = 0; this.wake(); });
      setInterval(() => this.send({ type: "ping" }), 25000);
    }

    wake() {
      if (this.ws || !this.near || document.hidden) return;
      clearTimeout(this.retry);
      const ws = this.ws = new WebSocket(this.wsUrl);
      ws.onopen = () => this.send({ type: "subscribe", page: this.page, seq: this.seq, token: this.me.t });
      ws.onmessage = (m) => { try { this.frame(JSON.parse(m.data)); } catch (e) { log("bad frame: " + e); } };
      ws.onclose = (e) => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.typingEl.textContent = "";
        if ([1003, 1007, 1008, 1009].includes(e.code)) return log(`live updates stopped (${e.code} ${e.reason})`);
        // Full jitter: a server restart must not bring every reader back at once.
        const cap = Math.min(30000, 500 * 2 ** this.tries++);
        this.retry = setTimeout(() => this.wake(), Math.random() * cap + (e.code === 1012 ? Math.random() * 5000 : 0));
      };
    }

    close() {
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close(1000);
    }

    /** @param {object} m */
    send(m) {
      if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(m));
    }

    /** @param {any} f */
    frame(f) {
      if (f.type.startsWith("comment.") && f.seq) {
        if (f.seq <= this.seq) return;
        if (f.seq > this.seq + 1) {  // a gap: keep it, ask for what is missing
          this.early.set(f.seq, f);
          return this.send({ type: "sync", seq: this.seq });
        }
        this.apply(f);
        for (let next; (next = this.early.get(this.seq + 1));) { this.early.delete(next.seq); this.apply(next); }
        return;
      }
      if (f.type === "sync") { this.tries = 0; return; }
      if (f.type === "presence") {
        this.activeEl.textContent = this.s("active", f.data.count);
        this.activeEl.hidden = false;
      } else if (f.type === "typing") {
        this.typingEl.textContent = this.s("typing");
        clearTimeout(this.typingTimer);
        this.typingTimer = setTimeout(() => { this.typingEl.textContent = ""; }, 5000);
      } else if (f.type === "comment.rejected") {
        const item = this.items.get(f.data.comment.id);
        if (item) { item.li.remove(); this.items.delete(f.data.comment.id); this.say(this.s("rejected")); }
      } else if (f.type === "reset") {
        this.list.replaceChildren();
        this.items.clear();
        this.cursor = null;
        this.close();
        this.fetchThread();
      }
    }

    /** @param {any} f */
    apply(f) {
      this.seq = f.seq;
      const c = f.data.comment;
      if (f.type === "comment.deleted") this.drop(c);
      else if (f.type === "comment.edited") { if (this.items.has(c.id)) this.render(c); }
      // A replay shows a comment as it is now: one gone since comes as a tombstone.
      else if (c.status !== "deleted" || c.reply_count) this.add(c);
      this.setCount(f.data.count);
      if (f.type === "comment.created" || f.type === "comment.approved") this.typingEl.textContent = "";
    }
  }

  const d = script.dataset;
  if (!d.site) return log('add data-site="YOUR_SITE_ID" to the <script> tag');
  let host = /** @type {HTMLElement|null} */ (document.querySelector(d.target || "#threadline"));
  if (d.target && !host) return log(`no element matches data-target="${d.target}"`);
  if (!host || host.shadowRoot) {  // none, or already taken by another widget on this page
    host = el("div");
    script.after(host);
  }
  try { new Widget(host, d); } catch (e) { log("could not start: " + e); }
})();
