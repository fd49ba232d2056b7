// Hash routes ("#/guests/NAME"): each route is a pattern and a view; a view
// fills its element and may return a function that tears it down (closes its
// event listeners) when the page changes. pause tears the view down and
// keeps the routes (a page put away in the back/forward cache).
export function router(outlet, routes, fallback) {
  let teardown = null;
  async function show() {
    if (typeof teardown === 'function') teardown();
    teardown = null;
    const hash = location.hash || fallback;
    for (const [pattern, view] of routes) {
      const m = hash.match(pattern);
      if (!m) continue;
      outlet.replaceChildren();
      document.querySelectorAll('#nav a').forEach((a) =>
        a.classList.toggle('active', hash.startsWith(a.getAttribute('href'))));
      teardown = await view(outlet, ...m.slice(1).map((s) => (s === undefined ? s : decodeURIComponent(s))));
      return;
    }
    location.hash = fallback;
  }
  window.addEventListener('hashchange', show);
  show();
  const pause = () => { if (typeof teardown === 'function') teardown(); teardown = null; };
  return {reload: show, pause, stop: () => { window.removeEventListener('hashchange', show); pause(); }};
}
