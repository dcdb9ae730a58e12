# syntax=docker/dockerfile:1
# VecShard node image.
#
#   docker build -t vecshard .                      # compiles in the official Swift 6 image (stage `build`)
#   docker run -p 6379:6379 -v vecshard-data:/data vecshard
#
# Where the swift:* builder image is unavailable (e.g. podman on these machines, see ../shared/containers), build a
# static-stdlib binary on the host and copy it in instead of compiling:
#   swift build -c release --static-swift-stdlib --scratch-path .build-static --product vecshard-server
#   podman build --pull=never --network host --format docker \
#     --build-arg BINARY_SOURCE=prebuilt --build-arg PREBUILT_BINARY=.build-static/release/vecshard-server -t vecshard .
#   podman run --rm --network host vecshard --port 7000
#
# Configuration: extra flags after the image name (`--port 7000 --requirepass s`, any redis.conf directive as
# `--name value`, or `--config /data/vecshard.conf`), and/or environment variables VECSHARD_<DIRECTIVE>
# (`-e VECSHARD_REQUIREPASS=s -e VECSHARD_MAXCLIENTS=1000`; name lower-cased, `_` -> `-`), which
# docker/entrypoint.sh turns into flags placed before the command-line ones (so flags win). A first argument that
# is not a flag runs that command instead (`docker run --rm -it vecshard sh`). The HEALTHCHECK
# follows VECSHARD_PORT and VECSHARD_REQUIREPASS; set them when you change the port or require a password.

ARG BINARY_SOURCE=build
ARG PREBUILT_BINARY=.build/release/vecshard-server

# --- stage `build`: compile inside the Swift toolchain image --------------------------------------------------------
FROM swift:6.1-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libuv1-dev liburing-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
RUN swift build -c release --static-swift-stdlib --product vecshard-server \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/vecshard-server" /out/vecshard-server

# --- stage `prebuilt`: take a binary built on the host (swift build -c release --static-swift-stdlib) -----------
FROM scratch AS prebuilt
ARG PREBUILT_BINARY
COPY ${PREBUILT_BINARY} /out/vecshard-server

# --- the binary, from whichever stage BINARY_SOURCE names ----------------------------------------------------------
FROM ${BINARY_SOURCE} AS binary

# --- runtime -------------------------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# libuv1 + liburing2: the node's system libraries; redis-tools: redis-cli for the HEALTHCHECK and for users.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libuv1 liburing2 redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 vecshard \
 && useradd --uid 10001 --gid vecshard --home-dir /data --no-create-home --shell /usr/sbin/nologin vecshard \
 && mkdir -p /data && chown vecshard:vecshard /data
COPY --from=binary --chmod=0755 /out/vecshard-server /usr/local/bin/vecshard-server
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/vecshard-entrypoint
USER vecshard
WORKDIR /data
VOLUME /data
# 6379: RESP clients; 16379: cluster bus (port + 10000, as Redis Cluster).
EXPOSE 6379 16379
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD [ -z "${VECSHARD_REQUIREPASS:-}" ] || export REDISCLI_AUTH="$VECSHARD_REQUIREPASS"; \
      [ "$(redis-cli -h 127.0.0.1 -p "${VECSHARD_PORT:-6379}" ping)" = PONG ] || exit 1
# Listens on every interface with protected mode off (the container boundary is the protection; set
# VECSHARD_REQUIREPASS or --requirepass before publishing the port); data under the /data volume.
ENTRYPOINT ["vecshard-entrypoint"]
CMD []
