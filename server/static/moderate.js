// @ts-check
// The moderation pages' progressive enhancement. They work without this script; with it,
// times show in the moderator's own time zone, queue actions do not reload the page, the
// queue follows every other moderator live, and the keyboard works it (j/k, a, r, s, x, ?).
// Text from readers only ever goes through textContent.
(() => {
  "use strict";
  const csrf = /** @type {HTMLMetaElement} */ (document.querySelector("meta[name=csrf-token]")).content;
  const list = /** @type {HTMLElement|null} */ (document.getElementById("queue"));
  const empty = document.getElementById("empty");
  /** The page's catalogue (server-rendered JSON, not script): message id -> text.
   * @type {Record<string, string|Record<string, string>>} */
  const T = JSON.parse(document.getElementById("tl-messages")?.textContent || "{}");
  const rules = new Intl.PluralRules(document.documentElement.lang || "en");
  /** @param {string} id @param {Record<string, string|number>=} values @param {string=} plural */
  const _ = (id, values = {}, plural) => {
    let v = T[id] || (plural && values.n !== 1 ? plural : id);
    if (typeof v !== "string") v = v[rules.select(Number(values.n))] || v.other;
    return v.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  };
  /** @type {Intl.DateTimeFormat|null} */
  let stamp = null;
  try {
    stamp = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: "medium", timeStyle: "short" });
  } catch { stamp = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }); }
  /** The server writes times in UTC (all it knows); show them in the browser's time zone,
   * keeping the UTC text as a tooltip. @param {ParentNode} root */
  const localTimes = (root) => {
    for (const t of root.querySelectorAll("time[datetime]:not([data-local])")) {
      const d = new Date(t.getAttribute("datetime") || "");
      if (Number.isNaN(d.getTime()) || !stamp) continue;
      /** @type {HTMLElement} */ (t).title = t.textContent || "";
      t.textContent = stamp.format(d);
      t.setAttribute("data-local", "");
    }
  };
  localTimes(document);

  /** @param {string} tag @param {string=} cls @param {string=} text */
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  /** @param {HTMLElement} parent @param {string} name @param {string} value */
  const hidden = (parent, name, value) => {
    const i = /** @type {HTMLInputElement} */ (el("input"));
    i.type = "hidden"; i.name = name; i.value = value;
    parent.append(i);
    return i;
  };

  const live = document.createElement("p");
  live.className = "flash ok";
  live.setAttribute("role", "status");
  live.hidden = true;
  document.querySelector("main")?.prepend(live);

  /** @param {string} text @param {boolean=} bad */
  const say = (text, bad) => {
    live.textContent = text;
    live.className = "flash " + (bad ? "error" : "ok");
    live.hidden = false;
  };
  const syncEmpty = () => { if (empty && list) empty.hidden = list.children.length > 0; };

  // The select-all box (rendered hidden: it needs this script) follows the item boxes.
  const all = /** @type {HTMLInputElement|null} */ (document.getElementById("select-all"));
  const boxes = () => /** @type {HTMLInputElement[]} */ ([...(list?.querySelectorAll("input[name=ids]") || [])]);
  const syncAll = () => {
    if (!all) return;
    const n = boxes().filter((b) => b.checked).length;
    all.checked = n > 0 && n === boxes().length;
    all.indeterminate = n > 0 && n < boxes().length;
  };
  if (all && list) {
    /** @type {HTMLElement} */ (all.closest("[hidden]") || all).hidden = false;
    all.addEventListener("change", () => { for (const b of boxes()) b.checked = all.checked; syncAll(); });
    list.addEventListener("change", syncAll);
  }

  /** The item the keyboard works on (j/k; also the one last clicked or focused).
   * @type {HTMLElement|null} */
  let cursor = null;
  /** @param {Element|null|undefined} li @param {boolean=} focus */
  const point = (li, focus) => {
    cursor?.classList.remove("current");
    cursor = /** @type {HTMLElement|null} */ (li || null);
    if (!cursor) return;
    cursor.classList.add("current");
    if (focus) {
      cursor.tabIndex = -1;
      cursor.focus({ preventScroll: true });
      cursor.scrollIntoView({ block: "nearest" });
    }
  };
  /** Take an item out of the list; the cursor moves on to the next one (and focus with it,
   * if it was there). @param {Element|null|undefined} li */
  const drop = (li) => {
    if (!li) return;
    if (li === cursor) point(li.nextElementSibling || li.previousElementSibling, li.contains(document.activeElement));
    li.remove();
    syncAll();
  };

  // A form's own properties can be shadowed by its fields: the bulk form's buttons are
  // named "action", so form.action is a RadioNodeList there. Read attributes instead.
  /** @param {HTMLFormElement} form @param {string} name */
  const attr = (form, name) => Element.prototype.getAttribute.call(form, name) || "";

  /** Post a form with fetch; the server answers JSON when asked for it.
   * @param {HTMLFormElement} form @param {HTMLElement=} submitter */
  const send = async (form, submitter) => {
    const data = new FormData(form, submitter);
    const r = await fetch(new URL(attr(form, "action") || location.href, location.href), {
      method: "POST", body: new URLSearchParams(/** @type {any} */ (data)),
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    });
    return { ok: r.ok, status: r.status, body: await r.json().catch(() => ({})) };
  };

  const restoreDays = Number(document.body.dataset.restoreDays || 30);
  /** Delete asks first, in place; the confirmed post carries confirm=1 (without this
   * script the server asks on a page of its own).
   * @param {HTMLFormElement} form @param {HTMLElement} submitter @param {number} n */
  const askToDelete = (form, submitter, n) => {
    document.querySelector(".confirm")?.remove();
    const box = el("div", "confirm");
    box.setAttribute("role", "alertdialog");
    const question = el("strong", "", _("Delete {n} comment?", { n }, "Delete {n} comments?"));
    question.id = "confirm-question";
    box.setAttribute("aria-labelledby", question.id);
    const yes = /** @type {HTMLButtonElement} */ (el("button", "primary", _("Delete")));
    const no = /** @type {HTMLButtonElement} */ (el("button", "", _("Cancel")));
    yes.type = no.type = "button";
    box.append(question, " ", el("span", "muted", _("Readers stop seeing it at once. For {days} days a moderator can restore it from the Deleted tab; then its text is erased for good.", { days: restoreDays })), " ", yes, " ", no);
    yes.addEventListener("click", () => {
      box.remove();
      const flag = hidden(form, "confirm", "1");
      form.requestSubmit(/** @type {HTMLButtonElement} */ (submitter));  // read at once
      flag.remove();
    });
    no.addEventListener("click", () => { box.remove(); submitter.focus(); });
    box.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.stopPropagation(); no.click(); } });
    form.after(box);
    yes.focus();
  };
  const selected = () => [...document.querySelectorAll("input[name=ids][form=bulk]:checked")];

  document.addEventListener("submit", async (e) => {
    const form = /** @type {HTMLFormElement} */ (e.target);
    // Queue actions only: settings and account forms reload their page as they are.
    if (attr(form, "method").toLowerCase() !== "post") return;
    const bulk = attr(form, "id") === "bulk";
    if (!form.closest("#queue, [data-single]") && !bulk) return;
    e.preventDefault();
    const submitter = /** @type {HTMLElement} */ (/** @type {SubmitEvent} */ (e).submitter);
    if (bulk && !selected().length) { say(_("Select comments first."), true); return; }
    const deleting = bulk ? submitter?.getAttribute("value") === "delete" : attr(form, "action").endsWith("/delete");
    if (deleting && !form.querySelector("input[name=confirm]")) {
      askToDelete(form, submitter, bulk ? selected().length : 1);
      return;
    }
    const item = form.closest("li.item");
    const res = await send(form, submitter);
    if (res.ok) {
      // A comment's own page shows its new state and history: load it again.
      if (form.closest("[data-single]")) { location.reload(); return; }
      if (form.classList.contains("act") && item) drop(item);
      if (form.classList.contains("pin")) {
        // Pinned or unpinned: the same form now offers the other one.
        const pinned = !!res.body.pinned;
        form.setAttribute("action", `/moderate/comments/${res.body.id}/${pinned ? "unpin" : "pin"}`);
        /** @type {HTMLElement} */ (form.querySelector("button")).textContent = pinned ? _("Unpin") : _("Pin");
        item?.querySelector(".badge.pinned")?.remove();
        if (pinned) item?.querySelector(".meta .status")?.after(" ", el("span", "badge pinned", _("Pinned")));
        say(pinned ? _("Comment {id} pinned.", { id: res.body.id }) : _("Comment {id} unpinned.", { id: res.body.id }));
      } else if (attr(form, "id") === "bulk") {
        for (const id of res.body.decided || []) drop(document.getElementById("item-" + id));
        say(_("Done: {done}; refused: {refused}.", { done: (res.body.decided || []).length, refused: (res.body.refused || []).length }));
      } else if (!form.classList.contains("act")) {
        say(_("Saved."));
        if (form.querySelector("textarea[name=body]") && !attr(form, "action").endsWith("/edit")) HTMLFormElement.prototype.reset.call(form);
      }
      syncEmpty();
    } else {
      const err = res.body.error || {};
      say(err.message || _("That did not work."), true);
      // Handled by someone else: gone from this tab. Edited meanwhile: it stays, and the
      // live update already shows the new text to review.
      if (res.status === 409 && err.code !== "comment_changed" && item && form.classList.contains("act")) drop(item);
      syncEmpty();
    }
  });

  if (!list) return;
  const tab = list.dataset.tab || "pending";
  const search = (list.dataset.search || "").toLowerCase();
  /** @type {Record<string, string>} */
  const LABELS = { approve: _("Approve"), reject: _("Reject"), spam: _("Spam"), delete: _("Delete"), restore: _("Restore") };


  /** An item as item.html renders it (the main actions; reload for reply/edit/ban). */
  const render = (/** @type {any} */ it) => {
    const li = el("li", "item");
    li.id = "item-" + it.id;
    li.dataset.id = String(it.id);
    li.dataset.status = it.status;
    li.dataset.site = it.site;
    li.dataset.stamp = it.stamp;
    const meta = el("div", "meta");
    const box = /** @type {HTMLInputElement} */ (el("input"));
    box.type = "checkbox"; box.name = "ids"; box.value = String(it.id);
    box.setAttribute("form", "bulk");
    box.setAttribute("aria-label", _("Select comment {id}", { id: it.id }));
    meta.append(box);
    hidden(meta, "s" + it.id, it.status).setAttribute("form", "bulk");
    hidden(meta, "v" + it.id, it.version).setAttribute("form", "bulk");
    const ref = /** @type {HTMLAnchorElement} */ (el("a", "muted ref", "#" + it.id));
    ref.href = "/moderate/comments/" + it.id;
    ref.title = _("History of comment {id}", { id: it.id });
    meta.append(ref);
    meta.append(el("strong", "author", it.name || _("No Name")));
    if (it.moderator) meta.append(el("span", "badge", _("Moderator")));
    if (it.verified) {
      const mark = el("span", "badge verified", _("verified"));
      mark.title = _("Signed in through the site (single sign-on)");
      meta.append(" ", mark);
      // Live items carry no site user id (the change is rendered without reading it).
      if (it.subject) meta.append(" ", el("span", "muted subject", _("user id {subject}", { subject: it.subject })));
      if (it.avatar_host) meta.append(" ", el("span", "muted avatar-host", _("avatar from {host}", { host: it.avatar_host })));
    }
    meta.append(" ", el("span", "muted", _("on")), " ");
    if (it.page.url) {
      const a = /** @type {HTMLAnchorElement} */ (el("a", "page", it.page.title || it.page.key));
      if (/^https?:/.test(it.page.url)) a.href = it.page.url;
      a.rel = "noopener noreferrer"; a.target = "_blank";
      meta.append(a);
    } else meta.append(el("span", "page", it.page.title || it.page.key));
    meta.append(" ", el("span", "muted", `(${it.site})`), " ");
    const t = /** @type {HTMLTimeElement} */ (el("time", "", it.created_at.replace("T", " ").slice(0, 16) + " UTC"));
    t.dateTime = it.created_at;
    meta.append(t, " ", el("span", "status", _(it.status)));
    if (it.pinned) meta.append(" ", el("span", "badge pinned", _("Pinned")));
    meta.append(el("span", "reviewing"));
    /** @type {HTMLElement} */ (meta.lastChild).hidden = true;
    li.append(meta);
    if (it.parent) {
      const p = el("p", "parent", _("In reply to") + " ");
      p.append(el("strong", "", it.parent.name || _("No Name")), ": " + it.parent.body);
      li.append(p);
    }
    li.append(el("p", "body", it.body));
    if (it.held_reason) {
      li.append(el("p", "why", _("Held:") + " " + it.held_reason + (it.flags ? " · " + _("flagged by {n} reader", { n: it.flags }, "flagged by {n} readers") : "")));
    } else if (it.flags) {
      li.append(el("p", "why", _("Flagged by {n} reader", { n: it.flags }, "Flagged by {n} readers")));
    }
    if (it.reactions) li.append(el("p", "reactions muted", _("Reactions:") + " " + it.reactions));
    if (it.restorable_until) {
      const p = el("p", "why", _("Deleted; can be restored until") + " ");
      const until = /** @type {HTMLTimeElement} */ (el("time", "", it.restorable_until.replace("T", " ").slice(0, 16) + " UTC"));
      until.dateTime = it.restorable_until;
      p.append(until);
      li.append(p);
    }
    const acts = el("div", "actions");
    for (const action of it.actions) {
      const f = /** @type {HTMLFormElement} */ (el("form", "inline act"));
      f.setAttribute("method", "post");
      f.setAttribute("action", `/moderate/comments/${it.id}/${action}`);
      hidden(f, "csrf", csrf);
      hidden(f, "expected", it.status);
      hidden(f, "version", it.version);
      const b = el("button", action === "approve" ? "primary" : "",
        action === "approve" && it.status === "approved" ? _("Dismiss flags") : LABELS[action] || action);
      f.append(b);
      acts.append(f);
    }
    if (it.pinnable) {
      const f = /** @type {HTMLFormElement} */ (el("form", "inline pin"));
      f.setAttribute("method", "post");
      f.setAttribute("action", `/moderate/comments/${it.id}/${it.pinned ? "unpin" : "pin"}`);
      hidden(f, "csrf", csrf);
      f.append(el("button", "", it.pinned ? _("Unpin") : _("Pin")));
      acts.append(f);
    }
    const more = /** @type {HTMLAnchorElement} */ (el("a", "muted", _("Reply, edit or ban")));
    more.href = location.href;
    acts.append(more);
    li.append(acts);
    localTimes(li);
    return li;
  };

  const matches = (/** @type {any} */ it) => !search ||
    [it.body, it.name || "", it.page.key, it.page.title || ""].some((s) => s.toLowerCase().includes(search));

  /** An item shown again as it is now. @param {HTMLElement} shown @param {any} it */
  const replace = (shown, it) => {
    const fresh = render(it);
    // Its text changed under the moderator's eyes: mark it, so nobody approves it unread.
    if (shown.querySelector(".body")?.textContent !== it.body) fresh.classList.add("changed");
    const box = /** @type {HTMLInputElement|null} */ (shown.querySelector("input[name=ids]"));
    /** @type {HTMLInputElement} */ (fresh.querySelector("input[name=ids]")).checked = !!box?.checked;
    const focused = shown.contains(document.activeElement);
    shown.replaceWith(fresh);
    if (shown === cursor) point(fresh, focused);
    return fresh;
  };

  /** @param {Record<string, number>} counts */
  const showCounts = (counts) => {
    for (const [name, n] of Object.entries(counts)) {
      const c = document.querySelector(`[data-count="${name}"]`);
      if (c) c.textContent = String(n);
    }
  };

  // Since this socket opened: items a change frame already showed, and whether counts came.
  // The hello is read while such frames flow, so theirs are as new as its or newer.
  /** @type {Set<string>} */
  let changed = new Set();
  let counted = false;

  /** @param {any} f */
  const onFrame = (f) => {
    if (f.type === "queue.changed") {
      const it = f.data.item;
      changed.add("item-" + it.id);
      const shown = document.getElementById("item-" + it.id);
      const belongs = f.data.tabs.includes(tab) && matches(it) && (!list.dataset.site || list.dataset.site === it.site);
      if (shown && !belongs) {
        drop(shown);
        if (f.data.by) say(_("Comment {id} was handled by {by}: {status}.", { id: it.id, by: f.data.by, status: _(it.status) }));
      } else if (!shown && belongs) {
        const li = render(it);
        if (list.dataset.order === "oldest") list.append(li); else list.prepend(li);
        syncAll();
      } else if (shown && belongs) {
        replace(shown, it);
      }
      syncEmpty();
    } else if (f.type === "counts") {
      counted = true;
      showCounts(f.data);
    } else if (f.type === "hello") {
      // The socket is subscribed: the tab as it is now covers what changed before it was
      // (since the page's render, or while a dropped socket reconnected).
      if (!counted) showCounts(f.data.counts);
      const ids = new Set();
      /** @type {Element|null} */
      let before = null;
      for (const it of f.data.items) {
        ids.add("item-" + it.id);
        let li = document.getElementById("item-" + it.id);
        if (changed.has("item-" + it.id)) {
          // A change frame showed it already, as new as this or newer.
        } else if (!li) {
          li = render(it);
          if (before) before.after(li); else list.prepend(li);
        } else if (li.dataset.stamp !== it.stamp) {
          li = replace(li, it);
        }
        if (li) before = li;
      }
      // Only a last page holds everything after its start: what it lacks has left the tab.
      if (!f.data.has_next) for (const li of [...list.querySelectorAll(":scope > li.item")]) if (!ids.has(li.id) && !changed.has(li.id)) drop(li);
      syncAll();
      syncEmpty();
    } else if (f.type === "reviewing") {
      for (const old of document.querySelectorAll(`.reviewing[data-conn="${f.data.conn}"]`)) {
        /** @type {HTMLElement} */ (old).hidden = true;
        old.removeAttribute("data-conn");
      }
      const note = /** @type {HTMLElement|null} */ (document.querySelector(`#item-${f.data.id} .reviewing`));
      if (f.data.id && note) {
        note.textContent = " " + _("{by} is reviewing", { by: f.data.by });
        note.dataset.conn = f.data.conn;
        note.hidden = false;
      }
    }
  };

  let tries = 0;
  /** @type {WebSocket|null} */
  let ws = null;
  const connect = () => {
    // The page's own query (site, tab, search, page): the socket's first frame is that view.
    ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/moderate/ws${location.search}`);
    changed = new Set();
    counted = false;
    ws.onopen = () => { tries = 0; };
    ws.onmessage = (m) => { try { onFrame(JSON.parse(m.data)); } catch (err) { console.warn("[threadline] " + err); } };
    ws.onclose = () => { ws = null; setTimeout(connect, Math.random() * Math.min(30000, 500 * 2 ** tries++)); };
  };
  connect();

  let current = 0;
  /** @param {number} id */
  const reviewing = (id) => {
    if (id === current || !ws || ws.readyState !== 1) return;
    current = id;
    ws.send(JSON.stringify({ type: "reviewing", id: id || null }));
  };
  list.addEventListener("focusin", (e) => {
    const li = /** @type {HTMLElement} */ (e.target).closest("li.item");
    if (li && li !== cursor) point(li);
    reviewing(Number(li?.getAttribute("data-id") || 0));
  });
  list.addEventListener("pointerover", (e) => reviewing(Number(/** @type {HTMLElement} */ (e.target).closest("li.item")?.getAttribute("data-id") || 0)));
  list.addEventListener("pointerleave", () => reviewing(0));

  // Keyboard shortcuts, listed by "?" (and the button under the bulk bar).
  /** @type {[string, string][]} */
  const SHORTCUTS = [["j", _("Next comment")], ["k", _("Previous comment")], ["a", _("Approve")],
    ["r", _("Reject")], ["s", _("Spam")], ["x", _("Select or unselect")],
    ["?", _("Show or hide this help")], ["Esc", _("Close")]];
  /** @type {Record<string, string>} */
  const DECIDE = { a: "approve", r: "reject", s: "spam" };
  /** @type {HTMLElement|null} */
  let help = null;
  /** @type {HTMLElement|null} */
  let before = null;
  const closeHelp = () => {
    if (!help || help.hidden) return;
    help.hidden = true;
    before?.focus();
  };
  const openHelp = () => {
    if (!help) {
      help = el("div", "help");
      help.setAttribute("role", "dialog");
      help.setAttribute("aria-modal", "true");
      const box = el("div", "help-box");
      const title = el("h2", "", _("Keyboard shortcuts"));
      title.id = "help-title";
      help.setAttribute("aria-labelledby", title.id);
      const keys = el("dl");
      for (const [key, what] of SHORTCUTS) {
        const dt = el("dt");
        dt.append(el("kbd", "", key));
        keys.append(dt, el("dd", "", what));
      }
      const close = /** @type {HTMLButtonElement} */ (el("button", "", _("Close")));
      close.type = "button";
      close.addEventListener("click", closeHelp);
      box.append(title, keys, close);
      help.append(box);
      help.addEventListener("click", (e) => { if (e.target === help) closeHelp(); });
      help.addEventListener("keydown", (e) => { if (e.key === "Tab") { e.preventDefault(); close.focus(); } });
      document.body.append(help);
    }
    before = /** @type {HTMLElement|null} */ (document.activeElement);
    help.hidden = false;
    /** @type {HTMLElement} */ (help.querySelector("button")).focus();
  };
  const hint = /** @type {HTMLButtonElement} */ (el("button", "keys", _("Keyboard shortcuts") + " (?)"));
  hint.type = "button";
  hint.addEventListener("click", openHelp);
  (document.getElementById("bulk") || list).after(hint);

  /** Typing in a field is not a shortcut. @param {EventTarget|null} t */
  const typing = (t) => t instanceof HTMLElement && (t.isContentEditable ||
    t.matches("textarea, select, input:not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button])"));
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typing(e.target)) return;
    if (help && !help.hidden) {
      if (e.key === "Escape" || e.key === "?") { e.preventDefault(); closeHelp(); }
      return;
    }
    const items = /** @type {HTMLElement[]} */ ([...list.querySelectorAll(":scope > li.item")]);
    if (e.key === "j" || e.key === "k") {
      e.preventDefault();
      const at = cursor ? items.indexOf(cursor) : -1;
      point(e.key === "j" ? items[Math.min(at + 1, items.length - 1)]
        : items[at < 0 ? 0 : Math.max(at - 1, 0)], true);
    } else if (e.key in DECIDE) {
      e.preventDefault();
      if (!cursor) { say(_("Choose a comment first: j and k move between them."), true); return; }
      const form = /** @type {HTMLFormElement|null} */ (cursor.querySelector(`form.act[action$="/${DECIDE[e.key]}"]`));
      if (!form) { say(_("This comment does not offer that."), true); return; }
      form.requestSubmit(/** @type {HTMLButtonElement} */ (form.querySelector("button")));
    } else if (e.key === "x" && cursor) {
      e.preventDefault();
      const box = /** @type {HTMLInputElement|null} */ (cursor.querySelector("input[name=ids]"));
      if (box) { box.checked = !box.checked; syncAll(); }
    } else if (e.key === "?") {
      e.preventDefault();
      openHelp();
    }
  });
})();
