// @ts-check
/* Avatars: a reader's picture beside their name, and the check that marks a verified reader. */

/** A signed-in reader's https picture (it sends no referrer and loads when near), else their
 * initials on a colour of their own, derived from ``seed`` and drawn here: no other service
 * ever learns who reads what. Both are decorative: the name stands beside them.
 * @param {string} name @param {string|null|undefined} url @param {string} seed */
const avatar = (name, url, seed) => {
  if (url && url.startsWith("https:")) {  // the server checks it too; never any other scheme
    const image = /** @type {HTMLImageElement} */ (element("img", "avatar"));
    image.referrerPolicy = "no-referrer";
    image.loading = "lazy";
    image.width = image.height = 28;
    image.alt = "";
    image.onerror = () => image.replaceWith(avatar(name, null, seed));  // gone, or refused by the page's policy
    image.src = url;
    return image;
  }
  let hash = 2166136261;  // FNV-1a: near seeds, far colours
  for (const char of seed) hash = Math.imul(hash ^ /** @type {number} */ (char.codePointAt(0)), 16777619);
  const initials = name.split(/[^\p{L}\p{N}]+/u).filter(Boolean).slice(0, 2).map((word) => [...word][0]);
  const drawn = element("span", "avatar");
  // Drawn by the style sheet: the initials are no text of the page (nor copied with it).
  drawn.dataset.initials = initials.join("").toUpperCase() || "?";
  drawn.style.setProperty("--hue", String((hash >>> 0) % 360));
  drawn.setAttribute("aria-hidden", "true");
  return drawn;
};

/** The check after a verified reader's name, named for assistive tech. @param {Texts} texts */
const verifiedCheck = (texts) => {
  const check = element("span", "verified", "\u2713");
  check.title = texts.text("verified");
  check.setAttribute("role", "img");
  check.setAttribute("aria-label", check.title);
  return check;
};
