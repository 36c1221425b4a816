/* Logs tab: follows new lines live over SSE (the API's log stream, resumed after the newest line shown), keeps
 * the view at the bottom unless the reader scrolled up, buffers while paused, filters and highlights by search.
 * Log text only ever goes in through textContent. */
(function () {
  "use strict";

  const MAX_LINES = 5000;
  const box = document.getElementById("logbox");
  if (!box) return;
  const pause = document.getElementById("log-pause");
  const search = document.getElementById("log-search");
  const state = document.getElementById("log-state");
  let lastId = Number(box.dataset.lastId || "0");
  let paused = false;
  let waiting = [];
  let source = null;

  function showState(text, tone) {
    state.textContent = text;
    state.className = "badge tone-" + tone;
  }

  function atBottom() {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  }

  function timeOf(iso) {
    const when = new Date(iso);
    return isNaN(when) ? iso : when.toLocaleTimeString();
  }

  function highlight(line) {
    const text = line.querySelector(".text");
    const raw = line.dataset.raw !== undefined ? line.dataset.raw : text.textContent;
    line.dataset.raw = raw;
    const needle = search.value.trim().toLowerCase();
    const at = needle ? raw.toLowerCase().indexOf(needle) : -1;
    line.hidden = Boolean(needle) && at < 0;
    text.replaceChildren();
    if (at < 0) {
      text.textContent = raw;
      return;
    }
    let from = 0;
    let index = at;
    while (index >= 0) {
      text.append(raw.slice(from, index));
      const mark = document.createElement("mark");
      mark.textContent = raw.slice(index, index + needle.length);
      text.append(mark);
      from = index + needle.length;
      index = raw.toLowerCase().indexOf(needle, from);
    }
    text.append(raw.slice(from));
  }

  function lineElement(entry) {
    const line = document.createElement("div");
    line.className = "logline " + entry.stream;
    line.dataset.id = String(entry.id);
    const ts = document.createElement("time");
    ts.className = "ts";
    ts.dateTime = entry.ts;
    ts.textContent = timeOf(entry.ts);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = entry.line;
    line.append(ts, text);
    return line;
  }

  function append(entries) {
    if (!entries.length) return;
    const follow = atBottom();
    const empty = box.querySelector(".log-empty");
    if (empty) empty.remove();
    entries.forEach((entry) => {
      const line = lineElement(entry);
      if (search.value.trim()) highlight(line);
      box.append(line);
    });
    const lines = box.querySelectorAll(".logline");
    for (let i = 0; i < lines.length - MAX_LINES; i++) lines[i].remove();
    if (follow) box.scrollTop = box.scrollHeight;
  }

  function receive(event) {
    let entry;
    try {
      entry = JSON.parse(event.data);
    } catch (_err) {
      return;
    }
    if (entry.id <= lastId) return;
    lastId = entry.id;
    if (paused) {
      waiting.push(entry);
      showState("Paused · " + waiting.length + " new", "idle");
    } else {
      append([entry]);
    }
  }

  function open() {
    if (source) return;
    // last_event_id resumes right after the newest line rendered; a reconnect sends Last-Event-ID itself.
    source = new EventSource(box.dataset.stream + "?last_event_id=" + lastId);
    source.addEventListener("ready", () => { if (!paused) showState("Live", "ok"); });
    source.addEventListener("log", receive);
    source.addEventListener("error", () => {
      if (!paused) showState(source && source.readyState === EventSource.CLOSED ? "Disconnected" : "Reconnecting…", "busy");
    });
  }

  function close() {
    if (source) source.close();
    source = null;
  }

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    if (paused) {
      showState("Paused", "idle");
    } else {
      const held = waiting;
      waiting = [];
      append(held);
      showState("Live", "ok");
    }
  });

  search.addEventListener("input", () => box.querySelectorAll(".logline").forEach(highlight));

  box.querySelectorAll(".logline time.ts").forEach((ts) => { ts.textContent = timeOf(ts.getAttribute("datetime")); });
  box.querySelectorAll(".logline").forEach(highlight);
  box.scrollTop = box.scrollHeight;
  window.addEventListener("pagehide", close);
  window.addEventListener("pageshow", (event) => { if (event.persisted) open(); });
  open();
})();
