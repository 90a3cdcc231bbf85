"""One process of the cluster scenario (``bench.scenarios_cluster``): Threadline's own Redis
broker, subscribed to every page, publishing event-sized messages round the pages as fast as
its publisher takes them, and counting what it hears from every process.

``python -m bench.broker_worker URL NODE PAGES SECONDS``: prints ``ready`` once subscribed,
starts on a line on stdin, then prints one JSON line of counts and its CPU seconds."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from server.broker.channels import page_channel
from server.broker.redis import RedisBroker
from server.broker.targets import parse_target

PAYLOAD = b"x" * 200  # about one comment event
QUEUED = 2048  # publish only while the publisher's queue is shorter than this


async def main(url: str, node: str, pages: int, seconds: float) -> None:
    heard = 0
    counting = False

    def on_message(_channel: str, _message: bytes) -> None:
        nonlocal heard
        if counting:
            heard += 1

    async def nothing() -> None:
        return None

    broker = RedisBroker(parse_target(url), node)
    await broker.start(on_message, nothing)
    channels = [page_channel("bench", n) for n in range(pages)]
    for channel in channels:
        await broker.subscribe(channel)
    while not broker.connected:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # every subscription confirmed
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    counting = True
    cpu0, began, n = time.process_time(), time.monotonic(), 0
    outbox = broker._outbox
    while time.monotonic() - began < seconds:
        while len(outbox) < QUEUED:
            await broker.publish(channels[n % pages], PAYLOAD)
            n += 1
        await asyncio.sleep(0)
    sent = n  # (what is still queued goes out in the second below, and is heard)
    await asyncio.sleep(1.0)  # what is in flight arrives
    cpu = time.process_time() - cpu0
    counting = False
    print(json.dumps({"node": node, "sent": sent, "heard": heard, "cpu": cpu}), flush=True)
    await broker.close()


if __name__ == "__main__":
    url, node, pages, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    asyncio.run(main(url, node, pages, seconds))
