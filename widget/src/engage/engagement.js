// @ts-check
/* Engagement: what the chunk adds to a running widget. The widget calls install() after each
   first page of its thread, and decorate() for every comment it renders from then on; its
   live connection hands over the frames it does not know (reactions). */

const ORDERS = ["newest", "oldest", "best"];
// An id the server can take (1 to 18 digits, not 0), as the widget reads its first link.
const LINK_HASH = /^#threadline-comment-([1-9]\d{0,17})$/;

class Engagement {
  /** @param {any} widget @param {(texts: any, error: any) => string} failureMessage */
  constructor(widget, failureMessage) {
    this.widget = widget;
    this.failureMessage = failureMessage;
    const texts = widget.texts, thread = widget.thread, composer = widget.composer;
    addTexts(texts);
    addStyles(/** @type {ShadowRoot} */ (widget.section.getRootNode()));
    /** @type {string[]} the site's reactions: up and down, up only, emoji, or none */
    this.choices = [];
    /** @type {Record<string, string>} the reader's reaction by comment id */
    this.mine = {};
    /** @type {string|undefined} the credential this.mine was read with */
    this.mineFor = undefined;
    /** @type {Map<number, HTMLElement>} each shown comment's reaction buttons */
    this.groups = new Map();
    /** @type {Map<number, HTMLButtonElement>} each shown top-level comment's Pin button */
    this.pinButtons = new Map();
    /** @type {Map<number, boolean>} whether each comment was pinned when last shown */
    this.pinned = new Map();
    /** @type {Set<number>} comments with a reaction on its way */
    this.sending = new Set();
    /** @type {number|undefined} the comment the last link led to */
    this.target = undefined;
    /** @type {number|undefined} a linked comment to highlight once the reader's loading reaches it */
    this.awaited = undefined;
    // A link more than 10 pages in lists only the page holding the comment: this loads the
    // thread from its start instead.
    this.earlier = pushButton(texts.text("earlier"), () => this.fromStart(), "load-more");
    this.earlier.hidden = true;
    thread.list.before(this.earlier);
    this.sortGroup = toggleGroup(texts.text("sort"), ORDERS, (order) => this.sortBy(order));
    this.sortGroup.className = "sort";
    for (const toggle of this.sortGroup.children) toggle.textContent = texts.text(/** @type {any} */ (toggle).dataset.choice);
    thread.newComments.before(this.sortGroup);
    // Signing in or out changes whose reactions are shown and who may pin: the widget says
    // so by refreshing its composer.
    const refresh = composer.refresh.bind(composer);
    composer.refresh = () => { refresh(); this.signedIn(); };
    // Whatever the widget clears (a new order, a link, a reset) is no longer shown here either.
    const clear = thread.clear.bind(thread);
    thread.clear = () => {
      clear();
      for (const shownBefore of [this.groups, this.pinButtons, this.pinned]) shownBefore.clear();
    };
    // A first author token (a post, a reaction) or a new session reconnects the socket: the
    // reader may have notifications now.
    const live = widget.live, reconnect = live.reconnect.bind(live);
    live.reconnect = () => { reconnect(); this.notifyCentre(); };
    addEventListener("hashchange", () => this.follow());
    // The reader's post succeeded (the widget remembers it as theirs): where the server sends
    // mail, the third chunk offers to e-mail them about replies.
    const saved = widget.saved, remember = saved.rememberOwn.bind(saved);
    saved.rememberOwn = (/** @type {number} */ commentId) => { remember(commentId); this.offerMail(commentId); };
    // Pinned comments stay first, whatever the widget puts in the list (a live comment goes
    // on top under newest).
    new MutationObserver(() => this.pinnedFirst()).observe(thread.list, { childList: true });
  }

