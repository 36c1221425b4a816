/* The dashboard: status badges follow the live stream by themselves (console.js); this refreshes the card list
 * when a server is created or deleted elsewhere (another tab, the CLI, the API), and after the stream reconnects
 * (what changed while it was down was not seen). */
(function () {
  "use strict";

  let pending = null;

  function refresh() {
    if (!window.htmx || !document.getElementById("server-cards")) return;
    // Several events in a row (a burst of deploys) make one request.
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = null;
      const cursor = new URLSearchParams(window.location.search).get("cursor");
      const url = "/dashboard/cards" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : "");
      window.htmx.ajax("GET", url, { target: "#server-cards", swap: "innerHTML" });
    }, 150);
  }

  window.MCPHost.on("server.created", refresh);
  window.MCPHost.on("server.deleted", refresh);
  let connections = 0;
  document.addEventListener("mcphost:live", () => {
    connections += 1;
    if (connections > 1) refresh();
  });
})();
