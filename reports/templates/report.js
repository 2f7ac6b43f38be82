/* Draws each chart of the page: figure JSON from a <script type="application/json"> block,
   never data written into script source. Needs plotly.js loaded before it. */
(function () {
  "use strict";
  function draw() {
    var nodes = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var src = document.getElementById(el.getAttribute("data-chart"));
      if (!src) { continue; }
      if (typeof Plotly === "undefined") {
        el.textContent = "The chart needs assets/plotly.min.js beside the report pages.";
        continue;
      }
      var fig = JSON.parse(src.textContent);
      // A responsive plot takes its container's size on a resize: fix the height it was made for.
      if (fig.layout && fig.layout.height) { el.style.height = fig.layout.height + "px"; }
      Plotly.newPlot(el, fig.data, fig.layout, fig.config);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
