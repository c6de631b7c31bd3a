#!/usr/bin/env python3
"""A write load through the proxy: THREADS clients creating recipes for SECONDS, each with its own
Idempotency-Key, over TLS to ADDRESS:PORT for the host name NAME (SNI and Host). TOKENS: one session token, or
several separated by commas (client n signs in with token n modulo their number: several users, several
rate limits). Prints one JSON line: every answer as (seconds since start, HTTP status, recipe id or error code).

  write-load.py ADDRESS PORT NAME CAFILE TOKENS [THREADS] [SECONDS]
"""
import http.client
import json
import socket
import ssl
import sys
import threading
import time
import uuid

address, port, name, cafile, tokens = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split(",")
threads = int(sys.argv[6]) if len(sys.argv) > 6 else 4
seconds = float(sys.argv[7]) if len(sys.argv) > 7 else 20
ctx = ssl.create_default_context(cafile=cafile)


class Connection(http.client.HTTPSConnection):
    """Connects to ADDRESS whatever NAME resolves to (curl's --resolve)."""

    def connect(self):
        self.sock = ctx.wrap_socket(socket.create_connection((address, port), self.timeout), server_hostname=name)

start = time.monotonic()
answers = []
lock = threading.Lock()
QUERY = 'mutation($t: String!) { createRecipe(input: { title: $t, ingredients: [{ line: "1 egg" }] }) { id } }'


def client(n):
    token = tokens[n % len(tokens)]
    i = 0
    while time.monotonic() - start < seconds:
        i += 1
        body = json.dumps({"query": QUERY, "variables": {"t": f"load {n}-{i}"}}).encode()
        at = round(time.monotonic() - start, 2)
        try:
            conn = Connection(name, port, timeout=15)
            conn.request("POST", "/graphql", body=body, headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
            })
            answer = conn.getresponse()
            status, raw = answer.status, answer.read()
            conn.close()
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = {}
        except OSError as e:
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
