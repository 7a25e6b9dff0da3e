-- wrk script: GETs that must answer 200: status reads (GET /v1/filings/{id}) of filings that
-- exist, or any list of paths.
--
--   wrk -t2 -c64 -d20s --latency -s get.lua http://127.0.0.1:PORT -- IDS_FILE [KIND]
--
-- IDS_FILE holds one filing id a line (bench/http/run seeds them with append.lua and lists them
-- back from GET /v1/filings), or one path a line (starting with "/": e.g. inclusion proofs).
-- KIND names the phase in the RESULT line (default "get"). Each thread visits every line in its
-- own pseudo-random order.
--
-- wrk shares the daemon's two cores, so this client is kept cheap: every request is formatted
-- once, in init(), and there is no response() callback, whose Lua tables of headers and body cost
-- wrk more CPU per request than the daemon's answer (a fifth of the proofs/s, measured). Errors
-- are wrk's own count of answers with a status of 400 or more (these routes answer 200 or an
-- error); a run with any is invalid.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1] or error("get.lua: give the ids file: wrk ... -s get.lua URL -- IDS_FILE")
  kind = args[2] or "get"
  requests = {}
  for line in io.lines(file) do
    if string.sub(line, 1, 1) == "/" then
      requests[#requests + 1] = wrk.format("GET", line)
    elseif line ~= "" then
      requests[#requests + 1] = wrk.format("GET", "/v1/filings/" .. line)
    end
  end
  if #requests == 0 then error("get.lua: no ids in " .. file) end
  -- shuffle, so the threads do not walk the keys in step
  math.randomseed(tid * 7919)
  for i = #requests, 2, -1 do
    local j = math.random(i)
    requests[i], requests[j] = requests[j], requests[i]
  end
  i = 0
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function done(summary, latency, requests)
  local errs = summary.errors
  local sock = errs.connect + errs.read + errs.write + errs.timeout
  local kind = threads[1]:get("kind") or "get"
  io.write(string.format("RESULT kind=%s requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non200=%d socket_errors=%d\n",
    kind, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errs.status, sock))
  if errs.status > 0 or sock > 0 then
    io.write("INVALID RUN: " .. errs.status .. " answers with status >= 400, " .. sock ..
             " socket errors (curl one of the paths to see why)\n")
  end
end
