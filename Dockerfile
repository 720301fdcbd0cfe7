# syntax=docker/dockerfile:1
# cronops: build the wheels in one stage, install only the wheels in the next.
#
#   docker build -t cronops .
#   docker run --init -p 3000:3000 -p 127.0.0.1:9100:9100 -v cronops-data:/data \
#     -v "$PWD/cronops.yml:/app/cronops.yml:ro" \
#     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e CRONJOB_ORG_KEY cronops
#
# Secrets come from the environment at run time (`-e VAR` passes the host's value); none is
# baked into the image, and cronops.yml stays out of the build context (.dockerignore).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependency wheels first, from pyproject.toml alone, so editing the code does not refetch
# them. Every dependency ships a manylinux wheel for CPython 3.11: no compiler is needed.
COPY pyproject.toml README.md ./
RUN pip wheel --wheel-dir /wheels/deps . \
 && rm -rf /wheels/deps/cronops-*.whl build ./*.egg-info
COPY bot ./bot
COPY providers ./providers
RUN pip wheel --no-deps --wheel-dir /wheels .


FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="cronops" \
      org.opencontainers.image.description="Slack chat-ops bot for hosted cron services" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CRONOPS_CONFIG=/app/cronops.yml \
    CRONOPS_DATABASE_URL=sqlite:////data/cronops.db

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin cronops \
 && mkdir -p /app /data \
 && chown cronops:cronops /app /data

# The wheels are bind-mounted, not copied, so they take no layer; --no-index means nothing but
# those wheels is installed.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --disable-pip-version-check \
        --find-links=/wheels/deps /wheels/cronops-*.whl

WORKDIR /app
# The SQLite database (CRONOPS_DATABASE_URL) lives here; with PostgreSQL it stays empty.
# A named volume inherits the ownership set above; a bind mount must be writable by uid 10001.
VOLUME ["/data"]
USER cronops

# 3000: Slack's endpoint, /slack/events, in HTTP mode (no SLACK_APP_TOKEN); nothing else.
# 9100: the admin port (CRONOPS_ADMIN_PORT), /healthz and /metrics, in both modes. Publish it
# only where your monitoring reaches (e.g. -p 127.0.0.1:9100:9100), never where Slack does.
EXPOSE 3000 9100

# Works in HTTP mode and Socket Mode alike: the admin port is always open. /healthz answers
# 503 when the database or the scheduler is down, and urlopen raises on any error status.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9100/healthz', timeout=4)"]

# Run with an init (`docker run --init`, `init: true` in compose): as PID 1 without one, a
# SIGTERM the process does not handle itself is ignored and `docker stop` waits for SIGKILL.
ENTRYPOINT ["cronops"]
CMD ["run"]
