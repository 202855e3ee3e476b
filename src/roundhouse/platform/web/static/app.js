// Roundhouse pages: live updates and the log viewer. No build step, no framework.
"use strict";

// Live pages: the server says "changed" for the topics in <body data-topics>; the page then
// re-reads itself and swaps <main>, keeping elements marked data-keep (the streaming log).
function followTopics() {
  const topics = (document.body.dataset.topics || "").split(",").filter(Boolean);
  if (!topics.length) return;
  const query = topics.map((t) => "topic=" + encodeURIComponent(t)).join("&");
  const source = new EventSource("/api/events?" + query);
  let pending = false;
  source.addEventListener("changed", async () => {
    if (pending) return;
    pending = true;
    try {
      const response = await fetch(location.pathname, { headers: { "Accept": "text/html" } });
      const html = new DOMParser().parseFromString(await response.text(), "text/html");
      swapLive(html);
    } finally {
      pending = false;
    }
  });
}

function swapLive(html) {
  const fresh = html.getElementById("live");
  const current = document.getElementById("live");
  if (!fresh || !current) return;
  const kept = current.querySelectorAll("[data-keep]");
  if (!kept.length) {
    current.innerHTML = fresh.innerHTML;
    return;
  }
  const summary = fresh.querySelector("#job-summary");
  const old = current.querySelector("#job-summary");
  if (summary && old) old.replaceWith(summary);
}

// ANSI SGR colours → spans. Only colours and bold; cursor controls are dropped.
const COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

function ansiToNodes(text) {
  const nodes = [];
  let style = { fg: null, bg: null, bold: false };
  const pattern = /\x1b\[([0-9;]*)([A-Za-z])/g;
  let last = 0;
  let match;
  const push = (chunk) => {
    if (!chunk) return;
    const span = document.createElement("span");
    span.textContent = chunk;
    const classes = [];
    if (style.fg) classes.push("fg-" + style.fg);
    if (style.bg) classes.push("bg-" + style.bg);
    if (style.bold) classes.push("bold");
    if (classes.length) span.className = classes.join(" ");
    nodes.push(span);
  };
  while ((match = pattern.exec(text)) !== null) {
    push(text.slice(last, match.index));
    last = pattern.lastIndex;
    if (match[2] !== "m") continue;
    for (const code of (match[1] || "0").split(";").map(Number)) {
      if (code === 0) style = { fg: null, bg: null, bold: false };
      else if (code === 1) style.bold = true;
      else if (code === 22) style.bold = false;
      else if (code >= 30 && code <= 37) style.fg = COLOURS[code - 30];
      else if (code >= 90 && code <= 97) style.fg = "bright-" + COLOURS[code - 90];
      else if (code === 39) style.fg = null;
      else if (code >= 40 && code <= 47) style.bg = COLOURS[code - 40];
      else if (code === 49) style.bg = null;
    }
  }
  push(text.slice(last));
  return nodes;
}

// Travis markers (travis_fold/travis_time) end in "\r\x1b[0K"; a bare \r overwrites the line.
const MARKER = /^travis_(fold|time):[^\r]*\r?(\x1b\[0K)?$/;

function visibleText(line) {
  const parts = line.split("\r");
  return parts.filter((p) => p !== "" && p !== "\x1b[0K").pop() || "";
}

function logViewer(pre) {
  const jobId = pre.dataset.job;
  let buffer = "";
  let lineNumber = 0;
  const follow = document.getElementById("follow");

  const addLine = (raw) => {
    if (MARKER.test(raw)) return;
    lineNumber += 1;
    const row = document.createElement("div");
    row.className = "line";
    row.id = "L" + lineNumber;
    const number = document.createElement("a");
    number.className = "n";
    number.href = "#L" + lineNumber;
    number.textContent = lineNumber;
    row.appendChild(number);
    const body = document.createElement("span");
    body.className = "t";
    for (const node of ansiToNodes(visibleText(raw))) body.appendChild(node);
    row.appendChild(body);
    pre.appendChild(row);
  };

  const take = (content) => {
    buffer += content;
    const lines = buffer.split("\n");
    buffer = lines.pop();
    for (const line of lines) addLine(line);
    if (follow && follow.checked) window.scrollTo(0, document.body.scrollHeight);
  };

  const source = new EventSource("/api/job/" + jobId + "/log/stream");
  source.addEventListener("log", (event) => take(JSON.parse(event.data).content));
  source.addEventListener("end", () => {
    if (buffer) { addLine(buffer); buffer = ""; }
    source.close();
    pre.classList.add("complete");
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) { target.classList.add("linked"); target.scrollIntoView(); }
    }
  });
}

// Buttons that POST to the API (cancel, restart) with the session cookie.
function wireButtons() {
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-post]");
    if (!button) return;
    button.disabled = true;
    const response = await fetch(button.dataset.post, { method: "POST" });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      alert(body.error || response.statusText);
    }
    button.disabled = false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  followTopics();
  wireButtons();
  const pre = document.getElementById("log");
  if (pre) logViewer(pre);
});
