// Goodwill's small behaviours. Everything works without this file; it only makes pages nicer.
(function () {
  "use strict";

  // "/" focuses the search box, unless the user is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var el = document.activeElement;
    var typing = el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
    if (typing) return;
    var search = document.getElementById("global-search");
    if (search) { event.preventDefault(); search.focus(); search.select(); }
  });

  // Mobile navigation toggle.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var nav = document.getElementById("sidebar");
    var open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Confirm before destructive submits: <form data-confirm="Archive 3 partners?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  // Formsets: "add another" clones the empty form kept in a <template>.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-formset-add]");
    if (!button) return;
    event.preventDefault();
    var prefix = button.dataset.formsetAdd;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-empty");
    var rows = document.getElementById(prefix + "-rows");
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = rows.lastElementChild && rows.lastElementChild.querySelector("input, select");
    if (first) first.focus();
  });

  // Partner form: show the fields that belong to the chosen kind.
  document.addEventListener("change", function (event) {
    if (event.target.name !== "kind" || event.target.type !== "radio") return;
    var person = event.target.value === "person";
    document.querySelectorAll(".person-only").forEach(function (el) { el.hidden = !person; });
    document.querySelectorAll(".company-only").forEach(function (el) { el.hidden = person; });
  });

  // Bulk selection on lists.
  function updateBulk(scope) {
    var boxes = scope.querySelectorAll("input[name=ids]");
    var checked = scope.querySelectorAll("input[name=ids]:checked").length;
    var bar = scope.querySelector("[data-bulk-bar]");
    var count = scope.querySelector("[data-bulk-count]");
    if (bar) bar.hidden = checked === 0;
    if (count) count.textContent = String(checked);
    var all = scope.querySelector("[data-select-all]");
    if (all) all.checked = checked > 0 && checked === boxes.length;
  }
  document.addEventListener("change", function (event) {
    var scope = event.target.closest("[data-bulk]");
    if (!scope) return;
    if (event.target.matches("[data-select-all]")) {
      scope.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = event.target.checked; });
    }
    updateBulk(scope);
  });

  // Autocomplete selects (partners) and tag pickers (categories), with Tom Select.
  function initWidgets(root) {
    if (typeof TomSelect === "undefined") return;
    root.querySelectorAll("select[data-autocomplete]").forEach(function (select) {
      if (select.tomselect) return;
      var kind = select.dataset.kind || "";
      var base = select.dataset.url || "/partners/autocomplete/";
      new TomSelect(select, {
        valueField: "value", labelField: "text", searchField: [], maxOptions: 20,
        loadThrottle: 250, allowEmptyOption: false, placeholder: "Type to search…",
        plugins: ["clear_button"],
        shouldLoad: function (query) { return query.length >= 1; },
        load: function (query, callback) {
          var url = base + "?kind=" + encodeURIComponent(kind) + "&q=" + encodeURIComponent(query);
          fetch(url, { headers: { "Accept": "application/json" } })
            .then(function (r) { return r.json(); })
            .then(function (data) { callback(data.results); })
            .catch(function () { callback(); });
        },
        render: {
          option: function (item, escape) {
            var where = item.where ? '<span class="muted small"> · ' + escape(item.where) + "</span>" : "";
            return "<div>" + escape(item.text) + where + "</div>";
          }
        }
      });
    });
    root.querySelectorAll("select[data-tags]").forEach(function (select) {
      if (select.tomselect) return;
      new TomSelect(select, { plugins: ["remove_button"], maxOptions: 500 });
    });
  }
  // Tabs: <div data-tabs> with role=tab buttons controlling role=tabpanel panes.
  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-tabs] [role=tab]");
    if (!tab) return;
    tab.parentElement.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      var pane = document.getElementById(other.getAttribute("aria-controls"));
      if (pane) pane.hidden = !selected;
    });
  });

  // The case form shows the field groups its case type asks for.
  function syncCaseGroups() {
    var data = document.getElementById("case-type-groups");
    var select = document.getElementById("id_case_type");
    if (!data || !select) return;
    var groups = JSON.parse(data.textContent)[select.value] || [];
    document.querySelectorAll("[data-field-group]").forEach(function (panel) {
      panel.hidden = !panel.dataset.fieldGroup.split(" ").some(function (group) {
        return groups.indexOf(group) !== -1;
      });
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "id_case_type") syncCaseGroups();
  });
  document.addEventListener("DOMContentLoaded", syncCaseGroups);
  document.addEventListener("DOMContentLoaded", function () { initWidgets(document); });
  document.addEventListener("htmx:load", function (event) { initWidgets(event.target); });
})();
