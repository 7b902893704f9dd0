// lore web UI, meetings page: upload transcripts, list and delete meetings, recall direct,
// activated and bridge memories with their turns and paths, answer from memory.
"use strict";

keyField(() => loadMeetings());

async function loadMeetings() {
  const body = $("meetings").tBodies[0];
  const select = $("q-meeting");
  const chosen = select.value;
  try {
    const { meetings } = await api("/v1/memory/meetings");
    body.replaceChildren();
    select.replaceChildren(new Option("any", ""));
    for (const m of meetings) {
      const tr = document.createElement("tr");
      const name = el("td");
      name.append(el("strong", m.id));
      if (m.title && m.title !== m.id) name.append(" ", el("span", m.title, "muted"));
      const del = el("button", "Delete");
      del.type = "button";
      del.className = "danger";
      del.setAttribute("aria-label", `delete meeting ${m.id}`);
      del.addEventListener("click", () => deleteMeeting(m.id));
      const cell = el("td"); cell.append(del);
      tr.append(name, el("td", m.series || ""), el("td", m.date || ""), el("td", m.turns),
        el("td", m.memories), cell);
      body.appendChild(tr);
      select.appendChild(new Option(m.id, m.id));
    }
    select.value = chosen;
    $("m-status").textContent = meetings.length ? "" : "No meeting yet: upload a transcript.";
  } catch (err) { $("m-status").textContent = err.message; }
}

async function deleteMeeting(id) {
  if (!confirm(`Delete meeting ${id} and every memory made from it?`)) return;
  try {
    await api(`/v1/memory/meetings/${encodeURIComponent(id)}`, { method: "DELETE" });
    $("m-status").textContent = `Deleted ${id}.`;
  } catch (err) { $("m-status").textContent = err.message; }
  await loadMeetings();
}

$("t-upload").addEventListener("click", async () => {
  const file = $("t-file").files[0];
  if (!file) { $("t-status").textContent = "Choose a transcript file first."; return; }
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [field, id] of [["series", "t-series"], ["date", "t-date"], ["domain", "t-domain"]]) {
    const v = $(id).value.trim();
    if (v) form.append(field, v);
  }
  $("t-upload").disabled = true;
  $("t-status").className = "muted";
  $("t-status").textContent = `Ingesting ${file.name}…`;
  try {
    const r = await api("/v1/memory/transcripts", { method: "POST", body: form });
    $("t-status").className = "ok";
    $("t-status").textContent = r.status === "unchanged"
      ? `${r.id}: unchanged (same content), nothing rewritten.`
      : `${r.id}: ${r.status}, ${r.turns} turns → ${r.episodic} episodic of ${r.memories} memories, ${r.edges} edges in ${Math.round(r.elapsed_ms)} ms.`;
    $("t-file").value = "";
  } catch (err) { $("t-status").className = "err"; $("t-status").textContent = err.message; }
  $("t-upload").disabled = false;
  await loadMeetings();
});

function where(m) {
  const parts = [];
  if (m.meeting) parts.push(m.meeting);
  if (m.turn_start !== undefined) {
    parts.push(m.turn_end !== undefined && m.turn_end !== m.turn_start
      ? `turns ${m.turn_start}-${m.turn_end}` : `turn ${m.turn_start}`);
  }
  if (m.speakers && m.speakers.length) parts.push(m.speakers.join(", "));
  return parts.join(" · ");
}

// One memory as a list item: level and type, where it comes from, the score line, and its
// content (the turns, with speakers) folded.
function memoryItem(m, line, extra) {
  const li = el("li");
  const head = el("div");
  // A concept (L0) belongs to no one meeting: its text is its name.
  const name = m.level === "L0" ? m.content : where(m) || `memory ${m.id}`;
  head.append(el("span", `${m.level} ${m.type}`, "tag"), " ", el("strong", name));
  const meta = el("div", line, "muted");
  const details = el("details");
  details.append(el("summary", m.level === "L2" ? "turns" : "content"), el("blockquote", m.content));
  li.append(head, meta);
  if (extra) li.append(extra);
  li.append(details);
  li.dataset.memory = m.id;
  return li;
}

function fill(id, items, empty) {
  const ol = $(id);
  ol.replaceChildren(...items);
  if (!items.length) ol.appendChild(el("li", empty, "muted"));
}

function showResults(r) {
  const d = r.direct_results;
  const direct = [...d.L2, ...d.L1, ...d.L0]
    .map((h) => memoryItem(h, `score ${h.score.toFixed(3)} · memory ${h.id}`));
  const activated = r.activated_memories.map((a) => memoryItem(a,
    `${a.class} · strength ${a.strength.toFixed(2)} · depth ${a.depth}`,
    el("div", `path: ${a.path.map((id) => `#${id}`).join(" → ")}`, "path")));
  const bridges = r.bridge_memories.map((b) => memoryItem(b,
    `novelty ${b.novelty.toFixed(2)} · connection ${b.connection.toFixed(2)} · via ${b.connects.map((id) => `#${id}`).join(", ")}`,
    el("div", b.explanation, "explanation")));
  fill("r-direct", direct, "No direct hit.");
  fill("r-activated", activated, "Nothing activated.");
  fill("r-bridges", bridges, "No bridge.");
  $("results").hidden = false;
  const cached = r.cached ? " · from cache" : "";
  $("q-meta").textContent = `${r.total_results} memories in ${r.processing_time_ms.toFixed(1)} ms${cached}`;
}

function queryBody() {
  const filters = {};
  const meeting = $("q-meeting").value;
  const series = $("q-series").value.trim();
  const type = $("q-type").value;
  if (meeting) filters.meeting = meeting;
  if (series) filters.series = series;
  if (type) filters.type = type;
  return {
    query: $("q-text").value.trim(),
    limit_per_level: Number($("q-limit").value) || 5,
    enable_activation: $("q-activation").checked,
    enable_bridges: $("q-bridges").checked,
    filters,
  };
}

$("q-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = queryBody();
  if (!body.query) return;
  $("q-search").disabled = true;
  $("q-meta").textContent = "";
  try {
    showResults(await api("/v1/memory/query", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }));
  } catch (err) { $("q-meta").textContent = err.message; }
  $("q-search").disabled = false;
});

// Answer from memory: POST /v1/answer with source memory, streamed; citations name the
// meeting, turns and speakers.
$("q-answer").addEventListener("click", async () => {
  const query = $("q-text").value.trim();
  if (!query) return;
  $("m-answer-box").hidden = false;
  $("m-answer").textContent = "";
  $("m-citations").replaceChildren();
  $("q-answer").disabled = true;
  const cite = (citations) => fill("m-citations", citations.map((c) => {
    const li = el("li");
    li.value = c.n;
    const details = el("details");
    details.append(el("summary", "turns"), el("blockquote", c.text));
    li.append(el("strong", c.heading ? `${c.source}, ${c.heading}` : c.source), details);
    return li;
  }), "No citations.");
  try {
    await streamEvents("/v1/answer", { query, source: "memory", stream: true }, (name, data) => {
      if (name === "token") $("m-answer").textContent += data.text;
      else if (name === "retrieval") cite(data.passages);
      else if (name === "citations") { if (data.citations.length) cite(data.citations); }
      else if (name === "done") {
        $("m-answer").textContent = data.answer;
        $("q-meta").textContent = `${data.generator} · total ${Math.round(data.timings_ms.total)} ms`;
      } else if (name === "error") $("q-meta").textContent = `${data.error.code}: ${data.error.message}`;
    });
  } catch (err) { $("q-meta").textContent = err.message; }
  $("q-answer").disabled = false;
});

loadMeetings();
