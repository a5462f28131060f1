/* aco charts: small interactive SVG charts (points, lines, steps) with tooltips, legend toggles, drag-to-zoom,
   named zoom regions and labels placed so that they never overlap. No dependencies; every text is set with
   textContent (never parsed as HTML). Used by the bench report, the stream report and the live dashboard. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var FONT = 11;

  function el(tag, attrs, parent) {
    var node = document.createElementNS(NS, tag);
    if (attrs) { for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]); } }
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, cls, parent, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function fmt(value, kind) {
    if (value === null || value === undefined || (typeof value === "number" && !isFinite(value))) return "–";
    if (typeof value !== "number") return String(value);
    var a = Math.abs(value);
    switch (kind) {
      case "usd":
        if (a >= 1000) return "$" + value.toLocaleString("en-US", {maximumFractionDigits: 0});
        if (a >= 1) return "$" + (Number.isInteger(value) ? String(value) : value.toFixed(2));
        if (a >= 0.01) return "$" + value.toFixed(3);
        if (a === 0) return "$0";
        return "$" + value.toPrecision(3);
      case "pct": return (100 * value).toFixed(1) + "%";
      case "int": return Math.round(value).toLocaleString("en-US");
      case "time": {
        var d = new Date(value * 1000);
        var two = function (n) { return (n < 10 ? "0" : "") + n; };
        return two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
      }
      case "clock": {
        var c = new Date(value * 1000);
        return c.toLocaleTimeString("en-GB");
      }
      default:
        if (a >= 1000) return value.toLocaleString("en-US", {maximumFractionDigits: 0});
        if (a >= 100) return value.toFixed(1);
        return String(Number(value.toPrecision(3)));
    }
  }

  function Scale(lo, hi, a, b, log) {
    this.lo = lo; this.hi = hi; this.a = a; this.b = b; this.log = !!log;
  }
  Scale.prototype.t = function (v) { return this.log ? Math.log10(Math.max(v, 1e-300)) : v; };
  Scale.prototype.map = function (v) {
    var l = this.t(this.lo), h = this.t(this.hi);
    return this.a + (this.t(v) - l) / ((h - l) || 1) * (this.b - this.a);
  };
  Scale.prototype.invert = function (px) {
    var l = this.t(this.lo), h = this.t(this.hi);
    var v = l + (px - this.a) / ((this.b - this.a) || 1) * (h - l);
    return this.log ? Math.pow(10, v) : v;
  };
  Scale.prototype.ticks = function () {
    var out = [], lo = this.lo, hi = this.hi;
    if (this.log) {
      var e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
      var mult = e1 - e0 <= 2 ? [1, 2, 5] : [1];
      for (var e = e0; e <= e1; e++) {
        for (var i = 0; i < mult.length; i++) {
          var v = mult[i] * Math.pow(10, e);
          if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
        }
      }
      if (out.length < 3) return new Scale(lo, hi, this.a, this.b, false).ticks();
      return out;
    }
    var span = hi - lo || Math.abs(hi) || 1, raw = span / 6, p = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * p; }).filter(function (s) { return s >= raw; })[0];
    for (var x = Math.ceil(lo / step) * step; x <= hi + step * 1e-9; x += step) out.push(Math.abs(x) < step * 1e-9 ? 0 : x);
    return out;
  };

  function boxesOverlap(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }
  function textWidth(text) { return 0.6 * FONT * text.length; }

  function Chart(container, spec) {
    this.container = container;
    this.spec = spec;
    this.hidden = {};
    this.domain = null;
    var self = this;
    (spec.series || []).forEach(function (s) { if (s.hidden) self.hidden[s.id] = true; });
    this.build();
    this.render();
    container.acoChart = this;
  }

  Chart.prototype.build = function () {
    var self = this, spec = this.spec, root = this.container;
    root.textContent = "";
    root.classList.add("aco-chart");
    var bar = html("div", "aco-chart-toolbar", root);
    var reset = html("button", "aco-btn", bar, "Reset zoom");
    reset.type = "button"; reset.setAttribute("data-action", "reset");
    reset.addEventListener("click", function () { self.zoom(null); });
    (spec.regions || []).forEach(function (r) {
      var b = html("button", "aco-btn", bar, r.name);
      b.type = "button"; b.setAttribute("data-region", r.name);
      b.addEventListener("click", function () { self.zoom({x: r.x.slice(), y: r.y.slice()}); });
    });
    var toggles = (spec.series || []).filter(function (s) { return s.legend !== false; });
    if (toggles.length > 4) {
      [["Show all", false], ["Hide all", true]].forEach(function (pair) {
        var b = html("button", "aco-btn", bar, pair[0]);
        b.type = "button"; b.setAttribute("data-action", pair[1] ? "hide-all" : "show-all");
        b.addEventListener("click", function () {
          toggles.forEach(function (s) { if (s.toggle !== false) self.hidden[s.id] = pair[1]; });
          self.render();
        });
      });
    }
    html("span", "aco-hint", bar, "drag on the plot to zoom, double-click to reset, click the legend to toggle");
    var body = html("div", "aco-chart-body", root);
    var width = spec.width || 880, height = spec.height || 480;
    this.width = width; this.height = height;
    this.svg = el("svg", {viewBox: "0 0 " + width + " " + height, "class": "aco-chart-svg", role: "img",
                          "data-chart": spec.id || ""}, body);
    el("title", null, this.svg).textContent = spec.title || "";
    this.legend = html("ul", "aco-legend", body);
    toggles.forEach(function (s) {
      var li = html("li", null, self.legend);
      var b = html("button", "aco-legend-item", li);
      b.type = "button"; b.setAttribute("data-series", s.id);
      var sw = html("span", "aco-swatch", b);
      sw.style.background = s.color || "#555";
      if (s.dash) sw.classList.add("aco-swatch-dash");
      html("span", null, b, s.name);
      if (s.toggle === false) { b.disabled = true; return; }
      b.addEventListener("click", function () { self.hidden[s.id] = !self.hidden[s.id]; self.render(); });
    });
    this.tooltip = html("div", "aco-tooltip", root);
    this.tooltip.hidden = true;
  };

  Chart.prototype.visibleSeries = function () {
    var hidden = this.hidden;
    return (this.spec.series || []).filter(function (s) { return !hidden[s.id]; });
  };

  Chart.prototype.fullDomain = function () {
    var spec = this.spec, xs = [], ys = [];
    (spec.series || []).forEach(function (s) {
      if (s.domain === false) return;
      s.points.concat(s.line || []).forEach(function (p) { xs.push(p[0]); ys.push(p[1]); });
    });
    var lx = spec.x.log;
    if (lx) xs = xs.filter(function (v) { return v > 0; });
    if (!xs.length) { xs = [0, 1]; ys = [0, 1]; }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (lx) { x0 /= 1.25; x1 *= 1.25; } else { var px = (x1 - x0) * 0.04 || 1; x0 -= px; x1 += px; }
    var py = (y1 - y0) * 0.06 || 0.05; y0 -= py; y1 += py;
    if (spec.x.min !== undefined) x0 = spec.x.min;
    if (spec.x.max !== undefined) x1 = spec.x.max;
    if (spec.y.min !== undefined) y0 = spec.y.min;
    if (spec.y.max !== undefined) y1 = spec.y.max;
    return {x: [x0, x1], y: [y0, y1]};
  };

  Chart.prototype.zoom = function (domain) { this.domain = domain; this.render(); };
  /* New data for the same chart: keeps the zoom and the toggles when the series are the same, else rebuilds. */
  Chart.prototype.update = function (spec) {
    var ids = function (sp) { return (sp.series || []).map(function (s) { return s.id + "|" + s.name; }).join(","); };
    var same = ids(spec) === ids(this.spec);
    this.spec = spec;
    if (!same) { this.hidden = {}; this.domain = null; this.build(); }
    this.render();
  };
  Chart.prototype.currentDomain = function () { return this.domain || this.fullDomain(); };

  Chart.prototype.render = function () {
    var self = this, spec = this.spec, svg = this.svg;
    while (svg.childNodes.length > 1) svg.removeChild(svg.lastChild);
    Array.prototype.forEach.call(this.legend.querySelectorAll("button[data-series]"), function (b) {
      b.setAttribute("aria-pressed", self.hidden[b.getAttribute("data-series")] ? "false" : "true");
    });
    var hasEnd = (spec.series || []).some(function (s) { return s.endLabel; });
    var m = {l: 70, r: hasEnd ? 190 : 18, t: spec.title ? 30 : 12, b: 46};
    var d = this.currentDomain();
    var sx = new Scale(d.x[0], d.x[1], m.l, this.width - m.r, spec.x.log);
    var sy = new Scale(d.y[0], d.y[1], this.height - m.b, m.t, spec.y.log);
    this.sx = sx; this.sy = sy; this.margin = m;
    var plot = {x: m.l, y: m.t, w: this.width - m.l - m.r, h: this.height - m.t - m.b};
    this.plot = plot;
    if (spec.title) el("text", {x: m.l, y: 18, "class": "aco-title"}, svg).textContent = spec.title;
    var axes = el("g", {"class": "aco-axes"}, svg);
    sx.ticks().forEach(function (v) {
      var x = sx.map(v);
      el("line", {x1: x, x2: x, y1: plot.y, y2: plot.y + plot.h, "class": "aco-grid"}, axes);
      el("text", {x: x, y: plot.y + plot.h + 16, "text-anchor": "middle", "class": "aco-tick aco-tick-x"}, axes)
        .textContent = fmt(v, spec.x.format);
    });
    sy.ticks().forEach(function (v) {
      var y = sy.map(v);
      el("line", {x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, "class": "aco-grid"}, axes);
      el("text", {x: plot.x - 6, y: y + 4, "text-anchor": "end", "class": "aco-tick aco-tick-y"}, axes)
        .textContent = fmt(v, spec.y.format);
    });
    el("rect", {x: plot.x, y: plot.y, width: plot.w, height: plot.h, "class": "aco-frame"}, axes);
    el("text", {x: plot.x + plot.w / 2, y: this.height - 8, "text-anchor": "middle", "class": "aco-axis-label"}, axes)
      .textContent = spec.x.label || "";
    el("text", {x: 14, y: plot.y + plot.h / 2, "text-anchor": "middle", "class": "aco-axis-label",
                transform: "rotate(-90 14 " + (plot.y + plot.h / 2) + ")"}, axes).textContent = spec.y.label || "";
    var clipId = "aco-clip-" + (spec.id || "chart");
    var defs = el("defs", null, svg);
    el("rect", {x: plot.x, y: plot.y, width: plot.w, height: plot.h}, el("clipPath", {id: clipId}, defs));
    var layer = el("g", {"clip-path": "url(#" + clipId + ")"}, svg);
    if (spec.diagonal) {
      var lo = Math.max(d.x[0], d.y[0]), hi = Math.min(d.x[1], d.y[1]);
      el("line", {x1: sx.map(lo), y1: sy.map(lo), x2: sx.map(hi), y2: sy.map(hi), "class": "aco-diagonal"}, layer);
    }
    this.shown = [];
    (spec.series || []).forEach(function (s) {
      var g = el("g", {"class": "aco-series", "data-series": s.id}, layer);
      g.setAttribute("data-name", s.name);
      if (self.hidden[s.id]) { g.style.display = "none"; return; }
      self.drawSeries(g, s, sx, sy);
      [[s.line || [], true], [s.points, false]].forEach(function (pair) {
        pair[0].forEach(function (p, i) {
          if (spec.x.log && p[0] <= 0) return;
          var px = sx.map(p[0]), py = sy.map(p[1]);
          if (px >= plot.x - 1 && px <= plot.x + plot.w + 1 && py >= plot.y - 1 && py <= plot.y + plot.h + 1) {
            self.shown.push({s: s, i: i, px: px, py: py, line: pair[1]});
          }
        });
      });
    });
    this.placeLabels(el("g", {"class": "aco-labels"}, svg));
    this.overlay(svg);
  };

  Chart.prototype.drawSeries = function (g, s, sx, sy) {
    var log = this.spec.x.log;
    var pts = s.points.filter(function (p) { return !(log && p[0] <= 0); });
    var color = s.color || "#555";
    if (s.line && s.line.length > 1) {
      el("path", {d: s.line.filter(function (p) { return !(log && p[0] <= 0); }).map(function (p, i) {
        return (i ? "L" : "M") + sx.map(p[0]).toFixed(1) + " " + sy.map(p[1]).toFixed(1);
      }).join(""), fill: "none", stroke: color, "stroke-width": 1.1, "stroke-opacity": 0.75,
      "class": "aco-curve"}, g);
    }
    if (s.kind === "line" || s.kind === "step") {
      var dstr = "";
      pts.forEach(function (p, i) {
        var x = sx.map(p[0]), y = sy.map(p[1]);
        if (i === 0) dstr += "M" + x.toFixed(1) + " " + y.toFixed(1);
        else if (s.kind === "step") dstr += "H" + x.toFixed(1) + "V" + y.toFixed(1);
        else dstr += "L" + x.toFixed(1) + " " + y.toFixed(1);
      });
      el("path", {d: dstr, fill: "none", stroke: color, "stroke-width": s.width || 1.6,
                  "stroke-dasharray": s.dash || null, "stroke-opacity": s.opacity || 1}, g);
      if (!s.marker) return;
    }
    var size = s.size || 4;
    pts.forEach(function (p) {
      var x = sx.map(p[0]), y = sy.map(p[1]);
      if (s.marker === "star") {
        var path = "";
        for (var k = 0; k < 10; k++) {
          var r = k % 2 ? size * 0.45 : size, a = -Math.PI / 2 + k * Math.PI / 5;
          path += (k ? "L" : "M") + (x + r * Math.cos(a)).toFixed(1) + " " + (y + r * Math.sin(a)).toFixed(1);
        }
        el("path", {d: path + "Z", fill: color, stroke: "#222", "stroke-width": 0.7}, g);
      } else if (s.marker === "diamond") {
        el("path", {d: "M" + x + " " + (y - size) + "L" + (x + size) + " " + y + "L" + x + " " + (y + size) + "L" +
                       (x - size) + " " + y + "Z", fill: color, stroke: "#222", "stroke-width": 0.6}, g);
      } else if (s.marker === "square") {
        el("rect", {x: x - size, y: y - size, width: 2 * size, height: 2 * size, fill: color}, g);
      } else {
        el("circle", {cx: x, cy: y, r: size, fill: color, stroke: s.stroke || "#222",
                      "stroke-width": s.stroke === "none" ? 0 : 0.6}, g);
      }
    });
  };

  /* Labels: point labels tried at 8 spots around their point, then further out with a leader line; a label
     that fits nowhere without overlapping a placed label, a marker or the frame is left out (its point keeps
     its tooltip). Line end labels stack in the right margin. */
  Chart.prototype.placeLabels = function (g) {
    var self = this, plot = this.plot, placed = [], markers = [];
    this.shown.forEach(function (p) {
      if (p.line) return;
      var r = (p.s.size || 4) + 1;
      markers.push({x: p.px - r, y: p.py - r, w: 2 * r, h: 2 * r, owner: p});
    });
    var candidates = this.shown.filter(function (p) { return !p.line && p.s.labels && p.s.labels[p.i]; });
    candidates.sort(function (a, b) { return (b.s.labelPriority || 0) - (a.s.labelPriority || 0); });
    var near = [[6, -4, "start"], [-6, -4, "end"], [0, -9, "middle"], [0, 15, "middle"], [6, 12, "start"],
                [-6, 12, "end"], [6, -12, "start"], [-6, -12, "end"]];
    var far = [];
    [22, 34, 48].forEach(function (r) {
      [[1, -1], [1, 1], [-1, -1], [-1, 1], [1, 0], [-1, 0], [0, -1], [0, 1]].forEach(function (u) {
        far.push([u[0] * r, u[1] * r * 0.7 + 4, u[0] > 0 ? "start" : u[0] < 0 ? "end" : "middle", true]);
      });
    });
    candidates.forEach(function (p) {
      var text = p.s.labels[p.i], w = textWidth(text), h = FONT + 1;
      var spots = near.concat(far);
      for (var k = 0; k < spots.length; k++) {
        var dx = spots[k][0], dy = spots[k][1], anchor = spots[k][2];
        var x = p.px + dx, y = p.py + dy;
        var left = anchor === "start" ? x : anchor === "end" ? x - w : x - w / 2;
        var box = {x: left - 1, y: y - FONT + 1, w: w + 2, h: h};
        if (box.x < plot.x + 1 || box.x + box.w > plot.x + plot.w - 1 || box.y < plot.y + 1 ||
            box.y + box.h > plot.y + plot.h - 1) continue;
        if (placed.some(function (b) { return boxesOverlap(b, box); })) continue;
        if (markers.some(function (b) { return b.owner !== p && boxesOverlap(b, box); })) continue;
        placed.push(box);
        if (spots[k][3]) {
          el("line", {x1: p.px, y1: p.py, x2: anchor === "start" ? left : anchor === "end" ? left + w : x,
                      y2: y - FONT / 2 + 1, "class": "aco-leader"}, g);
        }
        var t = el("text", {x: x, y: y, "text-anchor": anchor, "class": "aco-label", fill: p.s.labelColor || "#333"}, g);
        t.textContent = text;
        t.setAttribute("data-series", p.s.id);
        return;
      }
    });
    var ends = [];
    this.visibleSeries().forEach(function (s) {
      if (!s.endLabel) return;
      var last = null;
      self.shown.forEach(function (p) { if (p.s === s && !p.line && (!last || p.px >= last.px)) last = p; });
      if (last) ends.push({s: s, px: last.px, py: last.py, y: last.py});
    });
    ends.sort(function (a, b) { return a.y - b.y; });
    var gap = FONT + 2;
    for (var i = 1; i < ends.length; i++) ends[i].y = Math.max(ends[i].y, ends[i - 1].y + gap);
    var bottom = plot.y + plot.h;
    if (ends.length && ends[ends.length - 1].y > bottom) {
      ends[ends.length - 1].y = bottom;
      for (var j = ends.length - 2; j >= 0; j--) ends[j].y = Math.min(ends[j].y, ends[j + 1].y - gap);
    }
    var lx = plot.x + plot.w + 8;
    ends.forEach(function (e) {
      el("line", {x1: e.px, y1: e.py, x2: lx - 2, y2: e.y, "class": "aco-leader"}, g);
      var t = el("text", {x: lx, y: e.y + 4, "class": "aco-label aco-end-label", fill: e.s.color || "#333"}, g);
      t.textContent = e.s.name;
      t.setAttribute("data-series", e.s.id);
    });
  };

  Chart.prototype.nearest = function (mx, my) {
    var best = null, bestD = 24 * 24;
    this.shown.forEach(function (p) {
      var dx = p.px - mx, dy = p.py - my, dd = dx * dx + dy * dy - (p.line ? 0 : 9);
      if (dd < bestD) { bestD = dd; best = p; }
    });
    return best;
  };

  Chart.prototype.showTip = function (p, clientX, clientY) {
    var tip = this.tooltip, spec = this.spec, s = p.s, point = (p.line ? s.line : s.points)[p.i];
    var info = ((p.line ? s.lineTips : s.tips) || [])[p.i] || null;
    tip.textContent = "";
    html("div", "aco-tip-title", tip, (info && info.title) || s.name);
    var rows = (info && info.rows) || [[spec.x.label, fmt(point[0], spec.x.format)], [spec.y.label, fmt(point[1], spec.y.format)]];
    var table = html("table", null, tip);
    rows.forEach(function (r) {
      var tr = html("tr", null, table);
      html("th", null, tr, r[0]);
      html("td", null, tr, r[1]);
    });
    tip.hidden = false;
    var box = this.container.getBoundingClientRect();
    var left = clientX - box.left + 14, top = clientY - box.top + 14;
    if (left + tip.offsetWidth > box.width) left = Math.max(0, clientX - box.left - tip.offsetWidth - 14);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
    tip.setAttribute("data-series", s.id);
  };

  Chart.prototype.overlay = function (svg) {
    var self = this, plot = this.plot;
    var ring = el("circle", {r: 8, "class": "aco-ring", visibility: "hidden"}, svg);
    var sel = el("rect", {"class": "aco-selection", visibility: "hidden"}, svg);
    var hit = el("rect", {x: plot.x, y: plot.y, width: plot.w, height: plot.h, "class": "aco-hit"}, svg);
    var start = null;
    function local(ev) {
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX; pt.y = ev.clientY;
      return pt.matrixTransform(svg.getScreenCTM().inverse());
    }
    hit.addEventListener("mousemove", function (ev) {
      var q = local(ev);
      if (start) {
        sel.setAttribute("x", Math.min(start.x, q.x)); sel.setAttribute("y", Math.min(start.y, q.y));
        sel.setAttribute("width", Math.abs(q.x - start.x)); sel.setAttribute("height", Math.abs(q.y - start.y));
        sel.setAttribute("visibility", "visible");
        return;
      }
      var p = self.nearest(q.x, q.y);
      if (!p) { ring.setAttribute("visibility", "hidden"); self.tooltip.hidden = true; return; }
      ring.setAttribute("cx", p.px); ring.setAttribute("cy", p.py); ring.setAttribute("visibility", "visible");
      self.showTip(p, ev.clientX, ev.clientY);
    });
    hit.addEventListener("mouseleave", function () {
      ring.setAttribute("visibility", "hidden"); self.tooltip.hidden = true;
    });
    hit.addEventListener("mousedown", function (ev) { start = local(ev); ev.preventDefault(); });
    hit.addEventListener("mouseup", function (ev) {
      if (!start) return;
      var q = local(ev), a = start;
      start = null;
      sel.setAttribute("visibility", "hidden");
      if (Math.abs(q.x - a.x) < 8 || Math.abs(q.y - a.y) < 8) return;
      var x0 = self.sx.invert(Math.min(a.x, q.x)), x1 = self.sx.invert(Math.max(a.x, q.x));
      var y0 = self.sy.invert(Math.max(a.y, q.y)), y1 = self.sy.invert(Math.min(a.y, q.y));
      self.zoom({x: [x0, x1], y: [y0, y1]});
    });
    hit.addEventListener("dblclick", function () { self.zoom(null); });
  };

  /* Render every `<script type="application/json" data-aco-chart="ID">` spec into the element with that id. */
  function renderAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("script[data-aco-chart]"), function (node) {
      var target = document.getElementById(node.getAttribute("data-aco-chart"));
      if (target) new Chart(target, JSON.parse(node.textContent));
    });
  }

  window.AcoCharts = {Chart: Chart, fmt: fmt, renderAll: renderAll};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { renderAll(); });
  else renderAll();
})();
