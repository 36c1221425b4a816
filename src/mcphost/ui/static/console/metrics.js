/* Metrics tab: new usage events of this server arrive over the page's live event stream and are added on top of
 * the event list when their kind is ticked in the filter (a kind seen for the first time gets a ticked box). */
(function () {
  "use strict";

  const list = document.getElementById("event-list");
  const kinds = document.getElementById("event-kinds");
  if (!list || !kinds || !window.MCPHost) return;
  const serverId = list.dataset.serverId;
  const TONES = { crash: "bad", error: "bad", restart: "busy", start: "ok", create: "ok", install: "ok", stop: "idle" };

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

  function item(kind, ts, data) {
    const li = document.createElement("li");
    li.dataset.kind = kind;
    const badge = document.createElement("span");
    badge.className = "badge tone-" + (TONES[kind] || "idle");
    badge.textContent = kind;
    const time = document.createElement("time");
    time.setAttribute("datetime", ts);
    const when = new Date(ts);
    time.textContent = isNaN(when) ? ts : when.toLocaleString();
    li.append(badge, " ", time);
    const keys = Object.keys(data || {});
    if (keys.length) {
      const details = document.createElement("span");
      details.className = "muted mono small";
      details.textContent = keys.map((key) => key + ": " + String(data[key])).join(" · ");
      li.append(" ", details);
    }
    return li;
  }

  MCPHost.on("server.usage", (event) => {
    const data = event.data || {};
    if (data.id !== serverId || !data.usage) return;
    const input = box(data.usage) || addKind(data.usage);
    if (!input.checked) return;
    const events = document.getElementById("events");
    if (!events) return;
    events.prepend(item(data.usage, event.ts, data.data));
    const empty = document.getElementById("events-empty");
    if (empty) empty.hidden = true;
  });
})();
