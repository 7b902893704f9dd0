#!/usr/bin/env python3
"""Opens N idle connections to a running `lore serve` (a third send nothing, a third half
a request head, a third a whole request then sit idle on keep-alive), measures /health
latency while they are open and the time until the server has closed every one of them.

    python3 bench/idle_connections.py http://127.0.0.1:8080 [N]
"""
import socket
import sys
import time
import urllib.request

url = sys.argv[1].rstrip("/")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
host, port = url.split("//")[1].split(":")
start = time.monotonic()
conns = []
for i in range(n):
    s = socket.create_connection((host, int(port)))
    if i % 3 == 1:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    elif i % 3 == 2:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    s.setblocking(False)
    conns.append(s)
health = []
open_ = set(range(n))
closed_at = {}
while open_ and time.monotonic() - start < 60:
    t = time.monotonic()
    with urllib.request.urlopen(url + "/health", timeout=5) as r:
        r.read()
    health.append((time.monotonic() - t) * 1000)
    for i in list(open_):
        try:
            data = conns[i].recv(65536)
            if data == b"":
                open_.discard(i)
                closed_at[i] = time.monotonic() - start
        except BlockingIOError:
            pass
        except OSError:
            open_.discard(i)
            closed_at[i] = time.monotonic() - start
    time.sleep(0.1)
health.sort()
print(f"connections {n}: closed {len(closed_at)}, still open {len(open_)}")
if closed_at:
    print(f"closed after: first {min(closed_at.values()):.1f} s, last {max(closed_at.values()):.1f} s")
print(f"/health while open: {len(health)} requests, p50 {health[len(health)//2]:.1f} ms, max {health[-1]:.1f} ms, all 200")
