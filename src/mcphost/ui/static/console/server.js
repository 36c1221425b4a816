/* MCP Host console: behaviour of the server page tabs (overview, tools, settings).
 *
 *   - the client snippet switcher (an ARIA tablist: click, arrow keys, Home/End)
 *   - [data-json-field] textareas say at once when their text is not JSON (the server checks again)
 *   - settings: add and remove environment variable rows
 *   - overview: the status history is fetched again when a lifecycle event of the server arrives live
 */
(function () {
  "use strict";

  function selectTab(tab, focus) {
    const list = tab.closest('[role="tablist"]');
    list.querySelectorAll('[role="tab"]').forEach((other) => {
      const selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
    if (focus) tab.focus();
  }

  function checkJson(area) {
    const problem = document.getElementById(area.id + "-problem");
    let message = "";
    if (area.value.trim()) {
      try {
        JSON.parse(area.value);
      } catch (err) {
        message = "Not valid JSON: " + err.message;
      }
    }
    if (message) area.setAttribute("aria-invalid", "true");
    else area.removeAttribute("aria-invalid");
    if (problem) problem.textContent = message;
  }

  function addEnvRow() {
    const template = document.getElementById("env-row-template");
    const rows = document.getElementById("env-rows");
    if (!template || !rows) return;
    const row = template.content.firstElementChild.cloneNode(true);
    rows.append(row);
    const name = row.querySelector('input[name="env_name"]');
    if (name) name.focus();
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const tab = target.closest('[role="tablist"] [role="tab"]');
    if (tab) {
      selectTab(tab, false);
      return;
    }
    if (target.closest("[data-env-add]")) {
      addEnvRow();
      return;
    }
    const remove = target.closest("[data-env-remove]");
    if (remove) {
      const row = remove.closest("[data-env-row]");
      const next = document.querySelector("[data-env-add]");
      if (row) row.remove();
      if (next) next.focus();
    }
  });

  document.addEventListener("keydown", (event) => {
    const tab = event.target instanceof Element ? event.target.closest('[role="tablist"] [role="tab"]') : null;
    if (!tab) return;
    const tabs = Array.from(tab.closest('[role="tablist"]').querySelectorAll('[role="tab"]'));
    const index = tabs.indexOf(tab);
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    selectTab(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
  });

  document.addEventListener("input", (event) => {
    const area = event.target;
    if (area instanceof HTMLTextAreaElement && area.hasAttribute("data-json-field")) checkJson(area);
  });

  let pending = null;

  function refreshHistory(event) {
    const list = document.getElementById("status-history");
    if (!list || !window.htmx || !event.data || event.data.id !== list.dataset.serverId) return;
    // The list comes from the server, which words each event's details; a burst of events makes one request.
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = null;
      window.htmx.ajax("GET", "/servers/" + list.dataset.serverId + "/history", { target: "#status-history", swap: "outerHTML" });
    }, 150);
  }

  if (window.MCPHost) window.MCPHost.on("server.usage", refreshHistory);
})();
