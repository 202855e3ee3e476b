// The log viewer's input and scrolling: a finished log read from log.txt as it streams in, a
// running one followed over the page's event connection, and follow mode.
"use strict";

// Bytes of a fetched piece of the log split into lines at once.
const READ_SLICE = 1024 * 1024;

// Lets the browser render and handle input before we carry on.
function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function readWhole(viewer) {
  const response = await fetch("/api/job/" + viewer.jobId + "/log.txt");
  if (!response.ok || !response.body) throw new Error(response.statusText);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // A preloaded log arrives in big pieces (megabytes): taken a slice at a time, the first
    // screen paints before the rest is split into lines. And chunks already received
    // resolve read() at once, as microtasks: without a yield, a 50 MB log would be read to
    // its end before the browser could paint the first screen.
    for (let at = 0; at < value.length; at += READ_SLICE) {
      viewer.take(decoder.decode(value.subarray(at, at + READ_SLICE), { stream: true }));
      await nextTask();
    }
  }
  viewer.take(decoder.decode());
  viewer.end();
}

// A running job's log comes over the page's event connection (live.js adds the job to it);
// a finished log whose fetch failed gets a connection of its own.
function followLive(viewer) {
  if (viewer.pre.dataset.finished === "true") {
    const source = new EventSource("/api/events?log=" + encodeURIComponent(viewer.jobId));
    forwardLog(source, viewer.pre);
    viewer.pre.addEventListener("log-end", () => source.close());
  }
  // After a dropped connection the browser reconnects and the server sends the whole log
  // again: start over rather than show it twice.
  let opened = false;
  viewer.pre.addEventListener("log-open", () => {
    if (opened) viewer.reset();
    opened = true;
  });
  viewer.pre.addEventListener("log-piece", (event) => viewer.take(event.detail));
  viewer.pre.addEventListener("log-end", () => viewer.end());
}

// Follow mode: the end of the log stays in view while the checkbox is on.
function scrollToEnd() {
  window.scrollTo(0, document.documentElement.scrollHeight);
}

function atBottom() {
  const doc = document.documentElement;
  return window.innerHeight + window.scrollY >= doc.scrollHeight - 40;
}

// Scrolling up stops following; scrolling back to the bottom resumes it.
function watchScrolling(viewer) {
  let lastY = window.scrollY;
  window.addEventListener("scroll", () => {
    const y = window.scrollY;
    if (!viewer.follow) return;
    if (y < lastY && !atBottom()) viewer.follow.checked = false;
    else if (y > lastY && atBottom() && !viewer.ended) viewer.follow.checked = true;
    lastY = y;
  }, { passive: true });
  if (viewer.follow) {
    viewer.follow.addEventListener("change", () => {
      if (viewer.follow.checked) scrollToEnd();
    });
  }
}
