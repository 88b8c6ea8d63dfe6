#!/bin/bash
# Runs the full set twice, interleaved, one process at a time.
set -e
cd "$(dirname "$0")"
N=${N:-200000}
: > results.jsonl
for round in 1 2; do
  for e in sled redb fjall; do
    /usr/bin/time -f "{\"round\":$round,\"engine\":\"$e\",\"wall_s\":%e,\"maxrss_kb\":%M}" -a -o time.jsonl \
      ./target/release/engine-spike --engine $e --n $N --dir data | sed "s/^{/{\"round\":$round,/" >> results.jsonl
  done
done
rm -rf data
