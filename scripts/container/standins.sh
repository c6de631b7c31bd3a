#!/usr/bin/env bash
# Builds the local stand-ins for the images our Dockerfile and compose files name, none of which can be pulled
# here (no container registry is reachable). Each is made from Debian bookworm's own packages and cached in
# podman's image store, labelled with a digest of what it was made from (its Containerfile and the files it
# copies, the base image, the toolchain): an image whose inputs changed is made again, one that matches is
# kept (`FORCE=1` rebuilds all). What each stands in for, and how it
# differs from the real image, is listed in docs/deployment.md ("Verified with stand-in images").
#
#   bash scripts/container/standins.sh          # build what is missing; prints the tags
#
# Tags (all under localhost/standin/, so nobody mistakes them for the real images):
#   debian:bookworm            debootstrap --variant=minbase (the base of the others)
#   rust:1.95.0-slim-bookworm  + gcc, libc6-dev, the host's Rust toolchain, the host's CA bundle (build arg)
#   distroless-cc-debian12:nonroot   libc6, libgcc-s1, libstdc++6, libssl3, CA certificates, tzdata, netbase,
#                              passwd/group with nonroot 65532; no shell, no package manager
#   postgres:15, redis:7, caddy:2, clamav:1   (Debian's postgresql-15, redis-server, caddy 2.6,
#                              clamav-daemon with the test signatures)
#   s3:moto                    MinIO and mc of docker-compose.scale.yml: moto's S3 server, a three-command mc
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="${HOMECHEF_TOOLS_DIR:-/var/tmp/homechef-tools}/standins"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The CA bundle this machine trusts (for crates.io through whatever intercepts TLS here); only the builder
# stand-in holds it, never the runtime image.
host_ca="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
mkdir -p "$cache"

