// The dashboard's own script (no inline scripts: the pages' content security policy forbids them).
// Runs page: new and changed runs arrive as table rows over Server-Sent Events.
// Workflow page: Mermaid draws the graph.
(function () {
  "use strict";

  function liveRuns(table) {
    var tbody = table.tBodies[0];
    var limit = parseInt(table.getAttribute("data-limit"), 10) || 50;
    var state = document.querySelector("[data-live-state]");
    var empty = document.querySelector("[data-empty]");
    var source = new EventSource(table.getAttribute("data-live-runs"));

    function say(text, live) {
      if (state) {
        state.textContent = text;
        state.classList.toggle("is-off", !live);
      }
    }

    source.addEventListener("open", function () { say("Live", true); });
    source.addEventListener("error", function () {
      say(source.readyState === EventSource.CLOSED ? "Not live: reload the page" : "Reconnecting…", false);
    });
    source.addEventListener("run", function (event) {
      var run = JSON.parse(event.data);
      var holder = document.createElement("tbody");
      holder.innerHTML = run.html; // rendered and escaped by the server's templates
      var row = holder.querySelector("tr");
      if (!row) { return; }
      var rows = tbody.querySelectorAll("tr[data-run-id]");
      for (var i = 0; i < rows.length; i++) {
        if (rows[i].getAttribute("data-run-id") === run.id) {
          rows[i].replaceWith(row);
          return;
        }
      }
      // newest first: before the first row that started earlier
      var started = row.getAttribute("data-started");
      var before = null;
      for (var j = 0; j < rows.length; j++) {
        if (rows[j].getAttribute("data-started") < started) { before = rows[j]; break; }
      }
      tbody.insertBefore(row, before);
      row.classList.add("is-new");
      while (tbody.rows.length > limit) { tbody.deleteRow(tbody.rows.length - 1); }
      if (empty) { empty.hidden = true; }
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function drawGraph(node) {
    if (!window.mermaid) { return; }
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: dark ? "dark" : "neutral",
      fontFamily: "inherit",
      flowchart: { htmlLabels: false }
    });
    window.mermaid.run({ nodes: [node] }).then(function () {
      node.classList.add("is-drawn");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table[data-live-runs]");
    if (table && window.EventSource) { liveRuns(table); }
    var graph = document.querySelector("pre[data-graph]");
    if (graph) { drawGraph(graph); }
  });
})();