  /** A first page of the thread arrived (and is rendered). @param {any} data the listing */
  loaded(data) {
    const widget = this.widget;
    this.choices = data.config.reactions || [];
    this.mail = !!data.config.mail;
    const order = widget.query.order || "newest";
    for (const toggle of this.sortGroup.children) {
      const choice = /** @type {any} */ (toggle).dataset.choice;
      toggle.setAttribute("aria-pressed", String(choice === order));
      // Without reactions every comment scores the same: best would be newest.
      /** @type {HTMLElement} */ (toggle).hidden = choice === "best" && !this.choices.length && order !== "best";
    }
    // Those rendered before the chunk arrived (decorate() passes over the others).
    for (const shown of widget.thread.shown.values()) this.decorate(shown.comment, shown.listItem.firstChild);
    this.signedIn();
    // A link's page without the ones before it (comments, or a reply's earlier replies):
    // the way to them.
    this.earlier.hidden = data.from_start !== false;
    for (const comment of data.comments) {
      const replies = widget.thread.shown.get(comment.id)?.replies;
      if (comment.replies_from_start !== false || !replies) continue;
      const holder = make("li");
      holder.append(pushButton(widget.texts.text("earlierReplies"), () => this.fromStart(String(comment.id)), "load-more"));
      replies.prepend(holder);
    }
    this.target = data.target;
    if (data.target) this.highlight(data.target);
    else if (this.refocus) {
      // The button the reader pressed is gone: the keyboard goes on from the first comment.
      const first = widget.thread.list.querySelector("article");
      if (first) { first.tabIndex = -1; first.focus({ preventScroll: true }); }
    }
    this.refocus = false;
  }

  /** The thread from its start (around a comment for a reply's earlier replies); the comment
   * the link led to is highlighted again when the reader's loading reaches it.
   * @param {string=} around */
  fromStart(around) {
    const query = this.widget.query;
    this.awaited = this.target;
    this.refocus = true;
    this.earlier.hidden = true;
    if (around) query.around = around; else delete query.around;
    this.widget.reload();
  }

  /** Reaction buttons, Copy link, Pin and the Pinned label on one rendered comment.
   * @param {any} comment @param {HTMLElement} article */
  decorate(comment, article) {
    const widget = this.widget, texts = widget.texts, commentId = comment.id;
    if (!article || article.id) return;
    article.id = "threadline-comment-" + commentId;  // the part after # in the comment's link
    if (commentId === this.awaited) {
      // Rendered, and in the list once the widget's loop has placed it.
      this.awaited = undefined;
      queueMicrotask(() => this.highlight(commentId));
    }
    const pinned = !!comment.pinned && !comment.parent, wasPinned = this.pinned.get(commentId);
    this.pinned.set(commentId, pinned);
    const author = article.querySelector(".author");
    if (pinned && author) author.after(make("span", "pin-label", texts.text("pinned")));
    const actions = article.querySelector(":scope > .actions");
    // After the widget's own (Escape in a reply form goes back to the comment's first
    // button, Reply); the reactions last, at the row's end.
    if (actions) {
      actions.append(pushButton(texts.text("copyLink"), () => this.copyLink(commentId), "link"));
      if (!comment.parent) {
        const pin = pushButton(texts.text(pinned ? "unpin" : "pin"), () => this.pin(commentId), "link");
        pin.hidden = !this.moderator();
        this.pinButtons.set(commentId, pin);
        actions.append(pin);
      }
      if (this.choices.length) {
        const group = toggleGroup(texts.text("reactions"), this.choices, (choice) => this.react(commentId, choice));
        group.className = "reactions";
        this.groups.set(commentId, group);
        this.paint(commentId);
        actions.append(group);
      }
    }
    // Pinned just now (live, or by this moderator): first, as the listing has it.
    const listItem = article.parentElement;
    if (!listItem || comment.parent) return;
    listItem.classList.toggle("pinned", pinned);
    // Unpinned: below the comments still pinned (the next load puts it in its place).
    if (pinned && wasPinned === false && listItem.parentElement === widget.thread.list) {
      this.keepingFocus(() => widget.thread.list.prepend(listItem));
    } else if (wasPinned && !pinned) this.pinnedFirst();
  }

  /** Comments put above a pinned one (a live comment under newest goes on top) move below the
   * last pinned one: the pinned ones, where a reader may be typing a reply, stay put. */
  pinnedFirst() {
    const items = [...this.widget.thread.list.children];
    const pinned = items.map((listItem) => listItem.classList.contains("pinned")), last = pinned.lastIndexOf(true);
    const above = items.slice(0, Math.max(last, 0)).filter((listItem, index) => !pinned[index]);
    if (above.length) this.keepingFocus(() => items[last].after(...above));
  }

