"""TA-Lib's indicators of one OHLCV CSV file, as JSON on stdout: the peer that
tests/talib_parity.rs checks `tradpal indicators` against, row for row.

    python3 talib_indicators.py FILE.csv

TA-Lib (PyPI `TA-Lib`, whose wheels bundle the C library) at tradpal's default
parameters: SMA 20, EMA 20, RSI 14, MACD 12/26/9, BBANDS 20/2/2 (simple moving average),
ATR 14. Prints {"talib": version, "rows": n, "columns": {name: [value or null, ...]}}
with tradpal's column names; NaN (TA-Lib's warm-up) is null.
"""
import csv
import json
import math
import sys

import numpy as np
import talib


def main():
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    high, low, close = (np.array([float(r[k]) for r in rows], dtype=np.float64) for k in ("high", "low", "close"))
    line, signal, hist = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    upper, middle, lower = talib.BBANDS(close, timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)
    columns = {
        "sma_20": talib.SMA(close, timeperiod=20),
        "ema_20": talib.EMA(close, timeperiod=20),
        "rsi_14": talib.RSI(close, timeperiod=14),
        "macd_line": line,
        "macd_signal": signal,
        "macd_hist": hist,
        "bb_upper": upper,
        "bb_middle": middle,
        "bb_lower": lower,
        "atr_14": talib.ATR(high, low, close, timeperiod=14),
    }
    out = {
        "talib": talib.__version__,
        "rows": len(rows),
        "columns": {k: [None if math.isnan(x) else float(x) for x in v] for k, v in columns.items()},
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
