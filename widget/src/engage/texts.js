// @ts-check
/* Threadline's second chunk (/widget-engage.js): reactions, the sort control, pins and links
   to comments, for a widget already running. An ES module the widget imports: the server
   joins widget/src/engage/*.js in the order server/web/widget_source.py lists and minifies
   them, like the widget's own parts. User text only ever reaches the DOM through textContent.
   This part: the chunk's texts. English here; other languages come in the catalogue the
   widget already fetched (server/i18n/*.json carry these keys too). */

/** @type {Record<string, string|Record<string, string>>} */
const ENGAGE_ENGLISH = /*catalogue*/{
  "up": "Upvote, {n}", "down": "Downvote, {n}", "react": "React with {name}, {n}", "reactions": "Reactions",
  "sort": "Sort by", "newest": "Newest", "oldest": "Oldest", "best": "Best",
  "pinned": "Pinned", "pin": "Pin", "unpin": "Unpin",
  "copyLink": "Copy link", "copied": "Link copied", "copyFail": "Copy this link: {name}",
  "earlier": "Show earlier comments", "earlierReplies": "Show earlier replies",
  "eOwn": "You cannot react to your own comment.",
  "eReactOff": "Reactions are turned off on this site.",
  "eNetwork": "Someone on your network has already reacted to this comment.",
  "eReactRate": {"one": "Too many reactions for now: try again in {n} second.", "other": "Too many reactions for now: try again in {n} seconds."},
  "ePins": "At most 3 comments can be pinned on a page.",
  "ePin": "Only a published comment that is not a reply can be pinned."
}/*end*/;

/** The catalogue's reason for each error code of reactions and pins. @type {Record<string, string>} */
const ENGAGE_ERROR_KEYS = {
  own_comment: "eOwn", reactions_off: "eReactOff", invalid_reaction: "eReactOff",
  network_already_reacted: "eNetwork", too_many_pins: "ePins", not_pinnable: "ePin"
};

/** The chunk's English texts into the widget's catalogue, under any it has for them.
 * @param {any} texts the widget's Texts */
const addTexts = (texts) => {
  for (const [key, text] of Object.entries(ENGAGE_ENGLISH)) if (!(key in texts.messages)) texts.messages[key] = text;
};

/** Why a reaction or pin failed, in the reader's language; the widget's reasons for the rest.
 * @param {any} texts @param {any} error @param {(texts: any, error: any) => string} failureMessage */
const engageFailure = (texts, error, failureMessage) => ENGAGE_ERROR_KEYS[error.code]
  ? texts.text(ENGAGE_ERROR_KEYS[error.code])
  : error.status === 429 ? texts.text("eReactRate", error.waitSeconds || 60) : failureMessage(texts, error);
