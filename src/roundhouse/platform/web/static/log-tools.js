// The log viewer's tools: line links (#L12, #L12-L20) and search. They work on the viewer's
// line data; a line's element exists only once its chunk is in the DOM (see log.js).
"use strict";

// Line links: #L12 highlights line 12, #L12-L20 a range; shift-click on a second line number
// makes a range. A linked line inside a closed fold opens the fold.
const HASH = /^#L([0-9]+)(?:-L?([0-9]+))?$/;
// A range longer than this is highlighted at its ends' chunks only, not built whole.
const MAX_LINKED_CHUNKS = 20;

function openFoldsAround(el) {
  for (let fold = el.closest("details"); fold; fold = fold.parentElement.closest("details")) {
    fold.open = true;
  }
}

class LineLinks {
  constructor(viewer) {
    this.viewer = viewer;
    this.range = null;       // {from, to} highlighted or wanted
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

  // Whether lines first..last hold a linked line (a fold holding one stays open).
  covers(first, last) {
    const r = this.range || this.wanted;
    return Boolean(r) && r.from <= last && r.to >= first;
  }

  // Highlights the wanted lines once they exist (a link may arrive before its line does).
  showPending() {
    const wanted = this.wanted;
    if (!wanted) return;
    const viewer = this.viewer;
    const allIn = viewer.ended && !viewer.pending.length;
    if (viewer.lines.length < wanted.to && !allIn) return;
    this.wanted = null;
    if (this.range) {
      for (let n = this.range.from; n <= Math.min(this.range.to, viewer.lines.length); n += 1) {
        viewer.flag(n - 1, "linked", false);
      }
    }
    const last = Math.min(wanted.to, viewer.lines.length);
    this.range = { from: wanted.from, to: last };
    if (wanted.from > last) return;
    for (let n = wanted.from; n <= last; n += 1) viewer.flag(n - 1, "linked", true);
    const chunks = new Set();
    for (let n = wanted.from; n <= last && chunks.size < MAX_LINKED_CHUNKS; n += 1) {
      chunks.add(viewer.lines[n - 1].chunk);
    }
    chunks.add(viewer.lines[last - 1].chunk);
    for (const chunk of chunks) viewer.materialise(chunk);
    const first = viewer.lineEl(wanted.from - 1);
    openFoldsAround(first);
    openFoldsAround(viewer.lineEl(last - 1));
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

// Search: matching lines are marked, Enter / Shift-Enter (or the arrows) step through them, and
// the current one is scrolled to, opening any fold it sits in. It reads the line data, so it
// finds lines whose chunk is not in the DOM yet.
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
    for (const i of this.matches) this.viewer.flag(i, "match", true);
    this.showCount();
  }

  clear() {
    for (const i of this.matches) this.viewer.flag(i, "match", false);
    if (this.current >= 0 && this.matches[this.current] !== undefined) {
      this.viewer.flag(this.matches[this.current], "current", false);
    }
    this.matches = [];
    this.current = -1;
  }

  // Moves to the next (+1) or previous (-1) match. Lines that arrived since the last search are
  // searched first; they only add matches at the end, so our place in the list stays valid.
  step(direction) {
    if (!this.input) return;
    if (this.input.value !== this.query) {
      this.run();
    } else if (this.viewer.lines.length !== this.searchedLines) {
      const current = this.current;
      this.run();
      this.current = current;
    }
    if (!this.matches.length) return;
    const viewer = this.viewer;
    if (this.current >= 0) viewer.flag(this.matches[this.current], "current", false);
    const n = this.matches.length;
    this.current = this.current < 0 ? (direction > 0 ? 0 : n - 1) : (this.current + direction + n) % n;
    const index = this.matches[this.current];
    viewer.flag(index, "current", true);
    const el = viewer.lineEl(index);
    if (viewer.follow) viewer.follow.checked = false;
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
