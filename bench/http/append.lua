-- wrk script: durable appends over HTTP. By default every request submits a NEW filing
-- (POST /v1/filings -> filing_submitted) with its own filing_id, subject (uscc) and domains,
-- so no request is refused as a duplicate. Any non-201 answer is counted and reported; a run
-- with non-201 answers is invalid.
--
--   wrk -t2 -c64 -d20s --latency -s append.lua http://127.0.0.1:PORT -- RUNTAG [MAX [MIX]]
--
-- RUNTAG (default "r") prefixes every id, so several runs can share one data directory. The
-- filing ids are B<RUNTAG>-<thread>-<n>, n = 1, 2, ...
-- MAX (optional) makes each thread stop after MAX filings (used to seed the filings get.lua
-- reads; requests issued while the thread winds down are harmless GET /healthz); 0 = no limit.
-- wrk's -d still bounds the run.
-- MIX (optional): "submit" (the default) sends only submissions; "filing" gives every filing
-- three follow-up events after its submission (POST /v1/filings/{id}/events, photo_rejected,
-- which keeps the filing in provider_review), the shape of bench/ledger_bench's appends and of
-- the PostgreSQL workload in bench/run: 1 append in 4 creates a filing. A follow-up is sent only
-- after its submission was answered 201 (the answer names the filing), on whichever connection
-- is free next; follow-ups waiting in the queue go before new submissions.
-- Note that wrk calls request() once on the first thread to check the script before the run,
-- so that thread's first id is never sent: list the seeded ids from the daemon (bench/http/run
-- does) rather than assuming them.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- GB 32100 USCCs, one per filing: "91", 4 characters from the run tag, the thread, n in base 31,
-- then the check character (the daemon refuses a wrong one). Defined before init(), whose
-- scope must see them (after it, init() would call an undefined global).
local alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
local weights = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

local function base31(v, width)
  local out = ""
  for _ = 1, width do
    out = alphabet:sub(v % 31 + 1, v % 31 + 1) .. out
    v = math.floor(v / 31)
  end
  return out
end

local function uscc(tag_code, tid, n)
  local first17 = "91" .. tag_code .. base31(tid, 1) .. base31(n, 10)
  local sum = 0
  for i = 1, 17 do
    sum = sum + (alphabet:find(first17:sub(i, i), 1, true) - 1) * weights[i]
  end
  local c = (31 - sum % 31) % 31
  return first17 .. alphabet:sub(c + 1, c + 1)
end

local function tag_code(tag)
  local h = 0
  for i = 1, #tag do h = (h * 131 + tag:byte(i)) % 923521 end
  return base31(h, 4)
end

function init(args)
  tag = args[1] or "r"
  tagc = tag_code(tag)
  max = tonumber(args[2] or "0")
  mix = args[3] or "submit"
  if mix ~= "submit" and mix ~= "filing" then error("append.lua: MIX must be submit or filing") end
  n = 0
  followups = {}    -- queue of filing ids owed a follow-up event (filing mode)
  fhead, ftail = 1, 0
  submitted, followed = 0, 0   -- 201 answers to submissions and to follow-ups
  event_body = '{"type":"photo_rejected","data":{"reviewer":"rev-1","method":"photo",'
    .. '"reason":"照片背景不是白色，请重新拍摄"},"actor":"rev-1"}'
  draining = false
  bad = 0
  statuses = ""
  seen = {}
  headers = { ["Content-Type"] = "application/json" }
  body_fmt = '{"filing_id":"%s","filing_type":"first_filing","province":"京","provider":"jdcloud",'
    .. '"subject":{"kind":"enterprise","name":"北京测试科技有限公司%s","id_type":"uscc",'
    .. '"id_number":"%s","address":"北京市海淀区中关村大街1号"},'
    .. '"websites":[{"name":"测试网站","domains":["%s.cn","www.%s.cn"],'
    .. '"responsible":{"name":"张三","id_type":"resident_id","id_number":"110101199003074514",'
    .. '"mobile":"13800138000","email":"zs@example.cn"}}],"actor":"bench"}'
end

function request()
  if fhead <= ftail then
    local id = followups[fhead]
    followups[fhead] = nil
    fhead = fhead + 1
    return wrk.format("POST", "/v1/filings/" .. id .. "/events", headers, event_body)
  end
  if max > 0 and n >= max then
    draining = true
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  n = n + 1
  local key = string.format("%s-%d-%d", tag, tid, n)
  local id = "B" .. key
  local domain = string.lower(string.format("s%s%dx%d", tag, tid, n)):gsub("[^a-z0-9]", "")
  local body = string.format(body_fmt, id, key, uscc(tagc, tid, n), domain, domain)
  return wrk.format("POST", "/v1/filings", headers, body)
end

function response(status, hdrs, body)
  if status == 201 then
    -- {"filing_id":..., "version":N, ...}: version 1 answers a submission
    local version = tonumber(string.match(body or "", '"version":(%d+)'))
    if version == 1 then
      submitted = submitted + 1
      if mix == "filing" then
        local id = string.match(body, '"filing_id":"([^"]+)"')
        for _ = 1, 3 do
          ftail = ftail + 1
          followups[ftail] = id
        end
      end
    else
      followed = followed + 1
    end
  end
  if status ~= 201 and not (draining and status == 200) then
    bad = bad + 1
    local k = tostring(status)
    if not seen[k] then
      seen[k] = true
      -- keep the first answer per status, to say why
      statuses = statuses .. k .. " " .. string.sub(body or "", 1, 200) .. "\n"
    end
  end
end

function done(summary, latency, requests)
  local total_bad, total_submitted, total_followed = 0, 0, 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (t:get("bad") or 0)
    total_submitted = total_submitted + (t:get("submitted") or 0)
    total_followed = total_followed + (t:get("followed") or 0)
    local s = t:get("statuses")
    if s and s ~= "" then io.write("non-201 sample: " .. s) end
  end
  local errs = summary.errors
  local sock = errs.connect + errs.read + errs.write + errs.timeout
  io.write(string.format("RESULT kind=append requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non201=%d socket_errors=%d submissions=%d followups=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    total_bad, sock, total_submitted, total_followed))
  if total_bad > 0 or sock > 0 then
    io.write("INVALID RUN: " .. total_bad .. " non-201 responses, " .. sock .. " socket errors\n")
  end
end
