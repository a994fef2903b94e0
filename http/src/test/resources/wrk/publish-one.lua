-- wrk: one message per POST to Spool's publish route.
--   SPOOL_TOKEN=<admin or producer token> wrk -t2 -c64 -d30s -s publish-one.lua http://127.0.0.1:8080
-- SPOOL_QUEUE names the queue (default "bench"); it must exist.
local queue = os.getenv("SPOOL_QUEUE") or "bench"
wrk.method = "POST"
wrk.path = "/api/v1/queues/" .. queue .. "/messages"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SPOOL_TOKEN") or "")
-- A 100-character text payload.
wrk.body = '{"type":"bench","payload":"' .. string.rep("x", 100) .. '"}'

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("non-2xx/3xx: %d, errors: %d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("messages/s: %.0f\n", summary.requests / seconds))
end
