// @ts-check
/* Reactions: the buttons under a comment, one per choice the site offers, each pressed when
   it is the reader's own choice, with its count. What the widget's parts define lives in
   another script, so the few DOM helpers are repeated here. */

/** @param {string} tag @param {string=} className @param {string=} text */
const make = (tag, className, text) => {
  const created = document.createElement(tag);
  if (className) created.className = className;
  if (text != null) created.textContent = text;
  return created;
};

/** @param {string} text @param {(event: Event) => void} onClick @param {string=} className */
const pushButton = (text, onClick, className) => {
  const created = /** @type {HTMLButtonElement} */ (make("button", className, text));
  created.type = "button";
  created.addEventListener("click", onClick);
  return created;
};

/** What each of the built-in choices shows; an emoji choice shows itself. */
const SYMBOLS = /** @type {Record<string, string>} */ ({ "up": "\u25B2", "down": "\u25BC" });

/** A group of toggle buttons, one per choice. @param {string} label its accessible name
 * @param {string[]} choices @param {(choice: string) => void} choose */
const toggleGroup = (label, choices, choose) => {
  const group = make("div");
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", label);
  for (const choice of choices) {
    const toggle = pushButton("", () => choose(choice));
    toggle.dataset.choice = choice;
    toggle.setAttribute("aria-pressed", "false");
    group.append(toggle);
  }
  return group;
};

/** Show a comment's counts and the reader's choice on its reaction buttons, in place (the
 * button a keyboard reader is on keeps the focus). @param {HTMLElement} group
 * @param {Record<string, number>|undefined} counts @param {string|undefined} mine @param {any} texts */
const paintReactions = (group, counts, mine, texts) => {
  for (const toggle of /** @type {HTMLCollectionOf<HTMLButtonElement>} */ (group.children)) {
    const choice = /** @type {string} */ (toggle.dataset.choice), count = (counts && counts[choice]) || 0;
    const symbol = SYMBOLS[choice] || choice;
    toggle.textContent = count ? `${symbol} ${count}` : symbol;
    toggle.setAttribute("aria-label", SYMBOLS[choice] ? texts.text(choice, count) : texts.text("react", count, choice));
    toggle.setAttribute("aria-pressed", String(mine === choice));
  }
};
