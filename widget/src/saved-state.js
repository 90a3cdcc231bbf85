// @ts-check
/* Saved state: what the widget remembers per site in this browser's localStorage. */

/** The stored object keeps the one-letter keys earlier versions wrote, so a reader keeps
 * their author token, name and marks across upgrades; only this class knows them. */
class SavedState {
  /** @param {string} site */
  constructor(site) {
    this.storageKey = "threadline:" + site;
    /** @type {Record<string, any>} */
    let stored = {};
    try { stored = JSON.parse(localStorage.getItem(this.storageKey) || "{}") || {}; } catch { /* blocked or garbled */ }
    /** @type {string|undefined} proves authorship of this reader's comments to the API */
    this.authorToken = stored["t"];
    /** @type {string|undefined} */
    this.name = stored["n"];
    /** @type {Record<string, number>} this reader's comments by id: when each was posted */
    this.ownComments = stored["m"] || {};
    /** @type {string|undefined} the thread order this reader chose: newest, oldest or best */
    this.order = stored["o"];
  }

  save() {
    const stored = { "t": this.authorToken, "n": this.name, "m": this.ownComments, "o": this.order };
    try { localStorage.setItem(this.storageKey, JSON.stringify(stored)); } catch { /* storage blocked */ }
  }

  /** Remember a comment as this reader's: for a year, the newest 500.
   * @param {number} commentId */
  rememberOwn(commentId) {
    const now = Date.now();
    this.ownComments = Object.fromEntries(Object.entries(this.ownComments)
      .filter(([, postedAt]) => now - postedAt < 31536e6)
      .sort((first, second) => second[1] - first[1]).slice(0, 499));
    this.ownComments[commentId] = now;
    this.save();
  }
}
