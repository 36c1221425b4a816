/* Deploy forms: environment rows (add, remove, secret values masked). The page of a new server: its progress
 * from pending to running, live from the event stream (MCPHost.on("server.status")). */
(function () {
  "use strict";

  let rowNumber = 1000;

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const add = target.closest("[data-env-add]");
    if (add) {
      const box = add.closest("[data-env-rows]");
      const template = box && box.querySelector("template[data-env-template]");
      const list = box && box.querySelector("[data-env-list]");
      if (!template || !list) return;
      rowNumber += 1;
      list.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__N__", String(rowNumber)));
      const first = list.lastElementChild && list.lastElementChild.querySelector("input");
      if (first) first.focus();
      return;
    }
    const remove = target.closest("[data-env-remove]");
    if (remove) {
      const box = remove.closest("[data-env-rows]");
      const row = remove.closest("[data-env-row]");
      if (row) row.remove();
      const next = box && box.querySelector("[data-env-add]");
      if (next) next.focus();
    }
  });

  document.addEventListener("change", (event) => {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || select.name !== "env_secret") return;
    const row = select.closest("[data-env-row]");
    const value = row && row.querySelector('[name="env_value"]');
    if (value) {
      value.type = select.value === "secret" ? "password" : "text";
      value.autocomplete = select.value === "secret" ? "new-password" : "off";
    }
  });

  const progress = document.querySelector("[data-progress-for]");
  if (!progress) return;

  const serverId = progress.getAttribute("data-progress-for");
  const name = progress.getAttribute("data-server-name");
  const STEPS = Array.from(progress.querySelectorAll("[data-step]"), (li) => li.getAttribute("data-step"));
  const STATE_TEXT = { done: "done", current: "in progress", failed: "failed", todo: "not yet" };
  let reached = -1;
  let finished = false;

  function mark(li, state) {
    li.dataset.state = state;
    const text = li.querySelector(".step-state");
    if (text) text.textContent = STATE_TEXT[state];
  }

  function show(status, reason) {
    const index = STEPS.indexOf(status);
    if (index > reached) reached = index;
    const failed = status === "error" || status === "crashed";
    progress.querySelectorAll("[data-step]").forEach((li, i) => {
      if (i < reached || (i === reached && status === "running")) mark(li, "done");
      else if (i === reached) mark(li, failed ? "failed" : "current");
      else if (failed && i === reached + 1) mark(li, "failed");
      else mark(li, "todo");
    });
    const outcome = progress.querySelector("[data-outcome]");
    if (status === "running") {
      outcome.className = "deploy-outcome alert alert-ok";
      outcome.textContent = name + " is running. Connect a client with the endpoint and the access key.";
      finished = true;
    } else if (failed) {
      outcome.className = "deploy-outcome alert alert-error";
      outcome.textContent = "The deployment failed: " + (reason || status) + ". Open the server page for its logs.";
      finished = true;
    } else if (status === "stopped" || status === "stopping") {
      outcome.className = "deploy-outcome alert alert-info";
      outcome.textContent = name + " is " + status + ". Start it from the server page.";
      finished = status === "stopped";
    } else {
      outcome.className = "deploy-outcome";
      outcome.textContent = "";
    }
  }

  window.MCPHost.on("server.status", (event) => {
    if (event.data && event.data.id === serverId) show(event.data.status, event.data.reason);
  });

  // A change made before the live stream was subscribed is not replayed: read the status once it is.
  async function catchUp() {
    if (finished) return;
    try {
      const answer = await fetch("/api/servers/" + serverId, { headers: { Accept: "application/json" } });
      if (!answer.ok) return;
      const server = await answer.json();
      window.MCPHost.showStatus(serverId, server.status, server.status_reason);
      show(server.status, server.status_reason);
    } catch (_err) {
      // The stream's own events still arrive; nothing to add here.
    }
  }
  document.addEventListener("mcphost:live", catchUp);

  // The key is only in this response: a reload shows the progress without it, and never posts the form again.
  const here = progress.getAttribute("data-page-url");
  if (here && window.location.pathname !== here) window.history.replaceState(null, "", here);
  show(progress.getAttribute("data-status"), progress.getAttribute("data-reason"));
})();
