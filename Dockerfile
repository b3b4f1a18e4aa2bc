# syntax=docker/dockerfile:1
#
# mtls-audit container image.
#
#   docker build -t mtls-audit .
#   docker run --rm -p 9750:9750 -v "$PWD/config:/config:ro" mtls-audit
#
# Needs BuildKit (the default builder since Docker 23): the cargo registry and the target directory
# are cache mounts, so a rebuild after a source change recompiles only what changed, whatever the
# workspace layout (a root package with src/, and crates/ if there are any).
#
# No HEALTHCHECK: the runtime image has no curl or wget. Kubernetes probes GET /healthz on port
# 9750 (deploy/kubernetes/serve.yaml); elsewhere, probe it from outside the container.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# The whole build context minus .dockerignore (target/, reports/, .git, fuzz/target).
COPY . .
# The release profile keeps debug info for profiling: strip it, keeping the symbols that name the
# functions of a backtrace (about 16 MB instead of 77 MB).
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin mtls-audit \
 && install -D -m 0755 target/release/mtls-audit /out/mtls-audit \
 && strip --strip-debug /out/mtls-audit
# The runtime stage installs nothing but ca-certificates (TLS is rustls with ring: no OpenSSL).
# Refuse to build an image whose binary needs a shared library that debian:bookworm-slim lacks
# (e.g. a system libsqlite3): link it statically or add the package below.
RUN set -eu; \
    libs=$(ldd /out/mtls-audit | awk '{print $1}' | sed 's|.*/||'); \
    echo "$libs"; \
    for lib in $libs; do \
      case "$lib" in \
        linux-vdso.so.*|ld-linux-*.so.*|libc.so.*|libm.so.*|libgcc_s.so.*|libdl.so.*|libpthread.so.*|librt.so.*) ;; \
        *) echo "mtls-audit needs $lib, which is not among the libraries the runtime stage relies on" >&2; exit 1 ;; \
      esac; \
    done; \
    /out/mtls-audit --version

FROM debian:bookworm-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mtls-audit" \
      org.opencontainers.image.description="Audits a fleet of SAP SuccessFactors Learning tenants for the LMS <-> IAS/IPS mTLS certificate rollover" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 mtls-audit \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /var/lib/mtls-audit --shell /usr/sbin/nologin mtls-audit \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/mtls-audit
COPY --from=build /out/mtls-audit /usr/local/bin/mtls-audit
# Relative paths (the default --out reports/) land here; mount a volume on it, or on /data, to keep them.
WORKDIR /var/lib/mtls-audit
USER 10001
EXPOSE 9750
ENTRYPOINT ["/usr/local/bin/mtls-audit"]
CMD ["serve", "/config/inventory.csv", "--listen", "0.0.0.0:9750"]
