#!/usr/bin/env python3
"""Tables for bench/results-scale.md from what bench/scale.sh wrote to RESULTS_DIR.

    python3 bench/scale_report.py [RESULTS_DIR] > tables.md

Reads poll-1000.json, poll-5000.json (the shared harness's bench_poll.py output),
parse-<N>.json (bench_parse.py), parse-rs-*.txt (benches/parse.rs) and
daemon-10k/daemon-10k.json, and prints Markdown: medians (min-max), feedmerge's speed-up
over newsboat and its multiple of curl's fetch-only time, each with PASS/FAIL against the
issue's targets. newsboat at N=5000 is not rerun by default (8-24 minutes a phase); its row
then comes from ../shared/bench/results-peers.md (marked "peer run"). Standard library only.
"""
import glob
import json
import os
import sys

TARGET_COLD, TARGET_WARM = 15.0, 50.0
# ../shared/bench/results-peers.md, 2026-11-26 11:00Z: newsboat 2.21, reload-threads 8, N=5000.
PEER_NEWSBOAT_5000 = {"cold": (478.645, "478.6 and 483.9 s, two runs"), "3rd": (789.941, "789.9 s, one run")}


def fmt(x, nd=3):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}" if nd else f"{x:,.1f}"
    return f"{x:.{nd}f}"


def mmm(s, key, nd=3):
    v = s.get(key)
    if not v:
        return "–"
    if v["min"] == v["max"]:
        return fmt(v["median"], nd)
    return f"{fmt(v['median'], nd)} ({fmt(v['min'], nd)}–{fmt(v['max'], nd)})"


