#!/usr/bin/env python3
"""The comparison table of scripts/compare-peers.sh, from its log.

Usage: table.py LOG GRID.json. LOG holds the peers' `RESULT {json}` lines
(bench_*.py), one `TRADPAL {json}` line per tradpal run and one `GRID {json}` line.
Prints a Markdown table: per tool the timed part (median), its bars/s, fills, final
equity, and how many times faster tradpal's engine is; then each tool's best run next
to tradpal's best, and the grid's whole process.
With `TALIB {json}` and `TRADPAL_INDICATORS {json}` lines (TALIB=1), a second table:
each indicator's best time on each side (the best of their rounds) and the ratio.
"""
import json
import statistics
import sys


def speed(ratio, digits=1):
    """tradpal next to a peer: "3.2x faster" or "1.6x slower"."""
    return f"{ratio:.{digits}f}x faster" if ratio >= 1 else f"{1 / ratio:.{digits}f}x slower"


def main():
    log, grid_path = sys.argv[1], sys.argv[2]
    peers, ours, grid, indicators = [], [], None, {}
    for line in open(log):
        tag, _, body = line.strip().partition(" ")
        if tag == "RESULT":
            peers.append(json.loads(body))
        elif tag == "TRADPAL":
            ours.append(json.loads(body))
        elif tag == "GRID":
            grid = json.loads(body)
        elif tag in ("TALIB", "TRADPAL_INDICATORS"):
            indicators.setdefault(tag, []).append(json.loads(body))
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
    # A shared machine's load moves single runs a lot (vectorbt's spread 0.21-0.37 s in
    # one sitting): the best runs, side by side, next to the medians above.
    best = min(x["engine_s"] for x in ours)
    bests = [f"{p['framework']} {min(p['runs_s']):.3f} s ({speed(min(p['runs_s']) / best, 2)})" for p in peers if p.get("runs_s")]
    print()
    print(f"Best run against best run: tradpal engine {best:.3f} s ({bars / best:,.0f} bars/s)"
          + "".join(f"; {b}" for b in bests))
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

    if "TALIB" in indicators and "TRADPAL_INDICATORS" in indicators:
        print()
        indicator_table(indicators["TALIB"], indicators["TRADPAL_INDICATORS"])


# TA-Lib's six at its defaults, in bench_talib.py's names (tradpal's line uses the same).
INDICATORS = ["sma_20", "ema_20", "rsi_14", "macd_12_26_9", "bbands_20_2", "atr_14", "all_six"]


def indicator_table(talib_rounds, tradpal_rounds):
    """Best of the rounds per indicator, ms, and tradpal's speed over TA-Lib's."""
    best = lambda rounds, name: min(r[name] for r in rounds)
    t = talib_rounds[0]
    print(f"Indicators over {t['bars']:,} bars, ms (best of {t['runs']} calls, best of "
          f"{len(talib_rounds)} rounds; TA-Lib {t['talib']} through its Python wrapper):")
    print()
    print("| indicator | TA-Lib | tradpal | tradpal is |")
    print("|---|---|---|---|")
    for name in INDICATORS:
        a, b = best(talib_rounds, name), best(tradpal_rounds, name)
        print(f"| {name} | {a:.3f} | {b:.3f} | {speed(a / b, 2)} |")
    for name, what in [("atr_14_candles", "ATR 14 over candles (48 bytes a bar)"), ("compute_all", "compute_all (every column)")]:
        print(f"| {what} | | {best(tradpal_rounds, name):.3f} | |")


if __name__ == "__main__":
    main()
