// @ts-check
/* Composer: the forms a reader writes in. The comment form (with the name row), inline reply
   forms, editing one's own comment in place, and deleting it. */

class Composer {
  /** @param {Widget} widget */
  constructor(widget) {
    this.widget = widget;
    /** @type {HTMLElement|null} "Posting as NAME", on the comment form */
    this.postingAs = null;
    /** @type {HTMLElement[]} what the name row holds for a reader who is not signed in */
    this.fields = [];
    /** above the form: the log-in prompt of a site for signed-in readers only, or the offer
     * to show a reader's earlier comments under the name they signed in with */
    this.notice = element("div", "notice");
  }

  /** The comment form; with a parent it is an inline reply form.
   * @param {any} parent */
  form(parent) {
    const widget = this.widget, texts = widget.texts;
    const form = /** @type {HTMLFormElement} */ (element("form"));
    const idSuffix = randomHex().slice(0, 8);
    if (!parent) {
      form.append(this.nameRow(idSuffix));
      this.showName();
    }
    const label = /** @type {HTMLLabelElement} */ (element("label", "",
      parent ? texts.text("replyTo", 0, parent.name || texts.text("noName")) : texts.text("comment")));
    const area = /** @type {HTMLTextAreaElement} */ (element("textarea"));
    area.id = label.htmlFor = "c" + idSuffix;
    area.maxLength = 5000;
    area.required = true;
    let typedAt = 0;
    area.addEventListener("input", () => {
      if (Date.now() - typedAt > 2500) { typedAt = Date.now(); widget.live.send({ type: "typing" }); }
    });
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    const submit = /** @type {HTMLButtonElement} */ (element("button", "primary", texts.text("submit")));
    submit.type = "submit";
    // A honeypot: form-filling bots fill it in. Hidden from people and assistive tech by
    // the attribute itself, whether or not any style applies.
    const honeypot = /** @type {HTMLInputElement} */ (element("input", "honeypot"));
    honeypot.name = "website";
    honeypot.hidden = true;
    honeypot.tabIndex = -1;
    honeypot.autocomplete = "off";
    honeypot.setAttribute("aria-hidden", "true");
    form.append(label, area, honeypot, submit);
    if (parent) {
      const close = () => {
        form.remove();
        widget.thread.shown.get(parent.id)?.listItem.querySelector("button")?.focus();
      };
      form.append(button(texts.text("cancel"), close));
      form.addEventListener("keydown", (event) => {
        if (event.key === "Escape") { event.stopPropagation(); close(); }
      });
    }
    form.addEventListener("submit", (event) => { event.preventDefault(); this.post(form, area, submit, parent); });
    return form;
  }