def poll_tables(d):
    out = []
    for path in ("poll-1000.json", "poll-5000.json"):
        p = os.path.join(d, path)
        if not os.path.exists(p):
            continue
        data = json.load(open(p))
        res = {(r["tool"], r["n"], r["phase"]): r for r in data["results"]}
        ns = sorted({k[1] for k in res})
        out.append(f"#### `{path}` (loadavg at start {' '.join(data['machine'].get('loadavg_at_start', []))})\n")
        out.append("| N | phase | tool | wall s, median (min–max) | peak RSS MB | CPU s | HTTP (last run) | stored entries | runs |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for n in ns:
            for ph in ("cold", "2nd", "3rd"):
                for tool in ("newsboat", "curl-fetch-only", "feedmerge"):
                    r = res.get((tool, n, ph))
                    if not r:
                        continue
                    s = r["summary"]
                    http = r["runs"][-1].get("http", {}).get("status", {})
                    http = " ".join(f"{k}×{v}" for k, v in sorted(http.items()))
                    items = s.get("stored_items", {}).get("median")
                    out.append(f"| {n:,} | {ph} | {tool} | {mmm(s, 'wall_s')} | {mmm(s, 'max_rss_mb', 1)} | "
                               f"{mmm(s, 'cpu_s', 2)} | {http} | {f'{int(items):,}' if items else '–'} | {s['runs']} |")
        out.append("")
        out.append("| N | phase | feedmerge wall | newsboat wall | speed-up vs newsboat | target | verdict | curl wall | feedmerge ÷ curl |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for n in ns:
            for ph in ("cold", "2nd", "3rd"):
                fm = res.get(("feedmerge", n, ph))
                if not fm:
                    continue
                fw = fm["summary"]["wall_s"]["median"]
                nb = res.get(("newsboat", n, ph))
                # newsboat's all-304 round is its 3rd; feedmerge's 2nd and 3rd are both all-304.
                nb_warm = res.get(("newsboat", n, "3rd"))
                src = ""
                if ph == "cold":
                    nbw = nb["summary"]["wall_s"]["median"] if nb else None
                    if nbw is None and n == 5000:
                        nbw, src = PEER_NEWSBOAT_5000["cold"][0], " (peer run)"
                    target = TARGET_COLD
                    label = "cold"
                else:
                    nbw = nb_warm["summary"]["wall_s"]["median"] if nb_warm else None
                    if nbw is None and n == 5000:
                        nbw, src = PEER_NEWSBOAT_5000["3rd"][0], " (peer run)"
                    target = TARGET_WARM
                    label = "newsboat 3rd (all 304)"
                cu = res.get(("curl-fetch-only", n, ph))
                cw = cu["summary"]["wall_s"]["median"] if cu else None
                sp = nbw / fw if nbw else None
                verdict = "–" if sp is None else ("PASS" if sp >= target else "FAIL")
                out.append(f"| {n:,} | {ph} | {fmt(fw)} | {fmt(nbw)}{src} ({label}) | "
                           f"{f'{sp:.1f}×' if sp else '–'} | ≥ {target:.0f}× | {verdict} | {fmt(cw)} | "
                           f"{f'{fw / cw:.1f}×' if cw else '–'} |")
        out.append("")
    return out


def parse_tables(d):
    out = []
    for p in sorted(glob.glob(os.path.join(d, "parse-*.json"))):
        data = json.load(open(p))
        out.append(f"#### `{os.path.basename(p)}`: first {data['n']} feeds, {data['bytes'] / 1e6:.1f} MB, "
                   f"{data['expected_items']:,} items\n")
        out.append("| parser | MB/s, median (min–max) | items/s | items | peak RSS MB | timing | runs | MB/s vs feedparser |")
        out.append("|---|---|---|---|---|---|---|---|")
        fp = None
        for r in data["results"]:
            if r["parser"] == "feedparser":
                fp = r["summary"]["mb_per_s"]["median"]
        for r in data["results"]:
            s = r["summary"]
            ratio = s["mb_per_s"]["median"] / fp if fp and r["parser"] != "feedparser" else None
            out.append(f"| {r['parser']} | {mmm(s, 'mb_per_s', 2)} | {mmm(s, 'items_per_s', 0)} | "
                       f"{int(s['items']['median']):,} | {mmm(s, 'max_rss_mb', 1)} | {r['runs'][-1].get('timing')} | "
                       f"{s['runs']} | {f'{ratio:.1f}×' if ratio else '–'} |")
        out.append("")
    for p in sorted(glob.glob(os.path.join(d, "parse-rs-*.txt"))):
        out.append(f"#### `{os.path.basename(p)}` (benches/parse.rs, in-process, interleaved)\n")
        out.append("```")
        out.append(open(p).read().rstrip())
        out.append("```")
        out.append("")
    return out


def daemon_table(d):
    p = os.path.join(d, "daemon-10k", "daemon-10k.json")
    if not os.path.exists(p):
        return []
    r = json.load(open(p))["result"]
    st = r.get("steady", {})
    out = ["| measure | value | target | verdict |", "|---|---|---|---|"]
    out.append(f"| sources | {r['sources']:,} (interval {r['interval']}) | 10,000 | |")
    out.append(f"| cold round (10,000 × 200) | {r.get('cold_round_s')} s, {r.get('cold', {}).get('cpu_s')} CPU s, "
               f"peak RSS {r.get('cold', {}).get('peak_rss_mb')} MB | | |")
    peak = st.get("peak_rss_mb")
    out.append(f"| peak RSS, steady window | {peak} MB | < 100 MB | {'PASS' if peak and peak < 100 else 'FAIL'} |")
    out.append(f"| peak RSS, whole run (VmRSS sampled / VmHWM) | {r['peak_rss_mb']} / {r['vmhwm_mb']} MB | < 100 MB | "
               f"{'PASS' if r['vmhwm_mb'] < 100 else 'FAIL'} |")
    cpu = st.get("cpu_pct_one_core")
    out.append(f"| CPU, steady window | {cpu} % of one core ({st.get('cpu_s')} s over {st.get('window_s')} s) | < 10 % | "
               f"{'PASS' if cpu is not None and cpu < 10 else 'FAIL'} |")
    out.append(f"| polls in the window | {st.get('requests')} {st.get('status')} | | |")
    if st.get("requests"):
        per = st["cpu_s"] / st["requests"]
        out.append(f"| CPU per 304 poll (window CPU ÷ polls, idle work included) | {per * 1e3:.2f} ms | | |")
        for label, secs in (("2m", 120), ("15m (default)", 900)):
            pct = 100 * per * r["sources"] / secs
            out.append(f"| extrapolated: all {r['sources']:,} sources once per {label} | {pct:.1f} % of one core | < 10 % | "
                       f"{'PASS' if pct < 10 else 'FAIL'} |")
    out.append(f"| RSS at the end (anon) | {st.get('end_rss_mb')} MB ({st.get('end_rss_anon_mb')} MB), {st.get('threads')} threads | | |")
    if "error" in r:
        out.append(f"| error | {r['error']} | | |")
    out.append("")
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RESULTS_DIR", "/tmp/fm-scale/results")
    lines = ["### Poll", ""] + poll_tables(d) + ["### Parse", ""] + parse_tables(d) + ["### Daemon with 10,000 sources", ""] + daemon_table(d)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
