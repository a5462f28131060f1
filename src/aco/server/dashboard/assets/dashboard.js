/* aco dashboard: reads /dashboard/api/* (JSON) and puts every value in the page as text (never as HTML).
   Refreshes itself every ?refresh=N seconds (default 10, 0 = off). */
(function () {
  "use strict";
  var fmt = window.AcoCharts.fmt;
  var params = new URLSearchParams(window.location.search);
  var refreshS = Math.max(0, parseInt(params.get("refresh") || "10", 10) || 0);
  var state = {page: 1, perPage: 50, options: null, timer: null, charts: {}, refreshes: 0};

  function $(id) { return document.getElementById(id); }
  function node(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }
  function setValue(id, value, text) {
    var n = $(id);
    n.textContent = text;
    n.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
  }
  function usd(v) { return fmt(v, "usd"); }
  function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%"; }
  function ci(pair, f) {
    if (!pair || pair[0] === null || pair[1] === null) return "";
    return "95% CI [" + f(pair[0]) + ", " + f(pair[1]) + "]";
  }
  function table(id, head, rows, empty) {
    var t = $(id);
    t.textContent = "";
    if (!rows.length) { if (empty) t.appendChild(node("caption", empty, "empty")); return; }
    var thead = t.appendChild(node("thead")), tr = thead.appendChild(node("tr"));
    head.forEach(function (h) { tr.appendChild(node("th", h)); });
    var body = t.appendChild(node("tbody"));
    rows.forEach(function (r) {
      var row = body.appendChild(node("tr"));
      r.forEach(function (cell) {
        var td = typeof cell === "object" && cell !== null ? node("td", cell.text, cell.cls) : node("td", cell);
        if (typeof cell === "number" || (cell && cell.num)) td.classList.add("num");
        row.appendChild(td);
      });
    });
  }
  function num(text) { return {text: text, num: true}; }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {accept: "application/json"}}).then(function (r) {
      if (!r.ok) {
        return r.text().then(function (body) {
          var message = body;
          try { message = JSON.parse(body).error.message; } catch (e) { /* not JSON */ }
          throw new Error(url.split("?")[0] + ": HTTP " + r.status + " " + message);
        });
      }
      return r.json();
    });
  }

  function chart(id, spec) {
    if (state.charts[id]) state.charts[id].update(spec);
    else state.charts[id] = new window.AcoCharts.Chart($(id), spec);
  }

  function renderKpis(s) {
    var t = s.totals, r = s.reported;
    setValue("kpi-decisions", t.decisions, fmt(t.decisions, "int"));
    $("kpi-tasks").textContent = fmt(t.tasks, "int") + " tasks";
    setValue("kpi-spend", t.spent_usd, usd(t.spent_usd));
    $("kpi-open").textContent = t.open_reserved_usd > 0 ? usd(t.open_reserved_usd) + " reserved by calls in flight" : "";
    setValue("kpi-counterfactual", t.counterfactual_usd, usd(t.counterfactual_usd));
    setValue("kpi-savings", t.savings_usd, usd(t.savings_usd));
    $("kpi-savings-share").textContent = t.savings_share === null ? "" : pct(t.savings_share) + " of the counterfactual";
    setValue("kpi-savings-reported", r.savings_share, r.tasks ? pct(r.savings_share) : "–");
    $("kpi-savings-ci").textContent = r.tasks ? ci(r.savings_share_ci, pct) + " over " + fmt(r.tasks, "int") + " tasks" : "no outcome reported yet";
    setValue("kpi-success", r.success_rate, r.tasks ? pct(r.success_rate) : "–");
    $("kpi-success-ci").textContent = r.tasks ? ci(r.success_rate_ci, pct) : "";
    setValue("kpi-escalations", t.escalations, fmt(t.escalations, "int"));
    setValue("kpi-fallbacks", t.fallbacks, fmt(t.fallbacks, "int"));
    var failed = t.by_status.failed || 0, expired = t.by_status.expired || 0;
    $("kpi-failed").textContent = fmt(failed, "int") + " failed calls" + (expired ? ", " + fmt(expired, "int") + " expired" : "");
  }

  function renderSpend(s) {
    var spent = [], cf = [], tips = [], a = 0, b = 0;
    s.spend.points.forEach(function (p) {
      a += p.spent_usd; b += p.counterfactual_usd;
      var t = p.t + s.spend.bucket_s;
      spent.push([t, a]); cf.push([t, b]);
      tips.push([["until", fmt(t, "time")], ["decisions in bucket", fmt(p.decisions, "int")],
                 ["spent in bucket", usd(p.spent_usd)], ["counterfactual in bucket", usd(p.counterfactual_usd)]]);
    });
    if (spent.length === 1) {  // one bucket: start the lines at zero
      var t0 = s.spend.points[0].t;
      spent.unshift([t0, 0]); cf.unshift([t0, 0]); tips.unshift([["from", fmt(t0, "time")]]);
    }
    var withTitle = function (title) {
      return tips.map(function (rows, i) {
        return {title: title, rows: [["cumulative", usd((title === "spent" ? spent : cf)[i][1])]].concat(rows)};
      });
    };
    chart("chart-spend", {
      id: "spend", width: 960, height: 320,
      x: {label: "time (buckets of " + (s.spend.bucket_s < 60 ? s.spend.bucket_s + " s" :
                                         fmt(s.spend.bucket_s / 60, "int") + " min") + ")",
          format: s.spend.bucket_s < 60 ? "clock" : "time"},
      y: {label: "cumulative USD", format: "usd", min: 0},
      series: [
        {id: "counterfactual", name: "counterfactual (strongest candidate)", kind: "line", color: "#d62728",
         dash: "6 4", points: cf, tips: withTitle("counterfactual"), marker: cf.length < 40 ? "circle" : null, size: 2.5},
        {id: "spent", name: "spent", kind: "line", color: "#1f77b4", width: 2.2, points: spent, tips: withTitle("spent"),
         marker: spent.length < 40 ? "circle" : null, size: 2.5}]
    });
  }

  function renderSuccess(s) {
    var models = [], cats = [], cell = {};
    s.success.forEach(function (c) {
      if (models.indexOf(c.model) < 0) models.push(c.model);
      if (cats.indexOf(c.category) < 0) cats.push(c.category);
      cell[c.model + "\u0000" + c.category] = c;
    });
    cats.sort();
    var rows = models.map(function (m) {
      var n = 0, k = 0;
      var cells = cats.map(function (c) {
        var x = cell[m + "\u0000" + c];
        if (!x) return num("");
        n += x.outcomes; k += x.successes;
        return num(pct(x.successes / x.outcomes) + " (" + x.successes + "/" + x.outcomes + ")");
      });
      return [m].concat(cells, [num(pct(k / n) + " (" + k + "/" + n + ")")]);
    });
    table("success-table", ["model"].concat(cats.map(function (c) { return c || "(none)"; }), ["all"]), rows,
          "no outcome reported yet");
  }

  function renderCalibration(s) {
    var pts = s.calibration.map(function (b) { return [b.predicted, b.realised]; });
    chart("chart-calibration", {
      id: "calibration", width: 460, height: 340, diagonal: true,
      x: {label: "predicted P(success)", format: "num", min: 0, max: 1},
      y: {label: "realised success rate", format: "num", min: 0, max: 1},
      series: [{id: "bins", name: "outcomes per bin", kind: "line", color: "#1f77b4", marker: "circle", size: 4,
                points: pts, labels: s.calibration.map(function (b) { return "n=" + b.count; }),
                tips: s.calibration.map(function (b) {
                  return {title: "P in [" + b.bin[0].toFixed(1) + ", " + b.bin[1].toFixed(1) + ")", rows: [
                    ["mean predicted", b.predicted.toFixed(3)], ["realised", b.realised.toFixed(3)],
                    ["outcomes", fmt(b.count, "int")]]};
                }), toggle: false}]
    });
    table("calibration-table", ["P(success) bin", "mean predicted", "realised", "outcomes"],
          s.calibration.map(function (b) {
            return [b.bin[0].toFixed(1) + "–" + b.bin[1].toFixed(1), num(b.predicted.toFixed(3)),
                    num(b.realised.toFixed(3)), num(fmt(b.count, "int"))];
          }), "no outcome matched to a decision yet");
  }

  function renderTables(s) {
    table("escalations-table", ["from", "to", "decisions"],
          s.escalations.map(function (e) { return [e.from, e.to, num(fmt(e.decisions, "int"))]; }), "no escalation");
    table("fallbacks-table", ["failed model", "tried next", "decisions"],
          s.fallbacks.map(function (e) { return [e.from, e.to, num(fmt(e.decisions, "int"))]; }), "no fallback");
    table("failures-table", ["model", "failed calls"],
          s.failures.map(function (e) { return [e.model, num(fmt(e.calls, "int"))]; }));
    var b = s.budgets;
    table("budgets-table", ["", ""], [
      ["tasks with a budget", num(fmt(b.tasks, "int"))], ["budgets (sum)", num(usd(b.budget_usd))],
      ["reserved (calls in flight)", num(usd(b.reserved_usd))], ["spent", num(usd(b.spent_usd))],
      ["refused calls", num(fmt(b.refusals, "int"))], ["tasks refused at least once", num(fmt(b.refused_tasks, "int"))],
      ["asked by refused calls", num(usd(b.refused_needed_usd))]]);
    table("refusals-table", ["profile", "cheapest model asked", "refusals"],
          s.refusals.map(function (r) { return [r.profile, r.model, num(fmt(r.refusals, "int"))]; }));
    var split = function (key) {
      return function (r) {
        return [r[key], num(fmt(r.decisions, "int")), num(usd(r.spent_usd)), num(usd(r.counterfactual_usd)),
                num(r.counterfactual_usd > 0 ? pct(1 - r.spent_usd / r.counterfactual_usd) : "–")];
      };
    };
    table("profile-table", ["profile", "decisions", "spent", "counterfactual", "saved"], s.by_profile.map(split("profile")));
    table("model-table", ["model", "decisions", "spent", "counterfactual", "saved"], s.by_model.map(split("model")));
  }

  function fillSelect(id, values, labels) {
    var sel = $(id), keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    values.forEach(function (v) {
      var o = node("option", labels && labels[v] ? labels[v] : v);
      o.value = v;
      sel.appendChild(o);
    });
    sel.value = values.indexOf(keep) >= 0 ? keep : "";
  }

  function candidates(row) {
    var wrap = node("td");
    var names = Object.keys(row.p_success_by_model || {});
    names.sort(function (a, b) { return row.p_success_by_model[b] - row.p_success_by_model[a]; });
    if (!names.length) return wrap;
    var det = wrap.appendChild(node("details"));
    det.appendChild(node("summary", names.length + " candidates"));
    names.forEach(function (m) {
      var line = det.appendChild(node("div", m + ": " + row.p_success_by_model[m].toFixed(3), "cand"));
      if (m === row.model) line.classList.add("chosen");
    });
    return wrap;
  }

  function renderDecisions(d) {
    var body = $("decisions-table").tBodies[0];
    body.textContent = "";
    d.rows.forEach(function (r) {
      var tr = body.appendChild(node("tr"));
      tr.setAttribute("data-decision-id", r.decision_id);
      [fmt(r.created_at, "time"), r.task_id, r.profile, r.step_kind || "–", r.category || "–"].forEach(function (v) {
        tr.appendChild(node("td", v));
      });
      tr.appendChild(node("td", r.model, "chosen model"));
      tr.appendChild(node("td", r.status, "status-" + r.status));
      tr.appendChild(node("td", r.p_success === null ? "–" : r.p_success.toFixed(3), "num"));
      tr.appendChild(node("td", r.cost_usd === null ? "–" : usd(r.cost_usd), "num"));
      tr.appendChild(node("td", r.counterfactual_usd === null ? "–" : usd(r.counterfactual_usd), "num"));
      tr.appendChild(candidates(r));
      tr.appendChild(node("td", r.reason, "reason"));
    });
    if (!d.rows.length) {
      var td = body.appendChild(node("tr")).appendChild(node("td", "no decision matches", "empty"));
      td.colSpan = 12;
    }
    setValue("decisions-count", d.total, fmt(d.total, "int") + " decisions match");
    $("page-info").textContent = "page " + d.page + " of " + d.pages;
    $("prev").disabled = d.page <= 1;
    $("next").disabled = d.page >= d.pages;
    if (d.options) {
      fillSelect("f-profile", d.options.profiles);
      fillSelect("f-model", d.options.models);
      fillSelect("f-step", d.options.steps, {"-": "(no step)"});
    }
  }

  function query() {
    var q = new URLSearchParams();
    q.set("page", String(state.page));
    q.set("per_page", String(state.perPage));
    [["task", "f-task"], ["profile", "f-profile"], ["model", "f-model"], ["step", "f-step"]].forEach(function (p) {
      if ($(p[1]).value) q.set(p[0], $(p[1]).value);
    });
    q.set("options", "1");
    return q.toString();
  }

  function loadDecisions() {
    var asked = query();
    return getJSON("/dashboard/api/decisions?" + asked).then(function (d) {
      if (asked === query()) renderDecisions(d);  // a newer filter may have been typed meanwhile
    });
  }

  function showError(err) {
    var box = $("error");
    box.hidden = false;
    box.textContent = String(err && err.message ? err.message : err);
  }

  function refresh() {
    return Promise.all([getJSON("/dashboard/api/summary"), loadDecisions()]).then(function (got) {
      var s = got[0];
      $("error").hidden = true;
      $("backend").textContent = s.backend;
      renderKpis(s);
      renderSpend(s);
      renderSuccess(s);
      renderCalibration(s);
      renderTables(s);
      $("updated").textContent = new Date(s.checked_at * 1000).toLocaleTimeString() +
        (s.checked_at - s.generated_at > 1 ? " (no change since " + new Date(s.generated_at * 1000).toLocaleTimeString() + ")" : "");
      state.refreshes += 1;
      document.body.setAttribute("data-refreshes", String(state.refreshes));
      if (!document.body.hasAttribute("data-ready")) {  // navigation start -> every figure and the table shown
        document.body.setAttribute("data-load-ms", performance.now().toFixed(1));
      }
      document.body.setAttribute("data-ready", "1");
    }).catch(showError);
  }

  function schedule() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    if (refreshS > 0 && $("auto-refresh").checked) state.timer = setInterval(refresh, refreshS * 1000);
  }

  function filtersChanged() {
    state.page = 1;
    loadDecisions().catch(showError);
  }

  $("refresh-s").textContent = String(refreshS);
  if (!refreshS) $("auto-refresh").checked = false;
  $("auto-refresh").addEventListener("change", schedule);
  $("refresh-now").addEventListener("click", refresh);
  ["f-profile", "f-model", "f-step"].forEach(function (id) { $(id).addEventListener("change", filtersChanged); });
  var typing = null;
  $("f-task").addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(filtersChanged, 250); });
  $("filters").addEventListener("submit", function (ev) { ev.preventDefault(); filtersChanged(); });
  $("prev").addEventListener("click", function () { state.page = Math.max(1, state.page - 1); loadDecisions().catch(showError); });
  $("next").addEventListener("click", function () { state.page += 1; loadDecisions().catch(showError); });
  refresh();
  schedule();
})();