  /** "Posting as NAME", and the field and button that set the name.
   * @param {string} idSuffix */
  nameRow(idSuffix) {
    const widget = this.widget, texts = widget.texts, saved = widget.saved;
    const row = this.row = element("div", "name-row");
    this.postingAs = element("span", "", "");
    const label = /** @type {HTMLLabelElement} */ (element("label", "", texts.text("name")));
    const input = /** @type {HTMLInputElement} */ (element("input"));
    input.id = label.htmlFor = "n" + idSuffix;
    input.maxLength = 50;
    input.setAttribute("autocomplete", "nickname");
    input.value = saved.name || "";
    const setName = () => { saved.name = input.value.trim(); saved.save(); this.showName(); };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); setName(); }
    });
    row.append(...(this.fields = [this.postingAs, label, input, button(texts.text("set"), setName)]));
    return row;
  }

  /** The name row, the log-in prompt and the offer to claim, as the reader's sign-in and
   * the site's policy (anonymous, sso-optional, sso-only) have them now. */
  refresh() {
    const widget = this.widget, texts = widget.texts, signOn = widget.signOn;
    const data = signOn.data, reader = data && data.identity, form = widget.form;
    const link = /^sso/.test(widget.policy) ? signOn.link() : "";
    form.hidden = !reader && widget.policy === "sso-only";
    /** @type {HTMLElement} */ (this.row).replaceChildren(...(reader ? [texts.text("as") + " ",
      avatar(reader.name, reader.avatar, reader.author_key), element("b", "", reader.name), verifiedCheck(texts)]
      : [...this.fields, link]));
    const claimable = reader && widget.saved.authorToken && data.claimable;
    this.notice.replaceChildren(...(form.hidden ? [texts.text("logInTo") + " ", link]
      : claimable ? [texts.text("claim", claimable) + " ", button(texts.text("attach", claimable), () => signOn.claim())]
      : []));
  }

  showName() {
    const texts = this.widget.texts;
    if (this.postingAs) {
      this.postingAs.replaceChildren(texts.text("as") + " ",
        element("b", "", this.widget.saved.name || texts.text("noName")));
    }
  }

  /** The Reply button: a reply form under the comment, or the one already open.
   * @param {any} comment @param {HTMLElement} article */
  openReply(comment, article) {
    const open = article.querySelector("form");
    if (open) return open.querySelector("textarea")?.focus();
    const form = this.form(comment);
    article.append(form);
    form.querySelector("textarea")?.focus();
  }

  /** @param {HTMLFormElement} form @param {HTMLTextAreaElement} area @param {HTMLButtonElement} submit @param {any} parent */
  async post(form, area, submit, parent) {
    const widget = this.widget, texts = widget.texts, saved = widget.saved;
    if (!area.value.trim()) return;
    submit.disabled = true;
    form.dataset.key = form.dataset.key || randomHex();  // same key on a retry: never two comments
    try {
      const data = await widget.api.request("/comments", {
        method: "POST", headers: { "Idempotency-Key": form.dataset.key },
        body: JSON.stringify({
          page: widget.page, url: widget.url, title: document.title.slice(0, 300),
          body: area.value, name: (!widget.api.session && saved.name) || null, parent: parent ? parent.id : null,
          form_token: widget.formToken,
          hp: /** @type {HTMLInputElement} */ (form.querySelector(".honeypot")).value,
        }),
      });
      if (data.author_token) {
        saved.authorToken = data.author_token;
        // Resubscribe with the token so news meant for this author (a rejection) arrives.
        widget.live.reconnect();
      }
      // Own comments are remembered (and saved with the token): marked as the reader's.
      saved.rememberOwn(data.comment.id);
      area.value = "";
      delete form.dataset.key;
      widget.say(texts.text("thanks") + (data.status === "pending" ? " " + texts.text("pending") : ""));
      widget.awaiting.clear();
      if (data.status === "pending") widget.awaiting.add(data.comment.id);
      widget.thread.add(data.comment, true);
      if (parent) form.remove();
    } catch (error) {
      // The text changed since the attempt that used this key: the next one is a new post.
      const code = /** @type {any} */ (error).code;
      if (code === "idempotency_key_reused") delete form.dataset.key;
      if (code === "sso_required") { widget.policy = "sso-only"; this.refresh(); }
      widget.say(failureMessage(texts, error), true);
    } finally {
      submit.disabled = false;
    }
  }

  /** Edit in place: the body becomes a text area with Save and Cancel.
   * @param {any} comment @param {HTMLElement} article */
  edit(comment, article) {
    const widget = this.widget, texts = widget.texts, thread = widget.thread;
    const body = /** @type {HTMLElement} */ (article.querySelector(".body"));
    const area = /** @type {HTMLTextAreaElement} */ (element("textarea"));
    area.value = comment.body;
    area.setAttribute("aria-label", texts.text("edit"));
    const save = button(texts.text("save"), async () => {
      save.disabled = true;
      try {
        const data = await widget.api.request(`/comments/${comment.id}`,
          { method: "PATCH", body: JSON.stringify({ body: area.value }) });
        thread.render(data.comment);
      } catch (error) { widget.say(failureMessage(texts, error), true); save.disabled = false; }
    }, "primary");
    const box = element("div");
    const cancel = () => { thread.render(comment); thread.shown.get(comment.id)?.listItem.querySelector("button")?.focus(); };
    box.append(area, save, button(texts.text("cancel"), cancel));
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.stopPropagation(); cancel(); }
    });
    body.replaceWith(box);
    /** @type {HTMLElement} */ (article.querySelector(".actions")).hidden = true;  // no Reply/Edit/Delete while editing
    area.focus();
  }

  /** @param {any} comment */
  async remove(comment) {
    const widget = this.widget;
    if (!confirm(widget.texts.text("confirmDel"))) return;
    try {
      const data = await widget.api.request(`/comments/${comment.id}`, { method: "DELETE" });
      widget.thread.drop(data.comment);
    } catch (error) { widget.say(failureMessage(widget.texts, error), true); }
  }
}
