// Relata UI: small progressive enhancements. Every page works without it.
(function () {
  "use strict";
  // Tell the server the browser's time zone, so the pages that follow show
  // times on the user's clock (a zone the user set in Relata wins).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var sent = document.cookie.match(/(?:^|;\s*)relata_tz=([^;]*)/);
    if (zone && (!sent || sent[1] !== zone)) {
      document.cookie = "relata_tz=" + zone + "; Path=/; Max-Age=31536000; SameSite=Lax";
    }
  } catch (e) {
    // No Intl time zone: the installation's zone is used.
  }
  document.addEventListener("click", function (ev) {
    var tab = ev.target.closest("[data-tab]");
    if (tab) {
      ev.preventDefault();
      document.querySelectorAll("[data-tab]").forEach(function (t) {
        t.setAttribute("aria-selected", t === tab ? "true" : "false");
      });
      document.querySelectorAll(".tab-panel").forEach(function (p) {
        p.hidden = p.id !== "tab-" + tab.dataset.tab;
      });
      return;
    }
    var option = ev.target.closest(".lookup-results [data-id]");
    if (option) {
      var box = option.closest("[data-lookup]");
      box.querySelector("[data-lookup-value]").value = option.dataset.id;
      box.querySelector("[data-lookup-text]").value = option.dataset.label;
      box.querySelector(".lookup-results").innerHTML = "";
    }
  });
  document.addEventListener("change", function (ev) {
    if (ev.target.matches("[data-select-all]")) {
      ev.target.closest("table").querySelectorAll("tbody input[type=checkbox]").forEach(function (c) {
        c.checked = ev.target.checked;
      });
    }
  });
  document.addEventListener("input", function (ev) {
    // Typing in a lookup clears the chosen record until a new one is picked.
    var box = ev.target.closest("[data-lookup]");
    if (box && ev.target.matches("[data-lookup-text]")) {
      box.querySelector("[data-lookup-value]").value = "";
    }
  });
})();
