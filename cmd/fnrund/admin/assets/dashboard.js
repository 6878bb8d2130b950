// fnrun dashboard: polls /api/apps and each app's /api/apps/{id}/history every second and draws
// them with uPlot. Plain script, no build step; every text from the API goes in via textContent.
(function () {
  "use strict";

  var POLL_MS = 1000;
  var PALETTE = ["#2f6fde", "#e0582b", "#1f9d55", "#9b51e0", "#d69e2e", "#0d9488", "#c2185b", "#5f6b7a"];
  var cards = {}; // app id -> {root, parts, charts: {name: {plot, key}}}

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fetchJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  }

  function fmtBytes(b) {
    if (b >= 1 << 30) return (b / (1 << 30)).toFixed(1) + " GiB";
    return (b / (1 << 20)).toFixed(1) + " MiB";
  }

  function targetUnit(metric) {
    if (metric === "cpu" || metric === "memory") return "%";
    if (metric === "rps") return " req/s";
    return " in flight";
  }

  function newCard(app) {
    var root = el("section", { "class": "app", "data-app": app.id });
    var title = el("h2", null, app.id);
    var facts = el("div", { "class": "facts" });
    var decision = el("div", { "class": "decision" });
    var table = el("table", { "class": "replicas" });
    var head = el("tr");
    ["Replica", "State", "CPU % of quota", "Memory", "Throttled"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    var thead = el("thead");
    thead.appendChild(head);
    var tbody = el("tbody");
    table.appendChild(thead);
    table.appendChild(tbody);
    var chartsBox = el("div", { "class": "charts" });
    var charts = {};
    ["cpu", "replicas", "rps", "latency"].forEach(function (name) {
      var box = el("div", { "class": "chart", "data-chart": name, "data-app": app.id, "data-series": "0" });
      chartsBox.appendChild(box);
      charts[name] = { box: box, plot: null, key: "" };
    });
    root.appendChild(title);
    root.appendChild(facts);
    root.appendChild(decision);
    root.appendChild(table);
    root.appendChild(chartsBox);
    document.getElementById("apps").appendChild(root);
    return { root: root, facts: facts, decision: decision, tbody: tbody, charts: charts };
  }

  function renderFacts(card, app) {
    var f = card.facts;
    f.textContent = "";
    var phase = el("span", { "class": "phase " + app.phase }, app.phase);
    f.appendChild(phase);
    var items = [
      ["Revision", String(app.revision)],
      ["Instance", app.instance],
      ["Replicas", app.ready + " ready / " + app.desired + " desired"],
      ["Autoscale", app.min + ".." + app.max + " on " + app.metric + ", target " + app.target + targetUnit(app.metric)],
      ["Traffic", app.rps.toFixed(1) + " req/s, " + Math.round(app.in_flight) + " in flight"]
    ];
    items.forEach(function (it) {
      var s = el("span");
      s.appendChild(el("b", null, it[0] + ": "));
      s.appendChild(document.createTextNode(it[1]));
      f.appendChild(s);
    });
    var line = function (d) {
      return new Date(d.time).toLocaleTimeString() + ": " + d.current + " → " + d.desired + "  " + d.reason;
    };
    var text = app.last_scale ? "Last scale " + line(app.last_scale) : "No scaling yet.";
    if (app.autoscaler) text += "   ·   Autoscaler now " + line(app.autoscaler);
    card.decision.textContent = text;
    card.tbody.textContent = "";
    (app.replicas || []).forEach(function (r) {
      var tr = el("tr", { "data-replica": r.hostname });
      tr.appendChild(el("td", null, r.hostname));
      tr.appendChild(el("td", null, r.state));
      tr.appendChild(el("td", { "class": "num" }, r.cpu_percent.toFixed(1)));
      tr.appendChild(el("td", { "class": "num" }, fmtBytes(r.memory_bytes)));
      tr.appendChild(el("td", { "class": "num" }, r.throttled_seconds.toFixed(1) + " s"));
      card.tbody.appendChild(tr);
    });
  }

  // chartSpecs turns one history into the data and series of the four charts.
  function chartSpecs(h) {
    var t = h.t;
    var ms = function (arr) { return arr.map(function (v) { return v === null ? null : v * 1000; }); };
    var cpuSeries = h.replicas.map(function (host, i) {
      return { label: host, stroke: PALETTE[i % PALETTE.length], width: 2 };
    });
    var cpuData = [t].concat(h.cpu);
    var replicaCount = h.replicas.length;
    if (h.metric === "cpu") {
      cpuSeries.push({ label: "target", stroke: "#d11", width: 1.5, dash: [6, 4] });
      cpuData.push(h.target);
    }
    var rpsSeries = [{ label: "req/s", stroke: PALETTE[0], width: 2 }, { label: "in flight", stroke: PALETTE[3], width: 1.5 }];
    var rpsData = [t, h.rps, h.in_flight];
    if (h.metric === "rps") {
      rpsSeries.push({ label: "target per replica", stroke: "#d11", width: 1.5, dash: [6, 4] });
      rpsData.push(h.target);
    }
    var stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
    return {
      cpu: { title: "CPU, % of quota (per replica)", yLabel: "%", range: [0, 100], series: cpuSeries, data: cpuData, count: replicaCount },
      replicas: {
        title: "Replicas", yLabel: "replicas", range: [0, null],
        series: [
          { label: "ready", stroke: PALETTE[2], width: 3, paths: stepped },
          { label: "desired", stroke: PALETTE[1], width: 2, dash: [6, 4], paths: stepped }
        ],
        data: [t, h.ready, h.desired], count: 2
      },
      rps: { title: "Requests per second", yLabel: "req/s", range: [0, null], series: rpsSeries, data: rpsData, count: rpsSeries.length },
      latency: {
        title: "Latency", yLabel: "ms", range: [0, null],
        series: [
          { label: "p50", stroke: PALETTE[0], width: 2, points: { show: true, size: 5 } },
          { label: "p99", stroke: PALETTE[1], width: 2, points: { show: true, size: 5 } }
        ],
        data: [t, ms(h.p50), ms(h.p99)], count: 2
      }
    };
  }

  function yRange(r) {
    return function (u, min, max) {
      var lo = r[0] === null ? min : r[0];
      var hi = r[1] === null ? Math.max(max || 0, 1) : Math.max(r[1], max || 0);
      return [lo, hi];
    };
  }

  // xRange shows at least the last MIN_WINDOW_S seconds, so a young app's charts do not
  // stretch a few samples over the whole width.
  var MIN_WINDOW_S = 30;
  function xRange(u, min, max) {
    if (min === null || max === null) return [min, max];
    return [Math.min(min, max - MIN_WINDOW_S), max];
  }

  function drawChart(slot, spec) {
    var key = spec.series.map(function (s) { return s.label; }).join("\u0000");
    var width = Math.max(slot.box.clientWidth, 300);
    if (slot.plot && slot.key === key) {
      slot.plot.setData(spec.data);
      if (Math.abs(slot.plot.width - width) > 2) slot.plot.setSize({ width: width, height: 200 });
    } else {
      if (slot.plot) slot.plot.destroy();
      var opts = {
        title: spec.title,
        width: width,
        height: 200,
        scales: { x: { time: true, range: xRange }, y: { range: yRange(spec.range) } },
        series: [{}].concat(spec.series),
        axes: [{}, { label: spec.yLabel }],
        legend: { live: true }
      };
      slot.plot = new uPlot(opts, spec.data, slot.box);
      slot.key = key;
    }
    slot.box.setAttribute("data-series", String(spec.count));
  }

  function renderHistory(card, h) {
    var specs = chartSpecs(h);
    Object.keys(card.charts).forEach(function (name) { drawChart(card.charts[name], specs[name]); });
  }

  function poll() {
    fetchJSON("/api/apps").then(function (apps) {
      var status = document.getElementById("status");
      status.textContent = apps.length + " app" + (apps.length === 1 ? "" : "s") + " · updated " + new Date().toLocaleTimeString();
      document.getElementById("empty").hidden = apps.length > 0;
      var live = {};
      apps.forEach(function (app) {
        live[app.id] = true;
        var card = cards[app.id] || (cards[app.id] = newCard(app));
        renderFacts(card, app);
      });
      Object.keys(cards).forEach(function (id) {
        if (!live[id]) {
          Object.keys(cards[id].charts).forEach(function (n) { if (cards[id].charts[n].plot) cards[id].charts[n].plot.destroy(); });
          cards[id].root.remove();
          delete cards[id];
        }
      });
      return Promise.all(apps.map(function (app) {
        return fetchJSON("/api/apps/" + encodeURIComponent(app.id) + "/history").then(function (h) {
          if (cards[app.id]) renderHistory(cards[app.id], h);
        }, function () { /* the app was just deployed or removed: next poll */ });
      }));
    }).catch(function (err) {
      document.getElementById("status").textContent = "fnrund not answering: " + err.message;
    }).then(function () {
      setTimeout(poll, POLL_MS);
    });
  }

  poll();
})();
