// Poll the campaign's progress endpoint and update the figures while it is sending.
(function () {
  "use strict";
  var section = document.getElementById("campaign-progress");
  if (!section) { return; }
  var url = section.getAttribute("data-progress-url");
  var active = ["sending", "scheduled"];

  function set(name, value) {
    var node = section.querySelector('[data-field="' + name + '"]');
    if (node) { node.textContent = value; }
  }

  function render(data) {
    set("status", data.status);
    set("sent", data.sent);
    set("recipients", data.recipients);
    set("rate", data.rate.toFixed(1));
    set("eta", data.eta_seconds === null ? "—" : data.eta_seconds + " s");
    set("failures", data.failures);
    set("uncertain", data.counts.uncertain);
    var bar = section.querySelector('[data-field="bar"]');
    if (bar) { bar.max = data.recipients || 1; bar.value = data.done; bar.textContent = data.percent + "%"; }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        render(data);
        if (active.indexOf(data.status) !== -1) { window.setTimeout(poll, 2000); }
        else if (data.status !== section.getAttribute("data-initial-status")) { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  section.setAttribute("data-initial-status", section.querySelector('[data-field="status"]').textContent);
  window.setTimeout(poll, 1000);
})();
