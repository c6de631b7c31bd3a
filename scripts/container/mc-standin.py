#!/opt/moto/bin/python
"""`mc` for the compose file's three uses, against the minio stand-in: `mc ready ALIAS`, `mc alias set NAME
URL USER PASSWORD` and `mc mb [--ignore-existing] NAME/BUCKET`."""
import json
import os
import sys
import time
import urllib.error
import urllib.request

ALIASES = os.path.expanduser("~/.mc-standin.json")


def load():
    try:
        with open(ALIASES) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"local": "http://127.0.0.1:9000"}


def main(args):
    if args[:1] == ["ready"]:
        url = load().get(args[1], "http://127.0.0.1:9000")
        urllib.request.urlopen(url + "/", timeout=3)
        return 0
    if args[:2] == ["alias", "set"]:
        aliases = load()
        aliases[args[2]] = args[3].rstrip("/")
        with open(ALIASES, "w") as f:
            json.dump(aliases, f)
        return 0
    if args[:1] == ["mb"]:
        ignore = "--ignore-existing" in args
        target = [a for a in args[1:] if not a.startswith("--")][0]
        name, bucket = target.split("/", 1)
        request = urllib.request.Request(f"{load()[name]}/{bucket}", method="PUT")
        # podman 4.3 cannot wait for a dependency to be healthy (compose's condition), so the server may
        # still be starting: retry a refused connection for a minute.
        for attempt in range(60):
            try:
                urllib.request.urlopen(request, timeout=10)
                break
            except urllib.error.HTTPError as e:
                if not (ignore and e.code == 409):
                    raise
                break
            except urllib.error.URLError:
                if attempt == 59:
                    raise
                time.sleep(1)
        print(f"Bucket created successfully `{target}`.")
        return 0
    print(f"mc stand-in: unsupported: {' '.join(args)}", file=sys.stderr)
    return 2


sys.exit(main(sys.argv[1:]))
