-- wrk script: POST /v1/search (or /v1/answer) with the SciFact queries in turn, one per
-- request.
-- Usage: wrk -c100 -t2 -d30s -s bench/query.lua http://127.0.0.1:8080 -- QUERIES.jsonl COLLECTION [MODE] [ENDPOINT]
-- Sends `Authorization: Bearer $LORE_API_KEY` when set; QUERY_LIMIT=N uses the first N queries.
local queries = {}
local collection = "scifact"
local mode = "hybrid"
local endpoint = "/v1/search"
local counter = 0
local headers = {["Content-Type"] = "application/json"}
local key = os.getenv("LORE_API_KEY")
if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end

function init(args)
  local path = args[1] or "../shared/data/beir/scifact/queries.jsonl"
  collection = args[2] or collection
  mode = args[3] or mode
  endpoint = args[4] or endpoint
  local limit = tonumber(os.getenv("QUERY_LIMIT") or "") or math.huge
  for line in io.lines(path) do
    local text = line:match('"text"%s*:%s*"(.-)"%s*[,}]')
    if text and #queries < limit then table.insert(queries, text) end
  end
  -- each thread starts at a different place in the list
  counter = math.random(#queries)
end

function request()
  counter = counter % #queries + 1
  local top_k = endpoint == "/v1/search" and ',"top_k":10' or ''
  local body = '{"query":"' .. queries[counter] .. '","collection":"' .. collection .. '"' .. top_k .. ',"mode":"' .. mode .. '"}'
  return wrk.format("POST", endpoint, headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("requests %d, non-2xx/3xx %d, socket errors connect %d read %d write %d timeout %d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
  io.write(string.format("throughput %.1f req/s\n", summary.requests / (summary.duration / 1e6)))
  for _, p in pairs({50, 90, 99}) do
    io.write(string.format("p%d %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
