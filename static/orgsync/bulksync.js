// Bulk sync pages (admin/replication/bulksync/start.html and progress.html); server values come
// in data- attributes, so the pages run under the strict script-src 'self'.
(function () {
  "use strict";

  // Start page: the objects offered depend on the direction: show those of the one chosen.
  var direction = document.getElementById("id_direction");
  if (direction) {
    direction.addEventListener("change", function (event) {
      location.search = "?direction=" + encodeURIComponent(event.target.value);
    });
  }

  // Progress page, while the run is active: poll the run's status; reload when anything moved
  // (a chunk written, the status changed). #bulk-poll carries the status URL, the stamp the page
  // was rendered with and the poll interval in seconds.
  var poll = document.getElementById("bulk-poll");
  if (poll) {
    var statusUrl = poll.dataset.statusUrl;
    var stamp = poll.dataset.stamp;
    var seconds = Number(poll.dataset.pollSeconds) || 2;
    setInterval(async function () {
      var answer = await fetch(statusUrl, { credentials: "same-origin" });
      if (answer.ok && (await answer.json()).stamp !== stamp) location.reload();
    }, seconds * 1000);
  }
})();
