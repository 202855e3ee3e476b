// The job log viewer. No build step, no framework; log-parse.js reads the text, log-read.js
// brings it in and follows the end, log-tools.js holds line links and search.
"use strict";

// ---------------------------------------------------------------------------------------------
// A finished log is read from log.txt as it streams in (the page preloads it); a running one is
// followed over the page's SSE connection (/api/events?log={id}, live.js). Lines are parsed in
// batches, one per animation frame, into line data grouped in chunks of CHUNK_LINES. A chunk
// becomes DOM only when it comes near the screen (an IntersectionObserver): until then it is an
// empty <div> of about its height. So a 200,000-line log costs the DOM only what the reader looks at, and the tab never
// freezes. A line in the DOM is one <div id="L12"> holding a line-number link and its text
// (coloured <span>s only where the line has ANSI colours).
//
// Travis markers are read, not shown:
//   travis_fold:start:NAME\r\e[0K … travis_fold:end:NAME\r\e[0K   a collapsible <details> group
//   travis_time:start:ID\r\e[0K … travis_time:end:ID:…,duration=NS,…\r\e[0K   a duration
// ---------------------------------------------------------------------------------------------

// Lines per chunk, the unit that goes into the DOM at once.
const CHUNK_LINES = 250;
// The first lines go into the DOM at once, without waiting for the observer: the first screen.
const EAGER_LINES = 500;
// Later batches fill a frame's time, then yield.
const FIRST_BATCH = 200;
const FRAME_BUDGET_MS = 25;
// Chunks this far off screen are built already, so scrolling shows lines, not blank space.
const MARGIN = "1500px 0px";
// A line's classes: flag → class name.
const FLAGS = [["failure", "failure"], ["linked", "linked"], ["match", "match"], ["current", "match-current"]];

class LogViewer {
  constructor(pre) {
    this.pre = pre;
    this.jobId = pre.dataset.job;
    this.follow = document.getElementById("follow");
    this.chunkOf = new WeakMap(); // chunk element → chunk
    this.observer = new IntersectionObserver((entries) => this.seen(entries), { rootMargin: MARGIN });
    this.measure();
    this.clearState();
    this.scheduled = false;
    this.ended = false;
    this.search = new LogSearch(this);
    this.links = new LineLinks(this);
    watchScrolling(this);
  }

  clearState() {
    // lines[i] is line i + 1: {number, shown (with ANSI), text (without), chunk, el, badge, flags}
    this.lines = [];
    this.folds = [];          // open folds, innermost last: {el, body, name, ns, failed, preview}
    this.lastFold = null;     // the last fold started, for errored jobs without a failure line
    this.failureSeen = false;
    this.timers = new Map();  // timer id → {line, fold}: where its duration is shown
    this.lastTimer = null;    // the newest timer, still waiting for its first line
    this.buffer = "";         // text after the last "\n"
    this.pending = [];        // arrays of raw lines waiting to be parsed
    this.pendingIndex = 0;
    this.resized = new Set(); // chunks not in the DOM whose height estimate changed
  }

  // Character width and line height of the log's font, for the height of chunks not yet built.
  measure() {
    const probe = document.createElement("div");
    probe.className = "line";
    probe.textContent = "0".repeat(100);
    probe.style.whiteSpace = "pre";
    probe.style.display = "inline-block"; // as wide as its text, as high as a line
    this.pre.appendChild(probe);
    const box = probe.getBoundingClientRect();
    probe.remove();
    this.charWidth = box.width / 100 || 8;
    this.lineHeight = box.height || 18;
  }

  // How many screen rows a line of `length` characters takes (long lines wrap).
  rowsFor(length) {
    const columns = Math.max(20, Math.floor(this.pre.clientWidth / this.charWidth) - 7);
    return Math.max(1, Math.ceil(length / columns));
  }

  start() {
    // Marks for bench/ui.py: when the viewer started and when its first lines went in.
    performance.mark("log-viewer-start");
    if (this.pre.dataset.finished === "true" && window.ReadableStream && window.TextDecoder) {
      readWhole(this).catch(() => followLive(this));
    } else {
      followLive(this);
    }
  }

