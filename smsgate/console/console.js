/* smsgate console: plain JavaScript, no build step. One page; views switch by the URL's hash.
   Every call goes to /console/api/... with the session cookie; state-changing calls carry the
   session's CSRF token (X-CSRF-Token). Text from the gateway is put in with textContent only. */
"use strict";
(function () {
  var me = null;
  var timers = [];
  var liveRows = [];     // [{t, totals}] readings of /console/api/live
  var historyRange = "1h";
  var previewTimer = null;
  var COLORS = { accepted: "#2f6fde", submitted: "#8a5cf6", delivered: "#1a8f4c", failed: "#c23b2f" };
  var KINDS = ["accepted", "submitted", "delivered", "failed"];

  function $(id) { return document.getElementById(id); }

  function api(method, path, body) {
    var opts = { method: method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (method !== "GET" && me) opts.headers["X-CSRF-Token"] = me.csrf;
    return fetch("/console/api/" + path, opts).then(function (r) {
      if (r.status === 204) return {};
      return r.json().then(function (data) {
        if (!r.ok) {
          var v = (data.violations || [])[0];
          var err = new Error(v ? v.property + ": " + v.violation : (data.description || ("HTTP " + r.status)));
          err.status = r.status;
          if (r.status === 401 && path !== "session") showSignIn();
          throw err;
        }
        return data;
      });
    });
  }

  function toast(text, bad) {
    var t = $("toast");
    t.textContent = text;
    t.className = "toast" + (bad ? " error" : "");
    t.hidden = false;
    setTimeout(function () { t.hidden = true; }, 4000);
  }

  function when(ms) {
    if (ms === null || ms === undefined) return "";
    var d = new Date(ms);
    return d.toLocaleString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (text instanceof Node) td.appendChild(text); else td.textContent = text === null || text === undefined ? "" : String(text);
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function table(target, headers, rows, build) {
    target.textContent = "";
    var head = document.createElement("tr");
    headers.forEach(function (h) { var th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
    target.appendChild(head);
    rows.forEach(function (r) { var tr = document.createElement("tr"); build(tr, r); target.appendChild(tr); });
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = cell(tr, "nothing yet", "note");
      td.colSpan = headers.length;
      target.appendChild(tr);
    }
  }

  function button(label, onClick, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.className = "small " + (cls || "");
    b.addEventListener("click", onClick);
    return b;
  }

  function link(text, hash) {
    var a = document.createElement("a");
    a.href = hash;
    a.textContent = text;
    return a;
  }

  function stopTimers() { timers.forEach(clearInterval); timers = []; }

  // --- sign-in ------------------------------------------------------------------------------------

  function showSignIn() {
    stopTimers();
    me = null;
    $("top").hidden = true;
    document.querySelectorAll(".view").forEach(function (v) { v.hidden = true; });
    $("signin").hidden = false;
  }

  function signedIn(data) {
    me = data;
    $("signin").hidden = true;
    $("top").hidden = false;
    $("who").textContent = me.operator ? "operator" : "account " + me.account;
    document.body.classList.toggle("op-hidden", !me.operator);
    route();
  }

  function start() {
    api("GET", "me").then(signedIn).catch(showSignIn);
  }

  function tab(which) {
    $("tab-account").classList.toggle("active", which === "account");
    $("tab-operator").classList.toggle("active", which === "operator");
    $("form-account").hidden = which !== "account";
    $("form-operator").hidden = which !== "operator";
  }

  function submitSignIn(body) {
    $("signin-error").textContent = "";
    api("POST", "session", body)
      .then(function () { return api("GET", "me"); })
      .then(signedIn)
      .catch(function (e) { $("signin-error").textContent = e.message; });
  }

  // --- views --------------------------------------------------------------------------------------

  function route() {
    if (!me) return;
    stopTimers();
    var hash = location.hash.replace(/^#/, "") || "overview";
    var name = hash.split("/")[0];
    var operatorOnly = { connectors: true, accounts: true };
    if (operatorOnly[name] && !me.operator) name = "overview";
    document.querySelectorAll(".view").forEach(function (v) { v.hidden = true; });
    document.querySelectorAll("#nav a").forEach(function (a) {
      a.classList.toggle("active", a.dataset.view === name || (name === "message" && a.dataset.view === "messages"));
    });
    var view = $("view-" + name);
    if (!view) { location.hash = "#overview"; return; }
    view.hidden = false;
    var show = { overview: showOverview, messages: showMessages, message: showMessage, bulks: showBulks,
      send: showSend, connectors: showConnectors, accounts: showAccounts }[name];
    show(hash.slice(name.length + 1));
  }

  function every(ms, fn) { fn(); timers.push(setInterval(fn, ms)); }

  // overview: live rates from two readings of the counters, history from the store
  function showOverview() {
    every(2000, pollLive);
    every(10000, loadHistory);
  }

  function pollLive() {
    api("GET", "live").then(function (d) {
      liveRows.push({ t: d.clock * 1000, totals: d.totals });
      if (liveRows.length > 62) liveRows.shift();
      var n = liveRows.length;
      KINDS.forEach(function (k) {
        $("total-" + k).textContent = "since start: " + Math.round(d.totals[k]);
        if (n > 1) {
          var a = liveRows[n - 2], b = liveRows[n - 1];
          var rate = (b.totals[k] - a.totals[k]) / Math.max(0.001, (b.t - a.t) / 1000);
          $("rate-" + k).textContent = rate.toFixed(rate >= 10 ? 0 : 1);
        }
      });
      var labels = [], series = KINDS.map(function (k) { return { name: k, color: COLORS[k], values: [] }; });
      for (var i = 1; i < n; i++) {
        var dt = Math.max(0.001, (liveRows[i].t - liveRows[i - 1].t) / 1000);
        labels.push(liveRows[i].t);
        KINDS.forEach(function (k, j) { series[j].values.push((liveRows[i].totals[k] - liveRows[i - 1].totals[k]) / dt); });
      }
      window.lineChart($("chart-live"), { labels: labels, series: series, unit: "/s" });
    }).catch(function () {});
  }

  function loadHistory() {
    api("GET", "overview?range=" + historyRange).then(function (d) {
      var labels = d.series.accepted.map(function (_, i) { return d.since + i * d.step; });
      window.lineChart($("chart-history"), {
        labels: labels,
        series: KINDS.map(function (k) { return { name: k, color: COLORS[k], values: d.series[k] }; }),
        unit: " / " + Math.round(d.step / 60000) + " min",
      });
      var groups = Object.keys(d.statusGroups).map(function (g) { return [g, d.statusGroups[g]]; });
      var all = groups.reduce(function (s, g) { return s + g[1]; }, 0);
      table($("status-groups"), ["group", "messages", "share"], groups, function (tr, g) {
        cell(tr, g[0], "status-" + g[0]);
        cell(tr, g[1], "num");
        cell(tr, all ? (100 * g[1] / all).toFixed(1) + " %" : "-", "num");
      });
      var kinds = Object.keys(d.queue).sort();
      table($("queue"), ["job kind", "queued", "due now"], kinds, function (tr, k) {
        cell(tr, k); cell(tr, d.queue[k].queued, "num"); cell(tr, d.queue[k].due, "num");
      });
      table($("webhooks"), ["URL", "failures", "last answer", "last at", "waiting for retry", "next retry"],
        d.failingWebhooks, function (tr, w) {
          cell(tr, w.url); cell(tr, w.failures, "num"); cell(tr, w.lastAnswer); cell(tr, when(w.lastAt));
          cell(tr, w.retrying, "num"); cell(tr, when(w.nextRetryAt));
        });
    }).catch(function (e) { toast(e.message, true); });
  }

  // messages
  function localMs(value) { return value ? String(new Date(value).getTime()) : ""; }

  function showMessages(query) {
    var form = $("form-search");
    var params = new URLSearchParams(query || "");
    Array.prototype.forEach.call(form.elements, function (f) {
      if (f.name && params.has(f.name) && f.type !== "datetime-local") f.value = params.get(f.name);
    });
    searchMessages(params);
  }

  function searchMessages(params) {
    api("GET", "messages?" + params.toString()).then(function (d) {
      var headers = ["created", "message ID", "bulk ID", "from", "to", "status", "parts", "connector"];
      if (me.operator) headers.splice(1, 0, "account");
      table($("messages"), headers, d.messages, function (tr, m) {
        cell(tr, when(m.createdAt));
        if (me.operator) cell(tr, m.account);
        var q = me.operator ? "?account=" + encodeURIComponent(m.account) : "";
        cell(tr, link(m.messageId, "#message/" + encodeURIComponent(m.messageId) + q));
        cell(tr, m.bulkId); cell(tr, m.from); cell(tr, m.to);
        cell(tr, m.status, "status-" + m.group); cell(tr, m.smsCount, "num"); cell(tr, m.connector);
      });
    }).catch(function (e) { toast(e.message, true); });
  }

  function showMessage(rest) {
    var parts = rest.split("?");
    var id = decodeURIComponent(parts[0]);
    var path = "messages/" + encodeURIComponent(id) + (parts[1] ? "?" + parts[1] : "");
    $("message-title").textContent = id;
    var load = function () {
      api("GET", path).then(renderTimeline).catch(function (e) {
        $("message-head").textContent = e.status === 404 ? "No such message in your account." : e.message;
        $("timeline").textContent = "";
      });
    };
    every(2000, load);
  }

  function renderTimeline(m) {
    var head = $("message-head");
    head.textContent = "";
    var dl = document.createElement("dl");
    dl.className = "timeline";
    [["account", m.account], ["bulk ID", m.bulkId], ["from", m.from], ["to", m.to], ["text", m.text],
     ["status", m.status], ["error", m.error], ["report", m.report]].forEach(function (p) {
      var t = document.createElement("div");
      var b = document.createElement("strong"); b.textContent = p[0] + ": ";
      var s = document.createElement("span"); s.textContent = p[1] === null ? "" : String(p[1]);
      if (p[0] === "status") { s.className = "status-" + m.group; s.id = "message-status"; }
      t.appendChild(b); t.appendChild(s); head.appendChild(t);
    });
    var list = $("timeline");
    list.textContent = "";
    m.events.forEach(function (e) {
      var li = document.createElement("li");
      li.className = e.kind;
      if (e.kind === "push" && !e.details.ok) li.classList.add("failed");
      if (e.kind === "receipt") li.classList.add(e.details.group === "DELIVERED" ? "good" : "bad");
      var w = document.createElement("div"); w.className = "when"; w.textContent = when(e.at);
      var t = document.createElement("div"); t.className = "title"; t.textContent = e.title;
      li.appendChild(w); li.appendChild(t);
      var keys = Object.keys(e.details).filter(function (k) {
        var v = e.details[k]; return v !== null && v !== undefined && !(Array.isArray(v) && !v.length);
      });
      if (keys.length) {
        var d = document.createElement("dl");
        keys.forEach(function (k) {
          var dt = document.createElement("dt"); dt.textContent = k;
          var dd = document.createElement("dd");
          var v = e.details[k];
          dd.textContent = /(At|Until)$/.test(k) ? when(v) : (typeof v === "object" ? JSON.stringify(v) : String(v));
          d.appendChild(dt); d.appendChild(dd);
        });
        li.appendChild(d);
      }
      list.appendChild(li);
    });
    $("message-note").textContent = "Not recorded by the gateway: " + m.notRecorded.join("; ") + ".";
  }

  // bulks
  function showBulks() { every(3000, loadBulks); }

  function loadBulks() {
    api("GET", "bulks").then(function (d) {
      var headers = ["bulk ID", "created", "total", "sent", "delivered", "failed", "pending", "state", "actions"];
      if (me.operator) headers.unshift("account");
      table($("bulks"), headers, d.bulks, function (tr, b) {
        tr.dataset.bulk = b.bulkId;
        if (me.operator) cell(tr, b.account);
        var q = "bulkId=" + encodeURIComponent(b.bulkId) + (me.operator ? "&account=" + encodeURIComponent(b.account) : "");
        cell(tr, link(b.bulkId, "#messages/" + q));
        cell(tr, when(b.createdAt));
        ["total", "sent", "delivered", "failed", "pending"].forEach(function (k) { cell(tr, b[k], "num"); });
        var state = cell(tr, b.status ? b.status + (b.sendAt ? " (send at " + when(b.sendAt) + ")" : "") : "not scheduled");
        state.className = "bulk-status";
        var actions = document.createElement("span");
        if (b.state) {
          var act = function (action, extra) {
            return function () {
              var body = { bulkId: b.bulkId, action: action };
              if (me.operator) body.account = b.account;
              Object.assign(body, extra || {});
              api("POST", "bulks/action", body)
                .then(function (r) { toast("bulk " + b.bulkId + ": " + r.status); loadBulks(); })
                .catch(function (e) { toast(e.message, true); });
            };
          };
          actions.appendChild(button("Pause", act("pause")));
          actions.appendChild(button("Resume", act("resume")));
          actions.appendChild(button("Cancel", act("cancel"), "ghost"));
          actions.appendChild(button("Reschedule", function () {
            var at = prompt("Send at (ISO 8601, e.g. 2030-01-01T10:00:00.000+0000)");
            if (at) act("reschedule", { sendAt: at })();
          }, "ghost"));
        }
        cell(tr, actions);
      });
    }).catch(function (e) { toast(e.message, true); });
  }

  // send, with the live preview
  function showSend() {
    var form = $("form-send");
    if (!form.elements.from.value) form.elements.from.value = me.defaultSender || "";
    updatePreview();
  }

  function sendBody() {
    var f = $("form-send").elements;
    var body = { from: f.from.value, to: f.to.value, text: f.text.value };
    if (me.operator) body.account = f.account.value;
    if (f.notifyUrl.value) body.notifyUrl = f.notifyUrl.value;
    if (f.sendAt.value) body.sendAt = new Date(f.sendAt.value).toISOString().replace("Z", "+0000");
    return body;
  }

  function updatePreview() {
    var b = sendBody();
    var body = { text: b.text };
    if (b.to) body.to = b.to;
    if (me.operator && b.account) body.account = b.account;
    api("POST", "preview", body).then(function (p) {
      var box = $("preview");
      box.textContent = "";
      var line = document.createElement("div");
      line.id = "preview-summary";
      line.textContent = p.encoding + " - " + p.parts + " part" + (p.parts === 1 ? "" : "s") + " - " +
        p.characters + " characters, " + p.charactersRemaining + " remaining in this part";
      box.appendChild(line);
      if (p.currency) {
        var price = document.createElement("div");
        price.id = "preview-price";
        var uncovered = p.destinations.filter(function (d) { return d.valid && !d.covered; }).length;
        var invalid = p.destinations.filter(function (d) { return !d.valid; }).length;
        price.textContent = "price: " + p.total + " " + p.currency + " for " + p.destinations.length + " destination(s)" +
          (invalid ? ", " + invalid + " invalid" : "") + (uncovered ? ", " + uncovered + " not covered by the plan" : "");
        box.appendChild(price);
      }
    }).catch(function (e) { $("preview").textContent = e.message; });
  }

  // connectors
  function showConnectors() { every(2000, loadConnectors); }

  function loadConnectors() {
    api("GET", "connectors").then(function (d) {
      table($("connectors"), ["name", "kind", "state", "binds", "window in use", "throughput", "last error", ""],
        d.connectors, function (tr, c) {
          cell(tr, c.name); cell(tr, c.kind);
          cell(tr, c.state, c.up ? "status-DELIVERED" : "status-REJECTED").dataset.connector = c.name;
          cell(tr, c.binds, "num");
          cell(tr, c.window ? c.inFlight + " / " + c.window : "-", "num");
          cell(tr, (c.rate === null || c.rate === undefined ? "-" : c.rate.toFixed(1) + "/s") +
            (c.throughputLimit ? " (limit " + c.throughputLimit + "/s)" : ""), "num");
          cell(tr, c.lastError || "");
          var actions = document.createElement("span");
          if (c.canStop) {
            var act = function (a) {
              return function () {
                api("POST", "connectors/" + encodeURIComponent(c.name) + "/" + a, {})
                  .then(function (r) { toast(c.name + ": " + r.state); loadConnectors(); })
                  .catch(function (e) { toast(e.message, true); });
              };
            };
            actions.appendChild(c.stopped ? button("Start", act("start")) : button("Stop", act("stop"), "ghost"));
          }
          cell(tr, actions);
        });
      var binds = d.customerBinds ? Object.keys(d.customerBinds).map(function (k) { return [k, d.customerBinds[k]]; }) : [];
      table($("binds"), ["account", "open binds"], binds, function (tr, b) { cell(tr, b[0]); cell(tr, b[1], "num"); });
    }).catch(function (e) { toast(e.message, true); });
  }

  // accounts
  function showAccounts() { loadAccounts(); }

  function loadAccounts() {
    api("GET", "accounts").then(function (d) {
      table($("accounts"), ["name", "username", "enabled", "API keys", "balance", "plan", "actions"], d.accounts, function (tr, a) {
        cell(tr, a.name); cell(tr, a.username); cell(tr, a.enabled ? "yes" : "no");
        cell(tr, a.keys.map(function (k) { return k.prefix + "..." + (k.revokedAt ? " (revoked)" : ""); }).join(", "));
        cell(tr, a.balance === null ? "" : a.balance.toFixed(4) + " " + a.currency + (a.prepaid ? " prepaid" : ""), "num");
        cell(tr, a.plan);
        var actions = document.createElement("span");
        var path = "accounts/" + encodeURIComponent(a.name);
        var done = function (what) { return function () { toast(a.name + ": " + what); loadAccounts(); }; };
        var fail = function (e) { toast(e.message, true); };
        actions.appendChild(button(a.enabled ? "Disable" : "Enable", function () {
          api("POST", path + "/enabled", { enabled: !a.enabled }).then(done(a.enabled ? "disabled" : "enabled")).catch(fail);
        }, "ghost"));
        actions.appendChild(button("New key", function () {
          api("POST", path + "/keys", {}).then(function (r) { showSecret(a.name, r.apiKey); loadAccounts(); }).catch(fail);
        }, "ghost"));
        actions.appendChild(button("Top up", function () {
          var amount = prompt("Amount to add to " + a.name + " (negative to debit)");
          if (amount) api("POST", path + "/credit", { amount: amount, note: "console top-up" }).then(done("balance changed")).catch(fail);
        }));
        a.keys.filter(function (k) { return !k.revokedAt; }).forEach(function (k) {
          actions.appendChild(button("Revoke " + k.prefix, function () {
            api("POST", path + "/keys/" + encodeURIComponent(k.prefix) + "/revoke", {}).then(done("key revoked")).catch(fail);
          }, "ghost"));
        });
        cell(tr, actions);
      });
    }).catch(function (e) { toast(e.message, true); });
  }

  function showSecret(name, key) {
    var box = $("account-secret");
    box.hidden = false;
    box.textContent = "API key of " + name + " (shown once): " + key;
  }

  // --- wiring -------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    $("tab-account").addEventListener("click", function () { tab("account"); });
    $("tab-operator").addEventListener("click", function () { tab("operator"); });
    $("form-account").addEventListener("submit", function (e) {
      e.preventDefault();
      submitSignIn({ username: e.target.elements.username.value, password: e.target.elements.password.value });
    });
    $("form-operator").addEventListener("submit", function (e) {
      e.preventDefault();
      submitSignIn({ operator: true, secret: e.target.elements.secret.value });
    });
    $("signout").addEventListener("click", function () {
      api("DELETE", "session").finally(showSignIn);
    });
    document.querySelectorAll(".ranges button").forEach(function (b) {
      b.addEventListener("click", function () {
        historyRange = b.dataset.range;
        document.querySelectorAll(".ranges button").forEach(function (o) { o.classList.toggle("active", o === b); });
        loadHistory();
      });
    });
    $("form-search").addEventListener("submit", function (e) {
      e.preventDefault();
      var params = new URLSearchParams();
      Array.prototype.forEach.call(e.target.elements, function (f) {
        if (!f.name || !f.value) return;
        params.set(f.name, f.type === "datetime-local" ? localMs(f.value) : f.value);
      });
      history.replaceState(null, "", "#messages/" + params.toString());
      searchMessages(params);
    });
    $("form-send").addEventListener("input", function () {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(updatePreview, 150);
    });
    $("form-send").addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "send", sendBody()).then(function (r) {
        var box = $("send-result");
        box.hidden = false;
        box.textContent = "";
        var title = document.createElement("div");
        title.textContent = "Accepted" + (r.bulkId ? " as bulk " + r.bulkId : "") + ":";
        box.appendChild(title);
        r.messages.forEach(function (m) {
          var line = document.createElement("div");
          var q = me.operator ? "?account=" + encodeURIComponent(r.account) : "";
          line.appendChild(link(m.messageId, "#message/" + encodeURIComponent(m.messageId) + q));
          line.appendChild(document.createTextNode(" to " + m.to + ": " + m.status.name));
          line.className = "sent-message";
          box.appendChild(line);
        });
      }).catch(function (e) { toast(e.message, true); });
    });
    $("form-account-create").addEventListener("submit", function (e) {
      e.preventDefault();
      var f = e.target.elements;
      var body = { name: f.name.value };
      if (f.username.value) { body.username = f.username.value; body.password = f.password.value; }
      api("POST", "accounts", body).then(function (r) { showSecret(r.name, r.apiKey); e.target.reset(); loadAccounts(); })
        .catch(function (err) { toast(err.message, true); });
    });
    window.addEventListener("hashchange", route);
    start();
  });
})();
