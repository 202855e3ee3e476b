// Live pages, on every page: one SSE connection per page for the topics in <body data-topics>
// (and a running job's log); on "changed" the page re-reads itself and swaps <main>, its title
// and its favicon.
"use strict";

function followTopics() {
  const topics = (document.body.dataset.topics || "").split(",").filter(Boolean);
  // A running job's log comes over the same connection, handed to the viewer (log.js).
  const log = document.getElementById("log");
  const withLog = log && log.dataset.finished !== "true";
  if (!topics.length && !withLog) return;
  let query = topics.map((t) => "topic=" + encodeURIComponent(t)).join("&");
  if (withLog) query += "&log=" + encodeURIComponent(log.dataset.job);
  const source = new EventSource("/api/events?" + query);
  if (withLog) forwardLog(source, log);
  let busy = false;
  let again = false;
  const refresh = async () => {
    // A change during a refresh refreshes once more afterwards, so the last state is shown.
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const response = await fetch(location.pathname + location.search, { headers: { "Accept": "text/html" } });
      if (response.ok) swapLive(new DOMParser().parseFromString(await response.text(), "text/html"));
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  };
  source.addEventListener("changed", refresh);
}

// Hands the log events of an EventSource to the log viewer on `target` as DOM events:
// log-open (each (re)connection: the server then sends the whole log again), log-piece, log-end.
function forwardLog(source, target) {
  source.addEventListener("open", () => target.dispatchEvent(new CustomEvent("log-open")));
  source.addEventListener("log", (event) => {
    const content = JSON.parse(event.data).content;
    target.dispatchEvent(new CustomEvent("log-piece", { detail: content }));
  });
  source.addEventListener("end", () => target.dispatchEvent(new CustomEvent("log-end")));
}

// Swaps <main id="live">, keeping elements marked data-keep (the streaming log: only the job
// summary around it is swapped), a focused element's place, and the title and favicon.
function swapLive(html) {
  const fresh = html.getElementById("live");
  const current = document.getElementById("live");
  if (!fresh || !current) return;
  document.title = html.title;
  const icon = html.querySelector("link[rel=icon]");
  const ownIcon = document.querySelector("link[rel=icon]");
  if (icon && ownIcon) ownIcon.href = icon.getAttribute("href");
  if (current.querySelector("[data-keep]")) {
    const summary = fresh.querySelector("#job-summary");
    const old = current.querySelector("#job-summary");
    if (summary && old) old.replaceWith(summary);
    return;
  }
  const focused = document.activeElement && document.activeElement.id;
  const typed = focused && document.activeElement.value;
  current.replaceChildren(...fresh.childNodes);
  if (focused) {
    const again = document.getElementById(focused);
    if (again) {
      if (typed !== undefined && "value" in again) again.value = typed;
      again.focus();
    }
  }
}

// Buttons that POST to the API (cancel, restart, drain) with the session cookie; a form around
// them, if any, is the no-JavaScript way and is not submitted.
function wireButtons() {
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-post]");
    if (!button) return;
    event.preventDefault();
    button.disabled = true;
    // The page's CSRF token: the platform refuses a write made with the session cookie without it.
    const csrf = document.querySelector('meta[name="csrf-token"]');
    const response = await fetch(button.dataset.post, {
      method: "POST",
      headers: csrf ? { "X-CSRF-Token": csrf.content } : {},
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      alert(body.error || body.detail || response.statusText);
    }
    button.disabled = false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  followTopics();
  wireButtons();
});