log() { printf 'standins: %s\n' "$*" >&2; }
label=homechef.standin.inputs
base_tag=localhost/standin/debian:bookworm
# inputs TEXT FILE... -> the digest of an image's inputs (files are read, so editing one makes the image again)
inputs() { { printf '%s\n' "$1"; shift; cat "$@"; } | sha256sum | cut -c1-16; }
# fresh TAG DIGEST -> whether the stored image was made from these inputs
fresh() {
  [ "${FORCE:-0}" != 1 ] \
    && [ "$(podman image inspect --format "{{index .Labels \"$label\"}}" "$1" 2>/dev/null)" = "$2" ]
}
base_id() { podman image inspect --format '{{.Id}}' "$base_tag"; }

# A bookworm rootfs (minbase) as a tarball, made once.
base_tarball() {
  local tarball="$cache/bookworm-minbase.tar"
  if [ ! -s "$tarball" ]; then
    log "debootstrap bookworm (minbase) from $mirror"
    local root="$cache/rootfs-base"
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar --numeric-owner -C "$root" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$root"
  fi
  printf '%s\n' "$tarball"
}

build_base() {
  local tag=$base_tag digest
  digest=$(inputs "bookworm minbase $mirror")
  fresh "$tag" "$digest" && return
  local tarball
  tarball=$(base_tarball)
  podman import --change 'CMD ["bash"]' --change "LABEL $label=$digest" "$tarball" "$tag" >/dev/null
  log "built $tag"
}

# build_from TAG CONTAINERFILE [FILE it copies...]: an image FROM the base made by a Containerfile in this
# folder (packages come from Debian's mirror).
build_from() {
  local tag=$1 file=$2 digest
  shift 2
  digest=$(inputs "$(base_id)" "$here/$file" "$@")
  fresh "$tag" "$digest" && return
  podman build -q --network host --label "$label=$digest" -f "$here/$file" -t "$tag" "$here" >/dev/null
  log "built $tag"
}

# clamd with the signatures the antivirus tests use (EICAR and the project's marker): freshclam cannot
# download here.
build_clamav() {
  local tag=localhost/standin/clamav:1 digest
  digest=$(inputs "$(base_id)" "$here/clamav.Containerfile" "$here/clamav-entrypoint.sh" "$repo"/tests/fixtures/clamav/*)
  fresh "$tag" "$digest" && return
  local ctx="$cache/clamav-context"
  rm -rf "$ctx" && mkdir -p "$ctx/signatures"
  cp "$repo"/tests/fixtures/clamav/* "$ctx/signatures/"
  cp "$here/clamav.Containerfile" "$ctx/Containerfile"
  cp "$here/clamav-entrypoint.sh" "$ctx/"
  podman build -q --network host --label "$label=$digest" -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "built $tag"
}

build_rust() {
  local tag=localhost/standin/rust:1.95.0-slim-bookworm digest
  digest=$(inputs "$(base_id) $(rustc -V)" "$here/rust.Containerfile")
  fresh "$tag" "$digest" && return
  local toolchain
  toolchain=$(rustc --print sysroot)
  local ctx="$cache/rust-context"
  rm -rf "$ctx" && mkdir -p "$ctx/rust"
  # The toolchain as rustup installed it on this machine, without its documentation.
  cp -a "$toolchain/bin" "$toolchain/lib" "$ctx/rust/"
  rm -rf "$ctx/rust/lib/rustlib/src" "$ctx/rust/lib/rustlib/"*/analysis
  cp "$host_ca" "$ctx/host-ca.crt"
  cp "$here/rust.Containerfile" "$ctx/Containerfile"
  podman build -q --network host --label "$label=$digest" -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "built $tag"
}

# distroless/cc: files from Debian's packages, unpacked (not installed: no dpkg database, no maintainer
# scripts), the CA bundle made as update-ca-certificates would, and the accounts distroless ships.
build_distroless() {
  local tag=localhost/standin/distroless-cc-debian12:nonroot digest
  digest=$(inputs "distroless $mirror" "$0")
  fresh "$tag" "$digest" && return
  local work="$cache/distroless"
  rm -rf "$work" && mkdir -p "$work/debs" "$work/root"
  (cd "$work/debs" && apt-get download -q libc6 libgcc-s1 libstdc++6 libssl3 ca-certificates tzdata netbase \
    >/dev/null 2>&1) || { log "apt-get download failed"; exit 1; }
  local root="$work/root" deb
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
  mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot" "$root/root"
  cat "$root"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
  # What distroless leaves out: programs (update-ca-certificates is a shell script), docs, gdb helpers.
  rm -rf "$root/usr/sbin" "$root/usr/bin" "$root/sbin" "$root/bin" "$root/usr/share/doc" "$root/usr/share/man" \
    "$root/usr/share/lintian" "$root/usr/share/gcc" "$root/usr/share/ca-certificates" "$root/usr/share/bug"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$root/etc/group"
  printf '%s\n' 'PRETTY_NAME="homechef stand-in for Distroless (Debian GNU/Linux 12)"' 'ID=debian' \
    'VERSION_ID="12"' 'HOME_URL="https://github.com/GoogleContainerTools/distroless"' >"$root/etc/os-release"
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root" "$root/home/nonroot"
  tar --numeric-owner --owner=0 --group=0 --exclude=./home/nonroot -C "$root" -cf "$work/rootfs.tar" .
  # home/nonroot belongs to nonroot, as in distroless.
  tar --numeric-owner --owner=65532 --group=65532 -C "$root" -rf "$work/rootfs.tar" ./home/nonroot
  podman import \
    --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' --change "LABEL $label=$digest" \
    "$work/rootfs.tar" "$tag" >/dev/null
  rm -rf "$work"
  log "built $tag"
}

# MinIO and mc for docker-compose.scale.yml: moto's S3 server with a `minio` entrypoint and an `mc` stand-in.
build_s3() {
  local tag=localhost/standin/s3:moto digest
  digest=$(inputs "$(base_id)" "$here/s3.Containerfile" "$here/minio-standin.sh" "$here/mc-standin.py")
  fresh "$tag" "$digest" && return
  local ctx="$cache/s3-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$host_ca" "$ctx/host-ca.crt"
  cp "$here/s3.Containerfile" "$ctx/Containerfile"
  cp "$here/minio-standin.sh" "$here/mc-standin.py" "$ctx/"
  podman build -q --network host --label "$label=$digest" -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "built $tag"
}

build_base
build_rust
build_distroless
build_from localhost/standin/postgres:15 postgres.Containerfile "$here/postgres-entrypoint.sh"
build_from localhost/standin/redis:7 redis.Containerfile
build_from localhost/standin/caddy:2 caddy.Containerfile
build_clamav
build_s3
podman images --filter reference='localhost/standin/*' --format '{{.Repository}}:{{.Tag}} {{.Size}}'
