-- wrk reporter: one machine-readable line per run.
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT req_s=%.1f mib_s=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests / s, summary.bytes / s / 1048576, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
