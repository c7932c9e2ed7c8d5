// Case setup: drag a section's stages into a new order with SortableJS. The list
// sits in a form whose hidden inputs follow the drag; the form then posts the ids
// in their new order (with htmx, or as a plain submit). The arrow buttons do the
// same without dragging.
(function () {
  "use strict";

  function init(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll("[data-sortable]").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        handle: ".drag-handle",
        animation: 150,
        ghostClass: "sortable-ghost",
        chosenClass: "sortable-chosen",
        onEnd: function (event) {
          if (event.oldIndex === event.newIndex) return;
          var form = list.closest("form");
          if (!form) return;
          if (window.htmx) window.htmx.trigger(form, "stages-reordered");
          else form.submit();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
