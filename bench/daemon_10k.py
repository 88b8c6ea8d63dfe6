#!/usr/bin/env python3
"""Resident memory and CPU of `feedmerge run` with many sources, polling the shared feed farm.

    python3 bench/daemon_10k.py [--urls /tmp/rssbench/farm/urls-5000.txt] [--copies 2]
        [--interval 2m] [--steady 120] [--timeout 720] [--out DIR] [--cache-mb N]

The farm's 5,000 feeds listed twice (the copies with "?copy=2", which nginx ignores) make
10,000 sources. The daemon starts on a fresh store (`[poll] concurrency = 8`, `per_host = 8`,
`min_interval = "1s"`, `interval` as given) and polls them all (the cold round: 10,000 x 200,
every entry new or joined). Once every source has had its 200, the *steady round* starts: for
one `--steady` window (default 120 s = one interval) every source is polled again and the farm
answers 304. Every second the script samples VmRSS / RssAnon / threads from /proc/PID/status
and utime+stime from /proc/PID/stat, and counts this run's requests in the farm's access log
(each source sends a user agent unique to the run, so other users of the farm don't count).

Reported (stdout and DIR/daemon-10k.json): peak RSS over the whole run and over the steady
window, RSS at the end, average CPU % of one core over the steady window (CPU seconds / wall
seconds), requests and statuses in the window, and the time of the cold round. The daemon is
stopped with SIGTERM (SIGKILL after 15 s) when the window ends or --timeout is reached.
Python 3 standard library only; Linux (/proc).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import farm_config  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def proc_sample(pid):
    st = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                st[k] = int(v.split()[0])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    st["cpu_s"] = (int(fields[11]) + int(fields[12])) / TICK
    return st


class Log:
    """This run's requests in the farm's access log (matched by user agent)."""

    def __init__(self, path, ua):
        self.path, self.ua = path, ua.encode()
        self.off = os.path.getsize(path) if os.path.exists(path) else 0
        self.status = {}
        self.first_200 = set()
        self.times = []  # (t, status)

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.off)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.off += end
        for line in data[:end].splitlines():
            if self.ua not in line:
                continue
            parts = line.split(b" ", 5)
            if len(parts) < 5:
                continue
            st = parts[1].decode()
            self.status[st] = self.status.get(st, 0) + 1
            if st == "200":
                self.first_200.add(parts[3])
            self.times.append((float(parts[0]), st))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--urls", default=os.path.join(os.environ.get("FARM_DIR", "/tmp/rssbench/farm"), "urls-5000.txt"))
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--interval", default="2m")
    ap.add_argument("--steady", type=float, default=120, help="seconds of the steady window")
    ap.add_argument("--timeout", type=float, default=720, help="seconds for the whole run")
    ap.add_argument("--out", default=os.path.join(os.environ.get("RESULTS_DIR", "/tmp/fm-scale"), "daemon-10k"))
    ap.add_argument("--feedmerge", default=os.environ.get("FEEDMERGE", os.path.join(HERE, "..", "target", "release", "feedmerge")))
    ap.add_argument("--cache-mb", type=int, help="[store] cache_mb (default: feedmerge's)")
    ap.add_argument("--access-log", default="/tmp/rssbench/nginx/access.log")
    ap.add_argument("--store", help="use this existing store (kept) instead of a fresh one (deleted at the end); "
                    "the run then waits --steady seconds from the start instead of for a cold round")
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    store = a.store or os.path.join(a.out, "store")
    if not a.store:
        subprocess.run(["rm", "-rf", store], check=True, timeout=120)
    ua = f"feedmerge-scale-bench/{os.getpid()}-{int(time.time())}"
    urls = farm_config.read_urls(a.urls)
    text, n = farm_config.build(urls, store, copies=a.copies, interval=a.interval, min_interval="1s",
                                user_agent=ua, cache_mb=a.cache_mb)
    cfg = os.path.join(a.out, "feedmerge.toml")
    with open(cfg, "w") as f:
        f.write(text)
    log = Log(a.access_log, ua)
    errf = open(os.path.join(a.out, "daemon.log"), "wb")
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    t0 = time.monotonic()
    p = subprocess.Popen([a.feedmerge, "-c", cfg, "run"], stdout=errf, stderr=errf, env=env,
                         start_new_session=True)
    print(f"daemon pid {p.pid}, {n} sources, interval {a.interval}, ua {ua}", file=sys.stderr, flush=True)
    samples = []
    cold_done = None
    steady_start = None
    result = {"sources": n, "interval": a.interval, "config": cfg, "pid": p.pid}
    try:
        while True:
            time.sleep(1.0)
            now = time.monotonic() - t0
            if p.poll() is not None:
                result["error"] = f"daemon exited with {p.returncode}"
                break
            try:
                s = proc_sample(p.pid)
            except OSError as e:
                result["error"] = f"cannot read /proc: {e}"
                break
            log.poll()
            s["t"] = round(now, 2)
            s["requests"] = sum(log.status.values())
            s["status"] = dict(log.status)
            samples.append(s)
            if len(samples) % 15 == 0:
                print(f"t={now:6.0f}s rss={s['VmRSS'] / 1024:6.1f}MB cpu={s['cpu_s']:7.1f}s "
                      f"req={s['requests']} {s['status']} distinct200={len(log.first_200)}",
                      file=sys.stderr, flush=True)
            if a.store and steady_start is None:
                steady_start = s["t"]
            if cold_done is None and len(log.first_200) >= n:
                cold_done = s["t"]
                # Let the last batches reach the store and the render settle before the window.
                steady_start = s["t"] + 5
            if steady_start is not None and now >= steady_start + a.steady:
                break
            if now > a.timeout:
                result["error"] = "timeout before the steady window ended"
                break
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=15)
        errf.close()
    result["cold_round_s"] = round(cold_done, 1) if cold_done is not None else None
    result["peak_rss_mb"] = round(max((s["VmRSS"] for s in samples), default=0) / 1024, 1)
    result["vmhwm_mb"] = round(max((s.get("VmHWM", 0) for s in samples), default=0) / 1024, 1)
    if steady_start is not None:
        win = [s for s in samples if s["t"] >= steady_start]
        if len(win) >= 2:
            a0, a1 = win[0], win[-1]
            dt = a1["t"] - a0["t"]
            req = {k: a1["status"].get(k, 0) - a0["status"].get(k, 0) for k in set(a1["status"]) | set(a0["status"])}
            result["steady"] = {
                "window_s": round(dt, 1),
                "cpu_s": round(a1["cpu_s"] - a0["cpu_s"], 2),
                "cpu_pct_one_core": round(100 * (a1["cpu_s"] - a0["cpu_s"]) / dt, 2),
                "peak_rss_mb": round(max(s["VmRSS"] for s in win) / 1024, 1),
                "end_rss_mb": round(a1["VmRSS"] / 1024, 1),
                "end_rss_anon_mb": round(a1.get("RssAnon", 0) / 1024, 1),
                "threads": a1.get("Threads"),
                "requests": sum(req.values()),
                "status": {k: v for k, v in req.items() if v},
            }
    result["cold"] = {"cpu_s": round(samples[-1]["cpu_s"], 1) if samples else None}
    if cold_done is not None:
        c = [s for s in samples if s["t"] <= cold_done]
        if c:
            result["cold"] = {"cpu_s": round(c[-1]["cpu_s"], 1), "peak_rss_mb": round(max(s["VmRSS"] for s in c) / 1024, 1),
                              "requests": c[-1]["requests"], "status": c[-1]["status"]}
    result["total_requests"] = sum(log.status.values())
    result["total_status"] = log.status
    with open(os.path.join(a.out, "daemon-10k.json"), "w") as f:
        json.dump({"result": result, "samples": samples}, f, indent=1)
    print(json.dumps(result, indent=1))
    if not a.store:
        subprocess.run(["rm", "-rf", store], timeout=120)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
