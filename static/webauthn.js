// Security keys and passkeys (docs/architecture.md#security-keys-and-passkeys).
// A form marked data-webauthn="create" (add a key) or "get" (use a key) carries the server's
// options as JSON in data-webauthn-options. On submit the browser asks for the key, the
// answer goes into the form's hidden "credential" field and the form is sent as usual.
// Elements marked data-webauthn-only are shown only where the browser supports WebAuthn,
// those marked data-webauthn-missing only where it does not.
(function () {
  "use strict";

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: fromBase64url(d.id), transports: d.transports };
    });
  }

  function publicKey(kind, options) {
    options.challenge = fromBase64url(options.challenge);
    if (kind === "create") {
      options.user.id = fromBase64url(options.user.id);
      options.excludeCredentials = descriptors(options.excludeCredentials);
    } else {
      options.allowCredentials = descriptors(options.allowCredentials);
    }
    return options;
  }

  function answer(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) { response.userHandle = toBase64url(r.userHandle); }
    }
    return JSON.stringify({
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      response: response, clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined
    });
  }

  function start(form, event) {
    var field = form.querySelector("input[name=credential]");
    if (field.value) { return; }  // the answer is in: let the form go
    event.preventDefault();
    var kind = form.getAttribute("data-webauthn");
    var status = form.querySelector("[data-webauthn-status]");
    var button = form.querySelector("button[type=submit]");
    var options = { publicKey: publicKey(kind, JSON.parse(form.getAttribute("data-webauthn-options"))) };
    if (status) { status.textContent = form.getAttribute("data-webauthn-waiting") || ""; }
    if (button) { button.disabled = true; }
    var ask = kind === "create" ? navigator.credentials.create(options) : navigator.credentials.get(options);
    ask.then(function (credential) {
      field.value = answer(credential);
      form.submit();
    }, function () {
      if (status) { status.textContent = form.getAttribute("data-webauthn-failed") || ""; }
      if (button) { button.disabled = false; }
    });
  }

  var supported = !!(window.PublicKeyCredential && navigator.credentials);
  document.querySelectorAll("[data-webauthn-only]").forEach(function (el) {
    el.hidden = !supported;
  });
  document.querySelectorAll("[data-webauthn-missing]").forEach(function (el) {
    el.hidden = supported;
  });
  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (supported) { start(form, event); } else { event.preventDefault(); }
    });
  });
})();
