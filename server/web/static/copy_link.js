// "Copy link" on a creation page: the share link to the clipboard, saying whether it worked.
(function () {
  "use strict";
  var button = document.getElementById("copy-link");
  var field = document.getElementById("share-link");
  var status = document.getElementById("copy-status");
  button.addEventListener("click", function () {
    var copied = navigator.clipboard ? navigator.clipboard.writeText(field.value)
      : Promise.reject(new Error("no clipboard"));
    copied.then(function () { status.textContent = "Link copied."; })
      .catch(function () {
        field.select();
        status.textContent = "Select the link above and copy it (Ctrl+C or ⌘C).";
      });
  });
})();
