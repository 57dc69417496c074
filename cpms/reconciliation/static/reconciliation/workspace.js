// Reconciliation workspace keyboard: ↑/↓ move within the lines or the candidates, → from a
// line to its suggestions, ← or Esc back to the selected line; Enter follows the focused link
// or presses the focused button (select a line, match). After every HTMX swap the element the
// server marked `data-autofocus` takes the focus (the best suggestion of the selected line).
(function () {
  "use strict";

  // htmx settles "style" from the old element onto its swapped twin; Chromium marks inputs
  // with an empty style attribute, and copying it is an inline style the CSP refuses
  if (window.htmx) {
    window.htmx.config.attributesToSettle = ["class", "width", "height"];
  }

  function workspace() {
    return document.querySelector("[data-workspace]");
  }

  function group(name) {
    var root = workspace();
    return root ? Array.prototype.slice.call(root.querySelectorAll('[data-nav="' + name + '"]')) : [];
  }

  function focusAt(items, index) {
    if (!items.length) {
      return;
    }
    var item = items[Math.max(0, Math.min(items.length - 1, index))];
    item.focus();
    item.scrollIntoView({ block: "nearest" });
  }

  function selectedLine() {
    var root = workspace();
    return root ? root.querySelector(".is-selected a.recon-pick, tr.is-selected a.recon-pick") : null;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target || !target.closest || !target.closest("[data-workspace]")) {
      return;
    }
    var name = target.getAttribute("data-nav");
    if (!name) {
      return;
    }
    var items = group(name);
    var index = items.indexOf(target);
    if (event.key === "ArrowDown") {
      event.preventDefault();
      focusAt(items, index + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      focusAt(items, index - 1);
    } else if (event.key === "ArrowRight" && name === "lines") {
      var candidates = group("candidates");
      if (candidates.length && target.closest("tr.is-selected")) {
        event.preventDefault();
        focusAt(candidates, 0);
      }
    } else if ((event.key === "ArrowLeft" || event.key === "Escape") && name !== "lines") {
      var line = selectedLine();
      if (line) {
        event.preventDefault();
        line.focus();
      }
    } else if (event.key === " " && name === "lines") {
      event.preventDefault();
      target.click();
    }
  });

  function autofocus(root) {
    var wanted = root.querySelector("[data-autofocus]") || root.querySelector('[data-nav="lines"]');
    if (wanted) {
      wanted.focus();
      wanted.scrollIntoView({ block: "nearest" });
    }
  }

  // after selecting a line or matching (the whole workspace swapped): the best suggestion, else
  // the first line; filtering or paging one side leaves the focus where the person typed
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = workspace();
    if (root && event.detail && event.detail.target === root) {
      autofocus(root);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var root = workspace();
    if (root && root.querySelector("[data-autofocus]")) {
      autofocus(root);
    }
  });
})();
