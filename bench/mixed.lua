-- wrk script for the mixed load test: per request, by a fixed cycle of 20:
--   8 searches (SciFact queries; repeated, so mostly retrieval-cache hits),
--   8 answers to warmed questions (exact cache hits),
--   3 answers to questions never asked before (cache misses: generated),
--   1 upload of a small new Markdown document into collection `loadtest` (every
--     $UPLOAD_EVERY-th cycle only; uploads are ingested by one worker in the background).
-- Counts responses per kind and status; `done` prints them.
-- Usage: wrk -c100 -t2 -d60s -s bench/mixed.lua URL -- QUERIES.jsonl WARMED
local queries = {}
local warmed = 100
local i = 0
-- Globals: wrk reads them across threads (`thread:set` / `thread:get`).
thread_id = 0
kinds = {}
local uploads_sent = 0
local upload_every = tonumber(os.getenv("UPLOAD_EVERY") or "") or 10
local headers = {["Content-Type"] = "application/json"}
local key = os.getenv("LORE_API_KEY")
if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local text = line:match('"text"%s*:%s*"(.-)"%s*[,}]')
    if text then table.insert(queries, text) end
  end
  warmed = tonumber(args[2]) or warmed
  -- a different start per run and thread (unique upload names across runs)
  math.randomseed(os.time() + thread_id)
  i = math.random(1000000)
end

local last_kind = {}
local sent = 0
local received = 0

local function pick()
  i = i + 1
  local slot = i % 20
  local q = queries[(i % #queries) + 1]
  if slot < 8 then
    return "search", wrk.format("POST", "/v1/search", headers,
      '{"query":"' .. q .. '","collection":"scifact","top_k":10}')
  elseif slot < 16 then
    local w = queries[(i % warmed) + 1]
    return "answer_hit", wrk.format("POST", "/v1/answer", headers,
      '{"query":"' .. w .. '","collection":"scifact"}')
  elseif slot < 19 or math.floor(i / 20) % upload_every ~= 0 then
    -- a question nobody asked: the query with a unique suffix
    return "answer_miss", wrk.format("POST", "/v1/answer", headers,
      '{"query":"' .. q .. ' (case ' .. thread_id .. '-' .. i .. ')","collection":"scifact"}')
  else
    uploads_sent = uploads_sent + 1
    local boundary = "lorebenchboundary"
    local name = "load-" .. thread_id .. "-" .. i .. ".md"
    local body = "--" .. boundary .. "\r\n" ..
      'Content-Disposition: form-data; name="file"; filename="' .. name .. '"\r\n' ..
      "Content-Type: text/markdown\r\n\r\n" ..
      "# Load note " .. thread_id .. "-" .. i .. "\n\n" .. q .. "\n\r\n" ..
      "--" .. boundary .. "--\r\n"
    local h = {["Content-Type"] = "multipart/form-data; boundary=" .. boundary}
    if headers["Authorization"] then h["Authorization"] = headers["Authorization"] end
    return "upload", wrk.format("POST", "/v1/collections/loadtest/documents?wait_ms=0", h, body)
  end
end

function request()
  local _, req = pick()
  return req
end

-- Responses of a thread's connections arrive in any order: the kind is read from the
-- body (a refused generation names itself; only answers to new questions generate).
local function kind_of(body)
  if body:find('"hits"', 1, true) then return "search" end
  if body:find('"files"', 1, true) then return "upload" end
  if body:find('too_many_generations', 1, true) then return "answer_miss" end
  if body:find('"cached":"exact"', 1, true) then return "answer_hit" end
  if body:find('"answer"', 1, true) then return "answer_generated" end
  return "other"
end

function response(status, hdrs, body)
  local kind = kind_of(body)
  local class = (status >= 200 and status < 300) and "ok" or tostring(status)
  local k = kind .. ":" .. class
  kinds[k] = (kinds[k] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local ks = t:get("kinds")
    for k, v in pairs(ks) do total[k] = (total[k] or 0) + v end
  end
  local names = {}
  for k in pairs(total) do table.insert(names, k) end
  table.sort(names)
  for _, k in ipairs(names) do io.write(string.format("%s %d\n", k, total[k])) end
  io.write(string.format("requests %d, socket errors connect %d read %d write %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
