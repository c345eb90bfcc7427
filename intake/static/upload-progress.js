// Upload progress for forms marked data-upload-progress. It only adds: without
// JavaScript (or XHR upload events) the plain form posts exactly as before.
"use strict";
(function () {
  var probe = window.FormData && window.XMLHttpRequest && new XMLHttpRequest();
  if (!probe || !probe.upload || !("value" in document.createElement("progress"))) return;

  function megabytes(form, bytes) {
    var mb = bytes / 1048576, text;
    try {
      text = mb.toLocaleString(document.documentElement.lang, {minimumFractionDigits: 1, maximumFractionDigits: 1});
    } catch (error) {
      text = mb.toFixed(1);
    }
    return form.dataset.mb.replace("{n}", text);
  }

  function sent(form, loaded, total) {
    return form.dataset.sent.replace("{sent}", megabytes(form, loaded)).replace("{total}", megabytes(form, total));
  }

  function send(form, event) {
    var size = 0, files = 0, largest = 0;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        files++;
        size += file.size;
        largest = Math.max(largest, file.size);
      });
    });
    if (!files) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button.disabled) return;
    var old = form.querySelector(".upload-status");
    if (old) old.remove();
    var status = document.createElement("p"), bar = document.createElement("progress"), text = document.createElement("span");
    // Say so now rather than after hours of uploading over Tor; the server enforces it anyway.
    if (largest > Number(form.dataset.maxFileBytes) || size > Number(form.dataset.maxTotalBytes)) {
      status.className = "upload-status warning";
      status.setAttribute("role", "alert");
      status.textContent = form.dataset.tooLarge;
      button.before(status);
      return;
    }
    status.className = "upload-status";
    text.textContent = sent(form, 0, size);
    status.append(bar, " ", text);
    button.before(status);
    button.disabled = true;

    var xhr = new XMLHttpRequest();
    function fail() {
      button.disabled = false;
      status.className = "upload-status warning";
      status.setAttribute("role", "alert");
      status.textContent = form.dataset.failed;
    }
    xhr.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable) return;
      bar.max = progress.total;
      bar.value = progress.loaded;
      text.textContent = progress.loaded < progress.total ? sent(form, progress.loaded, progress.total) : form.dataset.saving;
    });
    xhr.addEventListener("load", function () {
      if (!xhr.responseText) return fail();
      // The server's page, as a plain form post would have shown it (a redirect's target included).
      if (xhr.responseURL && xhr.responseURL !== location.href) history.replaceState(null, "", xhr.responseURL);
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", fail);
    xhr.addEventListener("abort", fail);
    xhr.addEventListener("timeout", fail);
    xhr.open(form.method, form.action);
    // FormData keeps the DOM order, so the CSRF token still comes before any file.
    xhr.send(new FormData(form));
  }

  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) { send(form, event); });
  });
})();
