// What the templates ask for with data attributes: the Content-Security-Policy allows no
// inline script or style (docs/architecture.md#content-security-policy).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-submit-on-change]") && el.form) {
      el.form.submit();
    }
  });
  // A form marked data-submit-once is sent once: a second click would spend a one-time code.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("[data-submit-once]")) {
      if (form.getAttribute("data-submitted")) {
        event.preventDefault();
      } else {
        form.setAttribute("data-submitted", "1");
      }
    }
  });
  function setWidths() {
    document.querySelectorAll("[data-width-percent]").forEach(function (el) {
      el.style.width = el.getAttribute("data-width-percent") + "%";
    });
  }
  // A page left open: once the session has ended (idle or too old), the page gives way to
  // the login page, so that what it showed does not stay on an unattended screen. Another
  // tab may have kept the session open: then it waits for the time the server says is left.
  function watchSession() {
    var body = document.body;
    var url = body.getAttribute("data-session-url");
    if (!url) {
      return;
    }
    var login = body.getAttribute("data-login-url");
    function leave() {
      window.location.replace(login + "?next=" +
        encodeURIComponent(window.location.pathname + window.location.search));
    }
    function check() {
      fetch(url, {credentials: "same-origin", redirect: "manual",
                  headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (response.type === "opaqueredirect" || !response.ok) {
            leave();
            return null;
          }
          return response.json();
        })
        .then(function (state) {
          if (state && state.active && state.remaining > 0) {
            window.setTimeout(check, (state.remaining + 2) * 1000);
          } else if (state) {
            leave();
          }
        })
        .catch(function () {
          window.setTimeout(check, 30000);  // the server did not answer: ask again
        });
    }
    window.setTimeout(check, (parseInt(body.getAttribute("data-idle-seconds"), 10) + 2) * 1000);
  }
  document.addEventListener("DOMContentLoaded", watchSession);
  document.addEventListener("DOMContentLoaded", setWidths);
  document.addEventListener("htmx:afterSettle", setWidths);
})();
