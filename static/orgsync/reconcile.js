// A reconcile run's page (admin/replication/reconcilerun/run.html) while the run is queued or
// running: poll its status, move the phase, the counts and the bar in place, and reload once the
// status changes (the results are drawn by the server). Server values come in data- attributes,
// so the page runs under the strict script-src 'self'.
(function () {
  "use strict";

  var poll = document.getElementById("reconcile-poll");
  if (!poll) return;
  var statusUrl = poll.dataset.statusUrl;
  var status = poll.dataset.status;
  var seconds = Number(poll.dataset.pollSeconds) || 2;

  function show(id, text) {
    var element = document.getElementById(id);
    if (element) element.textContent = text;
  }

  function draw(run) {
    show("reconcile-phase", run.phase || "Waiting for a worker");
    show("reconcile-progress-read", String(run.records_read));
    show("reconcile-progress-total", run.records_total ? String(run.records_total) : "?");
    show("reconcile-read", run.records_read + (run.records_total ? " of " + run.records_total : ""));
    show("reconcile-differences-total", String(run.differences));
    show("reconcile-percent", run.percent + " %");
    var fill = document.getElementById("reconcile-bar-fill");
    if (fill) {
      fill.style.width = run.percent + "%";
      fill.parentElement.setAttribute("aria-valuenow", String(run.percent));
      fill.parentElement.title = run.percent + " %";
    }
  }

  var timer = setInterval(async function () {
    var answer = await fetch(statusUrl, { credentials: "same-origin" });
    if (!answer.ok) return;
    var run = await answer.json();
    if (run.status !== status) {
      clearInterval(timer);
      location.reload();
      return;
    }
    draw(run);
  }, seconds * 1000);
})();
