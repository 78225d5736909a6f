#!/usr/bin/env python3
"""The comparison table of scripts/compare-peers.sh, from its log.

Usage: table.py LOG GRID.json. LOG holds the peers' `RESULT {json}` lines
(bench_*.py), one `TRADPAL {json}` line per tradpal run and one `GRID {json}` line.
Prints a Markdown table: per tool the timed part (median), its bars/s, fills, final
equity, and how many times faster tradpal's engine is; then the grid's whole process.
"""
import json
import statistics
import sys


def speed(ratio):
    """tradpal's engine next to a peer: "3.2x faster" or "1.6x slower"."""
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def main():
    log, grid_path = sys.argv[1], sys.argv[2]
    peers, ours, grid = [], [], None
    for line in open(log):
        tag, _, body = line.strip().partition(" ")
        if tag == "RESULT":
            peers.append(json.loads(body))
        elif tag == "TRADPAL":
            ours.append(json.loads(body))
        elif tag == "GRID":
            grid = json.loads(body)
    if not ours:
        sys.exit("no tradpal run in the log")
    bars = ours[0]["bars"]
    engine = statistics.median(r["engine_s"] for r in ours)
    process = statistics.median(r["process_s"] for r in ours)
    ours_rate = bars / engine
    print("| tool | timed part | median s | bars/s | fills | final equity | tradpal engine is |")
    print("|---|---|---|---|---|---|---|")
    for p in peers:
        extra = f" (+ {p['first_run_s']:.1f} s first run / JIT)" if "first_run_s" in p else ""
        name = f"{p['framework']} {p['version']}"
        print(f"| {name} | run, CSV load excluded{extra} | {p['run_s_median']:.3f} | {p['bars_per_s']:,.0f} | "
              f"{p['trades']:,} | {p['final_equity']:,.2f} | {speed(ours_rate / p['bars_per_s'])} |")
    r = ours[-1]
    print(f"| tradpal (event-driven engine) | engine run | {engine:.3f} | {ours_rate:,.0f} | {r['fills']:,} | "
          f"{r['final_equity']:,.2f} | 1.0x |")
    print(f"| tradpal, whole process | CSV load, run, metrics, JSON | {process:.3f} | {bars / process:,.0f} | "
          f"{r['fills']:,} | {r['final_equity']:,.2f} | |")
    if grid is not None:
        report = json.load(open(grid_path))
        trials = report.get("trials", "?")  # the number of points scored
        points = len(trials) if isinstance(trials, list) else trials
        bt = next((p for p in peers if p["framework"] == "backtesting.py"), None)
        vs = f"; one backtesting.py run: {bt['run_s_median']:.1f} s + {bt['load_s']:.1f} s load" if bt else ""
        print()
        search = report.get("elapsed_seconds")
        search = f", of which the search {search:.2f} s" if isinstance(search, (int, float)) else ""
        print(f"100-point sma_cross grid (tradpal optimize, whole process, {points} points): "
              f"{grid['process_s']:.2f} s{search}{vs}")


if __name__ == "__main__":
    main()
