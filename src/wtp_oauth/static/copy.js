// Copy buttons: <button type="button" data-copy="ID" hidden> copies the text of element ID.
// The page's CSP allows only same-origin scripts and no inline handlers, hence this file.
// Without JavaScript the buttons stay hidden and the text can still be selected by hand.
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyText(element) {
    var text = element.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      selectText(element);
      // Older browsers, or a page served over plain http on a non-loopback host.
      if (document.execCommand("copy")) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  function say(button, message) {
    var status = document.getElementById(button.getAttribute("data-copy") + "-status");
    if (status) { status.textContent = message; }
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      copyText(source).then(
        function () {
          button.textContent = "Copied";
          say(button, "Copied to the clipboard.");
          window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
        },
        function () {
          selectText(source);
          say(button, "Press Ctrl+C (or ⌘C) to copy the selected text.");
        }
      );
    });
  });
})();
