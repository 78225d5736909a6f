"""backtesting.py's SmaCross on a candle CSV: the peer tests/peer_parity.rs compares
TradPal's sma_cross (entry=cross) with. Prints the closed trades as JSON.

usage: backtesting_sma_cross.py FILE.csv FAST SLOW CASH [QUANTITY]
Without QUANTITY each order uses backtesting.py's default size (99.99% of equity, whole
units); with it, QUANTITY units. No commission, no spread, orders fill at the next open.
"""
import json
import sys
import warnings

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

warnings.filterwarnings("ignore")

path, fast, slow, cash = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
quantity = int(sys.argv[5]) if len(sys.argv) > 5 else None

df = pd.read_csv(path, parse_dates=["timestamp"], index_col="timestamp")
df = df.rename(columns=str.capitalize)


def sma(values, n):
    return pd.Series(values).rolling(n).mean()


class SmaCross(Strategy):
    def init(self):
        self.fast = self.I(sma, self.data.Close, fast)
        self.slow = self.I(sma, self.data.Close, slow)

    def next(self):
        kw = {} if quantity is None else {"size": quantity}
        if crossover(self.fast, self.slow):
            self.position.close()
            self.buy(**kw)
        elif crossover(self.slow, self.fast):
            self.position.close()
            self.sell(**kw)


bt = Backtest(df, SmaCross, cash=cash, commission=0.0, spread=0.0, trade_on_close=False, hedging=False, exclusive_orders=False)
stats = bt.run()
trades = stats["_trades"]
out = [
    {
        "side": "buy" if row.Size > 0 else "sell",
        "size": abs(int(row.Size)),
        "entry_time": row.EntryTime.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "exit_time": row.ExitTime.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entry_price": float(row.EntryPrice),
        "exit_price": float(row.ExitPrice),
        "pnl": float(row.PnL),
    }
    for row in trades.itertuples()
]
print(json.dumps({"trades": out, "final_equity": float(stats["Equity Final [$]"])}))
