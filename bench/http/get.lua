-- wrk script: GETs that must answer 200: status reads (GET /v1/filings/{id}) of filings that
-- exist, or any list of paths.
--
--   wrk -t2 -c64 -d20s --latency -s get.lua http://127.0.0.1:PORT -- IDS_FILE [KIND]
--
-- IDS_FILE holds one filing id a line (bench/http/run seeds them with append.lua and lists them
-- back from GET /v1/filings), or one path a line (starting with "/": e.g. inclusion proofs).
-- KIND names the phase in the RESULT line (default "get"). Each thread visits every line in its
-- own pseudo-random order. Any non-200 answer is counted and reported; a run with non-200
-- answers is invalid.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1] or error("get.lua: give the ids file: wrk ... -s get.lua URL -- IDS_FILE")
  bad = 0
  statuses = ""
  seen = {}
  paths = {}
  kind = args[2] or "get"
  for line in io.lines(file) do
    if string.sub(line, 1, 1) == "/" then
      paths[#paths + 1] = line
    elseif line ~= "" then
      paths[#paths + 1] = "/v1/filings/" .. line
    end
  end
  if #paths == 0 then error("get.lua: no ids in " .. file) end
  -- shuffle, so the threads do not walk the keys in step
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

function response(status, hdrs, body)
  if status ~= 200 then
    bad = bad + 1
    local k = tostring(status)
    if not seen[k] then
      seen[k] = true
      statuses = statuses .. k .. " " .. string.sub(body or "", 1, 200) .. "\n"
    end
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (t:get("bad") or 0)
    local s = t:get("statuses")
    if s and s ~= "" then io.write("non-200 sample: " .. s) end
  end
  local errs = summary.errors
  local sock = errs.connect + errs.read + errs.write + errs.timeout
  local kind = threads[1]:get("kind") or "get"
  io.write(string.format("RESULT kind=%s requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non200=%d socket_errors=%d\n",
    kind, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    total_bad, sock))
  if total_bad > 0 or sock > 0 then
    io.write("INVALID RUN: " .. total_bad .. " non-200 responses, " .. sock .. " socket errors\n")
  end
end
