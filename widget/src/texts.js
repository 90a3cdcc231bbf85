// @ts-check
/* Texts: English, the source language, and the reader's own when the server has it. */

/* Other languages come from the server's catalogue (/i18n?lang=...) with the same keys; a
   text with plural forms is keyed by CLDR category. The markers let tests and translators
   read this object as JSON.
   @type {Record<string, string|Record<string, string>>} */
const ENGLISH = /*catalogue*/{
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
  "confirmFlag": "Flag this comment for the moderators to review?", "undo": "Undo", "you": "You",
  "verified": "Verified", "logIn": "Log in", "logInTo": "Log in to comment.",
  "eName": "That name belongs to a verified reader or a moderator: choose another.",
  "claim": {"one": "You wrote {n} comment on this browser before signing in. Show it under your name?", "other": "You wrote {n} comments on this browser before signing in. Show them under your name?"},
  "attach": {"one": "Attach it", "other": "Attach them"},
  "claimed": {"one": "{n} comment now shows under your name.", "other": "{n} comments now show under your name."}
}/*end*/;

/** The catalogue of one language, with its plural rules and relative times. */
class Texts {
  /** @param {string} language @param {Record<string, string|Record<string, string>>} messages */
  constructor(language, messages) {
    // Both throw for a tag the browser cannot use: the caller falls back to English.
    this.relativeTime = new Intl.RelativeTimeFormat(language);
    this.plurals = new Intl.PluralRules(language);
    this.language = language;
    this.messages = { ...ENGLISH, ...messages };
  }

  /** The server's answer to /i18n when it is usable, else English.
   * @param {any=} catalogue */
  static from(catalogue) {
    try {
      if (catalogue && typeof catalogue.messages === "object" && catalogue.messages) {
        return new Texts(catalogue.lang, catalogue.messages);
      }
    } catch { log(`no texts for language "${catalogue.lang}": showing English`); }
    return new Texts("en", {});
  }

  /** A text in the reader's language, with its plural form for ``count``.
   * @param {string} key @param {number=} count @param {string=} name */
  text(key, count, name) {
    let message = this.messages[key] || ENGLISH[key] || key;
    if (typeof message !== "string") {
      message = message[this.plurals.select(count || 0)] || message.other || key;
    }
    return String(message).replace("{n}", String(count)).replace("{name}", () => name || "");
  }

  /** "just now", "5 minutes ago", "4 years ago", in the reader's language.
   * @param {string} iso */
  ago(iso) {
    const seconds = (Date.now() - Date.parse(iso)) / 1000;
    if (seconds < 45) return this.text("justNow");
    /** @type {[Intl.RelativeTimeFormatUnit, number][]} */
    const units = [["year", 31536e3], ["month", 2592e3], ["day", 864e2], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) {
      const count = Math.floor(seconds / size);
      if (count >= 1) return this.relativeTime.format(-count, unit);
    }
    return this.relativeTime.format(-1, "minute");
  }
}
