#!/usr/bin/env python3
"""Serve benchmark: feedmerge's /feed.xml against nginx serving the same bytes.

A 200-story merged feed is built by the real daemon (one fixture source served from this
process on 127.0.0.1), then its plain and gzip bodies are copied into an nginx root
(`feed.xml`, and `feed.xml.gz` for `gzip_static`). wrk loads both servers with the same three
requests, interleaved, several times:

  plain  GET /feed.xml
  gzip   GET /feed.xml with Accept-Encoding: gzip
  304    GET /feed.xml with If-None-Match: <that server's ETag>

Targets (see ../shared/bench/README.md): req/s at least 0.9 x nginx's, p99 at most 2 x nginx's.
Load and the wrk script are the shared harness's (wrk -t2 -c64, ../shared/bench/lua/stats.lua).
Needs: wrk, nginx (Debian: nginx-light), a release build (cargo build --release).
Writes a Markdown report (--out) and prints it. Everything runs on 127.0.0.1; every child
process is started and stopped here, by its own pid.
"""
import argparse
import email.utils
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STATS_LUA = os.path.join(ROOT, "..", "shared", "bench", "lua", "stats.lua")

CITIES = ["Lisbon", "Oslo", "Quito", "Hanoi", "Nairobi", "Perth", "Toronto", "Cusco", "Riga", "Dakar"]
THINGS = ["ferry", "library", "bridge", "stadium", "hospital", "harbor", "tram", "museum", "school", "market"]
VERBS = ["approves", "delays", "opens", "closes", "funds", "reviews", "expands", "repairs", "sells", "plans"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def source_feed(n):
    """One RSS source with n distinct stories (one source: never merged with each other)."""
    now = time.time()
    items = []
    for i in range(n):
        title = f"{CITIES[i % 10]} council {VERBS[(i // 10) % 10]} the {THINGS[(i // 100) % 10]} project number {i}"
        date = email.utils.formatdate(now - 3600 * 24 * 2 + i * 60, usegmt=True)
        body = f"<p>{title}. Officials said the decision follows months of debate &amp; public hearings.</p>" * 3
        items.append(
            f"<item><guid isPermaLink=\"false\">bench-{i}</guid><title>{title}</title>"
            f"<link>https://bench.example/story/{i}</link><pubDate>{date}</pubDate>"
            f"<description><![CDATA[{body}]]></description></item>"
        )
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Bench</title>"
            "<link>https://bench.example/</link><description>bench</description>" + "".join(items) +
            "</channel></rss>").encode()


def serve_bytes(body):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), b""


