// Small enhancements only: every page works without this file.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
  // A submitted form's button is disabled, so a double click sends once
  // (the intake form is idempotent anyway).
  document.addEventListener("submit", function (e) {
    var b = e.target.querySelector("button[type=submit]");
    if (b) { window.setTimeout(function () { b.disabled = true; }, 0); }
  });
})();
