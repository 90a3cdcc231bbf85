// @ts-check
/* Threadline's third chunk (/widget-notify.js): the notification centre, a bell with the
   reader's unread count and a panel of what they heard back (replies, decisions, reactions).
   Also the offer of e-mail on replies after a reader's post (subscribe.js).
   An ES module the second chunk (/widget-engage.js) imports for a reader with a credential;
   the server joins widget/src/notify/*.js in the order server/web/widget_source.py lists and
   minifies them. User text only ever reaches the DOM through textContent.
   This part: the chunk's texts. English here; other languages come in the catalogue the
   widget already fetched (server/i18n/*.json carry these keys too). */

/** @type {Record<string, string|Record<string, string>>} */
const NOTIFY_ENGLISH = /*catalogue*/{
  "bell": "Notifications",
  "bellUnread": {"one": "Notifications, {n} unread", "other": "Notifications, {n} unread"},
  "nReply": "{name} replied to your comment",
  "nModReply": "A moderator replied to your comment",
  "nApproved": "Your comment was approved",
  "nRejected": "Your comment was not approved",
  "nReactions": {"one": "{n} person reacted to your comment", "other": "{n} people reacted to your comment"},
  "nUnread": "New", "nAllRead": "Mark all read", "nMore": "Load more",
  "nEmpty": "Nothing new yet: replies to your comments will show here.",
  "nFail": "Notifications could not be loaded.",
  "mailOffer": "Get an e-mail when someone replies to your comment.",
  "mailAddress": "Your e-mail address",
  "mailThread": "Also e-mail me every new comment on this page",
  "mailSend": "Notify me",
  "mailCheck": "Check your inbox to confirm.",
  "mailBad": "Please enter a valid e-mail address.",
  "mailClose": "Close"
}/*end*/;

/** The sentence for each kind of notification the server sends. @type {Record<string, string>} */
const NOTIFY_KIND_KEYS = {
  reply: "nReply", moderator_reply: "nModReply", approved: "nApproved", rejected: "nRejected", reactions: "nReactions"
};

/** The chunk's English texts into the widget's catalogue, under any it has for them.
 * @param {any} texts the widget's Texts */
const addNotifyTexts = (texts) => {
  for (const [key, text] of Object.entries(NOTIFY_ENGLISH)) if (!(key in texts.messages)) texts.messages[key] = text;
};
