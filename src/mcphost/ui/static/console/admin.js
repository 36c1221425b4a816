/* Admin page: a row action's answer names what it did (HX-Trigger "mcphost:done"); show it in the flash region. */
(function () {
  "use strict";
  document.addEventListener("mcphost:done", (event) => {
    const message = event.detail && event.detail.value;
    if (message && window.MCPHost) window.MCPHost.flash(String(message), "ok");
  });
})();
