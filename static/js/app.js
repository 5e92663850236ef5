/* hrbatch's page behaviour, kept out of the HTML so that the Content-Security-Policy can
   forbid inline script. Every handler is delegated from the document, so it keeps working
   after htmx swaps part of a page in.

   - <form data-confirm="Question?">: asks before submitting.
   - the upload form (#upload-form): file name and size shown, size checked before sending,
     upload progress.
   - <details id="…" data-keep-open>: stays open (or closed) when htmx swaps it in again, as
     the run's progress card every 2 s.
   - <input data-no-submit>: Enter does not submit the form around it (the check page's
     search among positions answers as one types). */
(function () {
  "use strict";

  document.addEventListener("submit", function (e) {
    var question = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { e.preventDefault(); }
  });

  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.hasAttribute && e.target.hasAttribute("data-no-submit")) { e.preventDefault(); }
  });

  /* --- upload --- */
  function mb(n) { return Math.round(n / 1048576).toLocaleString() + " MB"; }
  function checkUpload() {
    var form = document.getElementById("upload-form");
    var input = document.getElementById("id_file");
    if (!form || !input) { return true; }
    var file = input.files[0];
    var limit = parseInt(form.dataset.limit, 10);
    var sizeError = document.getElementById("size-error");
    document.getElementById("chosen").textContent = file ? file.name + " (" + (file.size < 1048576 ? Math.ceil(file.size / 1024) + " KB" : mb(file.size)) + ")" : "";
    if (file && file.size > limit) {
      sizeError.textContent = "This file is " + mb(file.size) + " and the largest file hrbatch accepts is " + mb(limit) + ". Split the candidates into several files, or ask IT to raise HRBATCH_MAX_UPLOAD_MB.";
      sizeError.hidden = false;
      return false;
    }
    sizeError.hidden = true;
    return true;
  }
  document.addEventListener("change", function (e) { if (e.target.id === "id_file") { checkUpload(); } });
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (e) { var z = e.target.closest && e.target.closest(".dropzone"); if (z) { z.classList.add("over"); } });
  });
  ["dragleave", "drop"].forEach(function (name) {
    document.addEventListener(name, function (e) { var z = e.target.closest && e.target.closest(".dropzone"); if (z) { z.classList.remove("over"); } });
  });
  document.addEventListener("htmx:confirm", function (e) { if (e.target.id === "upload-form" && !checkUpload()) { e.preventDefault(); } });
  document.addEventListener("submit", function (e) { if (e.target.id === "upload-form" && !checkUpload()) { e.preventDefault(); } });
  document.addEventListener("htmx:xhr:progress", function (e) {
    var progress = document.getElementById("upload-progress");
    if (!progress) { return; }
    progress.hidden = false;
    if (e.detail.lengthComputable) { progress.value = e.detail.loaded / e.detail.total * 100; }
  });
  /* --- details kept open across swaps --- */
  var keptOpen = {};
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (d.id && d.hasAttribute && d.hasAttribute("data-keep-open")) { keptOpen[d.id] = d.open; }
  }, true);  /* toggle does not bubble: caught on its way down */
  document.addEventListener("htmx:afterSwap", function () {
    Object.keys(keptOpen).forEach(function (id) {
      var d = document.getElementById(id);
      if (d && d.open !== keptOpen[id]) { d.open = keptOpen[id]; }
    });
  });

  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.target.id !== "upload-form") { return; }
    var button = document.getElementById("upload-button");
    button.disabled = true;
    button.textContent = "Uploading…";
  });
})();
