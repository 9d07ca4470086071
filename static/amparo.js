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
  function setWidths() {
    document.querySelectorAll("[data-width-percent]").forEach(function (el) {
      el.style.width = el.getAttribute("data-width-percent") + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", setWidths);
  document.addEventListener("htmx:afterSettle", setWidths);
})();
