// What a stored-XSS payload could have created inside the widget: reported, not thrown.
() => {
  const root = document.querySelector("#threadline").shadowRoot;
  const bad = [];
  for (const e of root.querySelectorAll("*")) {
    for (const a of e.attributes) if (a.name.startsWith("on")) bad.push(`${e.tagName} ${a.name}`);
  }
  const forbidden = "script,img,svg,iframe,object,embed,base,meta,video,audio,source,input," +
    "details,marquee,math,form,style,link,button[formaction]";
  for (const e of root.querySelectorAll("ol.list " + forbidden.split(",").join(", ol.list "))) {
    if (e.matches("img.avatar")) {  // a verified reader's picture: https only, no referrer
      const names = [...e.attributes].map((a) => a.name).sort().join(",");
      if (names !== "alt,class,height,loading,referrerpolicy,src,width") bad.push(`avatar ${names}`);
      if (!e.getAttribute("src").startsWith("https:") || e.referrerPolicy !== "no-referrer") {
        bad.push(`avatar ${e.getAttribute("src")}`);
      }
    } else if (e.tagName !== "BUTTON" || e.hasAttribute("formaction")) bad.push(`element ${e.tagName}`);
  }
  for (const holder of root.querySelectorAll("li .body, li .author")) {
    for (const n of holder.childNodes) {
      if (n.nodeType === Node.TEXT_NODE) continue;
      if (n.tagName !== "A" || holder.classList.contains("author")) {
        bad.push(`child ${n.nodeName}`);
        continue;
      }
      const names = [...n.attributes].map((a) => a.name).sort().join(",");
      if (names !== "href,rel,target") bad.push(`link attributes ${names}`);
      if (!/^https?:$/.test(new URL(n.href).protocol)) bad.push(`link ${n.href}`);
      if (n.rel !== "nofollow ugc noopener noreferrer") bad.push(`rel ${n.rel}`);
    }
  }
  const bodies = root.querySelectorAll("ol.list > li.comment > article .body");
  return {
    bad,
    xss: window.__xss === undefined ? null : window.__xss,
    texts: [...bodies].map((b) => b.textContent),
  };
}
