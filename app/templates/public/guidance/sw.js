// Kotopolku's service worker for the public guidance pages (scope /guidance/), served by GET /guidance/sw.js.
//
// These pages hold no personal data: anyone reads them without signing in. The worker keeps a copy of
// the front page, the topic pages and the articles a visitor opens (network first, so a copy is only
// used without a connection), never a search, a question form's answer or any other page; never a POST.
// Offline, a page is answered from its copy, marked as saved (me.js says so in the page's language),
// or else with the offline page, which lists the copies.
// The caches are its own (kp-guidance-…): the migrant app's worker (scope /me/) never touches them.
"use strict";

const CONFIG = {{ config|tojson }};
const STATIC = "kp-guidance-static-" + CONFIG.version;
const PAGES = "kp-guidance-pages";
const SAVED = /^\/guidance(\/|\/topics\/[a-z_]+|\/articles\/[a-z0-9-]+(\/[a-z]{2,3})?)$/;
const HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": CONFIG.csp,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
};

// One copy a page, whatever ?lang= it was opened with.
const keyOf = (url) => self.location.origin + url.pathname;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC).then((cache) => cache.addAll(CONFIG.precache)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const old = (await caches.keys()).filter((name) => name.startsWith("kp-guidance-static-") && name !== STATIC);
    await Promise.all(old.map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

async function store(url, response) {
  const html = await response.text();
  const cache = await caches.open(PAGES);
  await cache.put(keyOf(url), new Response(html, {
    headers: Object.assign({ "X-KP-Saved": new Date().toISOString() }, HEADERS),
  }));
  // The offline page follows the language the visitor reads in.
  const lang = (/<html lang="([a-z]{2,3})"/.exec(html) || [])[1];
  const statics = await caches.open(STATIC);
  const offline = await statics.match(CONFIG.offline, { ignoreSearch: true });
  if (lang && (!offline || offline.headers.get("X-KP-Lang") !== lang)) {
    const fresh = await fetch(CONFIG.offline + "?lang=" + lang, { cache: "no-store" });
    if (fresh.ok) {
      await statics.put(CONFIG.offline, new Response(await fresh.text(), { headers: Object.assign({ "X-KP-Lang": lang }, HEADERS) }));
    }
  }
}

async function fromCopy(url) {
  const copy = await (await caches.open(PAGES)).match(keyOf(url), { ignoreVary: true });
  if (copy) {
    const when = (copy.headers.get("X-KP-Saved") || "").replace(/[^0-9TZ:.\-]/g, "");
    const html = (await copy.text()).replace(/(<main\b[^>]*>)/, '$1<div data-kp-saved="' + when + '"></div>');
    return new Response(html, { headers: HEADERS });
  }
  return (await caches.match(CONFIG.offline, { cacheName: STATIC, ignoreSearch: true, ignoreVary: true })) || Response.error();
}

async function pageRequest(event, url) {
  let response;
  try {
    response = await fetch(event.request);
  } catch (offline) {
    return fromCopy(url);
  }
  const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
  if (SAVED.test(url.pathname) && response.status === 200 && response.type === "basic" && !response.redirected && html) {
    event.waitUntil(store(url, response.clone()).catch(() => {}));
  } else if (response.status === 404 && SAVED.test(url.pathname)) {
    event.waitUntil(caches.open(PAGES).then((cache) => cache.delete(keyOf(url))));
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request, { cacheName: STATIC }).then((hit) => hit || fetch(request)));
  } else if (url.pathname.startsWith("/guidance/") && url.pathname !== "/guidance/sw.js" &&
             (request.mode === "navigate" || request.headers.get("HX-Boosted") === "true")) {
    event.respondWith(pageRequest(event, url));
  }
});
