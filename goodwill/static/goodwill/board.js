// The kanban board and the calendar: drag and drop with SortableJS.
// Without this file both pages still work: every card and event has a "Move…" form.
(function () {
  "use strict";

  // The CSRF token, from the htmx headers base.html puts on <body>.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  var STATUS_MESSAGES = {
    403: "You may not change this case.",
    404: "This case no longer exists, or you can no longer see it.",
  };

  // POST *data* to *url*; resolves with the JSON answer, rejects with a message.
  function post(url, data) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: new URLSearchParams(data),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (payload) {
        if (response.ok && payload && payload.ok) return payload;
        var message = (payload && payload.error) || STATUS_MESSAGES[response.status] ||
          "The change could not be saved (error " + response.status + "). Reload the page and try again.";
        throw new Error(message);
      });
    }, function () {
      throw new Error("The server could not be reached; nothing was changed.");
    });
  }

  function say(root, message, isError) {
    var box = root.querySelector("[data-board-status]");
    if (!box) return;
    box.textContent = message;
    box.className = "board-status alert " + (isError ? "alert-error" : "alert-success");
    box.setAttribute("role", isError ? "alert" : "status");
    box.hidden = false;
    clearTimeout(box._timer);
    if (!isError) box._timer = setTimeout(function () { box.hidden = true; }, 4000);
  }

  // Remember where a dragged element came from, to put it back if the move fails.
  function remember(evt) {
    evt.item._origin = { parent: evt.from, next: evt.item.nextElementSibling };
  }
  function putBack(item) {
    var origin = item._origin;
    if (origin) origin.parent.insertBefore(item, origin.next && origin.next.parentNode === origin.parent ? origin.next : null);
  }

  // The fallback drag (pointer events, a clone follows the pointer) behaves the same
  // with a mouse, a pen and a finger, and in every browser.
  var COMMON = {
    forceFallback: true,
    fallbackTolerance: 4,
    // On touch screens a short hold starts the drag, so a swipe still scrolls the board.
    delay: 200,
    delayOnTouchOnly: true,
    sort: false,
    animation: 120,
    filter: "details, summary, input, select, button, label",
    preventOnFilter: false,
    ghostClass: "is-ghost",
    chosenClass: "is-chosen",
    onStart: remember,
  };
  function options(extra) {
    var result = {};
    Object.keys(COMMON).forEach(function (key) { result[key] = COMMON[key]; });
    Object.keys(extra).forEach(function (key) { result[key] = extra[key]; });
    return result;
  }

  // ------------------------------------------------------------------ kanban

  function initKanban(board) {
    var page = board.closest("main") || document;
    var filters = new URLSearchParams(board.dataset.filters || "");
    board.querySelectorAll("[data-kanban-list]").forEach(function (list) {
      if (list._sortable || board.hasAttribute("data-readonly")) return;
      list._sortable = Sortable.create(list, options({
        group: { name: "kanban", pull: true, put: list.dataset.accept !== "false" },
        draggable: ".kanban-card",
        onAdd: function (evt) {
          var item = evt.item;
          var target = evt.to;
          var data = { number: item.dataset.number, stage: target.dataset.stage };
          filters.forEach(function (value, key) { data[key] = value; });
          item.classList.add("is-saving");
          post(board.dataset.moveUrl, data).then(function (payload) {
            item.classList.remove("is-saving");
            // The most recently changed case comes first, as the server orders it.
            var empty = target.querySelector(".kanban-empty");
            if (empty) empty.remove();
            if (!evt.from.querySelector(".kanban-card, .kanban-more, .kanban-loading")) {
              var none = document.createElement("li");
              none.className = "kanban-empty muted small";
              none.textContent = "No cases";
              evt.from.appendChild(none);
            }
            target.insertBefore(item, target.firstElementChild);
            var select = item.querySelector("select[name=stage]");
            if (select) select.value = String(payload.stage);
            Object.keys(payload.headers || {}).forEach(function (key) {
              var header = board.querySelector('[data-column-header="' + key + '"]');
              if (header) header.outerHTML = payload.headers[key];
            });
            say(page, payload.message, false);
          }).catch(function (error) {
            item.classList.remove("is-saving");
            putBack(item);
            say(page, error.message, true);
          });
        },
      }));
    });
  }

  // Folded columns: unfold on click, loading their cards the first time.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-kanban-toggle]");
    if (!toggle) return;
    var column = toggle.closest(".kanban-column");
    var folded = column.classList.toggle("is-folded");
    column.querySelectorAll("[data-kanban-toggle]").forEach(function (button) {
      button.setAttribute("aria-expanded", folded ? "false" : "true");
    });
    var list = column.querySelector("[data-kanban-list]");
    if (!folded && list && !list._loaded && typeof htmx !== "undefined") {
      list._loaded = true;
      htmx.trigger(list, "kanban-expand");
    }
  });

  // ---------------------------------------------------------------- calendar

  function pad(number) { return (number < 10 ? "0" : "") + number; }

  function sortEvents(list) {
    var items = Array.prototype.slice.call(list.querySelectorAll(":scope > .cal-event"));
    items.sort(function (a, b) { return a.dataset.time < b.dataset.time ? -1 : a.dataset.time > b.dataset.time ? 1 : 0; });
    items.forEach(function (item) { list.appendChild(item); });
  }

  function initCalendar(calendar) {
    var page = calendar.closest("main") || document;
    if (calendar.hasAttribute("data-readonly")) return;
    calendar.querySelectorAll("[data-cal-list]").forEach(function (list) {
      if (list._sortable) return;
      list._sortable = Sortable.create(list, options({
        group: "calendar",
        draggable: ".cal-event",
        onAdd: function (evt) {
          var item = evt.item;
          var target = evt.to;
          // A day keeps the time of day; an hour slot sets the hour and keeps the minutes.
          var time = item.dataset.time;
          if (target.dataset.hour) time = pad(parseInt(target.dataset.hour, 10)) + ":" + time.split(":")[1];
          item.classList.add("is-saving");
          post(calendar.dataset.moveUrl, { number: item.dataset.number, start: target.dataset.date + "T" + time })
            .then(function (payload) {
              item.classList.remove("is-saving");
              item.dataset.date = payload.date;
              item.dataset.time = payload.time;
              var label = item.querySelector(".cal-time");
              if (label) label.textContent = payload.time;
              var end = item.querySelector(".cal-end");
              if (end) end.textContent = payload.end_time ? "–" + payload.end_time : "";
              var dateInput = item.querySelector("input[name=date]");
              var timeInput = item.querySelector("input[name=time]");
              if (dateInput) dateInput.value = payload.date;
              if (timeInput) timeInput.value = payload.time;
              sortEvents(target);
              say(page, payload.message, false);
            })
            .catch(function (error) {
              item.classList.remove("is-saving");
              putBack(item);
              say(page, error.message, true);
            });
        },
      }));
    });
  }

  // Filter pickers apply as soon as they change.
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-board-autosubmit]") && event.target.form) event.target.form.requestSubmit();
  });

  function init() {
    if (typeof Sortable === "undefined") return;
    document.querySelectorAll("[data-kanban]").forEach(initKanban);
    document.querySelectorAll("[data-calendar]").forEach(initCalendar);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
