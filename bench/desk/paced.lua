-- wrk script: list.lua at a paced load. Each connection pauses before each request for an
-- exponentially distributed time of mean GAP_MS (Poisson arrivals per connection), so 64
-- connections offer about 64000 / (GAP_MS + latency) requests/s instead of as many as the
-- daemon can answer.
--
--   wrk -t2 -c64 -d10s --latency -s paced.lua URL -- PATHS_FILE KIND GAP_MS
--
-- The latency wrk reports runs from a request's first byte sent to its answer; the pause is not
-- in it. wrk does not correct for coordinated omission: a connection whose answer is late also
-- sends its next request late, so a stall delays fewer requests than an open-loop client would
-- see (bench/desk/run reports the rate reached beside the rate offered).

local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
dofile(here .. "list.lua")

local list_init = init
function init(args)
  list_init(args)
  gap_ms = tonumber(args[3] or error("paced.lua: give GAP_MS"))
end

function delay()
  return math.floor(-math.log(1 - math.random()) * gap_ms + 0.5)
end
