// @ts-check
/* Thread view: the comments, their replies, "Load More" and "N new comments", the count,
   presence and typing lines. Comments are rendered from the API's objects; a comment
   already shown is updated in place. */

const LINK_PATTERN = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/** Body text with http(s) links as real anchors, built with DOM APIs only.
 * @param {HTMLElement} paragraph @param {string} text */
const fillBody = (paragraph, text) => {
  paragraph.textContent = "";
  let done = 0;
  for (const found of text.matchAll(LINK_PATTERN)) {
    let url;
    try { url = new URL(found[0]); } catch { continue; }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    paragraph.append(text.slice(done, found.index));
    const link = /** @type {HTMLAnchorElement} */ (element("a", "", found[0]));
    link.href = url.href;
    link.rel = "nofollow ugc noopener noreferrer";
    link.target = "_blank";
    paragraph.append(link);
    done = /** @type {number} */ (found.index) + found[0].length;
  }
  paragraph.append(text.slice(done));
};

/** @typedef {{comment: any, listItem: HTMLElement, replies?: HTMLElement,
 *   moreReplies?: HTMLButtonElement, cursor?: string|null, flagUndo?: string}} ShownComment */

class ThreadView {
  /** @param {Widget} widget */
  constructor(widget) {
    const texts = widget.texts;
    this.widget = widget;
    /** @type {Map<number, ShownComment>} */
    this.shown = new Map();
    /** one more each time the list is cleared: answers asked for before then are dropped */
    this.generation = 0;
    /** @type {any[]} top-level comments that arrived while the reader was further down */
    this.waiting = [];
    this.countHeading = element("h2", "", texts.text("loading"));
    this.activeLabel = element("span", "active");
    this.activeLabel.hidden = true;
    this.typingLine = element("div", "typing");
    this.typingLine.setAttribute("aria-live", "polite");
    this.newComments = button("", () => this.showWaiting(), "new-comments");
    this.newComments.hidden = true;
    this.list = element("ol", "list");
    this.emptyNote = element("p", "muted", texts.text("empty"));
    this.emptyNote.hidden = true;
    this.moreButton = button(texts.text("more"), () => widget.loadThread(), "load-more");
    this.moreButton.hidden = true;
    setInterval(() => this.refreshTimes(), 30000);
    // The exact date on hover, formatted only then: Intl formatters are slow to create.
    this.list.addEventListener("pointerover", (event) => {
      const time = /** @type {HTMLTimeElement} */ (event.target);
      if (time.tagName === "TIME" && !time.title) time.title = new Date(time.dateTime).toLocaleString(texts.language);
    });
  }

  /** @param {number} count */
  setCount(count) { this.countHeading.textContent = this.widget.texts.text("count", count); }

  /** @param {number} count */
  showPresence(count) {
    this.activeLabel.textContent = this.widget.texts.text("active", count);
    this.activeLabel.hidden = false;
  }

