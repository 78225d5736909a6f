"""An outside producer, as a user would write it with nats-py: publishes candles to
TradPal over JetStream and survives both ends restarting.

    python3 produce_candles.py NATS_URL[,NATS_URL...] SYMBOL_TOKEN TOTAL [PER_MESSAGE]

Publishes TOTAL one-minute candles on tradpal.md.candle.{SYMBOL_TOKEN}.1m, PER_MESSAGE
(default 100) to a message as a JSON array, each message with a Nats-Msg-Id so a retry
after a lost ack is dropped by JetStream. A publish that fails (nats-server down, no
ack in time) is retried with the same id until it is acknowledged. Prints
"published N" after each acknowledged message (the test driving it kills things at
given points) and "done" at the end.
"""

import asyncio
import json
import sys

import nats
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def candle(i):
    p = 100.0 + (i % 50) * 0.5
    return {"timestamp": T0_MS + i * 60_000, "open": p, "high": p + 1.0, "low": p - 1.0, "close": p + 0.25, "volume": 10.0}


async def main():
    url, token, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    per = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    nc = await nats.connect(url.split(","), max_reconnect_attempts=-1, reconnect_time_wait=0.1, allow_reconnect=True)
    js = nc.jetstream(timeout=2.0)
    subject = f"tradpal.md.candle.{token}.1m"
    for start in range(0, total, per):
        payload = json.dumps([candle(i) for i in range(start, min(start + per, total))]).encode()
        msg_id = f"{token}-1m-{start}"
        while True:
            try:
                await js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})
                break
            # nats.errors.Error: the base of every client error (a server of a cluster
            # dying mid-request surfaces as several kinds); the id makes a retry safe.
            except (NatsTimeout, NoRespondersError, nats.errors.Error, nats.js.errors.APIError, OSError) as e:
                print(f"retry {msg_id}: {type(e).__name__}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.1)
        print(f"published {min(start + per, total)}", flush=True)
    print("done", flush=True)
    await nc.close()


asyncio.run(main())
