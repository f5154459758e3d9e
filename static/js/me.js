// The migrant app (/me/) and the public guidance pages (/guidance/): read aloud, Web Push, the service
// workers and the offline pages.
// No inline scripts anywhere (the Content-Security-Policy forbids them). Translated strings come from the
// page: #kp-strings (the layout), the push section's and the offline page's data- attributes, and the
// server's JSON answers; the English fallbacks below are only for a page that lacks them.
(function () {
  "use strict";

  const FALLBACK = {
    loading: "Loading…",
    stop: "Stop",
    failed: "Reading aloud did not work. Please try again.",
    noVoice: "This text cannot be read aloud in this language.",
    needsNetwork: "Reading aloud needs an internet connection.",
    savedCopy: "You are offline. This copy was saved on {date}.",
  };

  function strings() {
    const holder = document.getElementById("kp-strings");
    return Object.assign({}, FALLBACK, holder ? holder.dataset : {});
  }

  // The interface language: the strings holder is inside <body>, so it follows htmx's boosted page
  // changes (which do not touch <html lang>).
  function uiLang() {
    const holder = document.getElementById("kp-strings");
    return (holder && holder.getAttribute("lang")) || document.documentElement.lang || "fi";
  }

  function csrfHeader() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
  }

  async function postJSON(url, body) {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: Object.assign({ "Content-Type": "application/json", "Accept": "application/json" }, csrfHeader()),
      body: JSON.stringify(body),
    });
    if (!res.ok) {
      const error = new Error(String(res.status));
      error.status = res.status;
      throw error;
    }
    return res;
  }

  function b64urlToBytes(value) {
    const pad = "=".repeat((4 - (value.length % 4)) % 4);
    const bin = atob((value + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  function sameBytes(a, b) {
    if (!a || !b) return false;
    const x = new Uint8Array(a);
    const y = new Uint8Array(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }

  // --- read aloud (service 15) ------------------------------------------------------------------

  // An error whose message is meant for the person (translated); any other error says "did not work".
  function forUser(message) {
    const error = new Error(message);
    error.forUser = true;
    return error;
  }

  let current = null; // { button, status, stopped, stop }
  let audioContext = null;
  const audioCache = new Map(); // lang + text → AudioBuffer, the last few listened to
  let voicesPromise = null;
  let knownVoices = null; // what the browser said after waiting for it: [] on most headless or old phones

  function voices() {
    if (!("speechSynthesis" in window)) return Promise.resolve([]);
    const now = window.speechSynthesis.getVoices();
    if (now.length) return Promise.resolve(now);
    if (knownVoices) return Promise.resolve(knownVoices);
    if (!voicesPromise) {
      // Voices load asynchronously (voiceschanged); some browsers never announce any.
      voicesPromise = new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          knownVoices = window.speechSynthesis.getVoices();
          resolve(knownVoices);
        };
        const timer = setTimeout(done, 1200);
        window.speechSynthesis.addEventListener("voiceschanged", done, { once: true });
      });
      // Voices that arrive later still count.
      window.speechSynthesis.addEventListener("voiceschanged", () => { knownVoices = window.speechSynthesis.getVoices(); });
    }
    return voicesPromise;
  }

  async function voiceFor(lang) {
    if (!lang) return null;
    const matching = (await voices()).filter((v) => {
      const tag = String(v.lang || "").replace(/_/g, "-").toLowerCase();
      return tag === lang || tag.startsWith(lang + "-");
    });
    return matching.find((v) => v.localService) || matching[0] || null;
  }

  function label(button, state) {
    const s = strings();
    button.dataset.state = state;
    button.textContent = state === "loading" ? s.loading : state === "playing" ? s.stop : button.dataset.label;
  }

  function finish(session) {
    session.stopped = true;
    if (current === session) current = null;
    label(session.button, "idle");
  }

  function stopCurrent() {
    const session = current;
    if (!session) return;
    finish(session);
    if (session.stop) session.stop();
  }

  // Short pieces: some voices stop after ~15 s of one utterance.
  function pieces(text) {
    const out = [];
    (text.match(/[^.!?;:؟。]+[.!?;:؟。]*/g) || [text]).forEach((sentence) => {
      let rest = sentence.trim();
      while (rest.length > 220) {
        let cut = rest.lastIndexOf(" ", 220);
        if (cut < 80) cut = 220;
        out.push(rest.slice(0, cut));
        rest = rest.slice(cut).trim();
      }
      if (rest) out.push(rest);
    });
    return out;
  }

  function speak(session, voice, text) {
    const synth = window.speechSynthesis;
    const parts = pieces(text);
    session.stop = () => synth.cancel();
    synth.cancel();
    parts.forEach((part, index) => {
      const utterance = new SpeechSynthesisUtterance(part);
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.rate = 0.9;
      utterance.onerror = (e) => {
        if (session.stopped) return;
        if (e.error !== "interrupted" && e.error !== "canceled") session.status.textContent = strings().failed;
        finish(session);
      };
      if (index === parts.length - 1) utterance.onend = () => { if (!session.stopped) finish(session); };
      synth.speak(utterance);
    });
    label(session.button, "playing");
  }

  async function fromServer(session, text, lang) {
    const key = lang + "\n" + text;
    let buffer = audioCache.get(key);
    if (!buffer) {
      const controller = new AbortController();
      session.stop = () => controller.abort();
      let res;
      try {
        res = await fetch("/speech", {
          method: "POST",
          credentials: "same-origin",
          headers: Object.assign({ "Content-Type": "application/json", "Accept": "audio/wav, application/json" }, csrfHeader()),
          body: JSON.stringify({ text: text, lang: lang, ui: uiLang() }),
          signal: controller.signal,
        });
      } catch (e) {
        if (session.stopped) return;
        throw forUser(navigator.onLine === false ? strings().needsNetwork : strings().failed);
      }
      if (!res.ok) {
        let answer = {};
        try { answer = await res.json(); } catch (e) { /* not JSON */ }
        const fallback = res.status === 404 ? strings().noVoice : strings().failed;
        throw forUser(typeof answer.message === "string" && answer.message ? answer.message : fallback);
      }
      const bytes = await res.arrayBuffer();
      if (session.stopped) return;
      buffer = await audioContext.decodeAudioData(bytes);
      audioCache.set(key, buffer);
      if (audioCache.size > 8) audioCache.delete(audioCache.keys().next().value);
    }
    if (session.stopped) return;
    // Web Audio plays the decoded sound: no media element, no blob: URL for the CSP to allow.
    const source = audioContext.createBufferSource();
    source.buffer = buffer;
    source.connect(audioContext.destination);
    source.onended = () => { if (!session.stopped) finish(session); };
    session.stop = () => { try { source.stop(); } catch (e) { /* not started */ } };
    source.start();
    label(session.button, "playing");
  }

  // innerText, line by line: a heading, a <br> or a new paragraph ends a sentence (a pause), rather than
  // running two words together as textContent would.
  function readable(target) {
    return (target.innerText || target.textContent || "").split(/\n+/)
      .map((line) => line.replace(/\s+/g, " ").trim())
      .filter(Boolean)
      .map((line) => (/[.!?;:,…؟。]$/.test(line) ? line : line + "."))
      .join(" ");
  }

  async function listen(button, target, status) {
    if (current && current.button === button) { stopCurrent(); return; }
    stopCurrent();
    // Created in the click itself, so the browser lets it play once the audio has arrived.
    if (!audioContext && (window.AudioContext || window.webkitAudioContext)) {
      audioContext = new (window.AudioContext || window.webkitAudioContext)();
    }
    if (audioContext && audioContext.state === "suspended") audioContext.resume();
    const lang = String(button.dataset.lang || "").toLowerCase();
    const text = readable(target);
    const session = { button: button, status: status, stopped: false, stop: null };
    current = session;
    status.textContent = "";
    label(button, "loading");
    try {
      const voice = await voiceFor(lang);
      if (session.stopped) return;
      if (voice) { speak(session, voice, text); return; }
      if (!audioContext) throw forUser(strings().noVoice);
      await fromServer(session, text, lang);
    } catch (e) {
      if (session.stopped) return;
      status.textContent = e && e.forUser ? e.message : strings().failed;
      finish(session);
    }
  }

  function wireListen(root) {
    root.querySelectorAll("button[data-listen]").forEach((button) => {
      if (button.dataset.wired) return;
      const target = document.getElementById(button.dataset.listen);
      if (!target) return; // nothing to read: the button stays hidden
      button.dataset.wired = "1";
      button.dataset.label = button.textContent;
      // The live region exists before anything is said in it, so screen readers announce the message.
      const status = document.createElement("span");
      status.className = "listen-status";
      status.setAttribute("role", "status");
      button.after(status);
      button.hidden = false;
      button.addEventListener("click", () => { listen(button, target, status); });
      voices(); // start loading the voices now, so a press is answered at once
    });
  }

  // --- the service worker and the offline copies ----------------------------------------------

  // The migrant app keeps the signed-in client's pages; the public guidance pages (no personal data)
  // keep the articles read. Each has its own worker and scope.
  const WORKERS = [
    { path: "/me/", script: "/me/sw.js" },
    { path: "/guidance/", script: "/guidance/sw.js" },
  ];
  const worker = WORKERS.find((w) => window.location.pathname.startsWith(w.path)) || null;
  const inApp = Boolean(worker) && worker.path === "/me/";
  const workerSupported = "serviceWorker" in navigator && window.isSecureContext;

  function cacheKey() {
    const holder = document.querySelector("[data-kp-cache-key]");
    const key = holder ? holder.getAttribute("data-kp-cache-key") : "";
    return /^[0-9a-f]{32}$/.test(key || "") ? key : null;
  }

  function tellWorker(message) {
    if (!workerSupported) return;
    if (navigator.serviceWorker.controller) { navigator.serviceWorker.controller.postMessage(message); return; }
    navigator.serviceWorker.ready.then((reg) => { if (reg.active) reg.active.postMessage(message); });
  }

  function registerWorker() {
    if (!workerSupported || !worker) return;
    navigator.serviceWorker.register(worker.script, { scope: worker.path }).catch(() => { /* the pages work without it */ });
    if (!inApp) return;
    const key = cacheKey();
    // Whose copies may stay: the worker deletes every other client's (a phone handed over).
    if (key) tellWorker({ type: "client", key: key, lang: uiLang() });
  }

  // Signing out: the server answers with Clear-Site-Data; the worker is told at once as well.
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    const action = form.getAttribute("action") || "";
    if (form.hasAttribute("data-sign-out") || /\/me\/sign-out$/.test(action)) {
      audioCache.clear();
      tellWorker({ type: "sign-out" });
    }
  }, true);

  function formatDate(iso) {
    const when = new Date(iso);
    if (isNaN(when.getTime())) return "";
    try {
      return new Intl.DateTimeFormat(uiLang(), { dateStyle: "medium", timeStyle: "short" }).format(when);
    } catch (e) {
      return when.toLocaleString();
    }
  }

  // A page the worker served from its copy carries <div data-kp-saved="time">: say so.
  function markSavedCopy(root) {
    root.querySelectorAll("[data-kp-saved]").forEach((box) => {
      if (box.dataset.wired) return;
      box.dataset.wired = "1";
      box.className = "offline-copy";
      box.setAttribute("role", "status");
      box.textContent = strings().savedCopy.replace("{date}", formatDate(box.getAttribute("data-kp-saved")));
    });
  }

  const ORDER = ["/me/", "/me/plan", "/me/appointments", "/me/messages"];

  function titleOf(html, fallback) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const h1 = doc.querySelector("main h1");
    const text = (h1 && h1.textContent) || doc.title || "";
    return text.replace(/\s*–\s*Kotopolku\s*$/, "").replace(/\s+/g, " ").trim() || fallback;
  }

  async function listSavedPages(box) {
    const list = box.querySelector("[data-offline-list]");
    const none = box.querySelector("[data-offline-none]");
    if (!list || !("caches" in window)) { if (none) none.hidden = false; return; }
    const entries = [];
    const prefix = box.dataset.cachePrefix || "kp-pages-";
    for (const name of await caches.keys()) {
      if (!name.startsWith(prefix)) continue;
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        const url = new URL(request.url);
        const response = await cache.match(request);
        if (!response) continue;
        entries.push({
          path: url.pathname + url.search,
          title: titleOf(await response.text(), url.pathname),
          saved: response.headers.get("X-KP-Saved") || "",
        });
      }
    }
    const rank = (path) => { const i = ORDER.findIndex((p) => path === p || (p !== "/me/" && path.startsWith(p))); return i < 0 ? ORDER.length : i; };
    entries.sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
    list.replaceChildren(...entries.map((entry) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = entry.path;
      link.textContent = entry.title;
      item.append(link);
      if (entry.saved) {
        const meta = document.createElement("span");
        meta.className = "meta";
        meta.textContent = (box.dataset.savedOn || "{date}").replace("{date}", formatDate(entry.saved));
        item.append(" ", meta);
      }
      return item;
    }));
    list.hidden = entries.length === 0;
    if (none) none.hidden = entries.length > 0;
  }

  function wireOffline(root) {
    const box = root.querySelector("[data-offline-pages]");
    if (!box || box.dataset.wired) return;
    box.dataset.wired = "1";
    listSavedPages(box).catch(() => {
      const none = box.querySelector("[data-offline-none]");
      if (none) none.hidden = false;
    });
    const retry = box.querySelector("[data-offline-retry]");
    if (retry) {
      retry.hidden = false;
      retry.addEventListener("click", () => { window.location.reload(); });
    }
  }

  // --- Web Push ---------------------------------------------------------------------------------

  async function workerRegistration() {
    await navigator.serviceWorker.register("/me/sw.js", { scope: "/me/" });
    return navigator.serviceWorker.ready;
  }

  function wirePush(root) {
    const box = root.querySelector("[data-push]");
    if (!box || box.dataset.wired) return;
    box.dataset.wired = "1";
    const on = box.querySelector("[data-push-on]");
    const off = box.querySelector("[data-push-off]");
    const status = box.querySelector("[data-push-status]");
    const say = (text) => { status.textContent = text || ""; };
    const supported = workerSupported && "PushManager" in window && "Notification" in window && box.dataset.vapidKey;
    if (!supported) { say(box.dataset.unsupported); return; }

    const show = (subscribed) => {
      on.hidden = subscribed;
      off.hidden = !subscribed;
      if (!subscribed && Notification.permission === "denied") say(box.dataset.blocked);
      else say(subscribed ? box.dataset.isOn : box.dataset.isOff);
    };

    (async () => {
      const reg = await workerRegistration();
      const existing = await reg.pushManager.getSubscription();
      const subscribed = Boolean(existing) && Notification.permission === "granted";
      if (subscribed) {
        // Keeps the server in step (a row removed after the push service said "gone", a phone that
        // another client used before): an upsert by endpoint.
        postJSON("/me/push/subscribe", existing.toJSON()).catch(() => { /* shown as on; retried next time */ });
      }
      show(subscribed);
    })().catch(() => { say(box.dataset.failed); show(false); });

    on.addEventListener("click", async () => {
      on.disabled = true;
      say(box.dataset.working);
      try {
        const permission = await Notification.requestPermission();
        if (permission !== "granted") {
          show(false);
          if (permission !== "denied") say(box.dataset.declined);
          return;
        }
        const reg = await workerRegistration();
        const key = b64urlToBytes(box.dataset.vapidKey);
        let subscription = await reg.pushManager.getSubscription();
        if (subscription && subscription.options && subscription.options.applicationServerKey &&
            !sameBytes(subscription.options.applicationServerKey, key)) {
          await subscription.unsubscribe(); // made for an older server key
          subscription = null;
        }
        if (!subscription) {
          subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
        }
        await postJSON("/me/push/subscribe", subscription.toJSON());
        show(true);
        say(box.dataset.turnedOn);
      } catch (e) {
        say(box.dataset.failed);
      } finally {
        on.disabled = false;
      }
    });

    off.addEventListener("click", async () => {
      off.disabled = true;
      say(box.dataset.working);
      try {
        const reg = await workerRegistration();
        const subscription = await reg.pushManager.getSubscription();
        if (subscription) {
          const endpoint = subscription.endpoint;
          await subscription.unsubscribe();
          await postJSON("/me/push/unsubscribe", { endpoint: endpoint }).catch((e) => {
            if (e.status !== 404) throw e; // 404: the server had already forgotten it
          });
        }
        show(false);
        say(box.dataset.turnedOff);
      } catch (e) {
        say(box.dataset.failed);
      } finally {
        off.disabled = false;
      }
    });
  }

  // --- wiring -----------------------------------------------------------------------------------

  function wire(root) {
    wireListen(root);
    markSavedCopy(root);
    wireOffline(root);
    wirePush(root);
  }

  document.addEventListener("DOMContentLoaded", () => { wire(document); registerWorker(); });
  document.addEventListener("htmx:afterSettle", () => {
    if (current && !document.contains(current.button)) stopCurrent(); // another page: stop reading
    wire(document);
  });
  window.addEventListener("pagehide", () => { stopCurrent(); });
})();
