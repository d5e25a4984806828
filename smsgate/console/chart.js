/* A small SVG line chart, hand-written for the console (no library): a few series over evenly spaced
   points, an axis of round values, time labels and a legend. Enough for rates and counts per bucket.
   lineChart(element, {labels: [ms...], series: [{name, color, values}], unit}) */
"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= value) return steps[i] * power;
    return 10 * power;
  }

  function timeLabel(ms, spanMs) {
    var d = new Date(ms);
    var hm = String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
    if (spanMs <= 10 * 60 * 1000) return hm + ":" + String(d.getSeconds()).padStart(2, "0");
    return hm;
  }

  function fmt(v) {
    if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k";
    if (Number.isInteger(v)) return String(v);
    return v < 1 ? v.toFixed(2) : v.toFixed(1);
  }

  window.lineChart = function (target, data) {
    var W = 1000, H = 200, L = 44, R = 10, T = 10, B = 24;
    target.textContent = "";
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", role: "img" }, target);
    var n = data.labels.length;
    var max = 0;
    data.series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    max = niceMax(max);
    var x = function (i) { return L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1)); };
    var y = function (v) { return T + (H - T - B) * (1 - v / max); };
    for (var g = 0; g <= 5; g++) {
      var gv = (max * g) / 5;
      el("line", { x1: L, x2: W - R, y1: y(gv), y2: y(gv), stroke: "#e4e8ef", "stroke-width": 1 }, svg);
      var t = el("text", { x: L - 6, y: y(gv) + 4, "text-anchor": "end", "font-size": 11, fill: "#667085" }, svg);
      t.textContent = fmt(gv);
    }
    var span = n > 1 ? data.labels[n - 1] - data.labels[0] : 0;
    var every = Math.max(1, Math.ceil(n / 8));
    for (var i = 0; i < n; i += every) {
      var anchor = x(i) > W - R - 40 ? "end" : "middle";
      var lt = el("text", { x: x(i), y: H - 6, "text-anchor": anchor, "font-size": 11, fill: "#667085" }, svg);
      lt.textContent = timeLabel(data.labels[i], span);
    }
    data.series.forEach(function (s) {
      if (!n) return;
      var d = s.values.map(function (v, i) { return (i ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1); }).join(" ");
      el("path", { d: d, fill: "none", stroke: s.color, "stroke-width": 2, "vector-effect": "non-scaling-stroke" }, svg);
    });
    var legend = document.createElement("div");
    legend.className = "legend";
    data.series.forEach(function (s) {
      var item = document.createElement("span");
      var swatch = document.createElement("i");
      swatch.style.background = s.color;
      item.appendChild(swatch);
      var last = s.values.length ? s.values[s.values.length - 1] : 0;
      item.appendChild(document.createTextNode(s.name + " (" + fmt(last) + (data.unit || "") + ")"));
      legend.appendChild(item);
    });
    target.appendChild(legend);
  };
})();
