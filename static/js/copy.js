// Copy buttons: a button with data-copy-target="ID" copies the text of the element with that id
// (a read-only textarea or <pre>) to the clipboard and says so beside it. No inline script:
// the site's Content-Security-Policy allows scripts from /static/ only.
(function () {
  "use strict";

  function say(button, text) {
    const status = button.parentElement.querySelector(".copy-status");
    if (status) status.textContent = text;
  }

  function fallback(source) {
    // Older browsers, or a page not served over HTTPS: select the text and copy the selection.
    if (typeof source.select === "function") {
      source.focus();
      source.select();
    } else {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    return document.execCommand("copy");
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copyTarget);
    if (!source) return;
    const text = "value" in source ? source.value : source.textContent;
    const done = () => say(button, "Copied.");
    const failed = () => say(button, fallback(source) ? "Copied." : "Select the text and copy it.");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  });
})();
