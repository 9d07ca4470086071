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
  document.addEventListener("DOMContentLoaded", setWidths);
  document.addEventListener("htmx:afterSettle", setWidths);
})();
