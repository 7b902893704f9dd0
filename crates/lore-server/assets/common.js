// Shared by lore's web pages: plain JavaScript against the REST API (no framework, no CDN).
"use strict";
const $ = (id) => document.getElementById(id);

// The API key lives in this browser's localStorage only (never in a cookie).
function authHeaders(extra = {}) {
  const key = localStorage.getItem("lore-api-key");
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// Wires the header's key field; `onChange` reloads what the page shows with the new key.
function keyField(onChange) {
  $("api-key").value = localStorage.getItem("lore-api-key") || "";
  $("api-key").addEventListener("change", (e) => {
    const key = e.target.value.trim();
    if (key) localStorage.setItem("lore-api-key", key); else localStorage.removeItem("lore-api-key");
    onChange();
  });
}

// A JSON API call; a non-2xx answer throws `code: message` from lore's error body.
async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: authHeaders(options.headers || {}) });
  const body = await res.json().catch(() => ({}));
  if (!res.ok && res.status !== 202) {
    throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  }
  return body;
}

// POSTs `body` as JSON and hands each Server-Sent Event to `onEvent(name, data)`.
async function streamEvents(path, body, onEvent) {
  const res = await fetch(path, {
    method: "POST", headers: authHeaders({ "Content-Type": "application/json" }), body: JSON.stringify(body),
  });
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    throw new Error(err.error ? `${err.error.code}: ${err.error.message}` : `HTTP ${res.status}`);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i); buf = buf.slice(i + 2);
      let name = "message"; const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// An element with text content (never innerHTML: memory and document text is user data).
function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (className) e.className = className;
  return e;
}
