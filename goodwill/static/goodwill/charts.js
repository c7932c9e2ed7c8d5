// Case report charts. The page passes its series as JSON in
// <script id="report-data" type="application/json"> ({"charts": {id: spec}}) and
// marks each chart with <canvas data-chart="id">; the table beside each chart
// holds the same figures, so without this file (or Chart.js) nothing is lost.
(function () {
  "use strict";

  var COLORS = {
    draft: "#98a2b3",
    open: "#3b82f6",
    pending: "#f59e0b",
    done: "#16a34a",
    cancel: "#dc2626",
    planned: "#1f6f5c",
    weighted: "#8b5cf6"
  };
  var PALETTE = ["#1f6f5c", "#3b82f6", "#f59e0b", "#8b5cf6", "#dc2626", "#0891b2"];

  function readData() {
    var el = document.getElementById("report-data");
    if (!el) return null;
    try {
      return JSON.parse(el.textContent);
    } catch (error) {
      return null;
    }
  }

  function formatNumber(value, percent) {
    var text = Number(value).toLocaleString(undefined, { maximumFractionDigits: 2 });
    return percent ? text + " %" : text;
  }

  function chartConfig(spec) {
    var line = spec.type === "line";
    var stacked = Boolean(spec.stacked);
    var percent = Boolean(spec.percent);
    var datasets = spec.datasets.map(function (series, index) {
      var color = COLORS[series.key] || PALETTE[index % PALETTE.length];
      return {
        label: series.label,
        data: series.data,
        borderColor: color,
        backgroundColor: line ? color + "33" : color,
        borderWidth: line ? 2 : 0,
        maxBarThickness: 56,
        pointRadius: line ? 2 : 0,
        tension: 0.2,
        fill: false
      };
    });
    return {
      type: line ? "line" : "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (context) {
                return context.dataset.label + ": " + formatNumber(context.parsed.y, percent);
              }
            }
          }
        },
        scales: {
          x: { stacked: stacked, grid: { display: false } },
          y: {
            stacked: stacked,
            beginAtZero: true,
            suggestedMax: percent ? 100 : undefined,
            title: { display: Boolean(spec.yTitle), text: spec.yTitle || "" },
            ticks: {
              precision: line || percent ? undefined : 0,
              callback: function (value) { return formatNumber(value, percent); }
            }
          }
        }
      }
    };
  }

  function drawCharts() {
    var data = readData();
    if (!data || !data.charts || typeof window.Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = data.charts[canvas.dataset.chart];
      if (!spec || canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, chartConfig(spec));
    });
  }

  // Filters: typing a date switches the period to "dates"; a preset clears them.
  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-report-filters]");
    if (!form) return;
    var period = form.elements.period;
    if (!period) return;
    if (event.target.type === "date" && event.target.value) {
      period.value = "custom";
    } else if (event.target === period && period.value !== "custom") {
      form.elements.from.value = "";
      form.elements.to.value = "";
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawCharts);
  } else {
    drawCharts();
  }
})();
