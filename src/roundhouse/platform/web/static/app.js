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

// ---------------------------------------------------------------------------------------------
// The job log viewer.
//
// The server streams the log over SSE (/api/job/{id}/log/stream): the first event carries all
// that is stored so far (50 MB for a big finished job), later events carry what the job prints.
// Lines are parsed and put into the DOM in small batches, one per animation frame, so the first
// screen shows at once and the tab never freezes. Each line is one <div id="L12"> holding a
// line-number link and its text (coloured <span>s only where the line has ANSI colours).
//
// Travis markers are read, not shown:
//   travis_fold:start:NAME\r\e[0K … travis_fold:end:NAME\r\e[0K   a collapsible <details> group
//   travis_time:start:ID\r\e[0K … travis_time:end:ID:…,duration=NS,…\r\e[0K   a duration
// ---------------------------------------------------------------------------------------------

// ANSI SGR colours → spans. Only colours and bold; cursor controls are dropped.
const COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
const ANSI = /\x1b\[([0-9;]*)([A-Za-z])/g;

function ansiToNodes(text) {
  const nodes = [];
  let style = { fg: null, bg: null, bold: false };
  let last = 0;
  let match;
  const push = (chunk) => {
    if (!chunk) return;
    const classes = [];
    if (style.fg) classes.push("fg-" + style.fg);
    if (style.bg) classes.push("bg-" + style.bg);
    if (style.bold) classes.push("bold");
    if (!classes.length) {
      nodes.push(document.createTextNode(chunk));
      return;
    }
    const span = document.createElement("span");
    span.textContent = chunk;
    span.className = classes.join(" ");
    nodes.push(span);
  };
  ANSI.lastIndex = 0;
  while ((match = ANSI.exec(text)) !== null) {
    push(text.slice(last, match.index));
    last = ANSI.lastIndex;
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

function stripAnsi(text) {
  return text.indexOf("\x1b") < 0 ? text : text.replace(ANSI, "");
}

// A marker ends at "\r\e[0K"; the argument never holds spaces, so a marker printed without the
// "\r" (by hand, say) still ends where the word ends.
const MARKER = /travis_(fold|time):(start|end):([^\s\x1b]*)\r?(?:\x1b\[0K)?/g;

// Splits a raw line into text pieces and markers, in the order they appear.
function splitMarkers(raw) {
  if (raw.indexOf("travis_") < 0) return [{ text: raw }];
  const parts = [];
  let last = 0;
  let match;
  MARKER.lastIndex = 0;
  while ((match = MARKER.exec(raw)) !== null) {
    if (match.index > last) parts.push({ text: raw.slice(last, match.index) });
    parts.push({ kind: match[1], action: match[2], arg: match[3] });
    last = MARKER.lastIndex;
  }
  if (last < raw.length) parts.push({ text: raw.slice(last) });
  return parts;
}

// A bare "\r" (progress bars) overwrites the line: what is visible is the last non-empty part.
function visibleText(text) {
  if (text.indexOf("\r") < 0) return text;
  const parts = text.split("\r").filter((p) => p !== "" && p !== "\x1b[0K");
  return parts.length ? parts[parts.length - 1] : "";
}

// "The command "make test" exited with 2." (or "failed and exited with 2 during install.")
const FAILURE = /^The command .* exited with ([0-9]+)/;

function formatDuration(ns) {
  const seconds = ns / 1e9;
  if (seconds < 60) return seconds.toFixed(2) + "s";
  const minutes = Math.floor(seconds / 60);
  return minutes + "m " + Math.round(seconds - minutes * 60) + "s";
}

// Lines per <div class="chunk">: chunks let the browser skip layout of what is off screen
// (content-visibility: auto in style.css), which is what keeps 200,000 lines cheap.
const CHUNK_LINES = 250;
// The first batch is small so the first screen paints right away; later ones fill a frame.
const FIRST_BATCH = 200;
const FRAME_BUDGET_MS = 25;

// Lets the browser render and handle input before we carry on.
function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

class LogViewer {
  constructor(pre) {
    this.pre = pre;
    this.jobId = pre.dataset.job;
    this.follow = document.getElementById("follow");
    this.lines = [];          // [{el, text}] in line order; lines[i] is line i + 1
    this.folds = [];          // open folds, innermost last: {el, body, name, ns, failed, preview}
    this.lastFold = null;     // the last fold started, for errored jobs without a failure line
    this.failureSeen = false;
    this.timers = new Map();  // timer id → {line, fold}: where its duration is shown
    this.lastTimer = null;    // the newest timer, still waiting for its first line
    this.buffer = "";         // text after the last "\n"
    this.pending = [];        // arrays of raw lines waiting for the DOM
    this.pendingIndex = 0;
    this.scheduled = false;
    this.ended = false;
    this.wantedHash = location.hash;
    this.search = new LogSearch(this);
    this.links = new LineLinks(this);
    this.watchScrolling();
  }

  // A finished job's log is read from log.txt with a streaming fetch: its first bytes are on
  // screen while the rest (50 MB, say) is still arriving. A running job's log is followed over
  // SSE, whose first event holds everything stored so far.
  start() {
    if (this.pre.dataset.finished === "true" && window.ReadableStream && window.TextDecoder) {
      this.readWhole().catch(() => this.followLive());
    } else {
      this.followLive();
    }
  }

  async readWhole() {
    const response = await fetch("/api/job/" + this.jobId + "/log.txt");
    if (!response.ok || !response.body) throw new Error(response.statusText);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      this.take(decoder.decode(value, { stream: true }));
      // Chunks already received resolve read() at once, as microtasks: without a yield, a
      // 50 MB log would be read to its end before the browser could paint the first screen.
      await nextTask();
    }
    this.take(decoder.decode());
    this.end();
  }

  followLive() {
    const source = new EventSource("/api/job/" + this.jobId + "/log/stream");
    // After a dropped connection the browser reconnects and the server sends the whole log
    // again: start over rather than show it twice.
    let opened = false;
    source.addEventListener("open", () => {
      if (opened) this.reset();
      opened = true;
    });
    source.addEventListener("log", (event) => this.take(JSON.parse(event.data).content));
    source.addEventListener("end", () => {
      source.close();
      this.end();
    });
  }

  reset() {
    this.search.clear();
    this.pre.textContent = "";
    this.lines = [];
    this.folds = [];
    this.lastFold = null;
    this.failureSeen = false;
    this.timers.clear();
    this.lastTimer = null;
    this.buffer = "";
    this.pending = [];
    this.pendingIndex = 0;
  }

  // The log is complete: what is left in the buffer is its last line (without a "\n").
  end() {
    if (this.buffer) this.pending.push([this.buffer]);
    this.buffer = "";
    this.ended = true;
    this.schedule();
  }

  // New text from the stream: complete lines are queued, the rest waits for its "\n".
  take(content) {
    this.buffer += content;
    const lines = this.buffer.split("\n");
    this.buffer = lines.pop();
    if (lines.length) this.pending.push(lines);
    // The first screenful goes in now rather than on the next frame.
    if (!this.lines.length && !this.scheduled) this.renderBatch(FIRST_BATCH);
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.renderBatch(Infinity);
    });
  }

  // Adds queued lines until the frame's time (or `limit` lines) is used up, then yields.
  renderBatch(limit) {
    const started = performance.now();
    let count = 0;
    while (this.pending.length && count < limit) {
      const batch = this.pending[0];
      this.addRawLine(batch[this.pendingIndex]);
      this.pendingIndex += 1;
      count += 1;
      if (this.pendingIndex >= batch.length) {
        this.pending.shift();
        this.pendingIndex = 0;
      }
      if ((count & 255) === 0 && performance.now() - started > FRAME_BUDGET_MS) break;
    }
    this.afterBatch();
    if (this.pending.length) this.schedule();
    else if (this.ended) this.finish();
  }

  afterBatch() {
    this.links.showPending();
    if (this.follow && this.follow.checked) this.scrollToEnd();
  }

  // --- parsing one line ---

  addRawLine(raw) {
    let text = "";
    let hadMarker = false;
    for (const part of splitMarkers(raw)) {
      if (part.text !== undefined) {
        text += part.text;
        continue;
      }
      hadMarker = true;
      // Text before a fold boundary belongs on the side of the boundary it was printed on.
      if (part.kind === "fold" && visibleText(text) !== "") {
        this.addLine(text);
        text = "";
      }
      this.marker(part);
    }
    // A line that was only markers is not a line of output.
    if (hadMarker && stripAnsi(visibleText(text)).trim() === "") return;
    this.addLine(text);
  }

  marker({ kind, action, arg }) {
    if (kind === "fold" && action === "start") this.openFold(arg);
    else if (kind === "fold") this.closeFold(arg);
    else if (action === "start") this.startTimer(arg);
    else this.endTimer(arg);
  }

  currentFold() {
    return this.folds.length ? this.folds[this.folds.length - 1] : null;
  }

  container() {
    const fold = this.currentFold();
    return fold ? fold.body : this.pre;
  }

  // --- folds ---

  openFold(name) {
    const el = document.createElement("details");
    el.className = "fold";
    el.open = true; // open while it streams; closed at its end marker
    const summary = document.createElement("summary");
    summary.className = "fold-head";
    const label = document.createElement("span");
    label.className = "fold-name";
    label.textContent = name;
    const preview = document.createElement("span");
    preview.className = "fold-preview";
    const duration = document.createElement("span");
    duration.className = "duration";
    summary.append(duration, label, preview); // the float first, so it stays on the line
    const body = document.createElement("div");
    body.className = "fold-body";
    el.append(summary, body);
    this.container().appendChild(el);
    const fold = { el, body, name, ns: 0, failed: false, preview, duration };
    this.folds.push(fold);
    this.lastFold = fold;
  }

  closeFold(name) {
    // Close up to the fold of that name; an unknown name closes nothing.
    const at = this.folds.map((f) => f.name).lastIndexOf(name);
    if (at < 0) return;
    for (const fold of this.folds.splice(at)) {
      // A fold holding the failure or a linked line stays open.
      if (!fold.failed && !fold.el.querySelector(".linked")) fold.el.open = false;
    }
  }

  // Timers nest (a user's script may time its own steps inside ours), so they go by id.
  startTimer(id) {
    const timer = { line: null, fold: this.currentFold() };
    this.timers.set(id, timer);
    this.lastTimer = timer;
  }

  endTimer(arg) {
    const id = arg.split(":")[0];
    const found = /duration=([0-9]+)/.exec(arg);
    const timer = this.timers.get(id);
    this.timers.delete(id);
    if (!found || !timer) return;
    const ns = Number(found[1]);
    if (timer.line) {
      const badge = document.createElement("span");
      badge.className = "duration";
      badge.textContent = formatDuration(ns);
      timer.line.appendChild(badge);
    }
    if (timer.fold) {
      timer.fold.ns += ns;
      timer.fold.duration.textContent = formatDuration(timer.fold.ns);
    }
  }

  // --- lines ---

  addLine(raw) {
    const shown = visibleText(raw);
    const number = this.lines.length + 1;
    const row = document.createElement("div");
    row.className = "line";
    row.id = "L" + number;
    const link = document.createElement("a");
    link.className = "n";
    link.href = "#L" + number;
    link.textContent = number;
    row.appendChild(link);
    const body = document.createElement("span");
    body.className = "t";
    if (shown.indexOf("\x1b") < 0) body.textContent = shown;
    else body.append(...ansiToNodes(shown));
    row.appendChild(body);
    const text = stripAnsi(shown);
    this.lines.push({ el: row, text });
    this.appendToChunk(row);

    const fold = this.currentFold();
    if (fold && !fold.preview.textContent) fold.preview.textContent = text;
    // The first line after a timer starts is its command ("$ make"): it shows the duration.
    if (this.lastTimer) {
      this.lastTimer.line = row;
      this.lastTimer = null;
    }
    if (FAILURE.test(text) && !/exited with 0\b/.test(text)) this.markFailure(row);
  }

  // The failing command's line is marked and every fold around it stays open.
  markFailure(row) {
    row.classList.add("failure");
    this.failureSeen = true;
    for (const fold of this.folds) {
      fold.failed = true;
      fold.el.classList.add("failed");
    }
  }

  appendToChunk(row) {
    const parent = this.container();
    let chunk = parent.lastElementChild;
    if (!chunk || !chunk.classList.contains("chunk") || chunk.childElementCount >= CHUNK_LINES) {
      chunk = document.createElement("div");
      chunk.className = "chunk";
      parent.appendChild(chunk);
    }
    chunk.appendChild(row);
  }

  // All of the log is in: a failed or errored job without a failure line opens its last fold.
  async finish() {
    if (this.finished) return;
    this.finished = true;
    this.pre.classList.add("complete");
    this.pre.setAttribute("aria-busy", "false");
    if (!this.failureSeen && this.lastFold) {
      const response = await fetch("/api/job/" + this.jobId);
      const job = response.ok ? await response.json() : {};
      if (job.state === "failed" || job.state === "errored") {
        this.lastFold.el.open = true;
        this.lastFold.el.classList.add("failed");
      }
    }
    this.pre.dispatchEvent(new CustomEvent("log-complete"));
  }

  // --- follow mode ---

  scrollToEnd() {
    this.autoScrolled = true;
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  atBottom() {
    const doc = document.documentElement;
    return window.innerHeight + window.scrollY >= doc.scrollHeight - 40;
  }

  // Scrolling up stops following; scrolling back to the bottom resumes it.
  watchScrolling() {
    let lastY = window.scrollY;
    window.addEventListener("scroll", () => {
      const y = window.scrollY;
      if (!this.follow) return;
      if (y < lastY && !this.atBottom()) this.follow.checked = false;
      else if (y > lastY && this.atBottom() && !this.ended) this.follow.checked = true;
      lastY = y;
    }, { passive: true });
    if (this.follow) {
      this.follow.addEventListener("change", () => {
        if (this.follow.checked) this.scrollToEnd();
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Line links: #L12 highlights line 12, #L12-L20 a range; shift-click on a second line number
// makes a range. A linked line inside a closed fold opens the fold.
// ---------------------------------------------------------------------------------------------
const HASH = /^#L([0-9]+)(?:-L?([0-9]+))?$/;

function openFoldsAround(el) {
  for (let fold = el.closest("details"); fold; fold = fold.parentElement.closest("details")) {
    fold.open = true;
  }
}

class LineLinks {
  constructor(viewer) {
    this.viewer = viewer;
    this.highlighted = [];
    this.wanted = null;      // {from, to, scroll} not yet fully shown
    this.anchor = null;      // the last line number clicked, start of a shift-click range
    this.read(location.hash, true);
    window.addEventListener("hashchange", () => this.read(location.hash, true));
    viewer.pre.addEventListener("click", (event) => this.clicked(event));
  }

  read(hash, scroll) {
    const match = HASH.exec(hash);
    if (!match) return;
    const a = Number(match[1]);
    const b = match[2] ? Number(match[2]) : a;
    this.wanted = { from: Math.min(a, b), to: Math.max(a, b), scroll };
    this.anchor = a;
    // Someone linked a line: reading it beats following the end of the log.
    if (this.viewer.follow) this.viewer.follow.checked = false;
    this.showPending();
  }

  // Highlights the wanted lines once they exist (a link may arrive before its line does).
  showPending() {
    const wanted = this.wanted;
    if (!wanted) return;
    const viewer = this.viewer;
    const allIn = viewer.ended && !viewer.pending.length;
    if (viewer.lines.length < wanted.to && !allIn) return;
    this.wanted = null;
    for (const el of this.highlighted) el.classList.remove("linked");
    this.highlighted = [];
    const last = Math.min(wanted.to, viewer.lines.length);
    for (let n = wanted.from; n <= last; n += 1) {
      const el = viewer.lines[n - 1].el;
      el.classList.add("linked");
      this.highlighted.push(el);
    }
    if (!this.highlighted.length) return;
    const first = this.highlighted[0];
    openFoldsAround(first);
    openFoldsAround(this.highlighted[this.highlighted.length - 1]);
    if (wanted.scroll) first.scrollIntoView({ block: "center" });
  }

  clicked(event) {
    const link = event.target.closest("a.n");
    if (!link) return;
    const number = Number(link.textContent);
    if (event.shiftKey && this.anchor !== null) {
      event.preventDefault();
      const from = Math.min(this.anchor, number);
      const to = Math.max(this.anchor, number);
      history.replaceState(null, "", "#L" + from + "-L" + to);
      this.read(location.hash, false);
      this.anchor = from;
      return;
    }
    // A plain click changes location.hash; the hashchange listener highlights it.
    this.anchor = number;
  }
}

// ---------------------------------------------------------------------------------------------
// Search: matching lines are marked, Enter / Shift-Enter (or the arrows) step through them, and
// the current one is scrolled to, opening any fold it sits in.
// ---------------------------------------------------------------------------------------------
const MAX_MARKED = 5000; // beyond this, matches are counted but not all marked at once

class LogSearch {
  constructor(viewer) {
    this.viewer = viewer;
    this.input = document.getElementById("log-search");
    this.count = document.getElementById("search-count");
    this.query = "";
    this.matches = [];     // line indexes
    this.searchedLines = 0;
    this.current = -1;
    if (!this.input) return;
    this.input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      this.step(event.shiftKey ? -1 : 1);
    });
    this.input.addEventListener("input", () => this.run());
    const prev = document.getElementById("search-prev");
    const next = document.getElementById("search-next");
    if (prev) prev.addEventListener("click", () => this.step(-1));
    if (next) next.addEventListener("click", () => this.step(1));
  }

  run() {
    this.clear();
    this.query = this.input.value;
    this.searchedLines = this.viewer.lines.length;
    if (!this.query) {
      this.count.textContent = "";
      return;
    }
    const needle = this.query.toLowerCase();
    const lines = this.viewer.lines;
    for (let i = 0; i < lines.length; i += 1) {
      if (lines[i].text.toLowerCase().indexOf(needle) >= 0) this.matches.push(i);
    }
    for (const i of this.matches.slice(0, MAX_MARKED)) lines[i].el.classList.add("match");
    this.showCount();
  }

  clear() {
    const lines = this.viewer.lines;
    for (const i of this.matches.slice(0, MAX_MARKED)) lines[i].el.classList.remove("match");
    if (this.current >= 0 && this.matches[this.current] !== undefined) {
      lines[this.matches[this.current]].el.classList.remove("match-current");
    }
    this.matches = [];
    this.current = -1;
  }

  // Moves to the next (+1) or previous (-1) match. Lines that arrived since the last search are
  // searched first; they only add matches at the end, so our place in the list stays valid.
  step(direction) {
    if (this.input.value !== this.query) {
      this.run();
    } else if (this.viewer.lines.length !== this.searchedLines) {
      const current = this.current;
      this.run();
      this.current = current;
    }
    if (!this.matches.length) return;
    const lines = this.viewer.lines;
    if (this.current >= 0) lines[this.matches[this.current]].el.classList.remove("match-current");
    const n = this.matches.length;
    this.current = this.current < 0 ? (direction > 0 ? 0 : n - 1) : (this.current + direction + n) % n;
    const el = lines[this.matches[this.current]].el;
    el.classList.add("match", "match-current");
    if (this.viewer.follow) this.viewer.follow.checked = false;
    openFoldsAround(el);
    el.scrollIntoView({ block: "center" });
    this.showCount();
  }

  showCount() {
    const n = this.matches.length;
    if (!n) this.count.textContent = "no matches";
    else if (this.current < 0) this.count.textContent = n + (n === 1 ? " match" : " matches");
    else this.count.textContent = this.current + 1 + " of " + n;
  }
}

// Buttons that POST to the API (cancel, restart) with the session cookie, and the page's CSRF
// token, without which the platform refuses a write made with the cookie.
function wireButtons() {
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-post]");
    if (!button) return;
    button.disabled = true;
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch(button.dataset.post, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
    });
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
  if (pre) new LogViewer(pre).start();
});
