// Live execution page: follow one run's log over the websocket.
//
// The page already holds the stored lines (each with data-seq). On load we catch up from the JSON
// lines feed (lines written between rendering and connecting), then append websocket events.
// Every line is keyed by seq: a seq already on the page is ignored, a late one is inserted in order.
// Text is always set with textContent, never innerHTML: log lines are untrusted output.
(function () {
  "use strict";

  var configNode = document.getElementById("rem-live-config");
  if (!configNode) {
    return;
  }
  var config = JSON.parse(configNode.textContent);
  var logNode = document.getElementById("rem-live-log");
  var statusNode = document.getElementById("rem-live-status");
  var exitNode = document.getElementById("rem-live-exit");
  var connectionNode = document.getElementById("rem-live-connection");
  var TERMINAL = ["SUCCESS", "FAILED", "ERRORED", "TIMED_OUT", "CANCELLED"];
  var seen = new Set();
  var finished = Boolean(config.terminal);
  var retryDelay = 1000;

  Array.prototype.forEach.call(logNode.querySelectorAll("[data-seq]"), function (node) {
    seen.add(Number(node.getAttribute("data-seq")));
  });

  function lastSeq() {
    var max = 0;
    seen.forEach(function (seq) { if (seq > max) { max = seq; } });
    return max;
  }

  function appendLine(seq, stream, text) {
    seq = Number(seq);
    if (!Number.isFinite(seq) || seen.has(seq)) {
      return;
    }
    seen.add(seq);
    var row = document.createElement("div");
    row.className = "rem-log__line rem-log__line--" + (stream === "stderr" ? "stderr" : "stdout");
    row.setAttribute("data-seq", String(seq));
    var number = document.createElement("span");
    number.className = "rem-log__seq";
    number.textContent = String(seq);
    row.appendChild(number);
    row.appendChild(document.createTextNode(String(text)));
    // Events can arrive out of order (catch-up racing the socket): insert before the first later line.
    var next = null;
    var rows = logNode.children;
    for (var i = rows.length - 1; i >= 0; i--) {
      var other = Number(rows[i].getAttribute("data-seq"));
      if (other > seq) { next = rows[i]; } else { break; }
    }
    var stick = logNode.scrollTop + logNode.clientHeight >= logNode.scrollHeight - 4;
    logNode.insertBefore(row, next);
    if (stick) { logNode.scrollTop = logNode.scrollHeight; }
  }

  function showStatus(status, exitCode) {
    // A catch-up response can be older than a status event already shown: never leave a final status.
    if (finished && TERMINAL.indexOf(status) === -1) {
      return;
    }
    statusNode.textContent = String(status);
    statusNode.setAttribute("data-status", String(status));
    exitNode.textContent = exitCode === null || exitCode === undefined ? "" : "exit code " + exitCode;
    if (TERMINAL.indexOf(status) !== -1) {
      finished = true;
      connectionNode.textContent = "finished";
    }
  }

  function catchUp() {
    return fetch(config.linesUrl + "?after=" + lastSeq(), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        body.lines.forEach(function (line) { appendLine(line.seq, line.stream, line.text); });
        showStatus(body.status, body.exit_code);
      })
      .catch(function () { /* the socket still delivers new lines */ });
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + config.socketPath);
    socket.onopen = function () {
      retryDelay = 1000;
      connectionNode.textContent = "live";
      catchUp();
    };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      if (event.type === "log") {
        appendLine(event.seq, event.stream, event.text);
      } else if (event.type === "status") {
        showStatus(event.status, event.exit_code);
        if (finished) { catchUp().then(function () { socket.close(); }); }
      }
    };
    socket.onclose = function (closed) {
      if (finished) { return; }
      if (closed.code === 4403) {
        connectionNode.textContent = "not allowed to follow this run";
        return;
      }
      connectionNode.textContent = "reconnecting…";
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  if (finished) {
    catchUp();
  } else {
    connect();
  }
})();
