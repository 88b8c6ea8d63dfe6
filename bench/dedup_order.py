#!/usr/bin/env python3
"""Does clustering depend on poll order? The UCI dev sample ingested under several poll orders
and concurrencies.

Each run publishes the UCI News Aggregator dev sample as one RSS feed per publisher (served from
127.0.0.1 by this script, as `bench/dedup_quality.py` does, whose helpers it reuses), lists the
sources in a different order, sets a different `[poll] concurrency`, runs `feedmerge once`
into a fresh store and reads the stories back with `feedmerge export`. Per run it reports:

- stories, and joins by layer;
- founder pairs kept apart: two stories founded within the dedup window whose founding
  headlines `feedmerge pairs` calls duplicates (the daemon's own rule), split into same outlet
  (a source's own repeat; apart on purpose when more than 12 h apart) and different outlets;
- pairwise precision against the dataset's STORY labels.

Then the spread of story counts between runs (max - min). Targets (issue 24): founder pairs
kept apart 0, spread 0, precision >= 0.97.

Reads ../shared/corpora (CORPORA_DIR); writes $RESULTS_DIR/dedup-order.md (default
bench/results/). FEEDMERGE names the binary (default target/release/feedmerge, else debug).
ORDER_RUNS=N runs only the first N orders. Standard library only; only 127.0.0.1 is used.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_quality as dq  # noqa: E402  (the shared harness: binary, feeds, server, analysis)

# (name, source order, concurrency): at least five orders and concurrencies.
RUNS = [
    ("sorted, 32 at once", "sorted", 32),
    ("reversed, 32 at once", "reversed", 32),
    ("shuffled (seed 1), 8 at once", 1, 8),
    ("shuffled (seed 2), one at a time", 2, 1),
    ("shuffled (seed 3), 64 at once", 3, 64),
    ("shuffled (seed 4), 4 at once", 4, 4),
]
# ORDER_RUNS=N runs only the first N (a quick look; the figures need all).
RUNS = RUNS[: max(1, int(__import__("os").environ.get("ORDER_RUNS", len(RUNS))))]
WINDOW_HOURS = 48
SAME_OUTLET_HOURS = 12
WORD = re.compile(r"[a-z0-9]+")
STOP = set("the a an and or of to in on for with at by from as is are was were be after over new says".split())


def words(title: str) -> set[str]:
    return {w for w in WORD.findall(title.lower()) if len(w) > 2 and w not in STOP}


def clean(title: str) -> str:
    """A headline as one field of a `pairs` line."""
    return " ".join(title.split())


def parse_time(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def founders(stories: list[dict]) -> list[dict]:
    out = []
    for s in stories:
        copies = s.get("copies", [])
        first = [c for c in copies if c.get("joined_by") == "first"] or copies
        if not first:
            continue
        c = min(first, key=lambda c: c.get("published", ""))
        out.append({"story": s["id"], "title": c.get("title", ""), "source": c.get("source", ""),
                    "t": parse_time(c["published"])})
    return out


def founder_pairs_apart(config: Path, stories: list[dict]) -> dict:
    """Founder pairs within the window sharing two or more words, judged by `pairs`."""
    f = founders(stories)
    by_word = collections.defaultdict(list)
    for i, x in enumerate(f):
        x["words"] = words(x["title"])
        for w in x["words"]:
            by_word[w].append(i)
    shared = collections.Counter()
    for ids in by_word.values():
        if len(ids) > 200:  # a word in hundreds of headlines says nothing on its own
            continue
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                shared[(ids[a], ids[b])] += 1
    candidates = [
        (a, b) for (a, b), n in shared.items()
        if n >= 2 and abs(f[a]["t"] - f[b]["t"]) <= WINDOW_HOURS * 3600
    ]
    lines = "".join(f"{clean(f[a]['title'])}\t{clean(f[b]['title'])}\n" for a, b in candidates)
    verdicts = dq.run_feedmerge(config, "pairs", timeout=dq.CMD_TIMEOUT, stdin=lines).stdout.splitlines()
    out = {"candidates": len(candidates), "same_outlet": [], "same_outlet_far": 0, "other": []}
    for (a, b), v in zip(candidates, verdicts):
        if not v.startswith("duplicate"):
            continue
        pair = (f[a]["title"], f[b]["title"], f[a]["source"], f[b]["source"],
                abs(f[a]["t"] - f[b]["t"]) / 60)
        if f[a]["source"] == f[b]["source"]:
            if pair[4] > SAME_OUTLET_HOURS * 60:
                out["same_outlet_far"] += 1
            else:
                out["same_outlet"].append(pair)
        else:
            out["other"].append(pair)
    return out


def judge(config: Path, items: list[dict], pairs: list[tuple[int, int]]) -> list[bool]:
    """Whether `feedmerge pairs` (the daemon's own rule) calls each pair of headlines duplicates."""
    lines = "".join(f"{clean(items[a]['title'])}\t{clean(items[b]['title'])}\n" for a, b in pairs)
    out = dq.run_feedmerge(config, "pairs", timeout=dq.CMD_TIMEOUT, stdin=lines).stdout.splitlines()
    return [v.startswith("duplicate") for v in out]


def unjoinable_inside(config: Path, stories: list[list[dict]]) -> tuple[int, int]:
    """Pairs of copies inside one story that the rule would not join directly (it calls them
    apart, or they share fewer than two content words), and all pairs inside stories. A
    founder-based story holds copies that each match the founder; a chain holds pairs that
    match nothing in common."""
    items, pairs, total, unjoinable = [], [], 0, 0
    for copies in stories:
        base = len(items)
        items += copies
        for a in range(len(copies)):
            for b in range(a + 1, len(copies)):
                total += 1
                if len(words(copies[a]["title"]) & words(copies[b]["title"])) >= 2:
                    pairs.append((base + a, base + b))
                else:
                    unjoinable += 1
    unjoinable += sum(not v for v in judge(config, items, pairs))
    return unjoinable, total


def single_linkage(config: Path, rows: list[dict]) -> dict:
    """The reference clustering order cannot change: every two headlines the rule calls
    duplicates (within the window; an outlet's own within 12 h), or with one link, are one
    story, and so are their stories (connected components)."""
    items = [{"title": r["title"], "source": r["publisher"], "t": r["ts"] / 1000} for r in rows]
    by_word = collections.defaultdict(list)
    for i, x in enumerate(items):
        for w in words(x["title"]):
            by_word[w].append(i)
    shared = collections.Counter()
    for ids in by_word.values():
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                shared[(ids[a], ids[b])] += 1
    pairs = []
    for (a, b), n in shared.items():
        hours = SAME_OUTLET_HOURS if items[a]["source"] == items[b]["source"] else WINDOW_HOURS
        if n >= 2 and abs(items[a]["t"] - items[b]["t"]) <= hours * 3600:
            pairs.append((a, b))
    parent = list(range(len(items)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (a, b), dup in zip(pairs, judge(config, items, pairs)):
        if dup:
            parent[max(find(a), find(b))] = min(find(a), find(b))
    first_of_url: dict[str, int] = {}
    for i, r in enumerate(rows):
        j = first_of_url.setdefault(r["url"], i)
        parent[max(find(i), find(j))] = min(find(i), find(j))
    comps = collections.defaultdict(list)
    for i in range(len(items)):
        comps[find(i)].append(i)
    same = other = 0
    for c in comps.values():
        for a in range(len(c)):
            for b in range(a + 1, len(c)):
                if rows[c[a]]["story"] == rows[c[b]]["story"]:
                    same += 1
                else:
                    other += 1
    largest = max(comps.values(), key=len)
    return {
        "stories": len(comps),
        "precision": same / (same + other) if same + other else None,
        "largest": [items[i]["title"] for i in largest],
        "unjoinable": unjoinable_inside(config, [[items[i] for i in c] for c in comps.values()]),
    }


def ordered(sources: list, how) -> list:
    if how == "sorted":
        return list(sources)
    if how == "reversed":
        return list(reversed(sources))
    s = list(sources)
    random.Random(how).shuffle(s)
    return s


def main() -> int:
    results_dir = dq.env_path("RESULTS_DIR", dq.REPO / "bench" / "results")
    results_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="feedmerge-dedup-order-"))
    try:
        dq.BINARY, sha = dq.snapshot_binary(work)
        rows = dq.load_uci()
        by_id = {r["id"]: r for r in rows}
        by_pub = collections.defaultdict(list)
        for r in rows:
            by_pub[r["publisher"]].append(r)
        publishers = sorted(by_pub, key=lambda p: (p.lower(), p))
        names = dq.unique_names(publishers)
        feeds = work / "feeds"
        feeds.mkdir()
        for i, pub in enumerate(publishers):
            (feeds / f"p{i:04d}.xml").write_text(dq.rss_feed(pub, by_pub[pub]), encoding="utf-8")
        results = []
        with dq.FeedServer(feeds) as server:
            base = f"http://127.0.0.1:{server.port}/"
            sources = [(n, f"{base}p{i:04d}.xml") for i, n in enumerate(names)]
            for label, how, concurrency in RUNS:
                dq.CONCURRENCY = concurrency
                run = work / f"run{len(results)}"
                run.mkdir()
                config = run / "uci.toml"
                dq.write_config(config, run / "store", ordered(sources, how))
                started = time.monotonic()
                once = dq.run_feedmerge(config, "once", timeout=dq.ONCE_TIMEOUT)
                seconds = time.monotonic() - started
                export = dq.run_feedmerge(config, "export", timeout=dq.CMD_TIMEOUT).stdout
                stories = [json.loads(l) for l in export.splitlines() if l.strip()]
                analysis = dq.analyze_uci(rows, by_id, once.stdout, export)
                precision, _ = dq.prf(analysis["counts"])
                apart = founder_pairs_apart(config, stories)
                inside = unjoinable_inside(config, [s.get("copies", []) for s in stories])
                layers = collections.Counter(
                    c.get("joined_by") for s in stories for c in s.get("copies", []))
                results.append({"label": label, "stories": len(stories), "layers": layers,
                                "precision": precision, "apart": apart, "seconds": seconds,
                                "inside": inside, "largest": max(len(s.get("copies", [])) for s in stories)})
                print(f"{label}: {len(stories)} stories, founder pairs apart: "
                      f"{len(apart['same_outlet'])} same outlet, {len(apart['other'])} other outlets "
                      f"(of {apart['candidates']} judged), precision {dq.fmt(precision)}, pairs inside stories the rule would not join: {inside[0]} of {inside[1]}, `once` {seconds:.1f} s",
                      flush=True)
        linkage = single_linkage(config, rows)
        print(f"single linkage: {linkage['stories']} stories, precision {dq.fmt(linkage['precision'])}, "
              f"largest {len(linkage['largest'])} copies, pairs inside a story the rule would not join: "
              f"{linkage['unjoinable'][0]} of {linkage['unjoinable'][1]}", flush=True)
    except dq.HarnessError as e:
        print(f"dedup_order: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    counts = [r["stories"] for r in results]
    spread = max(counts) - min(counts)
    lines = [
        "# Dedup order independence (UCI dev sample)",
        "",
        f"binary: `{dq.BINARY.name}` sha256 {sha[:16]}..., repository {dq.git_state()}",
        "",
        "| run | stories | first | url | title | near | founder pairs apart: same outlet (≤ 12 h) | other outlets | precision | largest story | pairs inside stories the rule would not join | `once` s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        l = r["layers"]
        lines.append(
            f"| {r['label']} | {r['stories']} | {l['first']} | {l['url']} | {l['title']} | {l['near']} "
            f"| {len(r['apart']['same_outlet'])} | {len(r['apart']['other'])} | {dq.fmt(r['precision'])} "
            f"| {r['largest']} | {r['inside'][0]} of {r['inside'][1]} | {r['seconds']:.1f} |")
    lines += ["", f"Spread of story counts between runs: **{spread}** ({min(counts)}..{max(counts)}).", ""]
    lines += [
        "## The order-free reference: single linkage",
        "",
        "Every two headlines the rule calls duplicates, and their stories, made one (connected "
        "components over all pairs, computed from the data, not by the daemon): "
        f"{linkage['stories']} stories, precision {dq.fmt(linkage['precision'])}, largest "
        f"{len(linkage['largest'])} copies, pairs inside a story the rule would not join: "
        f"{linkage['unjoinable'][0]} of {linkage['unjoinable'][1]}.",
        "",
        "Its largest story (first 20 headlines):",
        "",
    ] + [f"- {dq.md(t)}" for t in linkage["largest"][:20]] + [""]
    lines += ["## Founder pairs kept apart (first run)", ""]
    for title_a, title_b, src_a, src_b, minutes in (results[0]["apart"]["same_outlet"] + results[0]["apart"]["other"])[:80]:
        lines.append(f"- {dq.md(title_a)} ({dq.md(src_a)}) / {dq.md(title_b)} ({dq.md(src_b)}), {minutes:.0f} min apart")
    (results_dir / "dedup-order.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"spread of story counts: {spread} ({min(counts)}..{max(counts)})")
    print(f"report: {results_dir / 'dedup-order.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
