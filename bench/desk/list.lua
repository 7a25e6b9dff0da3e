-- wrk script: the desk's reads (GET /v1/filings with a filter, /v1/stats, /v1/deadlines), each
-- answer 200. bench/desk/run drives it.
--
--   wrk -t2 -c64 -d10s --latency -s list.lua URL -- PATHS_FILE KIND
--
-- PATHS_FILE holds one request path a line (desk_dataset writes one file per filter, each line
-- another value of it; for the paged phases bench/desk/run adds the cursors of later pages);
-- each thread walks them in its own pseudo-random order, so each request draws another value.
-- KIND names the phase in the RESULT line. Any non-200 answer is counted and reported; a run
-- with non-200 answers is invalid. `empty` counts the answers whose items were empty (a filter
-- that found nothing). paced.lua is this script with a pause before each request.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1] or error("list.lua: give the paths file: wrk ... -s list.lua URL -- FILE KIND")
  kind = args[2] or "list"
  bad, empty = 0, 0
  statuses = ""
  seen = {}
  paths = {}
  for line in io.lines(file) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("list.lua: no paths in " .. file) end
  math.randomseed(tid * 7919)
  for i = #paths, 2, -1 do
    local j = math.random(i)
    paths[i], paths[j] = paths[j], paths[i]
  end
  i = 0
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    local k = tostring(status)
    if not seen[k] then
      seen[k] = true
      statuses = statuses .. k .. " " .. string.sub(body or "", 1, 200) .. "\n"
    end
    return
  end
  if string.sub(body, 1, 11) == '{"items":[]' then empty = empty + 1 end
end

function done(summary, latency, requests)
  local total_bad, total_empty = 0, 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (t:get("bad") or 0)
    total_empty = total_empty + (t:get("empty") or 0)
    local s = t:get("statuses")
    if s and s ~= "" then io.write("non-200 sample: " .. s) end
  end
  local errs = summary.errors
  local sock = errs.connect + errs.read + errs.write + errs.timeout
  local kind = threads[1]:get("kind") or "list"
  io.write(string.format("RESULT kind=%s requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non200=%d empty=%d socket_errors=%d\n",
    kind, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, total_bad, total_empty, sock))
  if total_bad > 0 or sock > 0 then
    io.write("INVALID RUN: " .. total_bad .. " non-200 responses, " .. sock .. " socket errors\n")
  end
end
