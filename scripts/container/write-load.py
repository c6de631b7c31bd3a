#!/usr/bin/env python3
"""A write load through the proxy: THREADS clients creating recipes for SECONDS, each with its own
Idempotency-Key. Prints one JSON line: every answer as (seconds since start, HTTP status, recipe id or code).

  write-load.py URL CAFILE TOKEN [THREADS] [SECONDS]
"""
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

url, cafile, token = sys.argv[1], sys.argv[2], sys.argv[3]
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 4
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 20
ctx = ssl.create_default_context(cafile=cafile)
start = time.monotonic()
answers = []
lock = threading.Lock()
QUERY = 'mutation($t: String!) { createRecipe(input: { title: $t, ingredients: [{ line: "1 egg" }] }) { id } }'


def client(n):
    i = 0
    while time.monotonic() - start < seconds:
        i += 1
        body = json.dumps({"query": QUERY, "variables": {"t": f"load {n}-{i}"}}).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        })
        at = round(time.monotonic() - start, 2)
        try:
            with urllib.request.urlopen(request, context=ctx, timeout=15) as answer:
                status, payload = answer.status, json.load(answer)
        except urllib.error.HTTPError as e:
            status, payload = e.code, {}
            try:
                payload = json.loads(e.read() or b"{}")
            except ValueError:
                pass
        except (OSError, ValueError) as e:
            status, payload = 0, {"error": type(e).__name__}
        created = ((payload.get("data") or {}).get("createRecipe") or {}).get("id")
        code = ((payload.get("errors") or [{}])[0].get("extensions") or {}).get("code")
        with lock:
            answers.append((at, status, created or code or payload.get("error")))
        if status == 429:
            time.sleep(0.5)


workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(json.dumps(sorted(answers)))
