#!/bin/sh
# `minio server DIR`: moto's S3 server on :9000 (objects in memory; DIR is not used).
set -eu
[ "${1:-}" = server ] || { echo "minio stand-in: only 'server' is supported" >&2; exit 2; }
exec /opt/moto/bin/moto_server -H 0.0.0.0 -p 9000
