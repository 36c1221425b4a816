/* MCP Host console: the behaviour every page shares. No build step; pages add their own small scripts.
 *
 *   - the CSRF token on every htmx request (X-CSRF-Token), busy submit buttons on plain forms
 *   - [data-confirm] on plain forms asks before submitting; [data-dismiss] closes an alert
 *   - [data-copy] / [data-copy-target] copy text to the clipboard
 *   - <time data-local datetime=…> shown in the viewer's time zone
 *   - one live event stream per signed-in page (/api/events/stream): MCPHost.on(kind, handler), and every
 *     [data-status-for=<server id>] badge follows that server's status ([data-restarts-for] its restart count,
 *     and the buttons of [data-actions-for] show only the actions that status allows: their data-when);
 *     document event "mcphost:live" whenever the stream is (re)connected
 */
(function () {
  "use strict";

  const handlers = new Map();
  let source = null;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function flash(message, tone) {
    const region = document.getElementById("flash");
    if (!region) return;
    const box = document.createElement("div");
    box.className = "alert alert-" + (tone || "error");
    const text = document.createElement("span");
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "alert-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    box.append(text, close);
    region.replaceChildren(box);
  }

  function localTimes(root) {
    root.querySelectorAll("time[data-local][datetime]").forEach((el) => {
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) {
        el.textContent = when.toLocaleString();
        el.title = el.getAttribute("datetime");
      }
    });
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    if (button) {
      const label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("data-copied", "");
      setTimeout(() => {
        button.textContent = label;
        button.removeAttribute("data-copied");
      }, 1500);
    }
  }

  const TONES = {
    running: "ok", pending: "busy", installing: "busy", cloning: "busy", building: "busy", pushing: "busy",
    starting: "busy", updating: "busy", stopping: "busy",
    stopped: "idle", crashed: "bad", error: "bad",
  };

  function showRestarts(serverId, count) {
    if (typeof count !== "number") return;
    document.querySelectorAll('[data-restarts-for="' + serverId + '"]').forEach((el) => {
      el.textContent = count + (count === 1 ? " restart" : " restarts");
    });
  }

  function showStatus(serverId, status, reason) {
    document.querySelectorAll('[data-status-for="' + serverId + '"]').forEach((badge) => {
      badge.textContent = status;
      badge.classList.remove("tone-ok", "tone-busy", "tone-idle", "tone-bad");
      badge.classList.add("tone-" + (TONES[status] || "idle"));
      badge.dataset.status = status;
      if (reason !== undefined) badge.title = reason || "";
    });
    document.querySelectorAll('[data-reason-for="' + serverId + '"]').forEach((el) => {
      el.textContent = reason || "";
    });
    document.querySelectorAll('[data-actions-for="' + serverId + '"] [data-when]').forEach((button) => {
      button.hidden = !button.dataset.when.split(" ").includes(status);
    });
  }

  function dispatch(kind, event) {
    let parsed;
    try {
      parsed = JSON.parse(event.data);
    } catch (_err) {
      return;
    }
    (handlers.get(kind) || []).forEach((handler) => handler(parsed));
    document.dispatchEvent(new CustomEvent("mcphost:event", { detail: parsed }));
  }

  function connect() {
    if (source || !document.body.hasAttribute("data-live-events") || !window.EventSource) return;
    source = new EventSource("/api/events/stream");
    handlers.forEach((_list, kind) => source.addEventListener(kind, (event) => dispatch(kind, event)));
    // Sent once the stream is subscribed (and again after each reconnect): from then on no change is missed, so a
    // page that must not miss one reads the current state at this moment ("mcphost:live").
    source.addEventListener("ready", () => document.dispatchEvent(new CustomEvent("mcphost:live")));
    source.addEventListener("error", () => {
      // EventSource reconnects by itself (with Last-Event-ID); a closed stream means signed out or gone.
      if (source && source.readyState === EventSource.CLOSED) {
        source = null;
      }
    });
  }

  const MCPHost = {
    csrfToken,
    flash,
    copyText,
    showStatus,
    /** Call handler(event) for every live event of this kind ({id, kind, data, user_id, org_id, ts}). */
    on(kind, handler) {
      if (!handlers.has(kind)) {
        handlers.set(kind, []);
        if (source) source.addEventListener(kind, (event) => dispatch(kind, event));
      }
      handlers.get(kind).push(handler);
    },
  };
  window.MCPHost = MCPHost;

  MCPHost.on("server.status", (event) => {
    showStatus(event.data.id, event.data.status, event.data.reason);
    showRestarts(event.data.id, event.data.restart_count);
  });

  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  document.addEventListener("htmx:sendError", () => {
    flash("MCP Host could not be reached. Check your connection and try again.");
  });
  document.addEventListener("htmx:afterSwap", (event) => localTimes(event.target));

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    const question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    const button = event.submitter || form.querySelector('[type="submit"]');
    if (button) button.setAttribute("aria-busy", "true");
  });

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      const box = dismiss.closest(".alert");
      if (box) box.remove();
      return;
    }
    const copy = target.closest("[data-copy], [data-copy-target]");
    if (copy) {
      const selector = copy.getAttribute("data-copy-target");
      const origin = selector ? document.querySelector(selector) : null;
      const text = origin ? (origin.value !== undefined ? origin.value : origin.textContent) : copy.getAttribute("data-copy");
      copyText(text || "", copy);
    }
  });

  window.addEventListener("pageshow", (event) => {
    // Back/forward cache: a restored page's buttons are not busy any more.
    if (event.persisted) document.querySelectorAll('[aria-busy="true"]').forEach((el) => el.removeAttribute("aria-busy"));
  });

  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document);
    connect();
  });
})();
