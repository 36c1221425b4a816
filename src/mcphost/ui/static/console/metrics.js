/* Metrics tab: when a new usage event of this server arrives over the page's live event stream and its kind is
 * ticked in the filter (a kind seen for the first time gets a ticked box), the event list is fetched again. */
(function () {
  "use strict";

  const list = document.getElementById("event-list");
  const kinds = document.getElementById("event-kinds");
  if (!list || !kinds || !window.MCPHost) return;
  const serverId = list.dataset.serverId;

  function box(kind) {
    return Array.from(kinds.querySelectorAll('input[name="kind"]')).find((input) => input.value === kind);
  }

  function addKind(kind) {
    const label = document.createElement("label");
    label.className = "check";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = "kind";
    input.value = kind;
    input.checked = true;
    label.append(input, " " + kind);
    kinds.append(label);
    const hint = document.getElementById("event-kinds-empty");
    if (hint) hint.hidden = true;
    return input;
  }

  let pending = null;

  function refresh() {
    // The list comes from the server (which words each event's details) with the ticked kinds; a burst of
    // events makes one request.
    const form = document.getElementById("event-filter");
    if (!form || !window.htmx) return;
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = null;
      window.htmx.trigger(form, "change");
    }, 150);
  }

  MCPHost.on("server.usage", (event) => {
    const data = event.data || {};
    if (data.id !== serverId || !data.usage) return;
    const input = box(data.usage) || addKind(data.usage);
    if (input.checked) refresh();
  });
})();
