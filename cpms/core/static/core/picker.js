/* Type-ahead pickers (cpms.core.forms.PickerWidget). Loaded once per page however many
   pickers it has. No eval, no inline handlers (the CSP and htmx config forbid them). */
(function () {
  if (window.cpmsPicker) return;
  window.cpmsPicker = true;

  function parts(el) {
    var root = el.closest("[data-picker]");
    if (!root) return null;
    return {
      root: root,
      value: root.querySelector("[data-picker-value]"),
      search: root.querySelector("[data-picker-search]"),
      list: root.querySelector("[data-picker-options]"),
    };
  }
  function options(p) {
    return Array.prototype.slice.call(p.list.querySelectorAll('[role="option"]'));
  }
  function open(p, yes) {
    p.root.classList.toggle("open", yes);
    p.search.setAttribute("aria-expanded", yes ? "true" : "false");
    if (!yes) p.search.removeAttribute("aria-activedescendant");
  }
  function highlight(p, index) {
    var all = options(p);
    all.forEach(function (o, i) {
      o.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (all[index]) {
      p.search.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    }
  }
  function choose(p, option) {
    p.value.value = option.getAttribute("data-value");
    p.search.value = option.getAttribute("data-label");
    p.root.classList.add("chosen");
    p.list.innerHTML = "";
    open(p, false);
    p.value.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("input", function (event) {
    var p = event.target.matches && event.target.matches("[data-picker-search]") && parts(event.target);
    if (!p) return;
    // typing again forgets the earlier choice: a stale ID is never submitted
    p.value.value = "";
    p.root.classList.remove("chosen");
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var p = event.target.matches && event.target.matches("[data-picker-options]") && parts(event.target);
    if (!p) return;
    p.list.querySelectorAll('[role="option"]').forEach(function (o, i) {
      o.id = p.list.id + "-" + i;
    });
    open(p, p.list.children.length > 0 && document.activeElement === p.search);
  });
  document.addEventListener("keydown", function (event) {
    var p = event.target.matches && event.target.matches("[data-picker-search]") && parts(event.target);
    if (!p) return;
    var all = options(p);
    var current = all.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      open(p, true);
      highlight(p, Math.min(current + 1, all.length - 1));
    } else if (event.key === "ArrowUp" && all.length) {
      event.preventDefault();
      highlight(p, Math.max(current - 1, 0));
    } else if (event.key === "Enter" && p.root.classList.contains("open")) {
      event.preventDefault(); // Enter picks; it does not submit the form half-filled
      if (all[current >= 0 ? current : 0]) choose(p, all[current >= 0 ? current : 0]);
    } else if (event.key === "Escape") {
      open(p, false);
    }
  });
  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest('[data-picker-options] [role="option"]');
    if (option) {
      choose(parts(option), option);
      return;
    }
    document.querySelectorAll("[data-picker].open").forEach(function (root) {
      if (!root.contains(event.target)) open(parts(root), false);
    });
  });
})();
