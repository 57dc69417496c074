// CPMS console behaviour. No inline scripts: the content security policy forbids them.
(function () {
  "use strict";
  // every table scrolls sideways inside a wrapper on narrow screens instead of squeezing
  function wrapTables(root) {
    (root || document).querySelectorAll("main table").forEach(function (table) {
      var parent = table.parentElement;
      if (parent.classList.contains("overflow-auto") || parent.classList.contains("table-scroll")) {
        return;
      }
      var wrapper = document.createElement("div");
      wrapper.className = "table-scroll";
      parent.insertBefore(wrapper, table);
      wrapper.appendChild(table);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wrapTables(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wrapTables(event.target); });
  // phones: one button opens and closes the whole menu
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (toggle) {
      var nav = toggle.closest(".console-nav");
      var open = !nav.classList.contains("open");
      nav.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    // a click outside an open dropdown closes it
    document.querySelectorAll(".console-nav details.dropdown[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.removeAttribute("open");
      }
    });
  });
  // one dropdown open at a time
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches(".console-nav details.dropdown") || !menu.open) {
      return;
    }
    document.querySelectorAll(".console-nav details.dropdown[open]").forEach(function (other) {
      if (other !== menu) {
        other.removeAttribute("open");
      }
    });
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll(".console-nav details.dropdown[open]").forEach(function (menu) {
        menu.removeAttribute("open");
      });
    }
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form) {
      form.submit();
    }
  });
})();
