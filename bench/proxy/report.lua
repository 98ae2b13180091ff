-- wrk script: absolute-form requests through a proxy, one result line.
-- TARGET is the absolute URI to ask for, HOSTHDR its Host field.
wrk.path = os.getenv("TARGET")
wrk.headers["Host"] = os.getenv("HOSTHDR")

done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT req_s=%.1f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests / s, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
