"""Summarises bench/ping/ping.sh's raw output: RTT medians/p99 and rates."""
import glob
import json
import math
import os
import statistics
import sys

out = sys.argv[1]


def nearest_rank(values, p):
    v = sorted(values)
    return v[max(1, math.ceil(p / 100 * len(v))) - 1]


def ours(path):
    """Last line of ping -json -q is the summary."""
    with open(path) as f:
        lines = [l for l in f if l.strip()]
    s = json.loads(lines[-1])
    r = s.get("rtt") or {}
    return {
        "sent": s["transmitted"], "recv": s["received"], "loss": s["loss_percent"],
        "elapsed_s": s["elapsed_ms"] / 1e3, "p50_us": r.get("p50_ms", float("nan")) * 1e3,
        "p99_us": r.get("p99_ms", float("nan")) * 1e3, "pps": s["transmitted"] / (s["elapsed_ms"] / 1e3),
    }


def irtt(path):
    """irtt's own "rtt" subtracts the server's processing time; the client-
    observed RTT (receive − send on the client's monotonic clock) is what our
    ping measures, so both are computed."""
    d = json.load(open(path))
    st = d["stats"]
    raw, net = [], []
    for rt in d["round_trips"]:
        if rt.get("lost") != "false":
            continue
        c = rt["timestamps"]["client"]
        raw.append(c["receive"]["monotonic"] - c["send"]["monotonic"])
        net.append(rt["delay"]["rtt"])
    return {
        "sent": st["packets_sent"], "recv": st["packets_received"], "loss": st["packet_loss_percent"],
        "elapsed_s": st["duration"] / 1e9, "p50_us": nearest_rank(raw, 50) / 1e3, "p99_us": nearest_rank(raw, 99) / 1e3,
        "p50_irtt_us": nearest_rank(net, 50) / 1e3, "pps": st["packets_sent"] / (st["duration"] / 1e9),
    }


def rows(kind, parse):
    return [parse(p) for p in sorted(glob.glob(os.path.join(out, f"rtt_{kind}_*.json")))]


runs = {"irtt": rows("irtt", irtt), "irttcomp": rows("irttcomp", irtt), "pingd": rows("pingd", ours),
        "pingdstages": rows("pingdstages", ours), "plain": rows("plain", ours)}
print("\n## RTT at -i 1ms (client-observed, µs; one row per round, interleaved)\n")
print("| round | irtt busy timer p50 / p99 (irtt's own p50, minus server time) | irtt default timer | ping→pingd (fused) p50 / p99 | -fused=false both sides | ping→plainecho p50 / p99 | pingd/irtt busy p50 | pingd/irtt default p50 | pingd/plain p50 | fused/unfused p50 |")
print("|---|---|---|---|---|---|---|---|---|---|")
for i in range(max(len(v) for v in runs.values())):
    def cell(k, extra=""):
        if i >= len(runs[k]):
            return "–"
        r = runs[k][i]
        s = f"{r['p50_us']:.1f} / {r['p99_us']:.1f}"
        if k in ("irtt", "irttcomp"):
            s += f" ({r['p50_irtt_us']:.1f})"
        return s
    def ratio(a, b):
        if i >= len(runs[a]) or i >= len(runs[b]):
            return "–"
        return f"{runs[a][i]['p50_us'] / runs[b][i]['p50_us']:.2f}"
    print(f"| {i+1} | {cell('irtt')} | {cell('irttcomp')} | {cell('pingd')} | {cell('pingdstages')} | {cell('plain')} | "
          f"{ratio('pingd', 'irtt')} | {ratio('pingd', 'irttcomp')} | {ratio('pingd', 'plain')} | {ratio('pingd', 'pingdstages')} |")
for k, v in runs.items():
    if v:
        print(f"\n{k}: median of p50s {statistics.median(r['p50_us'] for r in v):.1f} µs, median of p99s "
              f"{statistics.median(r['p99_us'] for r in v):.1f} µs, sends/s {statistics.median(r['pps'] for r in v):.0f}, "
              f"sent/received {sum(r['sent'] for r in v)}/{sum(r['recv'] for r in v)}")
if runs["irtt"] and runs["pingd"]:
    m = lambda k: statistics.median(r["p50_us"] for r in runs[k])
    print(f"\nratio of medians: ping→pingd / irtt busy timer = {m('pingd') / m('irtt'):.2f} (target ≤ 1.2)")
    if runs["irttcomp"]:
        print(f"ratio of medians: ping→pingd / irtt default timer = {m('pingd') / m('irttcomp'):.2f}")
    if runs["pingdstages"]:
        print(f"ratio of medians: fused / -fused=false = {m('pingd') / m('pingdstages'):.2f}")
    if runs["plain"]:
        print(f"ratio of medians: ping→pingd / ping→plainecho = {m('pingd') / m('plain'):.2f}")

print("\n## Rate (achieved packets/s and loss; target: ours ≥ 0.8 × irtt at < 0.1 % loss)\n")
print("| -i | ping→pingd pps | loss % | irtt (busy timer) pps | loss % |")
print("|---|---|---|---|---|")
best = {"pingd": 0, "irtt": 0}
for iv in ["100us", "50us", "20us", "10us"]:
    cells = []
    for k, parse in (("pingd", ours), ("irtt", irtt)):
        p = os.path.join(out, f"rate_{k}_{iv}.json")
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            cells += ["–", "–"]
            continue
        r = parse(p)
        cells += [f"{r['pps']:.0f}", f"{r['loss']:.3f}"]
        if r["loss"] < 0.1:
            best[k] = max(best[k], r["pps"])
    print(f"| {iv} | " + " | ".join(cells) + " |")
print(f"\nhighest rate with < 0.1 % loss: ping→pingd {best['pingd']:.0f} pps, irtt {best['irtt']:.0f} pps"
      + (f", ratio {best['pingd'] / best['irtt']:.2f}" if best["irtt"] else ""))
