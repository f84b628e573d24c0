// The diff-run list (admin/metadiff/diffrun/change_list.html). "Run" re-runs a process: it must
// be a POST, so the link submits a small form. The CSRF token comes from the page's own form if it
// has one, else from this script tag's data-csrf-token.
(function () {
  "use strict";
  var script = document.querySelector("script[data-diffrun-csrf-token]");
  var fallbackToken = script ? script.dataset.diffrunCsrfToken : "";
  document.querySelectorAll("a.run-run").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var form = document.createElement("form");
      form.method = "post";
      form.action = link.href;
      var token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrfmiddlewaretoken";
      var onPage = document.querySelector("[name=csrfmiddlewaretoken]");
      token.value = onPage ? onPage.value : fallbackToken;
      form.appendChild(token);
      document.body.appendChild(form);
      form.submit();
    });
  });
})();