  showTyping() {
    this.typingLine.textContent = this.widget.texts.text("typing");
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.clearTyping(), 5000);
  }

  clearTyping() { this.typingLine.textContent = ""; }

  /** One comment's element (and its replies); updates in place when already shown.
   * @param {any} comment @param {any[]=} replies @param {string|null=} cursor */
  render(comment, replies, cursor) {
    const widget = this.widget, texts = widget.texts;
    const known = this.shown.get(comment.id);
    const listItem = known ? known.listItem : element("li", "comment");
    const shown = known || { comment, listItem };
    shown.comment = comment;
    this.shown.set(comment.id, shown);
    const article = element("article");
    const head = element("div", "comment-head");
    const deleted = comment.status === "deleted";
    if (!deleted) {
      const name = comment.name || texts.text("noName");
      head.append(avatar(name, comment.verified && comment.avatar, comment.author_key || comment.name || "No Name"),
        element("span", "author", name));
      if (comment.verified) head.append(verifiedCheck(texts));
      if (comment.moderator) head.append(element("span", "moderator", texts.text("moderator")));
      if (widget.saved.ownComments[comment.id]) head.append(element("span", "yours", texts.text("you")));
    }
    const time = /** @type {HTMLTimeElement} */ (element("time", "", texts.ago(comment.created_at)));
    time.dateTime = comment.created_at;
    head.append(time);
    if (comment.edited_at && !deleted) head.append(element("span", "muted", texts.text("edited")));
    // A reply to a reply says whom it answers, linked: replies nest one level only.
    const answered = comment.reply_to !== comment.parent && !deleted && this.shown.get(comment.reply_to);
    if (answered) {
      const link = /** @type {HTMLAnchorElement} */ (element("a", "reply-to",
        answered.comment.status === "deleted" ? texts.text("toGone")
          : texts.text("inReplyTo", 0, answered.comment.name || texts.text("noName"))));
      link.href = "#c" + comment.reply_to;
      link.addEventListener("click", (event) => {
        event.preventDefault();  // the host page's URL is not ours to change
        const target = /** @type {HTMLElement} */ (answered.listItem.firstChild);
        target.tabIndex = -1;
        target.focus({ preventScroll: true });
        target.scrollIntoView({ block: "nearest", behavior: "smooth" });
      });
      head.append(link);
    }
    const body = element("p", deleted ? "body deleted" : "body");
    if (deleted) body.textContent = texts.text("deleted"); else fillBody(body, comment.body);
    article.append(head, body);
    if (comment.status === "pending") article.append(element("p", "pending", texts.text("pending")));
    else if (!deleted) article.append(this.actions(comment, article));
    listItem.replaceChildren(article);
    if (widget.engage) widget.engage.decorate(comment, article);
    if (!comment.parent) {
      shown.replies = shown.replies || element("ol", "replies");
      shown.moreReplies = shown.moreReplies
        || button(texts.text("moreReplies"), () => this.moreReplies(comment.id), "load-more");
      listItem.append(shown.replies, shown.moreReplies);
      for (const reply of replies || []) shown.replies.append(this.render(reply));
      if (cursor !== undefined) shown.cursor = cursor;
      shown.moreReplies.hidden = !shown.cursor;
    }
    return listItem;
  }

  /** Reply for everyone; Edit and Delete for the author, within the edit window; Flag for
   * everyone else. @param {any} comment @param {HTMLElement} article */
  actions(comment, article) {
    const widget = this.widget, texts = widget.texts, composer = widget.composer;
    const box = element("div", "actions");
    box.append(button(texts.text("reply"), () => composer.openReply(comment, article), "link"));
    const postedAt = widget.saved.ownComments[comment.id];
    if (postedAt && Date.now() - postedAt < widget.editWindowSeconds * 1000) {
      box.append(button(texts.text("edit"), () => composer.edit(comment, article), "link"),
        button(texts.text("del"), () => composer.remove(comment), "link"));
    } else if (!postedAt) {
      box.append(...this.flagControls(comment));
    }
    return box;
  }

  /** Flag asks first; once flagged it reads "Flagged" and offers Undo (its token kept on the
   * shown comment, so a re-render keeps it). @param {any} comment */
  flagControls(comment) {
    const widget = this.widget, texts = widget.texts;
    const shown = /** @type {ShownComment} */ (this.shown.get(comment.id));
    const note = element("span", "muted", texts.text("flagged"));
    const show = () => {
      note.hidden = !shown.flagUndo;
      flag.textContent = texts.text(shown.flagUndo ? "undo" : "flag");
    };
    const flag = button("", async () => {
      if (!shown.flagUndo && !confirm(texts.text("confirmFlag"))) return;
      flag.disabled = true;
      try {
        const undo = shown.flagUndo;
        shown.flagUndo = (await widget.api.request(`/comments/${comment.id}/flag`
          + (undo ? "?undo=" + encodeURIComponent(undo) : ""), { method: undo ? "DELETE" : "POST" })).undo;
        show();
      } catch (error) { widget.say(failureMessage(texts, error), true); }
      flag.disabled = false;
    }, "link");
    show();
    return [note, flag];
  }

  /** Place a comment that arrived (posted here, or live). @param {any} comment @param {boolean=} own */
  add(comment, own) {
    if (this.shown.has(comment.id)) return this.render(comment);
    this.emptyNote.hidden = true;
    if (comment.parent) {
      const parent = this.shown.get(comment.parent);
      if (!parent || !parent.replies) return;
      if (parent.cursor && !own) return;  // not all replies shown: "Load More Replies" will bring it
      parent.replies.append(this.render(comment));
      return;
    }
    const top = this.list.getBoundingClientRect().top, order = this.widget.query.order;
    // The reader is further down, or the list is ranked: do not move what they are reading.
    if (!own && (top < 0 || order === "best")) {
      this.waiting.push(comment);
      this.newComments.textContent = this.widget.texts.text("new", this.waiting.length);
      this.newComments.hidden = false;
      return;
    }
    this.list[order === "oldest" ? "append" : "prepend"](this.render(comment));
  }

  showWaiting() {
    for (const comment of this.waiting.splice(0)) {
      if (!this.shown.has(comment.id)) this.list.prepend(this.render(comment));
    }
    this.newComments.hidden = true;
    this.list.scrollIntoView();  // to what they asked to see
  }

  /** A deleted comment: gone, or a tombstone while it still has replies. @param {any} comment */
  drop(comment) {
    const shown = this.shown.get(comment.id);
    if (!shown) return;
    if (shown.replies && shown.replies.children.length) this.render(comment);
    else { shown.listItem.remove(); this.shown.delete(comment.id); }
    this.emptyNote.hidden = this.shown.size > 0;
  }

  /** The reader's own comment, turned down by a moderator. @param {any} comment */
  reject(comment) {
    const shown = this.shown.get(comment.id);
    if (!shown) return;
    shown.listItem.remove();
    this.shown.delete(comment.id);
    this.widget.say(this.widget.texts.text("rejected"));
  }

  clear() {
    this.generation++;
    this.list.replaceChildren();
    this.shown.clear();
  }

  /** @param {number} commentId */
  async moreReplies(commentId) {
    const shown = this.shown.get(commentId);
    if (!shown || !shown.cursor || !shown.moreReplies) return;
    shown.moreReplies.setAttribute("disabled", "");
    const generation = this.generation;
    try {
      const data = await this.widget.api.request(`/comments/${commentId}/replies?cursor=${encodeURIComponent(shown.cursor)}`);
      if (generation !== this.generation) return;  // the thread was reloaded meanwhile
      for (const reply of data.replies) if (!this.shown.has(reply.id)) shown.replies?.append(this.render(reply));
      shown.cursor = data.cursor;
      shown.moreReplies.hidden = !data.has_more;
    } catch (error) { log("could not load replies: " + /** @type {Error} */ (error).message); }
    shown.moreReplies.removeAttribute("disabled");
  }

  refreshTimes() {
    for (const time of this.list.querySelectorAll("time")) {
      time.textContent = this.widget.texts.ago(/** @type {HTMLTimeElement} */ (time).dateTime);
    }
  }
}
