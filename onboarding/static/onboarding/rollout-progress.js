// A roll-out's page: read its progress every two seconds while it runs, and show it. When its status
// changes (it ends, or someone paused it elsewhere), reload the page for the buttons that fit it.
(function () {
  "use strict";
  var box = document.querySelector(".onboarding-rollout[data-progress-url]");
  if (!box) {
    return;
  }
  var status = box.getAttribute("data-status");
  if (status !== "running" && status !== "paused") {
    return;
  }
  var bar = box.querySelector(".onboarding-rollout-bar");

  function show(progress) {
    box.querySelectorAll("[data-count]").forEach(function (element) {
      var value = progress[element.getAttribute("data-count")];
      if (value !== undefined) {
        element.textContent = String(value);
      }
    });
    if (bar) {
      bar.value = progress.percent;
      bar.textContent = progress.percent + "%";
    }
  }

  function poll() {
    fetch(box.getAttribute("data-progress-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (progress) {
        show(progress);
        if (progress.status !== status) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 2000);
})();
