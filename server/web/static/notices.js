// The completion notice on every page: each batch's status is remembered in this browser, and a
// batch seen unfinished that is now finished is announced once (title, banner, and a browser
// notification when allowed), whichever page is open — also on a page opened after the end.
(function () {
  "use strict";
  var script = document.getElementById("notices");
  var banner = document.getElementById("live");
  var memoryKey = "sheetbatch.seen." + script.dataset.person;
  var FASTEST = 2000, SLOWEST = 20000;
  var delay = FASTEST, timer = null;
  var baseTitle = document.title;

  function remembered() {
    try { return JSON.parse(localStorage.getItem(memoryKey) || "{}"); } catch (e) { return {}; }
  }

  function remember(seen) {
    try { localStorage.setItem(memoryKey, JSON.stringify(seen)); } catch (e) { /* private mode */ }
  }

  function announce(batch) {
    var label = batch.outcome.short;  // the server's words: no status is spelled here
    var text = "Batch " + batch.title + " " + label + ".";
    document.title = "✓ " + text + " — sheetbatch";
    banner.textContent = "";
    var link = document.createElement("a");
    link.href = script.dataset.home + "#batch-" + batch.id;
    link.textContent = batch.title;
    banner.append("Batch ", link, " " + label + ".");
    banner.classList.remove("hidden");
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification("sheetbatch: batch complete", { body: text, tag: "batch-" + batch.id });
    }
    // For the page to show what the batch made (Creations loads its new images: creations.js).
    document.dispatchEvent(new CustomEvent("sheetbatch:batch-finished", { detail: batch }));
  }

  function check() {
    fetch(script.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (answer) {
        var seen = remembered(), now = {}, live = false, changed = false;
        answer.batches.forEach(function (batch) {
          var was = seen[batch.id];
          // A batch the person stopped is no news to them (the outcome's level says which).
          if (was && !was.finished && batch.finished && batch.outcome.level !== "notice") { announce(batch); }
          if (!was || was.status !== batch.status) { changed = true; }
          now[batch.id] = { status: batch.status, finished: batch.finished };
          live = live || !batch.finished;
        });
        remember(now);
        delay = changed ? FASTEST : Math.min(SLOWEST, delay * 1.6);
        if (live) { timer = setTimeout(check, delay); }
      })
      .catch(function () {
        delay = Math.min(SLOWEST, delay * 2);
        timer = setTimeout(check, delay);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { document.title = baseTitle; }
  });
  check();
})();
