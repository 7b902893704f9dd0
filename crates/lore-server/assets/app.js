// lore web UI, documents page (common.js holds the shared helpers).
"use strict";
const state = { collection: null, routeName: null, answerId: null };

keyField(() => loadCollections().catch((err) => { $("coll-status").textContent = err.message; }));

async function loadCollections(select) {
  const { collections } = await api("/v1/collections");
  const sel = $("collection");
  sel.innerHTML = "";
  for (const c of collections) {
    const o = document.createElement("option");
    o.value = c.name;
    o.textContent = `${c.name} (${c.documents} documents, ${c.chunks} chunks)`;
    sel.appendChild(o);
  }
  if (select) sel.value = select;
  state.collection = sel.value || null;
  $("coll-status").textContent = collections.length ? "" : "No collection yet: create one.";
}

$("collection").addEventListener("change", (e) => { state.collection = e.target.value; });

$("create").addEventListener("click", async () => {
  const name = $("new-collection").value.trim();
  if (!name) return;
  try {
    await api("/v1/collections", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name }),
    });
    $("new-collection").value = "";
    await loadCollections(name);
    $("coll-status").textContent = `Created ${name}.`;
  } catch (err) { $("coll-status").textContent = err.message; }
});

// Upload: one request per file, so each has its own progress bar and result.
function uploadFile(file) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 100; bar.value = 0;
  bar.setAttribute("aria-label", `upload of ${file.name}`);
  const status = document.createElement("span");
  status.textContent = "uploading";
  li.append(name, bar, status);
  $("uploads").appendChild(li);
  if (!state.collection) { status.textContent = "pick or create a collection first"; status.className = "err"; return Promise.resolve(); }
  const form = new FormData();
  form.append("file", file, file.name);
  const domain = $("up-domain").value.trim();
  if (domain) form.append("domain", domain);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/collections/${encodeURIComponent(state.collection)}/documents`);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round(50 * e.loaded / e.total); };
    xhr.onload = async () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status >= 400) {
        status.textContent = body.error ? body.error.message : `HTTP ${xhr.status}`;
        status.className = "err"; bar.value = 100; resolve(); return;
      }
      status.textContent = "ingesting";
      bar.value = 50;
      let job = body;
      while (job.status === "queued" || job.status === "running") {
        await new Promise((r) => setTimeout(r, 500));
        job = await api(`/v1/jobs/${job.id}`).catch(() => ({ status: "failed", error: "job lost" }));
      }
      bar.value = 100;
      const f = (job.files || [])[0] || {};
      if (job.status === "done" && f.status !== "failed") {
        status.textContent = `${f.status}: ${f.chunks} chunks`; status.className = "ok";
      } else {
        status.textContent = f.error || job.error || "failed"; status.className = "err";
      }
      resolve();
    };
    xhr.onerror = () => { status.textContent = "network error"; status.className = "err"; resolve(); };
    xhr.send(form);
  });
}

async function uploadAll(files) {
  for (const f of files) await uploadFile(f);
  await loadCollections(state.collection);
}

const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); uploadAll([...e.dataTransfer.files]); });
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("files").click(); } });
$("files").addEventListener("change", (e) => { uploadAll([...e.target.files]); e.target.value = ""; });

// Ask: POST /v1/answer with stream=true, read the SSE events from the response body.
function showSources(citations) {
  const ol = $("sources");
  ol.innerHTML = "";
  for (const c of citations) {
    const li = document.createElement("li");
    li.value = c.n;
    const where = c.page ? ` (page ${c.page})` : c.heading ? ` (${c.heading})` : "";
    const label = document.createElement("strong");
    label.textContent = `${c.source}${where}`;
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "passage";
    const quote = document.createElement("blockquote");
    quote.textContent = c.text;
    details.append(summary, quote);
    li.append(label, details);
    ol.appendChild(li);
  }
  if (!citations.length) ol.innerHTML = "<li>No citations.</li>";
}

function handleEvent(name, data) {
  if (name === "token") $("answer").textContent += data.text;
  else if (name === "retrieval") showSources(data.passages);
  else if (name === "notice") $("meta").textContent = data.message;
  else if (name === "citations") { if (data.citations.length) showSources(data.citations); }
  else if (name === "done") {
    $("answer").textContent = data.answer;
    const t = data.timings_ms;
    const cached = data.cached ? ` · from cache (${data.cached})` : "";
    const r = data.route;
    const route = !r ? "" : r.name
      ? ` · route ${r.name} (p ${r.confidence.toFixed(2)}, routes v${r.version}${r.collections.length ? ", " + r.collections.join(",") : ""}${r.filters_added.length ? ", +" + r.filters_added.join(" ") : ""})`
      : ` · out of scope (routes v${r.version})`;
    const tier = data.tier ? ` · tier ${data.tier}${data.endpoint ? " (" + data.endpoint + ")" : ""}` : "";
    const arm = data.experiment ? ` · experiment ${data.experiment.experiment}: ${data.experiment.arm}` : "";
    $("meta").textContent = `${data.generator}${cached}${route}${tier}${arm} · first token ${Math.round(t.ttft)} ms · total ${Math.round(t.total)} ms`;
    state.answerId = data.id || null;
    $("feedback").hidden = !state.answerId;
    $("feedback-status").textContent = "";
  } else if (name === "error") $("meta").textContent = `${data.error.code}: ${data.error.message}`;
}

$("ask-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = $("question").value.trim();
  if (!q || !state.collection) return;
  $("answer-box").hidden = false;
  $("answer").textContent = ""; $("meta").textContent = ""; $("sources").innerHTML = "";
  $("feedback").hidden = true; state.answerId = null;
  $("ask").disabled = true;
  const domain = $("domain").value.trim();
  try {
    await streamEvents("/v1/answer",
      { query: q, collection: state.collection, stream: true, filters: domain ? [`domain=${domain}`] : [],
        route: $("route").checked, ...(state.routeName ? { route_name: state.routeName } : {}) },
      handleEvent);
  } catch (err) {
    $("meta").textContent = err.message;
  } finally {
    $("ask").disabled = false;
  }
});

async function rate(rating) {
  if (!state.answerId) return;
  try {
    await api(`/v1/answers/${encodeURIComponent(state.answerId)}/feedback`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rating }),
    });
    $("feedback-status").textContent = "Thanks: feedback recorded.";
  } catch (err) {
    $("feedback-status").textContent = err.message;
  }
}
$("rate-up").addEventListener("click", () => rate("up"));
$("rate-down").addEventListener("click", () => rate("down"));

$("copy").addEventListener("click", async () => {
  const text = $("answer").textContent;
  try { await navigator.clipboard.writeText(text); $("copy").textContent = "Copied"; }
  catch (_) { $("copy").textContent = "Copy failed"; }
  setTimeout(() => { $("copy").textContent = "Copy answer"; }, 1500);
});

// Route tabs: "Ask anything" plus one per route the key can use (its own prompt and
// collections, no classification).
async function loadRouteTabs() {
  const { routes } = await api("/v1/routes");
  const box = $("route-tabs");
  box.innerHTML = "";
  if (!routes.length) { box.hidden = true; return; }
  const tabs = [{ name: null, label: "Ask anything", title: "" }]
    .concat(routes.map((r) => ({ name: r.name, label: r.name.replace(/[-_]/g, " "), title: r.description })));
  for (const t of tabs) {
    const b = document.createElement("button");
    b.type = "button"; b.setAttribute("role", "tab"); b.textContent = t.label; b.title = t.title;
    b.setAttribute("aria-selected", String(state.routeName === t.name));
    b.addEventListener("click", () => {
      state.routeName = t.name;
      for (const other of box.children) other.setAttribute("aria-selected", String(other === b));
      $("route").disabled = t.name !== null;
    });
    box.appendChild(b);
  }
  box.hidden = false;
}

loadCollections().catch((err) => { $("coll-status").textContent = err.message; });
loadRouteTabs().catch(() => { $("route-tabs").hidden = true; });
