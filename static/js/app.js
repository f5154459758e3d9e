// Kotopolku's only script besides htmx: passkeys (WebAuthn) and small accessibility helpers.
// No inline scripts anywhere, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";

  function b64urlToBuf(value) {
    const pad = "=".repeat((4 - (value.length % 4)) % 4);
    const bin = atob((value + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  }
  function bufToB64url(buf) {
    let bin = "";
    new Uint8Array(buf).forEach((b) => { bin += String.fromCharCode(b); });
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    return Object.assign({}, json, {
      challenge: b64urlToBuf(json.challenge),
      user: Object.assign({}, json.user, { id: b64urlToBuf(json.user.id) }),
      excludeCredentials: (json.excludeCredentials || []).map((c) => Object.assign({}, c, { id: b64urlToBuf(c.id) })),
    });
  }
  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    return Object.assign({}, json, {
      challenge: b64urlToBuf(json.challenge),
      allowCredentials: (json.allowCredentials || []).map((c) => Object.assign({}, c, { id: b64urlToBuf(c.id) })),
    });
  }
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    const r = cred.response;
    const out = { id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(), response: { clientDataJSON: bufToB64url(r.clientDataJSON) } };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    }
    return out;
  }
  function csrfHeader() {
    const raw = document.body.getAttribute("hx-headers");
    try { return JSON.parse(raw || "{}"); } catch (e) { return {}; }
  }
  async function postJSON(url, body) {
    const res = await fetch(url, { method: "POST", credentials: "same-origin", headers: Object.assign({ "Content-Type": "application/json", "Accept": "application/json" }, csrfHeader()), body: body === undefined ? "{}" : JSON.stringify(body) });
    let data = {};
    try { data = await res.json(); } catch (e) { /* non-JSON error page */ }
    if (!res.ok) { const err = new Error(String(res.status)); err.serverMessage = data.error; throw err; }
    return data;
  }

  function wirePasskeys(root) {
    const supported = typeof window.PublicKeyCredential === "function";
    root.querySelectorAll("[data-passkey-sign-in], [data-passkey-register]").forEach((box) => {
      const error = box.querySelector("[data-passkey-error]");
      box.hidden = false;
      if (!supported) { error.textContent = error.dataset.unsupported; return; }
      const button = box.querySelector("[data-passkey-options]");
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.addEventListener("click", async () => {
        error.textContent = "";
        button.disabled = true;
        try {
          const password = box.querySelector("[data-passkey-password]");  // adding one: the password again
          const options = await postJSON(button.dataset.passkeyOptions, password ? { password: password.value } : undefined);
          let result;
          if (box.hasAttribute("data-passkey-register")) {
            const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
            const name = (box.querySelector("#passkey-name") || {}).value || "";
            result = await postJSON(button.dataset.passkeyVerify, { credential: credentialJSON(cred), name: name });
          } else {
            const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
            result = await postJSON(button.dataset.passkeyVerify, credentialJSON(cred));
          }
          window.location.assign(result.redirect);
        } catch (e) {
          // The server's own (translated) explanation when it gave one, e.g. "this version was replaced".
          error.textContent = e.serverMessage || error.dataset.failed;
          button.disabled = false;
        }
      });
    });
  }

  function focusErrors(root) {
    const summary = root.querySelector("#error-summary, #conflict");
    if (summary) summary.focus();
  }

  // An expired session during a save: keep the page and its input, say what to do.
  document.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    const box = document.getElementById("session-ended");
    if (xhr.status !== 401 || !box) return;
    box.querySelector("p").textContent = xhr.responseText;
    box.hidden = false;
    box.focus();
  });

  // The client page's sections loaded on demand: busy while loading (screen readers wait for the content),
  // and a link to a closed section (#family) opens it, which loads it.
  function isSectionBody(elt) { return elt instanceof Element && elt.classList.contains("section-body"); }
  document.addEventListener("htmx:beforeRequest", (e) => { if (isSectionBody(e.target)) e.target.setAttribute("aria-busy", "true"); });
  document.addEventListener("htmx:afterRequest", (e) => { if (isSectionBody(e.target)) e.target.removeAttribute("aria-busy"); });
  function openLinkedSection() {
    const target = location.hash.length > 1 ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (target instanceof HTMLDetailsElement && target.classList.contains("on-demand")) target.open = true;
  }
  window.addEventListener("hashchange", openLinkedSection);
  // Back from a section's form (a boosted redirect to ?open=<name>#<name> loses the #): to the section.
  function focusOpenedSection() {
    const name = new URLSearchParams(location.search).get("open");
    const summary = name ? document.querySelector(`details.on-demand[open][id="${CSS.escape(name)}"] > summary`) : null;
    if (summary && !document.querySelector("#error-summary, #conflict")) summary.focus();
  }

  document.addEventListener("DOMContentLoaded", () => { wirePasskeys(document); focusErrors(document); openLinkedSection(); });
  document.addEventListener("htmx:afterSettle", (e) => {
    wirePasskeys(document);
    focusErrors(e.target);
    if (e.target === document.body) { openLinkedSection(); focusOpenedSection(); }  // a boosted page swap
  });
})();
