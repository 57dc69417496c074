// CPMS console behaviour. No inline scripts: the content security policy forbids them.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form) {
      form.submit();
    }
  });
})();
