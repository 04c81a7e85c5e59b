# syntax=docker/dockerfile:1
# Images of the checkout system: one per binary (order-svc, payment-svc, delivery-svc,
# gateway), each with `shopctl` beside it for tokens and the health check.
#
#   docker build --target gateway -t shop/gateway .        (likewise order-svc, ...)
#   docker compose -f deploy/compose.yaml build            (all four)
#
# Stages: `chef` (the pinned toolchain and cargo-chef), `planner` (the dependency
# recipe), `builder` (dependencies in their own cached layer, then the sources, both
# through scripts/build-release.sh, the one release build of the project), `runtime`
# (distroless glibc base, non-root), then one small final stage per binary. The last
# stage, `gateway`, is what a build without --target produces.
# tests/tests/deploy parses this file: keep the stage names, USER, EXPOSE (the
# binaries' default ports) and HEALTHCHECK in step with the code.

# The Rust version is rust-toolchain.toml's channel (checked by the deploy tests).
FROM rust:1.95.0-slim-bookworm AS chef
WORKDIR /src
RUN cargo install cargo-chef --locked --version 0.1.77
# The toolchain file's components, once, in a layer of their own.
COPY rust-toolchain.toml ./
RUN rustup toolchain install

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY scripts/build-release.sh scripts/
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is rebuilt when Cargo.toml or Cargo.lock change, not
# when the sources do.
RUN scripts/build-release.sh --deps-only recipe.json
COPY . .
RUN scripts/build-release.sh

# glibc and libgcc only (no OpenSSL: nothing here speaks TLS), no shell, uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=builder /src/target/release/shopctl /usr/local/bin/shopctl
USER 65532:65532

FROM runtime AS order-svc
COPY --from=builder /src/target/release/order-svc /usr/local/bin/order-svc
# The binaries default to loopback; in a container the port must be reachable.
ENV LISTEN_ADDR=0.0.0.0:50051 METRICS_ADDR=0.0.0.0:9551
EXPOSE 50051 9551
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["shopctl", "health"]
ENTRYPOINT ["order-svc"]

FROM runtime AS payment-svc
COPY --from=builder /src/target/release/payment-svc /usr/local/bin/payment-svc
ENV LISTEN_ADDR=0.0.0.0:50052 METRICS_ADDR=0.0.0.0:9552
EXPOSE 50052 9552
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["shopctl", "health"]
ENTRYPOINT ["payment-svc"]

FROM runtime AS delivery-svc
COPY --from=builder /src/target/release/delivery-svc /usr/local/bin/delivery-svc
ENV LISTEN_ADDR=0.0.0.0:50053 METRICS_ADDR=0.0.0.0:9553
EXPOSE 50053 9553
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["shopctl", "health"]
ENTRYPOINT ["delivery-svc"]

FROM runtime AS gateway
COPY --from=builder /src/target/release/gateway /usr/local/bin/gateway
ENV LISTEN_ADDR=0.0.0.0:50050 HTTP_ADDR=0.0.0.0:8080 METRICS_ADDR=0.0.0.0:9550
EXPOSE 50050 8080 9550
USER 65532:65532
# gRPC health of the public server; readiness of the whole path is GET /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["shopctl", "health"]
ENTRYPOINT ["gateway"]
