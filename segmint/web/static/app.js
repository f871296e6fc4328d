/* segmint web app: small progressive enhancements. Every page works without this file;
   with it, charts are drawn, job pages update themselves and rules are checked as you type.
   Loaded as a file because the Content-Security-Policy forbids inline scripts. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* Charts: figure JSON sits in <script type="application/json"> next to each chart div. */
  function drawCharts() {
    var nodes = document.querySelectorAll("div.chart[data-figure]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var source = document.getElementById(node.getAttribute("data-figure"));
      if (!source) { continue; }
      if (typeof Plotly === "undefined") { node.textContent = "The chart library did not load."; continue; }
      try {
        var fig = JSON.parse(source.textContent);
        Plotly.newPlot(node, fig.data, fig.layout || {}, {responsive: true, displaylogo: false});
      } catch (err) {
        node.textContent = "This chart could not be drawn: " + err;
      }
    }
  }

  /* Job pages: poll the status every second; reload once the job has finished. */
  function watchJob() {
    var box = document.querySelector(".job[data-job]");
    if (!box || box.getAttribute("data-finished") === "yes") { return; }
    var url = "/web/api/jobs/" + encodeURIComponent(box.getAttribute("data-job"));
    var status = box.querySelector('[data-field="status"]');
    var message = box.querySelector('[data-field="message"]');
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (job) {
          status.textContent = job.status;
          status.className = "badge status-" + job.status;
          message.textContent = job.message;
          if (job.finished) { window.location.reload(); } else { window.setTimeout(tick, 1000); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    window.setTimeout(tick, 1000);
  }

  /* Rules: validate as you type (debounced) through the page's own JSON endpoint. */
  function validateRules() {
    var area = document.querySelector("textarea[data-validate]");
    if (!area) { return; }
    var out = document.getElementById("rules-check");
    var toggle = document.getElementById("rules_on");
    var valueOn = document.getElementById("value_on");
    var timer = null;
    var sent = 0;
    function show(result) {
      out.innerHTML = "";
      var p = document.createElement("p");
      if (result.ok) {
        p.className = "check-ok";
        p.textContent = "\u2713 " + result.rules + (result.rules === 1 ? " rule is" : " rules are") + " valid.";
        out.appendChild(p);
        area.removeAttribute("aria-invalid");
        return;
      }
      p.className = "check-bad";
      p.textContent = "\u2717 Fix " + (result.errors.length === 1 ? "this problem:" : "these problems:");
      out.appendChild(p);
      var ul = document.createElement("ul");
      result.errors.forEach(function (e) {
        var li = document.createElement("li");
        var where = e.line ? "Line " + e.line + (e.rule ? " (" + e.rule + ")" : "") + ": " : "";
        var pre = document.createElement("pre");
        pre.textContent = where + e.message;
        li.appendChild(pre);
        ul.appendChild(li);
      });
      out.appendChild(ul);
      area.setAttribute("aria-invalid", "true");
    }
    function check() {
      var text = area.value;
      if (!text.trim()) { out.innerHTML = ""; area.removeAttribute("aria-invalid"); return; }
      var mine = ++sent;
      fetch(area.getAttribute("data-validate"), {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
        body: JSON.stringify({text: text, value: !!(valueOn && valueOn.checked)})
      })
        .then(function (r) { return r.json(); })
        .then(function (result) { if (mine === sent && result.errors) { show(result); } })
        .catch(function () { /* the server checks again when the form is sent */ });
    }
    area.addEventListener("input", function () {
      if (toggle && area.value.trim()) { toggle.checked = true; }
      window.clearTimeout(timer);
      timer = window.setTimeout(check, 350);
    });
    if (valueOn) { valueOn.addEventListener("change", check); }
    if (area.value.trim()) { check(); }
  }

  function small() {
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    // a form with a preview and a destructive button: only the latter asks first
    document.querySelectorAll("button[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    document.querySelectorAll("input[data-select]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
    // a card's Export form: the hash checkbox only for destinations that hash (ad platforms)
    document.querySelectorAll("select[data-export-to]").forEach(function (select) {
      var box = select.form.querySelector("[data-export-hashed]");
      function sync() {
        var chosen = select.options[select.selectedIndex];
        if (box) { box.hidden = !chosen || chosen.getAttribute("data-hashable") !== "yes"; }
      }
      select.addEventListener("change", sync);
      sync();
    });
  }

  function start() { drawCharts(); watchJob(); validateRules(); small(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
