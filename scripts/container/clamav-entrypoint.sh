#!/bin/sh
set -eu
if [ -z "$(ls -A /var/lib/clamav 2>/dev/null)" ]; then
  cp /opt/signatures/* /var/lib/clamav/
fi
chown -R clamav:clamav /var/lib/clamav
exec clamd --foreground=true -c /etc/clamav/clamd.conf
