# syntax=docker/dockerfile:1
#
# homechef: multi-stage build. Build tools stay in the builder stages; the runtime image is distroless
# (no shell, no package manager) and runs as the unprivileged `nonroot` user (65532).
#
#   docker build --pull --no-cache -t homechef:latest .
#
# Alternative: a fully static musl build (rust:*-alpine, target x86_64-unknown-linux-musl) on
# gcr.io/distroless/static-debian12:nonroot. We ship glibc on distroless/cc because musl's allocator is
# markedly slower under concurrency; the binary needs no libpq either way (pure-Rust PostgreSQL driver).

ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /build

# Dependency caching: the recipe changes only when Cargo.toml/Cargo.lock do.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /build/recipe.json recipe.json
RUN cargo chef cook --profile dist --locked --recipe-path recipe.json
COPY . .
RUN cargo build --profile dist --locked --bin homechef \
    && mkdir -p /out/app/media /out/app/quarantine /out/app/logs \
    && chmod 0750 /out/app/media /out/app/logs \
    && chmod 0700 /out/app/quarantine \
    && install -m 0755 target/dist/homechef /out/homechef

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=builder --chown=65532:65532 /out/app /app
COPY --from=builder /out/homechef /usr/local/bin/homechef
ENV APP_ENV=production \
    ROCKET_ADDRESS=0.0.0.0 \
    ROCKET_PORT=8000 \
    MEDIA_DIR=/app/media \
    QUARANTINE_DIR=/app/quarantine \
    LOG_DIR=/app/logs \
    LOG_FORMAT=json \
    MALLOC_ARENA_MAX=2
USER 65532:65532
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/homechef", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/homechef"]
CMD ["serve"]
