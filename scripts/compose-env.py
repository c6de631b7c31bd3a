#!/usr/bin/env python3
"""The environment docker compose gives a service, rendered without Docker (none runs on our build machines).

    compose-env.py SERVICE [--compose docker-compose.yml] [--env-file .env] [--dockerfile Dockerfile]

Prints KEY=VALUE lines, with compose's precedence: the image's ENV, then the service's `env_file:`, then its
`environment:` (which wins). `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `${VAR:?message}` in
`environment:` are interpolated from the project's .env file, as compose does; a missing `:?` variable is an
error. Needs PyYAML.
"""
import argparse
import re
import shlex
import sys

import yaml


def read_env_file(path):
    """KEY=VALUE lines; comments and blank lines skipped; quotes around a value removed."""
    values = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return values
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def read_dockerfile_env(path):
    """The ENV instructions of the last stage (the image that runs)."""
    with open(path, encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    stages = re.split(r"(?im)^\s*FROM\s", text)
    values = {}
    for line in stages[-1].splitlines():
        match = re.match(r"(?i)^\s*ENV\s+(.*)$", line)
        if not match:
            continue
        for item in shlex.split(match.group(1)):
            if "=" in item:
                key, value = item.split("=", 1)
                values[key] = value
    return values


def interpolate(value, variables):
    def replace(match):
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        present = name in variables
        current = variables.get(name, "")
        if op == ":?" and not current:
            sys.exit(f"compose-env: {name}: {arg}")
        if op == "?" and not present:
            sys.exit(f"compose-env: {name}: {arg}")
        if op == ":-" and not current:
            return arg
        if op == "-" and not present:
            return arg
        return current

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:\?|\?|:-|-)([^}]*))?\}", replace, str(value))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("service")
    parser.add_argument("--compose", default="docker-compose.yml")
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--dockerfile", default="Dockerfile")
    args = parser.parse_args()

    with open(args.compose, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    service = compose["services"][args.service]
    project_env = read_env_file(args.env_file)

    result = read_dockerfile_env(args.dockerfile) if "build" in service else {}
    env_files = service.get("env_file") or []
    for path in [env_files] if isinstance(env_files, str) else env_files:
        # The service's env_file is the project's .env in our compose file; a test passes another one.
        result.update(read_env_file(args.env_file if path == ".env" else path))
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    for key, value in environment.items():
        result[key] = interpolate("" if value is None else value, project_env)
    for key in sorted(result):
        print(f"{key}={result[key]}")


if __name__ == "__main__":
    main()
