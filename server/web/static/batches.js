// The progress list stays live while the page is open: it is fetched again (faster while
// something changes, backing off to 20 s when nothing does). The completion notice itself is
// every page's (notices.js).
(function () {
  "use strict";
  var list = document.getElementById("batch-list");
  var notifyButton = document.getElementById("notify");
  var FASTEST = 1000, SLOWEST = 20000;
  var delay = FASTEST, timer = null;

  // Whether a batch is finished is the server's to say (data-finished): no status spelled here.
  function statuses() {
    var seen = {};
    list.querySelectorAll(".batch").forEach(function (item) {
      seen[item.dataset.id] = { finished: item.dataset.finished === "true" };
    });
    return seen;
  }

  function anyLive(seen) {
    return Object.keys(seen).some(function (id) { return !seen[id].finished; });
  }

  function replaceList(html) {
    var focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.key : null;
    list.innerHTML = html;
    if (focused) {
      var again = list.querySelector('[data-key="' + focused + '"]');
      if (again) { again.focus(); }
    }
  }

  function refresh() {
    fetch(list.dataset.url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected) {  // signed out meanwhile: show the sign-in page instead
          location.reload();
          return null;
        }
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var changed = html.trim() !== list.innerHTML.trim();
        if (changed) { replaceList(html); }
        var after = statuses();
        delay = changed ? FASTEST : Math.min(SLOWEST, delay * 1.6);
        schedule(anyLive(after));
      })
      .catch(function () {
        delay = Math.min(SLOWEST, delay * 2);
        schedule(true);
      });
  }

  function schedule(keepGoing) {
    clearTimeout(timer);
    if (keepGoing) { timer = setTimeout(refresh, delay); }
  }

  list.addEventListener("submit", function (event) {
    var question = event.target.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  if ("Notification" in window && Notification.permission === "default") {
    notifyButton.classList.remove("hidden");
    notifyButton.addEventListener("click", function () {
      Notification.requestPermission().then(function (answer) {
        notifyButton.classList.add("hidden");
        if (answer === "denied") { document.getElementById("notify-blocked").classList.remove("hidden"); }
      });
    });
  }
  // Replace: the file picker at once, and the chosen file checked without another click.
  var replace = document.getElementById("replace");
  if (replace) {
    var fileInput = document.getElementById("file"), replacing = false;
    replace.addEventListener("click", function () { replacing = true; fileInput.click(); });
    fileInput.addEventListener("change", function () {
      if (replacing && fileInput.files.length) { document.getElementById("upload-form").requestSubmit(); }
    });
  }
  if ("Notification" in window && Notification.permission === "denied") {
    document.getElementById("notify-blocked").classList.remove("hidden");
  }
  schedule(anyLive(statuses()));
})();
