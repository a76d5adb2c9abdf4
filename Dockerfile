# One Dockerfile, two images, both built from this checkout's own source
# (nothing of ours is fetched from PyPI; only our dependencies are).
#
#   Standalone server:   docker build --target standalone -t wyoming-kokoro .
#                        docker run -d -p 10210:10210 -v kokoro-data:/data wyoming-kokoro [server flags]
#   Home Assistant add-on: the last stage. This directory is the add-on's
#                        folder (config.yaml beside this file), so Home
#                        Assistant's Supervisor builds it with this directory
#                        as the context, BUILD_VERSION set to the add-on's
#                        version, and no --target.
#
# Both keep the model out of the image: the server downloads what is missing
# into /data on its first start (one code path; see docs/models.md).
# scripts/container-check builds and runs both for real.

# Debian bookworm (Python 3.11), not trixie as Piper now uses: trixie's
# Python is 3.13, and misaki (a dependency) requires Python < 3.13.
ARG BUILD_FROM=ghcr.io/home-assistant/base-debian:bookworm
ARG STANDALONE_FROM=debian:bookworm-slim

# ---------------------------------------------------------------------------
FROM ${STANDALONE_FROM} AS standalone

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY pyproject.toml README.md /src/
COPY wyoming_kokoro /src/wyoming_kokoro
COPY scripts/install-server /usr/local/sbin/install-server
RUN install-server zeroconf \
    && useradd --system --uid 1000 --create-home --home-dir /home/kokoro kokoro \
    && mkdir -p /data \
    && chown kokoro:kokoro /data
COPY addon/rootfs/usr/local/bin/kokoro-healthcheck /usr/local/bin/kokoro-healthcheck

# XDG_CACHE_HOME: the optimised-graph cache lives in the volume, so it
# survives a new container. WYOMING_KOKORO_HEARTBEAT: touched while a
# download or graph optimisation makes progress (see kokoro-healthcheck).
ENV PATH="/opt/kokoro/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_CACHE_HOME=/data/cache \
    WYOMING_KOKORO_HEARTBEAT=/tmp/wyoming-kokoro.heartbeat

USER kokoro
WORKDIR /data
VOLUME /data
EXPOSE 10210

# Healthy once Describe is answered, or while start-up (a first download)
# visibly makes progress: a slow link must not look like a crash.
HEALTHCHECK --start-period=5m --interval=30s --timeout=10s --retries=3 \
    CMD ["kokoro-healthcheck", "--starting-ok"]

# The server itself finds or downloads the model files; extra arguments
# (docker run ... IMAGE --voice bf_emma) and WYOMING_KOKORO_ARGS are its flags.
ENTRYPOINT ["wyoming-kokoro", "--uri", "tcp://0.0.0.0:10210", "--data-dir", "/data"]
CMD []

# ---------------------------------------------------------------------------
# The Home Assistant add-on. Must stay the last stage: the Supervisor builds
# the default target.
FROM ${BUILD_FROM} AS addon

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The add-on's version (config.yaml), passed by the Supervisor; the build
# stops if the source is not that version.
ARG BUILD_VERSION
COPY pyproject.toml README.md /src/
COPY wyoming_kokoro /src/wyoming_kokoro
COPY scripts/install-server /usr/local/sbin/install-server
RUN install-server

ENV PATH="/opt/kokoro/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/data/cache \
    WYOMING_KOKORO_HEARTBEAT=/tmp/wyoming-kokoro.heartbeat

WORKDIR /
COPY addon/rootfs /

HEALTHCHECK --start-period=5m --interval=30s --timeout=10s --retries=3 \
    CMD ["kokoro-healthcheck", "--starting-ok"]
