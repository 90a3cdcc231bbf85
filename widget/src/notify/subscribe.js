// @ts-check
/* E-mail on replies: after a reader's post succeeds (published or held), and only where the
   server sends mail (the listing's config.mail), a small form under the status line offers
   to e-mail them when someone replies, and, if they tick it, about every new comment on the
   page. The server answers the same whatever the address's state, and so does this form:
   "check your inbox". The address stays in the field (in memory) for the next offer; it is
   never saved. Starting another comment takes the offer away. */

class MailOffer {
  /** @param {any} widget @param {(texts: any, error: any) => string} failureMessage */
  constructor(widget, failureMessage) {
    this.widget = widget;
    this.failureMessage = failureMessage;
    const texts = widget.texts, suffix = ++notifyIds;
    addNotifyTexts(texts);
    addNotifyStyles(/** @type {ShadowRoot} */ (widget.section.getRootNode()));
    /** @type {number} the comment whose replies are asked for */
    this.commentId = 0;
    const form = this.form = /** @type {HTMLFormElement} */ (create("form", "mail-offer"));
    const heading = create("p", "", texts.text("mailOffer"));
    heading.id = "threadline-mail-" + suffix;
    form.setAttribute("aria-labelledby", heading.id);
    const label = /** @type {HTMLLabelElement} */ (create("label", "", texts.text("mailAddress")));
    const input = this.input = /** @type {HTMLInputElement} */ (create("input"));
    input.type = "email";
    input.required = true;
    input.maxLength = 254;
    input.autocomplete = "email";
    input.id = label.htmlFor = heading.id + "-address";
    const everything = this.everything = /** @type {HTMLInputElement} */ (create("input"));
    everything.type = "checkbox";
    const checkLabel = create("label", "mail-thread");
    checkLabel.append(everything, " " + texts.text("mailThread"));
    this.submit = /** @type {HTMLButtonElement} */ (create("button", "primary", texts.text("mailSend")));
    this.fields = create("div");
    this.fields.append(label, input, checkLabel, this.submit);
    // Two live regions, there before anything is said in them: the outcome, and a problem.
    this.done = create("p", "status");
    this.done.setAttribute("role", "status");
    this.problem = create("p", "status error");
    this.problem.setAttribute("role", "alert");
    this.closeButton = pressButton(texts.text("mailClose"), () => this.close(true), "link");
    form.append(heading, this.fields, this.done, this.problem, this.closeButton);
    form.hidden = true;
    form.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
    form.addEventListener("keydown", (event) => {
      if (/** @type {KeyboardEvent} */ (event).key === "Escape") { event.stopPropagation(); this.close(true); }
    });
    widget.status.after(form);
    // Typing another comment (the comment form or a reply form) ends the offer.
    widget.section.addEventListener("input", (/** @type {Event} */ event) => {
      if (/** @type {HTMLElement} */ (event.target).tagName === "TEXTAREA") this.close(false);
    });
  }

  /** Offer mail about the reader's comment just posted. @param {number} commentId */
  show(commentId) {
    this.commentId = commentId;
    this.fields.hidden = false;
    this.done.textContent = this.problem.textContent = "";
    this.everything.checked = false;
    this.form.hidden = false;
  }

  async send() {
    const widget = this.widget, texts = widget.texts, commentId = this.commentId;
    /** @param {string} scope */
    const ask = (scope) => widget.api.request(`/comments/${commentId}/subscribe`, {
      method: "POST", body: JSON.stringify({ email: this.input.value.trim(), scope, lang: texts.language }),
    });
    this.submit.disabled = true;
    this.problem.textContent = "";
    try {
      await ask("replies");
      if (this.everything.checked) await ask("thread");
      if (commentId !== this.commentId || this.form.hidden) return;  // closed or offered anew meanwhile
      this.fields.hidden = true;
      this.done.textContent = texts.text("mailCheck");
      this.closeButton.focus();  // the button pressed is gone: the keyboard stays in the form
    } catch (error) {
      const code = /** @type {any} */ (error).code;
      this.problem.textContent = code === "invalid_email" ? texts.text("mailBad") : this.failureMessage(texts, error);
    } finally {
      this.submit.disabled = false;
    }
  }

  /** @param {boolean} refocus whether the keyboard goes back to the comment form */
  close(refocus) {
    if (this.form.hidden) return;
    this.form.hidden = true;
    if (refocus) this.widget.form.querySelector("textarea")?.focus();
  }
}

/** Called by the engage chunk after each of the reader's posts, where the server sends mail.
 * @param {any} widget @param {number} commentId @param {(texts: any, error: any) => string} failureMessage */
export const offer = (widget, commentId, failureMessage) => {
  if (!widget.mailOffer) widget.mailOffer = new MailOffer(widget, failureMessage);
  widget.mailOffer.show(commentId);
};
