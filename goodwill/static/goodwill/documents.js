// Commercial documents: "Add a line" clones the empty line kept in a <template>.
// Without this file the form still offers its blank rows.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-lines-add]");
    if (!button) return;
    event.preventDefault();
    var prefix = button.dataset.linesAdd;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-empty");
    var rows = document.getElementById(prefix + "-rows");
    if (!total || !template || !rows) return;
    var index = parseInt(total.value, 10);
    rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
    total.value = String(index + 1);
    var row = rows.lastElementChild;
    // Let the shared widget code turn the product select into an autocomplete.
    row.dispatchEvent(new CustomEvent("htmx:load", { bubbles: true }));
    var first = row.querySelector("input, select");
    if (first) first.focus();
  });
})();