  /** Move comments in the list without taking the keyboard focus (and a text field's cursor
   * and selection) from the reader: a moved element loses the focus. @param {() => void} move */
  keepingFocus(move) {
    const root = /** @type {ShadowRoot} */ (this.widget.section.getRootNode());
    const focused = /** @type {any} */ (root.activeElement);
    const start = focused && focused.selectionStart, end = focused && focused.selectionEnd;
    const direction = focused && focused.selectionDirection;
    move();
    if (!focused || root.activeElement === focused || !focused.isConnected) return;
    focused.focus({ preventScroll: true });
    if (start != null) focused.setSelectionRange(start, end, direction);
  }

  /** A frame the widget does not handle itself. @param {any} frame */
  receive(frame) {
    if (frame.type === "notifications") return this.widget.notify?.receive(frame);
    if (frame.type !== "reactions") return;
    // Absolute totals: a lost frame is healed by the next one.
    for (const [commentId, counts] of Object.entries(frame.data.comments)) {
      const shown = this.widget.thread.shown.get(+commentId);
      if (!shown) continue;
      shown.comment.reactions = counts;
      this.paint(+commentId);
    }
  }

  /** @param {number} commentId */
  paint(commentId) {
    const group = this.groups.get(commentId), shown = this.widget.thread.shown.get(commentId);
    if (group && shown) paintReactions(group, shown.comment.reactions, this.mine[commentId], this.widget.texts);
  }

  /** Give a reaction, or take it back when it is the one given.
   * @param {number} commentId @param {string} choice */
  async react(commentId, choice) {
    const widget = this.widget, saved = widget.saved;
    // One at a time per comment; not by disabling: a disabled button loses the keyboard focus.
    if (this.sending.has(commentId)) return;
    this.sending.add(commentId);
    try {
      const undo = this.mine[commentId] === choice;
      const answer = await widget.api.request(`/comments/${commentId}/reaction`, undo ? { method: "DELETE" }
        : { method: "PUT", body: JSON.stringify({ reaction: choice }) });
      if (answer.token) {
        // The first reaction from this browser made it an author: kept as a post's token is.
        saved.authorToken = this.mineFor = answer.token;
        saved.save();
        widget.live.reconnect();
      }
      if (answer.reaction) this.mine[commentId] = answer.reaction; else delete this.mine[commentId];
      const shown = widget.thread.shown.get(commentId);
      if (shown) shown.comment.reactions = answer.reactions;
      this.paint(commentId);
    } catch (error) {
      widget.say(engageFailure(widget.texts, error, this.failureMessage), true);
    } finally { this.sending.delete(commentId); }
  }

  /** Whether the reader is signed in as one of the site's moderators. */
  moderator() {
    const data = this.widget.signOn.data;
    return !!(data && data.identity && data.identity.moderator);
  }

  /** The reader signed in or out (or the thread was loaded): their reactions and Pin buttons. */
  async signedIn() {
    const widget = this.widget, api = widget.api, moderator = this.moderator();
    for (const pin of this.pinButtons.values()) pin.hidden = !moderator;
    this.notifyCentre();
    const credential = api.session || widget.saved.authorToken;
    if (credential === this.mineFor) return;
    this.mineFor = credential;
    let mine = {};
    try {
      if (credential) {
        mine = (await api.request("/reactions/mine?page=" + encodeURIComponent(widget.page), { method: "GET" })).mine;
      }
    } catch (error) { return console.warn("[threadline] could not read your reactions: " + error); }
    if (credential !== this.mineFor) return;  // signed in or out again meanwhile
    this.mine = mine;
    for (const commentId of this.groups.keys()) this.paint(commentId);
  }

  /** The notification centre (a third script, fetched once a reader has a credential),
   * told whose notifications to show: a reader's who signed out has no bell. */
  notifyCentre() {
    const widget = this.widget;
    if (!this.notifying && !(widget.api.session || widget.saved.authorToken)) return;
    this.notifying ||= import(`${widget.api.origin}/widget-notify.js?v=NOTIFY-VERSION`)
      .catch((error) => console.warn("[threadline] no notifications: " + error));
    this.notifying.then((module) => module && module.follow(widget, this.failureMessage));
  }

