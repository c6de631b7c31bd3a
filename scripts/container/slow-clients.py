#!/usr/bin/env python3
"""Slow clients against the proxy: N TLS connections that send a request's headers one byte a second, while a
normal client asks for /health/live every half second. Prints one JSON line: how many slow connections were
opened, how many the proxy closed (and after how long), and the normal client's answers and latencies.

  slow-clients.py HOST PORT CAFILE SERVER_NAME [N] [SECONDS]
"""
import asyncio
import json
import ssl
import sys
import time


async def slow(host, port, ctx, name, seconds, opened, closed):
    try:
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=name)
    except OSError:
        return
    opened.append(1)
    start = time.monotonic()
    request = f"GET /health/live HTTP/1.1\r\nHost: {name}\r\nX-Slow: {'a' * 64}\r\n".encode()
    try:
        for i in range(seconds):
            writer.write(request[i % len(request) : i % len(request) + 1])
            await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(1), 1.0)
                if data == b"" or data:
                    closed.append(time.monotonic() - start)
                    return
            except asyncio.TimeoutError:
                pass
    except (ConnectionError, ssl.SSLError, OSError):
        closed.append(time.monotonic() - start)
        return
    finally:
        writer.close()


async def normal(host, port, ctx, name, seconds, answers):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=ctx, server_hostname=name), 5
            )
            writer.write(f"GET /health/live HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            status = (await asyncio.wait_for(reader.readline(), 5)).decode().split(" ")[1]
            writer.close()
        except (OSError, asyncio.TimeoutError, IndexError, ssl.SSLError) as e:
            status = type(e).__name__
        answers.append((status, round((time.monotonic() - start) * 1000, 1)))
        await asyncio.sleep(0.5)


async def main():
    host, port, cafile, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 1100
    seconds = int(sys.argv[6]) if len(sys.argv) > 6 else 30
    ctx = ssl.create_default_context(cafile=cafile)
    opened, closed, answers = [], [], []
    slow_tasks = []
    for i in range(n):
        slow_tasks.append(asyncio.create_task(slow(host, port, ctx, name, seconds, opened, closed)))
        if i % 100 == 99:
            await asyncio.sleep(0.2)
    await normal(host, port, ctx, name, seconds, answers)
    await asyncio.gather(*slow_tasks)
    latencies = sorted(ms for status, ms in answers if status == "200")
    print(json.dumps({
        "slow_opened": len(opened),
        "slow_closed_by_proxy": len(closed),
        "closed_after_s_max": round(max(closed), 1) if closed else None,
        "normal_requests": len(answers),
        "normal_ok": len(latencies),
        "normal_failures": [a for a in answers if a[0] != "200"][:5],
        "normal_p50_ms": latencies[len(latencies) // 2] if latencies else None,
        "normal_max_ms": latencies[-1] if latencies else None,
    }))


asyncio.run(main())
