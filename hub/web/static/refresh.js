// Exekra web view: while the server marks a page live (<body data-refresh="N">), re-fetch it
// every N seconds and swap in the new <main>, keeping the scroll position. Pages stop
// refreshing as soon as the server stops marking them. No inline script anywhere (CSP).
(function () {
  "use strict";

  function seconds() {
    return parseInt(document.body.getAttribute("data-refresh") || "0", 10) || 0;
  }

  function schedule() {
    var s = seconds();
    if (s > 0) {
      window.setTimeout(refresh, s * 1000);
    }
  }

  function refresh() {
    if (document.hidden) {
      schedule();
      return;
    }
    window.fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected) {
          window.location.reload(); // the session ended: show the sign-in page
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html) {
          var doc = new window.DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelector("main");
          var current = document.querySelector("main");
          if (fresh && current) {
            current.replaceWith(document.importNode(fresh, true));
            document.title = doc.title;
            document.body.setAttribute("data-refresh", doc.body.getAttribute("data-refresh") || "0");
          }
        }
        schedule();
      })
      .catch(schedule);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", schedule);
  } else {
    schedule();
  }
})();
