"""TA-Lib's speed on the peers' workload, for the "as fast as TA-Lib" indicator target.

    python bench_talib.py [RUNS] [BARS]

RUNS (default 20): timed calls per indicator; the best is reported (the machine is
shared, the minimum is the least disturbed). BARS (default: every row): only the first
BARS rows, e.g. 1000000 to line up with `cargo bench -p tradpal-actors --bench
market_data` (1,000,000 bars). Needs numpy and TA-Lib (`pip install numpy TA-Lib`:
recent wheels bundle the C library). Optional part of scripts/compare-peers.sh
(TALIB=1).

Each indicator at tradpal's default parameters (SMA 20, EMA 20, RSI 14, MACD 12/26/9,
BBANDS 20/2/2, ATR 14) on the workload's closes (ATR: high, low, close), float64 arrays
made contiguous before timing, so only the C loops and their output arrays are timed.
Prints one `TALIB {...}` JSON line with milliseconds per indicator.
"""
import json
import sys
import time

import numpy as np
import talib

from common import csv_path


def load(bars):
    # Columns open, high, low, close (the timestamp and volume are not needed).
    data = np.loadtxt(csv_path("full"), delimiter=",", skiprows=1, usecols=(2, 3, 4), dtype=np.float64)
    if bars:
        data = data[:bars]
    high, low, close = (np.ascontiguousarray(data[:, i]) for i in range(3))
    return high, low, close


def best_ms(fn, runs):
    fn()  # first call: page faults, lazy set-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(min(times) * 1e3, 3)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    bars = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    high, low, close = load(bars)
    cases = {
        "sma_20": lambda: talib.SMA(close, timeperiod=20),
        "ema_20": lambda: talib.EMA(close, timeperiod=20),
        "rsi_14": lambda: talib.RSI(close, timeperiod=14),
        "macd_12_26_9": lambda: talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9),
        "bbands_20_2": lambda: talib.BBANDS(close, timeperiod=20, nbdevup=2, nbdevdn=2, matype=0),
        "atr_14": lambda: talib.ATR(high, low, close, timeperiod=14),
    }
    result = {"talib": talib.__version__, "bars": len(close), "runs": runs}
    result.update({name: best_ms(fn, runs) for name, fn in cases.items()})
    result["all_six"] = round(sum(result[name] for name in cases), 3)
    print("TALIB " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
