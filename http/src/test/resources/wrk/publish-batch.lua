-- wrk: batches of 100 messages per POST to Spool's publish route.
--   SPOOL_TOKEN=<admin or producer token> wrk -t2 -c64 -d30s -s publish-batch.lua http://127.0.0.1:8080
-- SPOOL_QUEUE names the queue (default "bench"); it must exist. SPOOL_BATCH changes the batch size.
local queue = os.getenv("SPOOL_QUEUE") or "bench"
local batch = tonumber(os.getenv("SPOOL_BATCH") or "100")
wrk.method = "POST"
wrk.path = "/api/v1/queues/" .. queue .. "/messages"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SPOOL_TOKEN") or "")
local one = '{"type":"bench","payload":"' .. string.rep("x", 100) .. '"}'
local messages = {}
for i = 1, batch do
  messages[i] = one
end
wrk.body = '{"messages":[' .. table.concat(messages, ",") .. ']}'

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("non-2xx/3xx: %d, errors: %d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("messages/s: %.0f\n", summary.requests * batch / seconds))
end
