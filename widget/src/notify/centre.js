// @ts-check
/* The centre: a bell in the widget's header with the reader's unread count, and the panel it
   opens (a disclosure: the bell says whether it is open and which element it opens). The
   count comes from the first page of notifications, then from every `notifications` frame
   the widget's socket hands over (absolute: a lost frame heals with the next). Opening an
   item marks it read and follows its comment's link: on this page through the hash (the
   engage chunk's link following loads the right page of the thread), on another by going
   there. What the widget's parts define lives in another script, so the few DOM helpers are
   repeated here. */

// The excerpt of a comment an item shows, in characters.
const EXCERPT_LENGTH = 140;
// Each widget's panel and sentences get ids of their own: aria-controls and
// aria-describedby name them inside the widget's shadow root.
let notifyIds = 0;

/** @param {string} tag @param {string=} className @param {string=} text */
const create = (tag, className, text) => {
  const created = document.createElement(tag);
  if (className) created.className = className;
  if (text != null) created.textContent = text;
  return created;
};

/** @param {string} text @param {(event: Event) => void} onClick @param {string=} className */
const pressButton = (text, onClick, className) => {
  const created = /** @type {HTMLButtonElement} */ (create("button", className, text));
  created.type = "button";
  created.addEventListener("click", onClick);
  return created;
};

/** A bell, drawn (no icon font or image request), hidden from screen readers: the button's
 * label says what it is. */
