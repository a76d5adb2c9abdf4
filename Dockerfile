# Standalone wyoming-kokoro server (the Home Assistant add-on is in addon/).
#
#   docker build -t wyoming-kokoro .
#   docker run -d -p 10210:10210 -v kokoro-data:/data wyoming-kokoro [--voice bf_emma ...]
#
# The model (~340 MB) is downloaded into the /data volume on first start, not
# baked into the image; later starts work offline. Extra arguments are
# server flags (see README.md); WYOMING_KOKORO_ARGS works too.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    XDG_CACHE_HOME=/data/cache

COPY pyproject.toml README.md /src/
COPY wyoming_kokoro /src/wyoming_kokoro
RUN pip install "/src[zeroconf]" && rm -rf /src

COPY addon/rootfs/usr/local/bin/kokoro-healthcheck /usr/local/bin/kokoro-healthcheck

RUN useradd --system --uid 1000 --create-home --home-dir /home/kokoro kokoro \
    && mkdir -p /data \
    && chown kokoro:kokoro /data
USER kokoro
WORKDIR /data
VOLUME /data
EXPOSE 10210

# Describe over Wyoming: healthy once the model is loaded and answering.
HEALTHCHECK --start-period=10m --interval=30s --timeout=10s --retries=3 \
    CMD ["kokoro-healthcheck"]

# Fetch what is missing from /data (progress on stderr), then serve.
ENTRYPOINT ["/bin/sh", "-c", "python -m wyoming_kokoro.download --data-dir /data > /dev/null && exec wyoming-kokoro --uri tcp://0.0.0.0:10210 --data-dir /data \"$@\"", "wyoming-kokoro"]
CMD []
