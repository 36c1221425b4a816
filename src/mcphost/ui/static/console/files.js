/* MCP Host console: the Files tab's uploads. Each chosen file is sent to the API's PUT /api/servers/{id}/files/{path}
 * as the raw body (streamed by the browser, with the session cookie), one after the other, with a progress bar;
 * the listing is then fetched again. Errors show the API's message. */
(function () {
  "use strict";

  function encodePath(path) {
    return path.split("/").map(encodeURIComponent).join("/");
  }

  function send(section, file, bar, status) {
    return new Promise((resolve, reject) => {
      const directory = section.dataset.directory;
      const target = (directory ? directory + "/" : "") + file.name;
      const request = new XMLHttpRequest();
      request.open("PUT", "/api/servers/" + section.dataset.serverId + "/files/" + encodePath(target));
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) bar.value = Math.round((100 * event.loaded) / event.total);
        status.textContent = "Uploading " + file.name + "…";
      };
      request.onload = () => {
        if (request.status >= 200 && request.status < 300) return resolve();
        let message = "HTTP " + request.status;
        try {
          message = JSON.parse(request.responseText).error.message;
        } catch (err) {
          /* not the API's error body */
        }
        reject(new Error(file.name + ": " + message));
      };
      request.onerror = () => reject(new Error(file.name + ": the upload was interrupted"));
      request.send(file);
    });
  }

  async function upload(form) {
    const section = form.closest("#files");
    const input = form.querySelector("input[type=file]");
    const bar = form.querySelector("progress");
    const status = form.querySelector("[role=status]");
    const limit = Number(form.dataset.maxBytes);
    const files = Array.from(input.files);
    const tooBig = files.find((file) => file.size > limit);
    if (tooBig) {
      status.textContent = tooBig.name + " is larger than the limit of " + limit + " bytes per file.";
      return;
    }
    bar.hidden = false;
    try {
      for (const file of files) {
        bar.value = 0;
        await send(section, file, bar, status);
      }
      const url = "/servers/" + section.dataset.serverId + "/files?path=" + encodeURIComponent(section.dataset.directory);
      await htmx.ajax("GET", url, { target: "#files", swap: "outerHTML" });
      const fresh = document.querySelector("#file-upload-status");
      if (fresh) fresh.textContent = "Uploaded " + files.map((file) => file.name).join(", ") + ".";
    } catch (err) {
      bar.hidden = true;
      status.textContent = err.message;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "file-upload") return;
    event.preventDefault();
    upload(form);
  });
})();
