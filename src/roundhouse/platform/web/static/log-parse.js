// The log viewer's parsing: ANSI colours, Travis fold and timer markers, "\r" overwrites, the
// failing command's line. Pure functions but for ansiToNodes, which makes DOM nodes.
"use strict";

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