def wait_until(what, seconds, check):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            got = check()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def wrk(url, a, headers=(), etag=None):
    cmd = ["wrk", f"-t{a.threads}", f"-c{a.conns}", f"-d{a.duration}s", "--timeout", "5s", "-s", STATS_LUA]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    if etag:
        cmd += ["--", etag]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + 60)
    m = re.search(r"^WRKJSON (\{.*\})$", p.stdout, re.M)
    if not m:
        raise SystemExit(f"wrk failed: {p.stdout}{p.stderr}")
    j = json.loads(m.group(1))
    secs = j["duration_us"] / 1e6
    errors = sum(j[k] for k in ("connect_err", "read_err", "write_err", "status_err", "timeout_err"))
    return {"rps": j["requests"] / secs, "p99_ms": j["lat_p99_us"] / 1000, "p50_ms": j["lat_p50_us"] / 1000,
            "bytes_per_resp": j["bytes"] / max(1, j["requests"]), "errors": errors}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "feedmerge"))
    ap.add_argument("--stories", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conns", type=int, default=64)
    # The committed bench/results-serve.md is a curated record; a run writes its own report.
    results = os.environ.get("RESULTS_DIR", os.path.join(HERE, "results"))
    ap.add_argument("--out", default=os.path.join(results, "results-serve.md"))
    a = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install wrk nginx-light)")
    if not os.path.exists(a.binary):
        raise SystemExit(f"{a.binary} is missing: cargo build --release")

    work = tempfile.mkdtemp(prefix="feedmerge-serve-bench-")
    os.chmod(work, 0o755)  # nginx's workers run as another user and must read www/
    origin = serve_bytes(source_feed(a.stories))
    fm_port, nginx_port = free_port(), free_port()
    config = os.path.join(work, "feedmerge.toml")
    with open(config, "w") as f:
        f.write(f"[server]\nlisten = \"127.0.0.1:{fm_port}\"\n[store]\npath = \"{work}/store\"\n"
                f"[feed]\nmax_items = {a.stories}\n[poll]\ninterval = \"24h\"\n"
                f"[[source]]\nname = \"Bench\"\nurl = \"http://127.0.0.1:{origin.server_address[1]}/feed.xml\"\n")
    procs = []
    try:
        return measure(a, work, origin, config, fm_port, nginx_port, procs)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        origin.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def measure(a, work, origin, config, fm_port, nginx_port, procs):
    if True:
        log = open(os.path.join(work, "feedmerge.log"), "wb")
        fm = subprocess.Popen([a.binary, "-c", config, "run"], stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "RUST_LOG": "warn"}, start_new_session=True)
        procs.append(fm)
        fm_url = f"http://127.0.0.1:{fm_port}/feed.xml"
        plain = wait_until(f"{a.stories} items at {fm_url}", 60,
                           lambda: (lambda r: r[2] if r[0] == 200 and r[2].count(b"<item>") >= a.stories else None)(get(fm_url)))
        status, headers, gz = get(fm_url, {"Accept-Encoding": "gzip"})
        assert status == 200 and gzip.decompress(gz) == plain, "the gzip body is the plain body"

        www = os.path.join(work, "www")
        os.makedirs(www)
        with open(os.path.join(www, "feed.xml"), "wb") as f:
            f.write(plain)
        with open(os.path.join(www, "feed.xml.gz"), "wb") as f:
            f.write(gz)
        with open(os.path.join(work, "nginx.conf"), "w") as f:
            f.write(f"""worker_processes auto;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=100;
  keepalive_requests 1000000;
  types {{ application/rss+xml xml; }}
  server {{
    listen 127.0.0.1:{nginx_port};
    root {www};
    location / {{ gzip_static on; }}
  }}
}}
""")
        ng = subprocess.Popen(["nginx", "-p", work, "-c", os.path.join(work, "nginx.conf"), "-g", "daemon off;"],
                              start_new_session=True)
        procs.append(ng)
        ng_url = f"http://127.0.0.1:{nginx_port}/feed.xml"
        wait_until("nginx", 10, lambda: get(ng_url)[0] == 200)
        assert get(ng_url)[2] == plain, "nginx serves the same bytes"

        targets = {"nginx": ng_url, "feedmerge": fm_url}
        etags = {name: {k.lower(): v for k, v in get(url)[1].items()}.get("etag") for name, url in targets.items()}
        assert all(etags.values()), f"both servers send an ETag: {etags}"
        variants = {
            "plain": lambda name: {},
            "gzip": lambda name: {"headers": ["Accept-Encoding: gzip"]},
            "304": lambda name: {"etag": etags[name]},
        }
        results = {(t, v): [] for t in targets for v in variants}
        for run in range(a.runs):
            order = list(targets) if run % 2 == 0 else list(reversed(targets))
            for v, opts in variants.items():
                for t in order:
                    r = wrk(targets[t], a, **opts(t))
                    results[(t, v)].append(r)
                    print(f"run {run + 1} {v:5} {t:9} {r['rps']:9.0f} req/s  p99 {r['p99_ms']:7.2f} ms  "
                          f"{r['bytes_per_resp']:8.0f} B/resp  errors {r['errors']}", file=sys.stderr)

    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    lines = [
        "# Serving /feed.xml: feedmerge vs nginx (same bytes)",
        "",
        f"{a.stories} stories, {len(plain):,} B plain, {len(gz):,} B gzip. wrk -t{a.threads} -c{a.conns} "
        f"-d{a.duration}s, {a.runs} interleaved runs: medians, with min-max of the runs in brackets. Both servers "
        f"and wrk share the machine's {os.cpu_count()} cores on 127.0.0.1. Written by `bench/serve_vs_nginx.py`.",
        "",
        "| request | nginx req/s | feedmerge req/s | ratio (target >= 0.9) | nginx p99 ms | feedmerge p99 ms | ratio (target <= 2) | B/resp (fm) | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    span = lambda rs, k, fmt: f"{fmt.format(med(rs, k))} ({fmt.format(min(r[k] for r in rs))}-{fmt.format(max(r[k] for r in rs))})"  # noqa: E731
    verdicts = []
    for v in variants:
        n, f = results[("nginx", v)], results[("feedmerge", v)]
        rps_ratio = med(f, "rps") / med(n, "rps")
        p99_ratio = med(f, "p99_ms") / max(med(n, "p99_ms"), 0.001)
        ok = rps_ratio >= 0.9 and p99_ratio <= 2
        verdicts.append(ok)
        lines.append(
            f"| {v} | {span(n, 'rps', '{:,.0f}')} | {span(f, 'rps', '{:,.0f}')} | {rps_ratio:.2f} {'PASS' if rps_ratio >= 0.9 else 'FAIL'} | "
            f"{span(n, 'p99_ms', '{:.2f}')} | {span(f, 'p99_ms', '{:.2f}')} | {p99_ratio:.2f} {'PASS' if p99_ratio <= 2 else 'FAIL'} | "
            f"{med(f, 'bytes_per_resp'):,.0f} | {sum(r['errors'] for r in n + f)} |")
    lines.append("")
    report = "\n".join(lines)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(report)
    print(report)
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
