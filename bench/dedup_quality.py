#!/usr/bin/env python3
"""Deduplication quality benchmark for feedmerge.

Two measurements, both through the real binary (nothing is re-implemented here):

1. STS headlines: every `headline1/headline2` pair of the STS Benchmark "headlines" genre is
   judged by `feedmerge pairs` (one process for all pairs); the share judged `duplicate` is
   reported per human similarity-score bucket and split, against fixed targets.
2. UCI News Aggregator: the headlines of the dev sample are published as one RSS 2.0 feed per
   publisher, served from 127.0.0.1 by a thread of this script, polled once by `feedmerge once`
   into a fresh store and read back with `feedmerge export`. Stories are compared pairwise
   with the dataset's STORY clusters (precision/recall of "merged into the same story").

Writes a Markdown report to $RESULTS_DIR/dedup-quality.md and prints a short summary.

Environment:
  FEEDMERGE            the binary (default: target/release/feedmerge if present, else target/debug/feedmerge)
  RESULTS_DIR          where the report goes (default: bench/results/ in the repository)
  CORPORA_DIR          the shared corpora (default: ../shared/corpora beside the repository)
  BENCH_ONCE_TIMEOUT   seconds allowed for `feedmerge once` (default 300)
  BENCH_CMD_TIMEOUT    seconds allowed for `pairs`, `export` and the other short commands (default 120)
  BENCH_CONCURRENCY    [poll] concurrency of the `once` run (default 32)
  BENCH_RUNS           how many times the UCI feeds are ingested into a fresh store (default 3): the
                       result depends on the order the sources' polls arrive in, which varies;
                       run 1 is reported in detail, every run in a variation table

Standard library only; only 127.0.0.1 is used. Exit status: 0 when the measurements ran
(whatever the numbers), 1 when the harness could not run them, 2 with --strict when an STS
target fails.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import email.utils
import functools
import hashlib
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

REPO = Path(__file__).resolve().parent.parent


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value) if value else default


def default_binary() -> Path:
    release = REPO / "target" / "release" / "feedmerge"
    return release if release.exists() else REPO / "target" / "debug" / "feedmerge"


FEEDMERGE = env_path("FEEDMERGE", default_binary())
RESULTS_DIR = env_path("RESULTS_DIR", REPO / "bench" / "results")
CORPORA = env_path("CORPORA_DIR", REPO.parent / "shared" / "corpora")
STS_TSV = CORPORA / "sts-benchmark-headlines" / "sts-headlines-pairs.tsv"
UCI_CSV = CORPORA / "uci-news-aggregator-sample" / "uci-news-dev.csv"
ONCE_TIMEOUT = float(os.environ.get("BENCH_ONCE_TIMEOUT", "300"))
CMD_TIMEOUT = float(os.environ.get("BENCH_CMD_TIMEOUT", "120"))
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "3")))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
NEAR_SAMPLE = 30


class HarnessError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Running the binary


def child_env() -> dict[str, str]:
    """The environment for feedmerge: no proxies (everything is on 127.0.0.1), no config from
    the caller's environment, logs at info (kept in a file)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "feedmerge_config")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.setdefault("RUST_LOG", "info")
    return env


# The binary actually run: a private copy of FEEDMERGE taken at start (see snapshot_binary), so a
# rebuild of target/ during the benchmark cannot mix two builds into one report.
BINARY: Path = FEEDMERGE


def snapshot_binary(into: Path) -> tuple[Path, str]:
    """Copies FEEDMERGE into `into` and returns the copy and its sha256."""
    copy = into / "feedmerge"
    shutil.copy2(FEEDMERGE, copy)
    h = hashlib.sha256()
    with copy.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return copy, h.hexdigest()


def run_feedmerge(config: Path, command: str, *, timeout: float, stdin: str | None = None):
    argv = [str(BINARY), "-c", str(config), command]
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=child_env(),
            cwd=tempfile.gettempdir(),
        )
    except subprocess.TimeoutExpired as e:
        raise HarnessError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s (killed)") from e
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        raise HarnessError(f"`{' '.join(argv)}` exited {proc.returncode}:\n{tail}")
    return proc