  reset() {
    this.search.clear();
    this.observer.disconnect();
    this.pre.textContent = "";
    this.clearState();
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
    if (!this.lines.length && !this.scheduled) {
      this.renderBatch(FIRST_BATCH);
      performance.mark("log-first-lines");
    }
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

  // Parses queued lines until the frame's time (or `limit` lines) is used up, then yields.
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
      if ((count & 1023) === 0 && performance.now() - started > FRAME_BUDGET_MS) break;
    }
    this.afterBatch();
    if (this.pending.length) this.schedule();
    else if (this.ended) this.finish();
  }

  afterBatch() {
    for (const chunk of this.resized) {
      if (!chunk.built) chunk.el.style.height = chunk.rows * this.lineHeight + "px";
    }
    this.resized.clear();
    this.links.showPending();
    if (this.follow && this.follow.checked) scrollToEnd();
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
    const first = this.lines.length + 1;
    const fold = { el, body, name, ns: 0, failed: false, preview, duration, first };
    this.folds.push(fold);
    this.lastFold = fold;
  }

  closeFold(name) {
    // Close up to the fold of that name; an unknown name closes nothing.
    const at = this.folds.map((f) => f.name).lastIndexOf(name);
    if (at < 0) return;
    for (const fold of this.folds.splice(at)) {
      // A fold holding the failure or a linked line stays open.
      if (!fold.failed && !this.links.covers(fold.first, this.lines.length)) fold.el.open = false;
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
      timer.line.badge = formatDuration(ns);
      if (timer.line.el) timer.line.el.appendChild(this.badge(timer.line.badge));
    }
    if (timer.fold) {
      timer.fold.ns += ns;
      timer.fold.duration.textContent = formatDuration(timer.fold.ns);
    }
  }

  badge(text) {
    const span = document.createElement("span");
    span.className = "duration";
    span.textContent = text;
    return span;
  }

  // --- lines ---

  addLine(raw) {
    const shown = visibleText(raw);
    const text = stripAnsi(shown);
    const line = { number: this.lines.length + 1, shown, text, chunk: null, el: null, badge: null };
    this.lines.push(line);
    this.appendToChunk(line);
    const fold = this.currentFold();
    if (fold && !fold.preview.textContent) fold.preview.textContent = text;
    // The first line after a timer starts is its command ("$ make"): it shows the duration.
    if (this.lastTimer) {
      this.lastTimer.line = line;
      this.lastTimer = null;
    }
    if (FAILURE.test(text) && !/exited with 0\b/.test(text)) this.markFailure(line);
  }

  // The failing command's line is marked and every fold around it stays open.
  markFailure(line) {
    this.flag(line.number - 1, "failure", true);
    this.failureSeen = true;
    for (const fold of this.folds) {
      fold.failed = true;
      fold.el.classList.add("failed");
    }
  }

  appendToChunk(line) {
    const parent = this.container();
    const last = parent.lastElementChild;
    let chunk = last && this.chunkOf.get(last);
    if (!chunk || chunk.lines.length >= CHUNK_LINES) {
      const el = document.createElement("div");
      el.className = "chunk";
      parent.appendChild(el);
      chunk = { el, lines: [], rows: 0, built: false };
      this.chunkOf.set(el, chunk);
      this.observer.observe(el);
    }
    line.chunk = chunk;
    chunk.lines.push(line);
    if (chunk.built) {
      chunk.el.appendChild(this.row(line));
    } else if (line.number <= EAGER_LINES) {
      this.materialise(chunk);
    } else {
      chunk.rows += this.rowsFor(line.text.length);
      this.resized.add(chunk);
    }
  }

  // The observer saw chunks come near the screen: they become DOM.
  seen(entries) {
    let built = false;
    for (const entry of entries) {
      const chunk = this.chunkOf.get(entry.target);
      if (entry.isIntersecting && chunk && !chunk.built) {
        this.materialise(chunk);
        built = true;
      }
    }
    // Built chunks are taller or shorter than their estimate: stay at the end when following.
    if (built && this.follow && this.follow.checked) scrollToEnd();
  }

  materialise(chunk) {
    if (chunk.built) return;
    chunk.built = true;
    this.observer.unobserve(chunk.el);
    const rows = document.createDocumentFragment();
    for (const line of chunk.lines) rows.appendChild(this.row(line));
    chunk.el.appendChild(rows);
    chunk.el.style.height = "";
    chunk.el.classList.add("built");
  }

  row(line) {
    const row = document.createElement("div");
    row.className = this.classes(line);
    row.id = "L" + line.number;
    const link = document.createElement("a");
    link.className = "n";
    link.href = "#L" + line.number;
    link.textContent = line.number;
    row.appendChild(link);
    const body = document.createElement("span");
    body.className = "t";
    if (line.shown.indexOf("\x1b") < 0) body.textContent = line.shown;
    else body.append(...ansiToNodes(line.shown));
    row.appendChild(body);
    if (line.badge) row.appendChild(this.badge(line.badge));
    line.el = row;
    return row;
  }

  classes(line) {
    let names = "line";
    for (const [flag, name] of FLAGS) if (line[flag]) names += " " + name;
    return names;
  }

  // Sets or clears a flag of line index i (failure, linked, match, current).
  flag(i, name, on) {
    const line = this.lines[i];
    if (!line || Boolean(line[name]) === on) return;
    line[name] = on;
    if (line.el) line.el.className = this.classes(line);
  }

  // Line index i's element, building its chunk if need be, and the chunks beside it: what
  // surrounds a line scrolled to is real lines, not estimates that change once built.
  lineEl(i) {
    const chunk = this.lines[i].chunk;
    for (const el of [chunk.el.previousElementSibling, chunk.el, chunk.el.nextElementSibling]) {
      const near = el && this.chunkOf.get(el);
      if (near) this.materialise(near);
    }
    return this.lines[i].el;
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
}

document.addEventListener("DOMContentLoaded", () => {
  const pre = document.getElementById("log");
  if (pre) new LogViewer(pre).start();
});
