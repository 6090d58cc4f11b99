#!/usr/bin/env bash
# How docs/results/exact-eps0.1 was produced (issue 4): time to a PROVEN optimum of the margin
# at eps 0.1 (first MNIST test digit, runner-up target, 600 s per run) on the sweep networks.
# Session of 2026-11-29; 2-core machine, always two solver threads busy (load 2-3).
set -euo pipefail
cd "$(dirname "$0")/../../.."
O=docs/results/exact-eps0.1
# The 18 networks whose default MIP (CROWN + CBC) finished within 600 s in the sweep:
EASY="mlp_1x10 mlp_2x10 mlp_1x20 mlp_3x10 mlp_5x10 mlp_4x10 mlp_2x20 mlp_1x30 mlp_1x40 mlp_3x20 mlp_1x50 mlp_2x30 mlp_4x20 mlp_1x60 mlp_2x40 mlp_2x50 mlp_5x20 mlp_3x30"
# Phase 1, two jobs in parallel (one thread each):
scripts/bench_exact.sh $O 600 "interval crown" $EASY 2> $O/jobA.log &
( scripts/bench_exact.sh $O 600 "bab" $EASY mlp_2x60 mlp_3x40 ) 2> $O/jobB.log &
wait
# Phase 2 (two threads): the portfolio on three hard networks (binary of commit c18d57e: no
# NLP seed, BaB root not cancellable) and on the 18 networks (final binary).
scripts/bench_exact.sh $O 600 "portfolio" mlp_2x60 mlp_3x40 mlp_4x30 2> $O/jobP.log
scripts/bench_exact.sh $O 600 "portfolio" $EASY 2> $O/jobP2.log
python3 scripts/summarise_exact.py $O --sweep docs/results/sweep-eps0.1/results.jsonl