def binary_version() -> str:
    try:
        proc = subprocess.run(
            [str(BINARY), "--version"], capture_output=True, text=True, timeout=30, env=child_env()
        )
        return proc.stdout.strip() or proc.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30,
        ).stdout.strip()
        return f"{head}{' (uncommitted changes in the working tree)' if dirty else ''}" if head else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def write_config(path: Path, store: Path, sources: list[tuple[str, str]]) -> None:
    lines = [
        "# Written by bench/dedup_quality.py",
        "[server]",
        'listen = "127.0.0.1:0"',
        "[store]",
        f"path = {toml_str(str(store))}",
        "[poll]",
        'interval = "1h"',
        f"concurrency = {CONCURRENCY}",
        # Every farm feed is on 127.0.0.1: lift the per-host politeness limit for the farm,
        # and the soak polls every second.
        f"per_host = {CONCURRENCY}",
        'min_interval = "1s"',
        'timeout = "20s"',
        'connect_timeout = "10s"',
    ]
    for name, url in sources:
        lines += ["", "[[source]]", f"name = {toml_str(name)}", f"url = {toml_str(url)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def md(s: object) -> str:
    """Text safe inside a Markdown table cell."""
    return (
        str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
        .replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*").replace("_", "\\_")
    )


def code(s: object) -> str:
    """Text safe inside a Markdown code span."""
    return str(s).replace("`", "'").replace("\n", " ")


def pct(num: int, den: int) -> str:
    return f"{100.0 * num / den:.1f}%" if den else "n/a"


# --------------------------------------------------------------------------------------------
# 1. STS headline pairs

BUCKETS = [
    ("<= 1", lambda s: s <= 1.0),
    ("(1, 2]", lambda s: 1.0 < s <= 2.0),
    ("(2, 4)", lambda s: 2.0 < s < 4.0),
    (">= 4", lambda s: s >= 4.0),
]
# bucket -> (description, test on (duplicates, total))
TARGETS = {
    "<= 1": ("no duplicate", lambda d, n: d == 0),
    "(1, 2]": ("at most 2% duplicate", lambda d, n: n == 0 or d / n <= 0.02),
    ">= 4": ("at least 70% duplicate", lambda d, n: n > 0 and d / n >= 0.70),
}


def clean_cell(s: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", s).strip()


def run_sts(work: Path) -> dict:
    if not STS_TSV.exists():
        raise HarnessError(f"STS data not found: {STS_TSV}")
    with STS_TSV.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        pairs = [
            {
                "split": r["split"],
                "year": r["year"],
                "score": float(r["score"]),
                "a": clean_cell(r["headline1"]),
                "b": clean_cell(r["headline2"]),
            }
            for r in reader
        ]
    config = work / "pairs.toml"
    write_config(config, work / "pairs-store-unused", [])
    stdin = "".join(f"{p['a']}\t{p['b']}\n" for p in pairs)
    started = time.monotonic()
    proc = run_feedmerge(config, "pairs", timeout=CMD_TIMEOUT, stdin=stdin)
    elapsed = time.monotonic() - started
    out = proc.stdout.splitlines()
    if len(out) != len(pairs):
        raise HarnessError(f"`feedmerge pairs` printed {len(out)} lines for {len(pairs)} pairs")
    for p, line in zip(pairs, out):
        verdict, _, reason = line.partition("\t")
        if verdict not in ("duplicate", "related", "distinct"):
            raise HarnessError(f"`feedmerge pairs` answered {line!r} for {p['a']!r} / {p['b']!r}")
        p["verdict"], p["reason"] = verdict, reason

    splits = sorted({p["split"] for p in pairs}, key=lambda s: (s != "train", s != "dev", s)) + ["overall"]
    table: dict[str, dict[str, dict[str, int]]] = {}
    for split in splits:
        chosen = pairs if split == "overall" else [p for p in pairs if p["split"] == split]
        table[split] = {}
        for name, test in BUCKETS:
            bucket = [p for p in chosen if test(p["score"])]
            table[split][name] = {
                "total": len(bucket),
                "duplicate": sum(p["verdict"] == "duplicate" for p in bucket),
                "related": sum(p["verdict"] == "related" for p in bucket),
            }
    checks = []
    for split in splits:
        for bucket, (desc, test) in TARGETS.items():
            c = table[split][bucket]
            checks.append((split, bucket, desc, c["duplicate"], c["total"], test(c["duplicate"], c["total"])))
    false_dups = sorted(
        (p for p in pairs if p["score"] <= 2.0 and p["verdict"] == "duplicate"),
        key=lambda p: (p["score"], p["split"]),
    )
    return {
        "pairs": pairs,
        "splits": splits,
        "table": table,
        "checks": checks,
        "false_dups": false_dups,
        "seconds": elapsed,
    }


def sts_report(r: dict) -> list[str]:
    out = [
        "## 1. STS Benchmark headline pairs (`feedmerge pairs`)",
        "",
        f"Data: `{STS_TSV}` ({len(r['pairs'])} pairs; STS Benchmark \"headlines\" genre, train and dev "
        "splits; human similarity 0 = unrelated .. 5 = equivalent). Each pair is judged as two items "
        "from two sources published at the same moment, exactly as the daemon would judge them. "
        f"All pairs went through one `pairs` process ({r['seconds']:.1f} s).",
        "",
        "Cells: pairs judged `duplicate` / pairs in the bucket (share); `related` verdicts in brackets.",
        "",
        "| split | " + " | ".join(f"score {b}" for b, _ in BUCKETS) + " |",
        "|---|" + "---|" * len(BUCKETS),
    ]
    for split in r["splits"]:
        cells = []
        for b, _ in BUCKETS:
            c = r["table"][split][b]
            cells.append(f"{c['duplicate']}/{c['total']} ({pct(c['duplicate'], c['total'])}) [rel {c['related']}]")
        out.append(f"| {split} | " + " | ".join(cells) + " |")
    out += ["", "### Targets", "", "| split | bucket | target | measured | result |", "|---|---|---|---|---|"]
    for split, bucket, desc, d, n, ok in r["checks"]:
        out.append(f"| {split} | {bucket} | {desc} | {d}/{n} ({pct(d, n)}) | {'PASS' if ok else '**FAIL**'} |")
    fd = r["false_dups"]
    out += ["", f"### Pairs with score <= 2 judged duplicate ({len(fd)})", ""]
    if fd:
        out += ["| score | split | headline 1 | headline 2 | reason |", "|---|---|---|---|---|"]
        for p in fd:
            out.append(f"| {p['score']:.2f} | {p['split']} | {md(p['a'])} | {md(p['b'])} | {md(p['reason'])} |")
    else:
        out.append("None.")
    out.append("")
    return out


# --------------------------------------------------------------------------------------------
# 2. UCI News Aggregator through `once` / `export`

_BACKSLASH_ESCAPE = re.compile(r"\\(.)")


def unescape_uci(s: str) -> str:
    """The UCI file backslash-escapes punctuation (`\\(blog\\)`, `story\\?track=rss`, `\\&`)."""
    return _BACKSLASH_ESCAPE.sub(r"\1", s)


def load_uci() -> list[dict]:
    if not UCI_CSV.exists():
        raise HarnessError(f"UCI data not found: {UCI_CSV}")
    rows = []
    with UCI_CSV.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append(
                {
                    "id": r["ID"].strip(),
                    "title": unescape_uci(r["TITLE"]).strip(),
                    # Links also carry HTML-escaped query separators (`&amp;`).
                    "url": html.unescape(unescape_uci(r["URL"])).strip(),
                    "publisher": unescape_uci(r["PUBLISHER"]).strip(),
                    "story": r["STORY"].strip(),
                    "hostname": r["HOSTNAME"].strip(),
                    "ts": int(r["TIMESTAMP"]),
                }
            )
    ids = collections.Counter(r["id"] for r in rows)
    if any(c > 1 for c in ids.values()):
        raise HarnessError("the UCI file has repeated IDs; guids would not be unique")
    return rows


def rfc822(ms: int) -> str:
    return email.utils.format_datetime(dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc))


def rss_feed(publisher: str, rows: list[dict]) -> str:
    channel_link = f"http://{rows[0]['hostname'] or 'example.invalid'}/"
    items = []
    for r in sorted(rows, key=lambda r: -r["ts"]):
        items.append(
            "    <item>\n"
            f"      <guid isPermaLink=\"false\">{xml_escape('uci-' + r['id'])}</guid>\n"
            f"      <title>{xml_escape(r['title'])}</title>\n"
            f"      <link>{xml_escape(r['url'])}</link>\n"
            f"      <pubDate>{rfc822(r['ts'])}</pubDate>\n"
            "    </item>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0">\n  <channel>\n'
        f"    <title>{xml_escape(publisher)}</title>\n"
        f"    <link>{xml_escape(channel_link)}</link>\n"
        f"    <description>{xml_escape(publisher)} (UCI News Aggregator sample)</description>\n"
        + "".join(items)
        + "  </channel>\n</rss>\n"
    )


def unique_names(publishers: list[str]) -> list[str]:
    """Source names, unique case-insensitively (feedmerge trims and compares lower-cased)."""
    seen: set[str] = set()
    names = []
    for p in publishers:
        base = p.strip() or "(no publisher)"
        name, n = base, 1
        while name.lower() in seen:
            n += 1
            name = f"{base} ({n})"
        seen.add(name.lower())
        names.append(name)
    return names


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class FeedServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 serving `directory`, in a background thread."""

    def __init__(self, directory: Path):
        handler = functools.partial(QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="feed-server", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def c2(k: int) -> int:
    return k * (k - 1) // 2


def pair_counts(items: list[tuple[int, str, str]]) -> dict[str, int]:
    """items: (story id, label, lower-cased title) per ingested entry. Counts pairs without
    enumerating them."""
    by_story = collections.Counter(s for s, _, _ in items)
    by_label = collections.Counter(l for _, l, _ in items)
    by_story_label = collections.Counter((s, l) for s, l, _ in items)
    by_story_title = collections.Counter((s, t) for s, _, t in items)
    by_label_title = collections.Counter((l, t) for _, l, t in items)
    by_all = collections.Counter(items)
    by_title = collections.Counter(t for _, _, t in items)
    merged = sum(map(c2, by_story.values()))
    same_label = sum(map(c2, by_label.values()))
    both = sum(map(c2, by_story_label.values()))
    merged_ident = sum(map(c2, by_story_title.values()))
    label_ident = sum(map(c2, by_label_title.values()))
    both_ident = sum(map(c2, by_all.values()))
    return {
        "pairs": c2(len(items)),
        "merged": merged,
        "same_label": same_label,
        "both": both,
        "ni_pairs": c2(len(items)) - sum(map(c2, by_title.values())),
        "ni_merged": merged - merged_ident,
        "ni_same_label": same_label - label_ident,
        "ni_both": both - both_ident,
    }


def norm_title(t: str) -> str:
    return " ".join(t.lower().split())


def run_uci(work: Path) -> dict:
    rows = load_uci()
    by_id = {r["id"]: r for r in rows}
    feeds_dir = work / "feeds"
    feeds_dir.mkdir(parents=True)
    by_pub: dict[str, list[dict]] = collections.defaultdict(list)
    for r in rows:
        by_pub[r["publisher"]].append(r)
    publishers = sorted(by_pub, key=lambda p: (p.lower(), p))
    names = unique_names(publishers)
    files = []
    for i, pub in enumerate(publishers):
        fname = f"p{i:04d}.xml"
        (feeds_dir / fname).write_text(rss_feed(pub, by_pub[pub]), encoding="utf-8")
        files.append(fname)

    runs = []
    with FeedServer(feeds_dir) as server:
        base = f"http://127.0.0.1:{server.port}/"
        sources = [(n, base + f) for n, f in zip(names, files)]
        for i in range(1, RUNS + 1):
            run_dir = work / f"run{i}"
            run_dir.mkdir()
            store_parent = Path(tempfile.mkdtemp(prefix="feedmerge-bench-store-"))
            try:
                config = run_dir / "uci.toml"
                write_config(config, store_parent / "store", sources)
                run_feedmerge(config, "check", timeout=CMD_TIMEOUT)
                started = time.monotonic()
                once = run_feedmerge(config, "once", timeout=ONCE_TIMEOUT)
                once_seconds = time.monotonic() - started
                (run_dir / "once.stdout.txt").write_text(once.stdout, encoding="utf-8")
                (run_dir / "once.stderr.txt").write_text(once.stderr, encoding="utf-8")
                export = run_feedmerge(config, "export", timeout=CMD_TIMEOUT)
                (run_dir / "export.jsonl").write_text(export.stdout, encoding="utf-8")
            finally:
                shutil.rmtree(store_parent, ignore_errors=True)
            result = analyze_uci(rows, by_id, once.stdout, export.stdout)
            result["once_seconds"] = once_seconds
            runs.append(result)
    first = runs[0]
    first["runs"] = runs
    first["publishers"] = len(publishers)
    first["renamed"] = sum(n != p.strip() for n, p in zip(names, publishers))
    first["work"] = work
    return first


def analyze_uci(rows: list[dict], by_id: dict[str, dict], once_stdout: str, export_stdout: str) -> dict:
    summary_lines = once_stdout.strip().splitlines()
    failed_sources = [l for l in summary_lines if l.startswith("FAILED")]
    stories = [json.loads(line) for line in export_stdout.splitlines() if line.strip()]

    items: list[tuple[int, str, str]] = []
    seen_rows: set[str] = set()
    unmapped = []  # copies without a uci- guid we know
    repeated = 0  # rows stored twice
    story_copies: list[tuple[dict, list[tuple[dict, dict]]]] = []  # story, [(copy, row)]
    for s in stories:
        mapped = []
        for c in s.get("copies", []):
            guid = c.get("guid") or ""
            row = by_id.get(guid[4:]) if guid.startswith("uci-") else None
            if row is None:
                unmapped.append(c)
                continue
            if row["id"] in seen_rows:
                repeated += 1
                continue
            seen_rows.add(row["id"])
            mapped.append((c, row))
            items.append((s["id"], row["story"], norm_title(row["title"])))
        if mapped:
            story_copies.append((s, mapped))

    counts = pair_counts(items)

    # Copies per layer, and whether each agrees with its story's majority label.
    layers = ["first", "url", "title", "near"]
    per_layer = {l: {"copies": 0, "agree": 0} for l in layers}
    for s, mapped in story_copies:
        labels = collections.Counter(row["story"] for _, row in mapped)
        earliest = min(mapped, key=lambda cr: (cr[1]["ts"], cr[1]["id"]))[1]["story"]
        top = max(labels.values())
        majority = earliest if labels[earliest] == top else sorted(l for l, n in labels.items() if n == top)[0]
        for c, row in mapped:
            layer = c.get("joined_by", "?")
            slot = per_layer.setdefault(layer, {"copies": 0, "agree": 0})
            slot["copies"] += 1
            slot["agree"] += row["story"] == majority

    # Near joins by similarity: does the copy's label match the story's founding copy's?
    # (Labels cannot show over-merging inside one coarse STORY cluster, so the lowest-scoring
    # joins are also listed for reading.)
    near = []
    for s, mapped in story_copies:
        founders = [cr for cr in mapped if cr[0].get("joined_by") == "first"] or mapped
        founder = min(founders, key=lambda cr: (cr[1]["ts"], cr[1]["id"]))[1]
        for c, row in mapped:
            if c.get("joined_by") == "near" and isinstance(c.get("score"), (int, float)):
                near.append({"score": float(c["score"]), "row": row, "founder": founder,
                             "reason": c.get("reason", ""), "story": s["id"]})
    near.sort(key=lambda x: (x["score"], x["story"], x["row"]["id"]))

    # Stories whose copies span 2+ labels.
    cross = []
    for s, mapped in story_copies:
        labels = {row["story"] for _, row in mapped}
        if len(labels) < 2:
            continue
        # Label noise: every cross-label pair in the story has the same title.
        nonident_cross = 0
        for i, (_, ra) in enumerate(mapped):
            for _, rb in mapped[i + 1:]:
                if ra["story"] != rb["story"] and norm_title(ra["title"]) != norm_title(rb["title"]):
                    nonident_cross += 1
        cross.append({"story": s, "copies": mapped, "labels": labels, "nonident_cross": nonident_cross})
    cross.sort(key=lambda x: (x["nonident_cross"] == 0, -len(x["copies"]), x["story"]["id"]))

    sizes = collections.Counter(len(m) for _, m in story_copies)
    label_titles: dict[str, set[str]] = collections.defaultdict(set)
    for r in rows:
        label_titles[norm_title(r["title"])].add(r["story"])
    spans = collections.defaultdict(list)
    for r in rows:
        spans[r["story"]].append(r["ts"])
    utc = lambda ms: dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {
        "first_ts": utc(min(r["ts"] for r in rows)),
        "last_ts": utc(max(r["ts"] for r in rows)),
        "max_label_span": max((max(v) - min(v)) / 1000 for v in spans.values()),
        "rows": len(rows),
        "labels": len({r["story"] for r in rows}),
        "stories_total": len(stories),
        "stories": len(story_copies),
        "ingested": len(seen_rows),
        "missing": len(rows) - len(seen_rows),
        "unmapped": len(unmapped),
        "repeated": repeated,
        "once_last_line": summary_lines[-1] if summary_lines else "",
        "failed_sources": failed_sources,
        "counts": counts,
        "per_layer": per_layer,
        "cross": cross,
        "near": near,
        "singletons": sizes.get(1, 0),
        "largest": max((len(m) for _, m in story_copies), default=0),
        "titles_in_two_labels": sum(len(v) > 1 for v in label_titles.values()),
    }


def prf(c: dict, prefix: str = "") -> tuple[float | None, float | None]:
    merged, label, both = c[prefix + "merged"], c[prefix + "same_label"], c[prefix + "both"]
    return (both / merged if merged else None, both / label if label else None)


def fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def uci_report(u: dict) -> list[str]:
    c = u["counts"]
    p, r = prf(c)
    np_, nr = prf(c, "ni_")
    out = [
        "## 2. UCI News Aggregator headlines through `once` and `export`",
        "",
        f"Data: `{UCI_CSV}`: {u['rows']} headlines, {u['publishers']} publishers, {u['labels']} STORY "
        f"labels, TIMESTAMPs from {u['first_ts']} to {u['last_ts']}. The TIMESTAMP is when the "
        f"aggregator collected a STORY cluster, not when the article was published: the rows of one "
        f"label lie within {u['max_label_span']:.0f} s of each other at most, so pubDates order the "
        "copies but say little about real publication times. The file's backslash escapes (`\\(blog\\)`, `story\\?track=rss`) "
        "and the `&amp;` in its links are undone before publishing. Each publisher became one RSS 2.0 "
        "feed (`<guid isPermaLink=\"false\">uci-ID</guid>`, title, link = URL, pubDate = TIMESTAMP) "
        f"served from 127.0.0.1; {u['renamed']} source names got a \" (2)\"-style suffix to be unique. "
        "`feedmerge once` polled all of them into a fresh store, `feedmerge export` read it back, and "
        "each copy was mapped to its row by GUID. "
        f"This was done {len(u['runs'])} time(s), each into a fresh store with the same feeds.",
        "",
    ]
    if len(u["runs"]) > 1:
        out += [
            "### Run-to-run variation",
            "",
            "`once` polls the sources concurrently and the single writer ingests their batches in "
            "the order they arrive, which is not fixed; which copies end up in one story depends "
            "on that order (the near layer verifies a candidate against its story's founding "
            "headline, so a different founder accepts different copies). Differences between two "
            "builds smaller than this spread are noise.",
            "",
            "| run | `once` s | stories | merged pairs | precision | recall | precision (non-identical) "
            "| recall (non-identical) | title | near | cross-label stories |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for i, run in enumerate(u["runs"], 1):
            rc = run["counts"]
            rp, rr = prf(rc)
            rnp, rnr = prf(rc, "ni_")
            out.append(
                f"| {i} | {run['once_seconds']:.1f} | {run['stories']} | {rc['merged']} | {fmt(rp)} | {fmt(rr)} "
                f"| {fmt(rnp)} | {fmt(rnr)} | {run['per_layer'].get('title', {}).get('copies', 0)} "
                f"| {run['per_layer'].get('near', {}).get('copies', 0)} | {len(run['cross'])} |"
            )
        out += ["", "Everything below is run 1.", ""]
    out += [
        f"- `once` wall time: **{u['once_seconds']:.1f} s** (`{code(u['once_last_line'])}`)",
        f"- failed sources: {len(u['failed_sources'])}"
        + ("".join(f"\n  - `{code(l)}`" for l in u["failed_sources"][:20])),
        f"- rows ingested: {u['ingested']} / {u['rows']}"
        f" (missing {u['missing']}, copies without a known GUID {u['unmapped']}, rows stored twice {u['repeated']})",
        f"- stories: **{u['stories']}** from {u['ingested']} rows ({u['labels']} STORY labels); "
        f"{u['singletons']} single-copy stories, largest {u['largest']} copies"
        + (f"; export holds {u['stories_total']} stories in all" if u["stories_total"] != u["stories"] else ""),
        "",
    ]
    out += [
        "### Pairwise agreement with the STORY labels",
        "",
        "Over all pairs of ingested entries: a pair is *merged* when both are copies of one story, "
        "*same label* when both rows have the same STORY. Precision = merged and same label / merged; "
        "recall = merged and same label / same label. The STORY clusters are whole news events over "
        "a day or more, so recall against them is expected to be low for a duplicate detector: two "
        "headlines about the same event are not necessarily the same story to a reader.",
        "",
        "| pairs | all pairs | merged | same label | merged & same label | precision | recall |",
        "|---|---|---|---|---|---|---|",
        f"| all | {c['pairs']} | {c['merged']} | {c['same_label']} | {c['both']} | {fmt(p)} | {fmt(r)} |",
        f"| titles not identical (lower-cased) | {c['ni_pairs']} | {c['ni_merged']} | {c['ni_same_label']} | {c['ni_both']} "
        f"| {fmt(np_)} | {fmt(nr)} |",
        "",
        "### Copies by the layer that joined them",
        "",
        "`first` founded its story; the others joined one. *Agrees* = the copy's STORY label is its "
        "story's majority label (ties: the earliest copy's).",
        "",
        "| joined_by | copies | agrees with story label | share |",
        "|---|---|---|---|",
    ]
    for layer, v in u["per_layer"].items():
        out.append(f"| {layer} | {v['copies']} | {v['agree']} | {pct(v['agree'], v['copies'])} |")
    near = u["near"]
    bins = [(0.0, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 1.01)]
    out += [
        "",
        "### Near-duplicate joins by similarity",
        "",
        "*Same label* = the joining copy's STORY label equals that of its story's founding copy. "
        "Because a STORY label covers a whole event, a join inside one label can still be two "
        "different stories to a reader (for instance GM's internal recall review and the "
        "congressional probe): precision against the labels is an upper bound. The lowest-scoring "
        "joins are listed below the table for reading.",
        "",
        "| similarity | near joins | same label | share |",
        "|---|---|---|---|",
    ]
    for lo, hi in bins:
        sel = [x for x in near if lo <= x["score"] < hi]
        same = sum(x["row"]["story"] == x["founder"]["story"] for x in sel)
        label = f"[{lo:.1f}, {min(hi, 1.0):.1f}{']' if hi > 1 else ')'}" if lo > 0 else f"< {hi:.1f}"
        out.append(f"| {label} | {len(sel)} | {same} | {pct(same, len(sel))} |")
    shown = near[:NEAR_SAMPLE]
    out += [
        "",
        f"The {len(shown)} lowest-scoring near joins (of {len(near)}):",
        "",
        "| similarity | joining headline | story's founding headline | same label | reason |",
        "|---|---|---|---|---|",
    ]
    for x in shown:
        out.append(
            f"| {x['score']:.2f} | {md(x['row']['title'])} | {md(x['founder']['title'])} "
            f"| {'yes' if x['row']['story'] == x['founder']['story'] else '**no**'} | {md(x['reason'])} |"
        )
    cross = u["cross"]
    noise = sum(x["nonident_cross"] == 0 for x in cross)
    out += [
        "",
        f"### Stories whose copies span two or more STORY labels ({len(cross)})",
        "",
        "Read these by hand before calling them errors: the dataset's STORY clusters are coarse, "
        f"and {u['titles_in_two_labels']} headlines (lower-cased) appear under two different STORY "
        "labels in this file (e.g. the GM recall coverage is split over two labels), so a merge of "
        "identical titles across labels is label noise more often than a real error. "
        f"{noise} of these {len(cross)} stories only join identical titles across labels; they are "
        "listed last. Stories with differently-worded cross-label copies come first.",
        "",
    ]
    for x in cross:
        s = x["story"]
        out.append(
            f"#### Story {s['id']}: {len(x['copies'])} copies, {len(x['labels'])} labels, "
            f"{x['nonident_cross']} cross-label pairs with different titles"
        )
        out += ["", "| label | source | joined_by | title | reason |", "|---|---|---|---|---|"]
        for copy, row in sorted(x["copies"], key=lambda cr: (cr[1]["story"], cr[1]["ts"])):
            reason = copy.get("reason") or ""
            out.append(
                f"| `{row['story']}` | {md(copy.get('source', ''))} | {copy.get('joined_by', '')} "
                f"| {md(row['title'])} | {md(reason)} |"
            )
        out.append("")
    return out


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strict", action="store_true", help="exit 2 when an STS target fails")
    args = ap.parse_args()

    if not FEEDMERGE.exists():
        print(f"error: no feedmerge binary at {FEEDMERGE} (cargo build --release, or set FEEDMERGE)", file=sys.stderr)
        return 1
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    work = RESULTS_DIR / "dedup-quality-work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)

    global BINARY
    t0 = time.monotonic()
    bin_dir = Path(tempfile.mkdtemp(prefix="feedmerge-bench-bin-"))
    try:
        BINARY, sha = snapshot_binary(bin_dir)
        built = dt.datetime.fromtimestamp(BINARY.stat().st_mtime, tz=dt.timezone.utc)  # copy2 keeps it
        version = binary_version()
        sts = run_sts(work)
        uci = run_uci(work)
    except (HarnessError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(bin_dir, ignore_errors=True)
    total = time.monotonic() - t0

    report = [
        "# feedmerge deduplication quality",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- binary: `{FEEDMERGE}` ({md(version)}), built {built.strftime('%Y-%m-%d %H:%M:%S UTC')}, "
        f"sha256 {sha[:16]}... (a copy taken at start was run, so a rebuild meanwhile does not matter)",
        f"- repository: {git_state()}",
        f"- total harness time: {total:.1f} s; `once` over {uci['publishers']} sources: "
        + ", ".join(f"{r['once_seconds']:.1f} s" for r in uci["runs"]),
        f"- intermediate files (feeds; per run: config, `once` output and log, export): `{work}`",
        "",
    ]
    report += sts_report(sts)
    report += uci_report(uci)
    out_path = RESULTS_DIR / "dedup-quality.md"
    out_path.write_text("\n".join(report) + "\n", encoding="utf-8")

    print(f"STS headlines ({len(sts['pairs'])} pairs, `feedmerge pairs` {sts['seconds']:.1f} s)")
    for split in sts["splits"]:
        cells = "  ".join(
            f"{b}: {sts['table'][split][b]['duplicate']}/{sts['table'][split][b]['total']}"
            f" ({pct(sts['table'][split][b]['duplicate'], sts['table'][split][b]['total'])})"
            for b, _ in BUCKETS
        )
        print(f"  {split:<8} {cells}")
    for split, bucket, desc, d, n, ok in sts["checks"]:
        if split == "overall" or not ok:
            print(f"  {'PASS' if ok else 'FAIL'}  {split} score {bucket}: {desc} ({d}/{n}, {pct(d, n)})")
    print(f"  score <= 2 judged duplicate: {len(sts['false_dups'])}")
    c = uci["counts"]
    p, r = prf(c)
    np_, nr = prf(c, "ni_")
    runs = uci["runs"]
    print(f"UCI headlines ({uci['rows']} rows, {uci['publishers']} feeds; run 1 of {len(runs)}, "
          f"`once` {uci['once_seconds']:.1f} s)")
    print(f"  ingested {uci['ingested']}/{uci['rows']} -> {uci['stories']} stories ({uci['labels']} labels); "
          f"failed sources {len(uci['failed_sources'])}")
    print(f"  pairwise precision {fmt(p)} recall {fmt(r)} (merged {c['merged']}, same label {c['same_label']})")
    print(f"  titles not identical: precision {fmt(np_)} recall {fmt(nr)} (merged {c['ni_merged']})")
    print("  by layer: " + ", ".join(f"{l} {v['copies']}" for l, v in uci["per_layer"].items()))
    print(f"  stories spanning 2+ labels: {len(uci['cross'])}")
    if len(runs) > 1:
        def spread(values, f="{:.3f}"):
            values = [v for v in values if v is not None]
            return f"{f.format(min(values))}..{f.format(max(values))}" if values else "n/a"
        print(f"  over {len(runs)} runs: stories {spread([x['stories'] for x in runs], '{}')}, "
              f"precision {spread([prf(x['counts'])[0] for x in runs])}, "
              f"recall {spread([prf(x['counts'])[1] for x in runs])}, "
              f"non-identical precision {spread([prf(x['counts'], 'ni_')[0] for x in runs])}, "
              f"`once` {spread([x['once_seconds'] for x in runs], '{:.1f}')} s")
    print(f"binary: {FEEDMERGE} (sha256 {sha[:16]}..., built {built.strftime('%H:%M:%S UTC')})")
    print(f"report: {out_path}  ({total:.1f} s)")
    if args.strict and not all(ok for *_, ok in sts["checks"]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
