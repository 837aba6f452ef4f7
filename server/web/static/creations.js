// When the completion notice announces that a batch has finished (notices.js), Creations loads
// its images again in place: the same address, so the same filters and page; the list swapped
// where it stands, so the scroll stays; the focused image focused again.
(function () {
  "use strict";
  var results = document.getElementById("results");

  function focusedLink() {
    var active = document.activeElement;
    return active && results.contains(active) ? active.getAttribute("href") : null;
  }

  function show(fresh) {
    var focused = focusedLink();
    results.innerHTML = fresh.innerHTML;
    if (focused) {
      var again = results.querySelector('a[href="' + CSS.escape(focused) + '"]');
      if (again) { again.focus({ preventScroll: true }); }
    }
  }

  function load() {
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("results");
        if (fresh && fresh.innerHTML !== results.innerHTML) { show(fresh); }
      })
      .catch(function () { /* signed out or offline: a reload shows the images */ });
  }

  document.addEventListener("sheetbatch:batch-finished", load);
})();
