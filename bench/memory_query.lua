-- wrk script: POST /v1/memory/query with the QMSum specific queries, picked with Zipf's law
-- (s = 1: the query ranked r is asked in proportion to 1/r), so popular questions repeat as
-- in a team's real use and the result cache sees them again.
-- Usage: wrk -c100 -t2 -d60s -s bench/memory_query.lua URL -- QUERIES.txt
-- QUERIES.txt: one query per line (bench/memory_load.sh writes it from the QMSum files).
local queries = {}
local cumulative = {}
local headers = {["Content-Type"] = "application/json"}
local key = os.getenv("LORE_API_KEY")
if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end

function init(args)
  for line in io.lines(args[1]) do table.insert(queries, line) end
  local total = 0
  for r = 1, #queries do
    total = total + 1 / r
    cumulative[r] = total
  end
  for r = 1, #queries do cumulative[r] = cumulative[r] / total end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local u = math.random()
  local lo, hi = 1, #queries
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cumulative[mid] < u then lo = mid + 1 else hi = mid end
  end
  local body = '{"query":"' .. queries[lo] .. '"}'
  return wrk.format("POST", "/v1/memory/query", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-200 responses: %d\n", summary.errors.status))
end
