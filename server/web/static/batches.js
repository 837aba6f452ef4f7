// The progress list stays live while the page is open: it is fetched again (faster while
// something changes, backing off to 20 s when nothing does), and a batch that finishes here
// changes the title and raises a browser notification when the person allowed them.
(function () {
  "use strict";
  var list = document.getElementById("batch-list");
  var live = document.getElementById("live");
  var notifyButton = document.getElementById("notify");
  var FASTEST = 1000, SLOWEST = 20000;
  var delay = FASTEST, timer = null;
  var baseTitle = document.title;
  var FINISHED = ["completed", "completed_with_errors", "failed", "stopped"];

  function statuses() {
    var seen = {};
    list.querySelectorAll(".batch").forEach(function (item) {
      seen[item.dataset.id] = { status: item.dataset.status, title: item.dataset.title };
    });
    return seen;
  }

  function anyLive(seen) {
    return Object.keys(seen).some(function (id) { return FINISHED.indexOf(seen[id].status) < 0; });
  }

  function announce(batch) {
    var label = batch.status === "completed" ? "is complete" : "finished: " + batch.status.replace(/_/g, " ");
    var text = "Batch " + batch.title + " " + label + ".";
    document.title = "✓ " + text + " — sheetbatch";
    live.textContent = text;
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification("sheetbatch: batch complete", { body: text, tag: "batch-" + batch.id });
    }
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
    var before = statuses();
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
        Object.keys(after).forEach(function (id) {
          var was = before[id];
          if (was && FINISHED.indexOf(was.status) < 0 && FINISHED.indexOf(after[id].status) >= 0
              && after[id].status !== "stopped") {
            announce({ id: id, status: after[id].status, title: after[id].title });
          }
        });
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
      Notification.requestPermission().then(function () { notifyButton.classList.add("hidden"); });
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { document.title = baseTitle; }
  });
  schedule(anyLive(statuses()));
})();
