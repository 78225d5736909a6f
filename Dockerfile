# TradPal: the `tradpal` binary in a small, non-root runtime image.
#
#   docker build -t tradpal .
#   docker run -p 8002:8002 -v tradpal-data:/data -e TRADPAL_API_KEYS=... tradpal
#
# Stage 1 builds the shipped binary: the release build with whole-program optimisation
# (`Cargo.toml`'s `[profile.dist]`: backtests about 7 % faster; the link alone takes
# about 7 minutes and 5 GB of memory on 2 cores). A builder with less memory can take
# the plain release build: `docker build --build-arg PROFILE=release -t tradpal .`.
# LightGBM (the ML actor's gradient boosting) is C++ built from source by the lightgbm3
# crate: it needs g++, libclang (bindgen) and cmake >= 3.28 (Debian 12 has 3.25; PyPI's
# cmake is current).
FROM rust:1.95-bookworm AS build
ARG PROFILE=dist
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libclang-dev python3-pip \
 && pip3 install --no-cache-dir --break-system-packages "cmake>=3.28" \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    CMAKE=$(command -v cmake) cargo build --profile "$PROFILE" --locked --bin tradpal \
 && cp "target/$PROFILE/tradpal" /usr/local/bin/tradpal

# Stage 2: Debian slim with what the binary links (libgomp for LightGBM's OpenMP,
# libstdc++) and CA roots (NATS over tls://, webhooks over HTTPS). No shell tools are
# needed by the service; the health check is the binary's own `tradpal probe`.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin tradpal \
 && mkdir -p /data && chown tradpal:tradpal /data
COPY --from=build /usr/local/bin/tradpal /usr/local/bin/tradpal
USER 10001:10001
# The journal, its indexes, models and the generated secrets live here: mount a volume.
VOLUME ["/data"]
ENV TRADPAL_DATA_DIR=/data \
    TRADING_SERVICE_HOST=0.0.0.0 \
    TRADING_SERVICE_PORT=8002 \
    LOG_FORMAT=json
EXPOSE 8002
# Liveness: the process answers. (Readiness, `tradpal probe --ready`, is for load
# balancers and Kubernetes: a standby is alive but not ready.)
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["tradpal", "probe"]
ENTRYPOINT ["tradpal"]
CMD ["serve"]