  /** The offer of e-mail on replies to the comment just posted, after the status line says
   * it went through (the chunk's promise answers after the post's own steps).
   * @param {number} commentId */
  offerMail(commentId) {
    if (!this.mail) return;
    this.notifyCentre();  // the reader has a credential now: the chunk is on its way
    this.notifying?.then((module) => module?.offer?.(this.widget, commentId, this.failureMessage));
  }

  /** Reload the thread in another order, and remember the choice for this site.
   * @param {string} order */
  sortBy(order) {
    const widget = this.widget, thread = widget.thread;
    // One load at a time (the widget disables Load More meanwhile): a slower answer in the
    // order before must not land after this one.
    if ((widget.query.order || "newest") === order || thread.moreButton.disabled) return;
    widget.query.order = widget.saved.order = order;
    widget.saved.save();
    for (const toggle of this.sortGroup.children) toggle.setAttribute("aria-pressed", String(/** @type {any} */ (toggle).dataset.choice === order));
    thread.waiting.length = 0;
    thread.newComments.hidden = true;
    widget.reload();
  }

  /** The page's canonical address (else its address without the query, which may carry a
   * login callback's or a magic link's secrets) with this comment's link, to the clipboard.
   * @param {number} commentId */
  async copyLink(commentId) {
    const widget = this.widget, texts = widget.texts;
    const canonical = /** @type {HTMLLinkElement|null} */ (document.querySelector("link[rel=canonical]"));
    const url = ((canonical && canonical.href.split("#")[0]) || location.origin + location.pathname)
      + "#threadline-comment-" + commentId;
    let copied = false;
    try {
      await navigator.clipboard.writeText(url);
      copied = true;
    } catch {
      // A page served over plain http has no navigator.clipboard: the copy command then,
      // handed the link as it copies.
      const give = (/** @type {ClipboardEvent} */ event) => {
        event.clipboardData?.setData("text/plain", url);
        event.preventDefault();
      };
      document.addEventListener("copy", give);
      try { copied = document.execCommand("copy"); } catch { /* refused */ }
      document.removeEventListener("copy", give);
    }
    // Refused both ways: the link is in the status line, to copy by hand.
    widget.say(copied ? texts.text("copied") : texts.text("copyFail", 0, url));
  }

  /** Pin a comment, or unpin a pinned one (a signed-in moderator). The event that follows
   * shows it on every open page; this one shows it at once. @param {number} commentId */
  async pin(commentId) {
    const widget = this.widget, shown = widget.thread.shown.get(commentId);
    if (!shown) return;
    const pinned = !!shown.comment.pinned;
    try {
      await widget.api.request(`/comments/${commentId}/pin`, { method: pinned ? "DELETE" : "PUT" });
      widget.thread.render({ ...shown.comment, pinned: !pinned });
      this.pinButtons.get(commentId)?.focus();  // the new button, where the old one was
    } catch (error) {
      widget.say(engageFailure(widget.texts, error, this.failureMessage), true);
    }
  }

  /** Scroll to a linked comment, highlight it and give it the keyboard focus. @param {number} commentId */
  highlight(commentId) {
    const shown = this.widget.thread.shown.get(+commentId);
    if (!shown) return;
    for (const before of this.widget.section.querySelectorAll("article.target")) before.classList.remove("target");
    const article = /** @type {HTMLElement} */ (shown.listItem.firstChild);
    article.classList.add("target");
    article.tabIndex = -1;
    article.focus({ preventScroll: true });
    article.scrollIntoView({ block: "center" });
  }

  /** The host page's hash changed to a comment's link: show it, loading around it if needed
   * (not while the reader is writing a reply or an edit in the list: that would lose it). */
  follow() {
    const linked = LINK_HASH.exec(location.hash), widget = this.widget, thread = widget.thread;
    if (!linked) return;
    if (thread.shown.has(+linked[1])) return this.highlight(+linked[1]);
    if ([...thread.list.querySelectorAll("textarea")].some((area) => area.value.trim())) return;
    widget.query.around = linked[1];
    widget.reload();
  }
}

/** Called by the widget after each first page of its thread.
 * @param {any} widget @param {any} data the listing @param {(texts: any, error: any) => string} failureMessage */
export const install = (widget, data, failureMessage) => {
  if (!widget.engage) widget.engage = new Engagement(widget, failureMessage);
  widget.engage.loaded(data);
};
