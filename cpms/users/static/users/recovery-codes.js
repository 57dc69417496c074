/* Recovery codes page: "Download (.txt)" builds the file in the browser from the codes shown on
   this page (the server keeps only their hashes and never serves them again); "Print" prints
   the codes alone (see the print rules in users.css). */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var sheet = document.querySelector("[data-recovery-codes]");
    if (!sheet) { return; }
    var codes = Array.prototype.map.call(sheet.querySelectorAll("[data-code]"), function (node) {
      return node.textContent.trim();
    });
    var download = document.querySelector("[data-recovery-download]");
    if (download) {
      download.hidden = false;
      download.addEventListener("click", function () {
        var lines = [sheet.dataset.title, sheet.dataset.owner + " · " + sheet.dataset.date, ""];
        var text = lines.concat(codes).join("\r\n") + "\r\n";
        var url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
        var link = document.createElement("a");
        link.href = url;
        link.download = sheet.dataset.filename;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      });
    }
    var print = document.querySelector("[data-recovery-print]");
    if (print) {
      print.hidden = false;
      print.addEventListener("click", function () { window.print(); });
    }
  });
})();
