#!/usr/bin/env python3
"""Deduplication against the bench feed farm's ground truth.

Serves N feeds of the shared farm (`../shared/bench/gen_farm.py` output, default
/tmp/rssbench/farm) from a ThreadingHTTPServer on 127.0.0.1:0, polls them once with the real
binary into a fresh store, exports it, and compares every stored copy with the farm's
`truth.jsonl`: how many copies joined a story whose founding copy is a different farm story
("wrong joins", by layer), how many true cross-feed duplicates were caught, and examples.

The farm's headlines are built from a small template vocabulary ("<actor> <verb> <object>
<qualifier>"), so different stories differ by one word far more often than real news does; its
truth also counts "X rejects Y" and "Q&A: X rejects Y in Kraków" as different stories.
Standard library only; every subprocess has a timeout.

    FARM_DIR=/tmp/rssbench/farm N=1000 python3 bench/farm_dedup.py
"""
import collections
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FARM = Path(os.environ.get("FARM_DIR", "/tmp/rssbench/farm"))
N = int(os.environ.get("N", "1000"))
BIN = Path(os.environ.get("FEEDMERGE", ROOT / "target/release/feedmerge"))


def main() -> int:
    if not (FARM / "truth.jsonl").exists():
        print(f"no farm at {FARM}: run ../shared/bench/gen_farm.py --n 1000 first", file=sys.stderr)
        return 1
    urls = (FARM / f"urls-{N}.txt").read_text().split()
    paths = ["/" + u.split("/", 3)[3] for u in urls]
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(FARM))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    with tempfile.TemporaryDirectory(prefix="feedmerge-farm-") as work:
        config = Path(work) / "farm.toml"
        lines = [f'[store]\npath = "{work}/store"\n[poll]\nconcurrency = 8\nper_host = 8\n'
                 'min_interval = "1s"\n[server]\nlisten = "127.0.0.1:0"\n']
        for i, p in enumerate(paths):
            lines.append(f'[[source]]\nname = "f{i:05}"\nurl = "http://127.0.0.1:{port}{p}"\n')
        config.write_text("".join(lines))
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        subprocess.run([BIN, "once", "--config", config], check=True, timeout=900, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        exported = subprocess.run([BIN, "export", "--config", config], check=True, timeout=300,
                                  env=env, capture_output=True, text=True).stdout
    server.shutdown()
    truth, by_link = {}, {}
    for line in (FARM / "truth.jsonl").open():
        t = json.loads(line)
        if t["feed"] < N:
            truth[(t["feed"], t["guid"] or t["link"])] = t
            by_link[(t["feed"], t["link"])] = t
    dup_items = len(truth) - len({t["story"] for t in truth.values()})
    stories = copies = wrong = right = 0
    layers, wrong_layers, examples = collections.Counter(), collections.Counter(), []
    for line in exported.splitlines():
        story = json.loads(line)
        stories += 1
        labels = []
        for c in story["copies"]:
            copies += 1
            feed = int(c["source_url"].rsplit("/", 1)[1].split(".")[0])
            t = truth.get((feed, c.get("guid"))) or by_link.get((feed, c.get("link")))
            if t:
                labels.append((t["story"], c))
        for label, c in labels[1:]:
            layers[c["joined_by"]] += 1
            if label != labels[0][0]:
                wrong += 1
                wrong_layers[c["joined_by"]] += 1
                if len(examples) < 25:
                    examples.append(f"  {labels[0][1]['title']!r} / {c['title']!r}: {c['joined_by']}, {c['reason']}")
            else:
                right += 1
    print(f"farm N={N}: {copies} items, {len(truth) - dup_items} true stories, {dup_items} true duplicates")
    print(f"stored {stories} stories; joins {right + wrong}: right {right} "
          f"(recall {right / max(dup_items, 1):.3f}), wrong {wrong} (precision {right / max(right + wrong, 1):.3f})")
    print(f"joins by layer {dict(layers)}; wrong by layer {dict(wrong_layers)}")
    print("first wrong joins (founding copy / joined copy):")
    print("\n".join(examples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
