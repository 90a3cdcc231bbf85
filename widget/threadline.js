// @ts-check
// Placeholder until the widget lands: says so in the host page's console.
console.info("[threadline] widget not built yet");
