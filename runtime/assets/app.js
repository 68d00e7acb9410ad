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
      pick(option);
      return;
    }
    // A click elsewhere closes any open suggestions.
    document.querySelectorAll("[data-lookup]").forEach(function (box) {
      if (!box.contains(ev.target)) close(box);
    });
  });

  // A click on a suggestion keeps the focus in the text box (picking it
  // then does not fetch the suggestions again).
  document.addEventListener("mousedown", function (ev) {
    if (ev.target.closest(".lookup-results [data-id]")) ev.preventDefault();
  });

  // Lookups are comboboxes (WAI-ARIA 1.2): the text input owns a listbox of
  // suggestions; ArrowDown / ArrowUp move through them, Enter picks the
  // one shown as active (and never submits the form), Escape closes them.
  function options(box) {
    return Array.prototype.slice.call(box.querySelectorAll(".lookup-results [data-id]"));
  }
  function close(box) {
    var list = box.querySelector(".lookup-results");
    box.dataset.active = "";
    var input = box.querySelector("[data-lookup-text]");
    if (list) list.innerHTML = "";
    if (input) {
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
  }
  function pick(option) {
    var box = option.closest("[data-lookup]");
    var input = box.querySelector("[data-lookup-text]");
    box.querySelector("[data-lookup-value]").value = option.dataset.id;
    input.value = option.dataset.label;
    close(box);
    input.focus();
  }
  function activate(box, index) {
    var all = options(box);
    var input = box.querySelector("[data-lookup-text]");
    all.forEach(function (o, i) {
      o.setAttribute("aria-selected", i === index ? "true" : "false");
      o.classList.toggle("active", i === index);
    });
    box.dataset.active = all[index] ? all[index].dataset.id : "";
    if (all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    }
  }
  // Each new set of suggestions: ids for aria-activedescendant, none active.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var list = (ev.detail && ev.detail.target) || ev.target;
    if (!list.matches || !list.matches(".lookup-results")) return;
    var box = list.closest("[data-lookup]");
    var input = box.querySelector("[data-lookup-text]");
    options(box).forEach(function (o, i) {
      o.id = list.id + "-" + i;
      o.setAttribute("aria-selected", "false");
      o.tabIndex = -1;
    });
    input.setAttribute("aria-expanded", list.children.length ? "true" : "false");
    input.removeAttribute("aria-activedescendant");
    // A later answer for the same text keeps the suggestion the user was on.
    var kept = options(box).findIndex(function (o) {
      return o.dataset.id === box.dataset.active;
    });
    if (kept >= 0) activate(box, kept);
  });
  document.addEventListener("keydown", function (ev) {
    var input = ev.target.closest && ev.target.closest("[data-lookup-text]");
    if (!input) return;
    var box = input.closest("[data-lookup]");
    var all = options(box);
    var current = all.findIndex(function (o) {
      return o.getAttribute("aria-selected") === "true";
    });
    switch (ev.key) {
      case "ArrowDown":
      case "ArrowUp":
        ev.preventDefault();
        if (!all.length) {
          // Closed: open the suggestions for what is typed.
          if (window.htmx) window.htmx.trigger(input, "lookup-open");
          return;
        }
        var step = ev.key === "ArrowDown" ? 1 : -1;
        var next = current < 0 ? (step > 0 ? 0 : all.length - 1) : (current + step + all.length) % all.length;
        activate(box, next);
        return;
      case "Enter":
        // Enter in a lookup picks; it never submits the form.
        ev.preventDefault();
        if (current >= 0) pick(all[current]);
        else if (all.length === 1) pick(all[0]);
        return;
      case "Escape":
        // Closes the suggestions; never clears the box (as a search box's
        // Escape would), so the chosen record stays chosen.
        ev.preventDefault();
        close(box);
        return;
      case "Tab":
        close(box);
        return;
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