const bellIcon = () => {
  const space = "http://www.w3.org/2000/svg", icon = document.createElementNS(space, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(space, "path");
  path.setAttribute("d", "M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0");
  icon.append(path);
  return icon;
};

class NotificationCentre {
  /** @param {any} widget @param {(texts: any, error: any) => string} failureMessage */
  constructor(widget, failureMessage) {
    this.widget = widget;
    this.failureMessage = failureMessage;
    const texts = widget.texts, number = ++notifyIds;
    addNotifyTexts(texts);
    addNotifyStyles(/** @type {ShadowRoot} */ (widget.section.getRootNode()));
    /** @type {string|undefined} the credential whose notifications are shown */
    this.credential = undefined;
    this.unread = 0;
    /** @type {string|null} where the next page of notifications starts */
    this.cursor = null;
    /** A load started before a newer one (or before the reader changed) answers too late. */
    this.generation = 0;
    /** @type {Map<number, {note: any, listItem: HTMLElement}>} the items shown, by id */
    this.shown = new Map();
    this.badge = create("span", "unread-count");
    this.bell = pressButton("", () => this.toggle(), "bell");
    this.bell.append(bellIcon(), this.badge);
    this.bell.setAttribute("aria-expanded", "false");
    this.bell.hidden = true;  // until the reader's first page of notifications is there
    const panel = this.panel = create("div", "notifications");
    panel.id = "threadline-notifications-" + number;
    this.bell.setAttribute("aria-controls", panel.id);
    const heading = create("h3", "", texts.text("bell"));
    heading.id = panel.id + "-heading";
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-labelledby", heading.id);
    const head = create("div", "notifications-head");
    this.allReadButton = pressButton(texts.text("nAllRead"), () => this.markRead(null), "link");
    head.append(heading, this.allReadButton);
    this.list = create("ol");
    this.emptyNote = create("p", "muted", texts.text("nEmpty"));
    this.moreButton = pressButton(texts.text("nMore"), () => this.load(false), "load-more");
    this.problem = create("p", "status error");
    this.problem.setAttribute("role", "status");
    panel.append(head, this.list, this.emptyNote, this.moreButton, this.problem);
    panel.hidden = true;
    const top = widget.thread.countHeading.parentElement;
    top.append(this.bell);
    top.after(panel);
    for (const control of [this.bell, panel]) control.addEventListener("keydown", (event) => this.key(/** @type {KeyboardEvent} */ (event)));
  }

  /** The reader's credential may have changed (a first token, signing in or out): show the
   * notifications of the one they have now, or no bell without one. */
  follow() {
    const api = this.widget.api, credential = api.session || this.widget.saved.authorToken || undefined;
    if (credential === this.credential) return;
    this.credential = credential;
    this.close(false);
    this.bell.hidden = true;
    this.list.replaceChildren();
    this.shown.clear();
    if (credential) this.load(true);
  }

  /** A frame the engage chunk hands over: the reader's unread count now. @param {any} frame */
  receive(frame) {
    const unread = frame.data && frame.data.unread;
    if (!this.credential || typeof unread !== "number") return;
    const changed = unread !== this.unread;
    this.count(unread);
    if (changed && !this.panel.hidden) this.load(true);  // what changed is in the list
  }

  /** The unread count on the bell, seen and heard. @param {number} unread */
  count(unread) {
    const texts = this.widget.texts;
    this.unread = unread;
    this.badge.textContent = String(unread);
    this.badge.hidden = !unread;
    this.bell.setAttribute("aria-label", unread ? texts.text("bellUnread", unread) : texts.text("bell"));
  }

  /** The first page of notifications (again), or the next one ("Load more").
   * @param {boolean} first */
  async load(first) {
    const widget = this.widget, credential = this.credential, generation = ++this.generation;
    this.moreButton.disabled = true;
    try {
      const query = !first && this.cursor ? "?cursor=" + encodeURIComponent(this.cursor) : "";
      const data = await widget.api.request("/notifications" + query, { method: "GET" });
      if (generation !== this.generation || credential !== this.credential) return;
      // The reader's keyboard on an item stays on that item as it is drawn again.
      const root = /** @type {ShadowRoot} */ (widget.section.getRootNode()), active = root.activeElement;
      const holder = active && this.list.contains(active) ? active.closest("li") : null;
      if (first) { this.list.replaceChildren(); this.shown.clear(); }
      const added = data.notifications.map((/** @type {any} */ note) => this.item(note)).filter(Boolean);
      this.list.append(...added);
      if (first && holder) {
        const again = this.shown.get(Number(holder.dataset.notification))?.listItem;
        /** @type {HTMLElement} */ (again?.querySelector(active?.tagName === "BUTTON" ? "button" : "a") || this.allReadButton).focus();
      }
      this.cursor = data.cursor;
      this.moreButton.hidden = !data.has_more;
      this.emptyNote.hidden = this.shown.size > 0;
      this.problem.textContent = "";
      this.count(data.unread);
      this.bell.hidden = false;
      // Load more pressed and gone (the last page): the keyboard goes on from the first new item.
      if (!first && data.has_more === false && root.activeElement === this.moreButton) added[0]?.querySelector("a")?.focus();
    } catch (error) {
      if (generation !== this.generation) return;
      if (this.bell.hidden) console.warn("[threadline] no notifications: " + /** @type {any} */ (error).message);
      else this.problem.textContent = widget.texts.text("nFail");
    } finally {
      if (generation === this.generation) this.moreButton.disabled = false;
    }
  }

  /** One notification as a list item: a link to its comment with what happened, and its
   * Delete button; none for a kind this widget does not know. @param {any} note */
  item(note) {
    const widget = this.widget, texts = widget.texts, comment = note.comment, page = note.page;
    const key = NOTIFY_KIND_KEYS[note.kind];
    if (!key || this.shown.has(note.id)) return null;
    const listItem = create("li", note.read ? "" : "unread");
    listItem.dataset.notification = String(note.id);
    const link = /** @type {HTMLAnchorElement} */ (create("a"));
    link.href = this.address(note);
    const sentence = create("span", "sentence", texts.text(key, note.actors, comment.name || texts.text("noName")));
    sentence.id = `threadline-notification-${++notifyIds}`;
    if (!note.read) sentence.prepend(create("span", "new-label", texts.text("nUnread")), " ");
    link.append(sentence);
    const body = String(comment.body || "");
    if (body) link.append(create("span", "excerpt", body.length > EXCERPT_LENGTH ? body.slice(0, EXCERPT_LENGTH - 1) + "\u2026" : body));
    const time = /** @type {HTMLTimeElement} */ (create("time", "", texts.ago(note.updated_at)));
    time.dateTime = note.updated_at;
    const meta = create("span", "meta");
    meta.append(page.title ? page.title + " \u00b7 " : "", time);
    link.append(meta);
    link.addEventListener("click", (event) => { event.preventDefault(); this.open(note); });
    const remove = pressButton(texts.text("del"), () => this.remove(note));
    remove.setAttribute("aria-describedby", sentence.id);
    listItem.append(link, remove);
    this.shown.set(note.id, { note, listItem });
    return listItem;
  }

  /** Where an item leads: its comment's link on this page, else on the page it is on (only
   * a web address: never a script's). @param {any} note */
  address(note) {
    const hash = "#threadline-comment-" + note.comment.id, url = note.page.url;
    if (note.page.key === this.widget.page || !url) return hash;
    try {
      if (/^https?:$/.test(new URL(url).protocol)) return url.split("#")[0] + hash;
    } catch { /* not an address: this page's link, which opens the thread as usual */ }
    return hash;
  }

  /** The reader opened an item: read, and to its comment. @param {any} note */
  async open(note) {
    if (!note.read) await this.markRead([note.id]);
    const address = this.address(note);
    if (!address.startsWith("#")) return location.assign(address);
    this.close(false);  // the comment takes the keyboard focus
    if (location.hash === address) this.widget.engage?.follow();
    else location.hash = address;
  }

  /** Mark some notifications read, or all of them (null). @param {number[]|null} ids */
  async markRead(ids) {
    const widget = this.widget;
    try {
      const answer = await widget.api.request("/notifications/read", {
        method: "POST", body: JSON.stringify(ids ? { ids } : { all: true }),
      });
      this.count(answer.unread);
      for (const [notificationId, { note, listItem }] of this.shown) {
        if (ids && !ids.includes(notificationId)) continue;
        note.read = true;
        listItem.classList.remove("unread");
        listItem.querySelector(".new-label")?.remove();
      }
    } catch (error) {
      this.problem.textContent = this.failureMessage(widget.texts, error);
    }
  }

  /** Delete one notification; the keyboard goes on from the next item. @param {any} note */
  async remove(note) {
    const widget = this.widget, shown = this.shown.get(note.id);
    if (!shown) return;
    try {
      await widget.api.request("/notifications/" + note.id, { method: "DELETE" });
    } catch (error) {
      // Already gone (deleted in another tab): gone here too.
      if (/** @type {any} */ (error).status !== 404) return void (this.problem.textContent = this.failureMessage(widget.texts, error));
    }
    const listItem = shown.listItem, next = listItem.nextElementSibling || listItem.previousElementSibling;
    listItem.remove();
    this.shown.delete(note.id);
    if (!note.read) this.count(Math.max(0, this.unread - 1));
    this.emptyNote.hidden = this.shown.size > 0;
    /** @type {HTMLElement} */ (next?.querySelector("a") || this.allReadButton).focus();
  }

  toggle() {
    if (this.panel.hidden) this.openPanel(); else this.close(true);
  }

  openPanel() {
    this.panel.hidden = false;
    this.bell.setAttribute("aria-expanded", "true");
    this.load(true);  // what is new since the count came
  }

  /** @param {boolean} refocus whether the keyboard goes back to the bell */
  close(refocus) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.bell.setAttribute("aria-expanded", "false");
    if (refocus) this.bell.focus();
  }

  /** Escape closes the panel (back to the bell); the arrow keys move between its items.
   * @param {KeyboardEvent} event */
  key(event) {
    if (this.panel.hidden) return;
    if (event.key === "Escape") {
      event.stopPropagation();
      return this.close(true);
    }
    const step = event.key === "ArrowDown" ? 1 : event.key === "ArrowUp" ? -1 : 0;
    if (!step) return;
    const links = [...this.list.querySelectorAll("a")];
    const focused = /** @type {ShadowRoot} */ (this.panel.getRootNode()).activeElement;
    const position = links.findIndex((link) => link === focused || link.parentElement?.contains(focused));
    const next = links[position < 0 ? (step > 0 ? 0 : links.length - 1) : position + step];
    if (!next) return;
    event.preventDefault();  // not the page's scroll
    next.focus();
  }
}

/** Called by the engage chunk whenever the reader's credential may have changed.
 * @param {any} widget @param {(texts: any, error: any) => string} failureMessage */
export const follow = (widget, failureMessage) => {
  if (!widget.notify) widget.notify = new NotificationCentre(widget, failureMessage);
  widget.notify.follow();
};
