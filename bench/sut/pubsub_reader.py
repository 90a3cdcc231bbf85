"""L1 reference: how many messages per second one Python process takes off Redis pub/sub
(a lean hiredis reader, the same parser Threadline uses). Prints "subscribed", then
"RATE COUNT" after COUNT messages or 30 s.  Run: python -m bench.sut.pubsub_reader PORT N"""

from __future__ import annotations

import asyncio
import sys
import time

import hiredis


async def main(port: int, total: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"*2\r\n$9\r\nSUBSCRIBE\r\n$8\r\nbench:l1\r\n")
    parser = hiredis.Reader()
    count = 0
    started = 0.0
    deadline = time.monotonic() + 60
    announced = False
    while count < total and time.monotonic() < deadline:
        try:
            data = await asyncio.wait_for(reader.read(1 << 20), 30)
        except TimeoutError:
            break
        if not data:
            break
        parser.feed(data)
        while (msg := parser.gets()) is not False:
            if msg[0] == b"subscribe" and not announced:
                print("subscribed", flush=True)
                announced = True
            elif msg[0] == b"message":
                if count == 0:
                    started = time.monotonic()
                count += 1
    elapsed = max(time.monotonic() - started, 1e-6)
    print(f"{count / elapsed:.0f} {count}", flush=True)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2])))
