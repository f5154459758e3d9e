// Kotopolku's service worker for the migrant app (scope /me/), served by GET /me/sw.js.
//
// - Static files and the offline page are precached at install (a new version of any of them changes
//   this script's VERSION, so the browser installs the new worker and drops the old cache).
// - Pages under /me/ are fetched from the network first. ONLY the signed-in client's home, plan,
//   appointments and messages pages are kept for offline reading, in a cache named after the client's
//   opaque key (the page says whose it is: data-kp-cache-key, an HMAC of the client id). Nothing else
//   is ever stored: not officer pages (out of this worker's scope, and refused below anyway), not
//   /me/data, /me/settings, sign-in or enrolment pages, no redirect, no error, no POST.
// - Offline: the saved copy of the page, else the offline page.
// - A page for another client's key deletes every other client's copies; signing out deletes them all
//   (the server also answers sign-out with Clear-Site-Data). A redirect or 401 for a saved page means
//   the session has ended: the copies go as well.
// - Push: shows the notification (its payload never holds personal data) and opens /me/ paths only.
"use strict";

const CONFIG = {{ config|tojson }};
const STATIC_CACHE = "kp-static-" + CONFIG.version;
const PAGES_PREFIX = "kp-pages-";
// Responses this worker makes keep the app's security headers (the Content-Security-Policy above all).
const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": CONFIG.csp,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
};
const KEY_PATTERN = /data-kp-cache-key="([0-9a-f]{32})"/;
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const KEEP = [
  /^\/me\/$/,
  /^\/me\/plan$/,
  new RegExp("^/me/appointments(/" + UUID + ")?$"),
  new RegExp("^/me/messages(/" + UUID + ")?$"),
];
const NEVER = /^\/(officer|me\/(data|settings|sign-in|sign-out|enrol|invitation|approve|push|feedback))/;

function keepable(url) {
  if (url.origin !== self.location.origin || NEVER.test(url.pathname)) return false;
  return KEEP.some((pattern) => pattern.test(url.pathname));
}

// One entry per page: the interface-language switch (?lang=) shows the same page.
function entryUrl(url) {
  const copy = new URL(url.pathname + url.search, self.location.origin);
  copy.searchParams.delete("lang");
  return copy.href;
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      // Versioned static addresses: what the page just loaded comes from the HTTP cache, not the network.
      .then((cache) => cache.addAll(CONFIG.precache))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("kp-static-") && name !== STATIC_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function pageCaches() {
  return (await caches.keys()).filter((name) => name.startsWith(PAGES_PREFIX));
}

async function dropPages(except) {
  for (const name of await pageCaches()) {
    if (name !== except) await caches.delete(name);
  }
}

async function useKey(key) {
  await dropPages(PAGES_PREFIX + key);
}

async function keep(url, response) {
  const html = await response.text();
  const found = KEY_PATTERN.exec(html);
  if (!found) return; // not a signed-in client's page
  await useKey(found[1]);
  const cache = await caches.open(PAGES_PREFIX + found[1]);
  await cache.put(entryUrl(url), new Response(html, {
    status: 200,
    headers: Object.assign({}, PAGE_HEADERS, { "X-KP-Saved": new Date().toISOString() }),
  }));
}

async function forget(url) {
  for (const name of await pageCaches()) await (await caches.open(name)).delete(entryUrl(url));
}

async function savedCopy(url) {
  for (const name of await pageCaches()) {
    const response = await (await caches.open(name)).match(entryUrl(url), { ignoreVary: true });
    if (!response) continue;
    // Say on the page that this is the copy saved earlier (me.js fills in the words and the time).
    const saved = response.headers.get("X-KP-Saved") || "";
    const html = (await response.text()).replace(
      /(<main\b[^>]*>)/,
      '$1<div data-kp-saved="' + saved.replace(/[^0-9TZ:.\-]/g, "") + '"></div>'
    );
    return new Response(html, { status: 200, headers: PAGE_HEADERS });
  }
  return null;
}

async function offlinePage() {
  return caches.match(CONFIG.offline, { cacheName: STATIC_CACHE, ignoreVary: true, ignoreSearch: true });
}

async function page(event, url) {
  let response;
  try {
    response = await fetch(event.request);
  } catch (error) {
    return (keepable(url) && (await savedCopy(url))) || (await offlinePage()) || Response.error();
  }
  if (!keepable(url)) return response;
  if (response.type === "opaqueredirect" || response.redirected || response.status === 401) {
    event.waitUntil(dropPages()); // the session has ended
  } else if (response.status === 404 || response.status === 410) {
    event.waitUntil(forget(url));
  } else if (response.status >= 500) {
    return (await savedCopy(url)) || response;
  } else if (response.status === 200 && response.type === "basic" &&
             (response.headers.get("Content-Type") || "").startsWith("text/html")) {
    event.waitUntil(keep(url, response.clone()));
  }
  return response;
}

async function staticFile(request) {
  const cached = await caches.match(request, { cacheName: STATIC_CACHE });
  if (cached) return cached;
  return fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // never a POST (or any other method): straight to the network
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(staticFile(request));
    return;
  }
  // A page: a navigation, or htmx's boosted link (it fetches the whole page and swaps the body).
  const isPage = request.mode === "navigate" || request.headers.get("HX-Boosted") === "true";
  if (isPage && url.pathname.startsWith("/me/") && !url.pathname.startsWith("/me/sw.js")) {
    event.respondWith(page(event, url));
  }
});

async function refreshOfflinePage(lang) {
  const cache = await caches.open(STATIC_CACHE);
  const cached = await cache.match(CONFIG.offline, { ignoreSearch: true });
  if (cached && cached.headers.get("X-KP-Lang") === lang) return;
  const response = await fetch(CONFIG.offline + "?lang=" + encodeURIComponent(lang), { cache: "no-store", credentials: "omit" });
  if (response.status !== 200) return;
  await cache.put(CONFIG.offline, new Response(await response.text(), {
    status: 200,
    headers: Object.assign({}, PAGE_HEADERS, { "X-KP-Lang": lang }),
  }));
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "client" && /^[0-9a-f]{32}$/.test(data.key || "")) {
    const work = [useKey(data.key)];
    if (/^[a-z]{2,3}$/.test(data.lang || "")) work.push(refreshOfflinePage(data.lang).catch(() => {}));
    event.waitUntil(Promise.all(work));
  } else if (data.type === "sign-out") {
    event.waitUntil(dropPages());
  }
});

// --- push -----------------------------------------------------------------------------------------

function appPath(value) {
  if (typeof value !== "string") return "/me/";
  let url;
  try { url = new URL(value, self.location.origin); } catch (e) { return "/me/"; }
  if (url.origin !== self.location.origin || !url.pathname.startsWith("/me/")) return "/me/";
  return url.pathname + url.search;
}

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  const title = typeof data.title === "string" && data.title ? data.title.slice(0, 100) : "Kotopolku";
  event.waitUntil(self.registration.showNotification(title, {
    body: typeof data.body === "string" ? data.body.slice(0, 300) : "",
    icon: "/static/img/icon-192.png",
    tag: typeof data.tag === "string" ? data.tag.slice(0, 64) : "kotopolku",
    dir: "auto",
    data: { url: appPath(data.url) },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(appPath(event.notification.data && event.notification.data.url), self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).pathname.startsWith("/me/")) {
        await client.focus();
        if (client.url !== target && "navigate" in client) {
          try { await client.navigate(target); } catch (e) { /* not controlled: it stays where it is */ }
        }
        return;
      }
    }
    await self.clients.openWindow(target);
  })());
});
