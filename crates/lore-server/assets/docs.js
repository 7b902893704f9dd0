// Renders /openapi.json as a readable page: operations by tag, parameters, request and
// response schemas (resolved one level), all from the served spec. No CDN.
"use strict";
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; };

function schemaText(spec, schema, depth = 0) {
  if (!schema) return "";
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    const target = spec.components.schemas[name];
    return depth > 1 ? name : `${name} ${schemaText(spec, target, depth + 1)}`;
  }
  if (schema.type === "object" || schema.properties) {
    const props = schema.properties || {};
    const req = new Set(schema.required || []);
    const lines = Object.entries(props).map(([k, v]) =>
      `${"  ".repeat(depth + 1)}${k}${req.has(k) ? "" : "?"}: ${schemaText(spec, v, depth + 1)}${v.description ? "  // " + v.description.split("\n")[0] : ""}`);
    return lines.length ? `{\n${lines.join("\n")}\n${"  ".repeat(depth)}}` : "object";
  }
  if (schema.type === "array" || (Array.isArray(schema.type) && schema.items)) return `[${schemaText(spec, schema.items, depth)}]`;
  if (schema.oneOf || schema.anyOf) return (schema.oneOf || schema.anyOf).map((s) => schemaText(spec, s, depth)).join(" | ");
  if (schema.enum) return schema.enum.map((x) => JSON.stringify(x)).join(" | ");
  return Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type || "any");
}

fetch("/openapi.json").then((r) => r.json()).then((spec) => {
  const main = document.getElementById("docs");
  main.innerHTML = "";
  main.append(el("p", spec.info.description), el("p", `version ${spec.info.version}`, "muted"));
  const byTag = {};
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags || ["other"])[0];
      (byTag[tag] = byTag[tag] || []).push({ path, method, op });
    }
  }
  for (const t of spec.tags || []) {
    const section = el("section");
    section.append(el("h2", t.name), el("p", t.description, "muted"));
    for (const { path, method, op } of byTag[t.name] || []) {
      const d = el("details");
      d.append(el("summary", `${method.toUpperCase()} ${path} — ${op.summary || ""}`));
      if (op.description) d.append(el("p", op.description));
      for (const p of op.parameters || []) d.append(el("p", `${p.in} ${p.name}${p.required ? "" : "?"}: ${p.description || ""}`, "muted"));
      const body = op.requestBody && Object.entries(op.requestBody.content)[0];
      if (body) { d.append(el("h3", `Request body (${body[0]})`)); d.append(el("pre", schemaText(spec, body[1].schema))); }
      for (const [code, r] of Object.entries(op.responses || {})) {
        d.append(el("h3", `${code}: ${r.description}`));
        const c = r.content && Object.values(r.content)[0];
        if (c) d.append(el("pre", schemaText(spec, c.schema)));
      }
      section.append(d);
    }
    main.append(section);
  }
}).catch((e) => { document.getElementById("docs").textContent = `Could not load /openapi.json: ${e}`; });
