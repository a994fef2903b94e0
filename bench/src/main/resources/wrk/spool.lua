-- wrk script of the http suite (dev.spool.bench.HttpBench): POSTs one request over and over and
-- prints one machine-readable summary line at the end. Also usable by hand:
--   SPOOL_PATH=/api/v1/queues/bench/messages SPOOL_BODY=one SPOOL_TOKEN=<token> \
--     wrk -t2 -c64 -d30s -s spool.lua http://127.0.0.1:8080
-- SPOOL_BODY: "one" (a message with a 100-character text payload), "batch" (SPOOL_BATCH of them,
-- default 100, as {"messages":[…]}) or "none" (no body: a consumer's read).
-- SPOOL_REWIND_PATH and SPOOL_REWIND_EVERY: every that many requests, each wrk thread POSTs
-- {"to":"earliest"} to that path instead (a consumer's seek), so that pull reads go round a
-- retained backlog instead of running dry. The summary counts these requests apart.
local path = os.getenv("SPOOL_PATH") or "/api/v1/queues/bench/messages"
local body = os.getenv("SPOOL_BODY") or "one"
local batch = tonumber(os.getenv("SPOOL_BATCH") or "100")
local token = os.getenv("SPOOL_TOKEN") or ""
local rewindPath = os.getenv("SPOOL_REWIND_PATH")
local rewindEvery = tonumber(os.getenv("SPOOL_REWIND_EVERY") or "0")

wrk.method = "POST"
wrk.path = path
wrk.headers["Authorization"] = "Bearer " .. token
local one = '{"type":"bench","payload":"' .. string.rep("x", 100) .. '"}'
if body == "one" then
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = one
elseif body == "batch" then
  local messages = {}
  for i = 1, batch do
    messages[i] = one
  end
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"messages":[' .. table.concat(messages, ",") .. ']}'
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

if rewindPath and rewindEvery > 0 then
  local plain, rewind
  sent = 0
  rewinds = 0

  function init(args)
    plain = wrk.format()
    rewind = wrk.format("POST", rewindPath,
      {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, '{"to":"earliest"}')
  end

  function request()
    sent = sent + 1
    if sent % rewindEvery == 0 then
      rewinds = rewinds + 1
      return rewind
    end
    return plain
  end
end

-- Latencies are wrk's, in microseconds; status counts responses outside 2xx/3xx.
function done(summary, latency, requests)
  local e = summary.errors
  local rewound = 0
  for _, thread in ipairs(threads) do
    rewound = rewound + (thread:get("rewinds") or 0)
  end
  io.write(string.format(
    'spool-bench {"requests":%d,"rewinds":%d,"durationUs":%d,"p50Us":%.1f,"p99Us":%.1f,"status":%d,"socket":%d}\n',
    summary.requests, rewound, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
