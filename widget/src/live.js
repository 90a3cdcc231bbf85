// @ts-check
/* Live connection: one websocket per widget, open only while the widget is near the
   viewport and the tab is visible. Events carry the page's gap-free seq: the widget applies
   them in order, keeps any that arrive early and asks the server to replay what it missed. */

class LiveConnection {
  /** @param {string} address the /ws URL @param {Widget} widget */
  constructor(address, widget) {
    this.address = address;
    this.widget = widget;
    /** @type {WebSocket|null} */
    this.socket = null;
    /** the last event applied */
    this.seq = 0;
    /** @type {Map<number, any>} events past a gap, until the replay fills it */
    this.early = new Map();
    this.attempts = 0;
    this.nearViewport = false;
    this.watching = false;
  }

  /** Connect while the widget is near the viewport and the tab is visible.
   * @param {HTMLElement} section the widget's outermost element */
  watch(section) {
    if (this.watching) return;  // a reset reloads the thread, not the watchers
    this.watching = true;
    new IntersectionObserver((entries) => {
      this.nearViewport = entries.some((entry) => entry.isIntersecting);
      this.wake();
    }, { rootMargin: "800px" }).observe(section);
    document.addEventListener("visibilitychange", () => {
      clearTimeout(this.hideTimer);
      if (document.hidden) this.hideTimer = setTimeout(() => this.close(), 60000);
      else this.wake();
    });
    addEventListener("online", () => { this.attempts = 0; this.wake(); });
    setInterval(() => this.send({ type: "ping" }), 25000);  // keepalive through proxies
  }

  wake() {
    if (this.socket || !this.nearViewport || document.hidden) return;
    clearTimeout(this.reconnectTimer);
    const widget = this.widget;
    const socket = this.socket = new WebSocket(this.address);
    socket.onopen = () => this.send({
      type: "subscribe", page: widget.page, seq: this.seq, token: widget.api.session || widget.saved.authorToken,
    });
    socket.onmessage = (message) => {
      try { this.receive(JSON.parse(message.data)); } catch (error) { log("bad frame: " + error); }
    };
    socket.onclose = (closed) => {
      if (this.socket !== socket) return;
      this.socket = null;
      widget.thread.clearTyping();
      if ([1003, 1007, 1008, 1009].includes(closed.code)) {
        return log(`live updates stopped (${closed.code} ${closed.reason})`);
      }
      // 1012 is a server restart: spread the readers' returns a little further.
      this.reconnectTimer = setTimeout(() => this.wake(),
        backoff(this.attempts++, 500, 30000) + (closed.code === 1012 ? Math.random() * 5000 : 0));
    };
  }

  close() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000);
  }

  /** Subscribe again if connected (with a new author token, say). */
  reconnect() {
    if (this.socket) { this.close(); this.wake(); }
  }

  /** @param {object} message */
  send(message) {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  /** @param {any} frame */
  receive(frame) {
    const thread = this.widget.thread;
    if (frame.type.startsWith("comment.") && frame.seq) {
      if (frame.seq <= this.seq) return;
      if (frame.seq > this.seq + 1) {  // a gap: keep it, ask for what is missing
        this.early.set(frame.seq, frame);
        return this.send({ type: "sync", seq: this.seq });
      }
      this.apply(frame);
      for (let next; (next = this.early.get(this.seq + 1));) { this.early.delete(next.seq); this.apply(next); }
      return;
    }
    if (frame.type === "sync") { this.attempts = 0; return; }
    if (frame.type === "presence") thread.showPresence(frame.data.count);
    else if (frame.type === "typing") thread.showTyping();
    else if (frame.type === "comment.rejected") thread.reject(frame.data.comment);
    else if (frame.type === "reset") this.widget.reset();
    else if (this.widget.engage) this.widget.engage.receive(frame);  // reactions
  }

  /** @param {any} frame */
  apply(frame) {
    const thread = this.widget.thread;
    this.seq = frame.seq;
    const comment = frame.data.comment;
    if (frame.type === "comment.deleted") thread.drop(comment);
    else if (frame.type === "comment.edited") { if (thread.shown.has(comment.id)) thread.render(comment); }
    // A replay shows a comment as it is now: one gone since comes as a tombstone.
    else if (comment.status !== "deleted" || comment.reply_count) thread.add(comment);
    thread.setCount(frame.data.count);
    if (frame.type === "comment.created" || frame.type === "comment.approved") thread.clearTyping();
    // Approved: the comment now stands in place, and the status line no longer says it waits.
    if (frame.type === "comment.approved" && this.widget.awaiting.delete(comment.id)) this.widget.say("");
  }
}
