#!/usr/bin/env bash
# bench/mutants.sh -- cargo mutants over the code whose behaviour the tests must pin: config,
# redirects, retention, the dedup thresholds and the server's conditional/negotiation code.
# docs/TESTING.md has the last run's figures and every survivor with its verdict.
#
# Each group is one `cargo mutants` run, in this order (MUTANT_GROUPS to choose):
#   retention   src/store/prune.rs
#   serve       src/serve/negotiate.rs
#   thresholds  src/dedup/similar.rs, the similarity verdict (may_join, compare, overlap, jaccard, Verdict)
#   thresholds-rest  the part of `thresholds` from `compare` line 112 on (the min_words, summary
#               and related branches), for finishing a stopped `thresholds` run
#   config      src/config/{secret,mod,rules,watch,error}.rs
#   redirects   src/fetch/redirect.rs
#   guards      src/dedup/similar.rs, the guards (guard, events, join)
#   validate    src/config/validate.rs
#   fetch       src/fetch/mod.rs
# Tests: the library's unit tests (`cargo test --lib`, ~10 s a mutant after a ~30 s build on
# 2 cores). TESTS=all adds the integration binary (real daemon, origins; ~2 min a mutant):
# many config, fetch and redirect behaviours are pinned only there, so a lib-only survivor
# in those groups is checked by hand against tests/ before it counts (see TESTING.md).
#
# Usage: bench/mutants.sh            (every group; hours on 2 cores)
#        MUTANT_GROUPS="retention serve" bench/mutants.sh
#        MUTANTS_ARGS="--shard 0/2" MUTANT_GROUPS=fetch bench/mutants.sh   (extra cargo mutants args)
# Outputs go to OUT (default /tmp/fm-mutants/<group>/mutants.out/: outcomes.json, caught.txt,
# missed.txt, timeout.txt, unviable.txt). IN_PLACE=1 mutates the checkout itself (reusing its
# target/, so no dependency build; do not edit src/ meanwhile; cargo mutants restores each
# file after its mutant and on Ctrl-C).
# Needs: cargo install cargo-mutants --locked (27.1.0 was used).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
OUT="${OUT:-/tmp/fm-mutants}"
MUTANT_GROUPS="${MUTANT_GROUPS:-retention serve thresholds config redirects guards validate fetch}"
TIMEOUT="${TIMEOUT:-120}"
TESTS="${TESTS:-lib}"
IN_PLACE="${IN_PLACE:-0}"

command -v cargo-mutants >/dev/null || { echo "cargo install cargo-mutants --locked" >&2; exit 2; }

# Interrupted (Ctrl-C, `timeout -s INT`): cargo mutants restores the source and exits; stop
# here rather than go on to the next group.
trap 'exit 130' INT TERM

common=(--timeout "$TIMEOUT" --build-timeout 600 --baseline skip --no-shuffle)
# One mutant at a time (2 cores); in place there is only one tree anyway.
if [[ "$IN_PLACE" == 1 ]]; then common+=(--in-place); else common+=(--jobs 1); fi
# As cargo args (-C), not test args: cargo mutants' build step (`cargo test --no-run`) then
# builds only these test targets, not the binary and the integration binary each mutant.
case "$TESTS" in
  lib) test_args=(-C --lib) ;;
  all) test_args=(-C --lib -C --test -C integration) ;;
  *) echo "TESTS is lib or all" >&2; exit 2 ;;
esac

for group in $MUTANT_GROUPS; do
  case "$group" in
    retention)  sel=(-f src/store/prune.rs) ;;
    serve)      sel=(-f src/serve/negotiate.rs) ;;
    thresholds) sel=(-f src/dedup/similar.rs --re 'may_join|compare|overlap|jaccard|Verdict') ;;
    thresholds-rest)
                sel=(-f src/dedup/similar.rs --re 'similar\.rs:(11[2-9]|1[2-9][0-9]):.* in compare$') ;;
    config)     sel=(-f src/config/secret.rs -f src/config/mod.rs -f src/config/rules.rs
                     -f src/config/watch.rs -f src/config/error.rs) ;;
    redirects)  sel=(-f src/fetch/redirect.rs) ;;
    guards)     sel=(-f src/dedup/similar.rs --re '(in|replace) (guard|events|join)( |$)') ;;
    validate)   sel=(-f src/config/validate.rs) ;;
    fetch)      sel=(-f src/fetch/mod.rs) ;;
    *) echo "unknown group $group" >&2; exit 2 ;;
  esac
  mkdir -p "$OUT/$group"
  echo "== $group: $(cargo mutants --list "${sel[@]}" | wc -l) mutants" >&2
  # Exit 2 means some mutants were missed, 3 some timed out: the outcome files say which.
  # shellcheck disable=SC2086 # MUTANTS_ARGS is split on purpose
  cargo mutants "${common[@]}" "${sel[@]}" ${MUTANTS_ARGS:-} "${test_args[@]}" -o "$OUT/$group" \
    || true
done
