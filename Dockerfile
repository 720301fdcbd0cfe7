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

# The base image is pinned by digest, so a rebuild gets the same Python and Debian. This is the
# multi-platform index of python:3.11-slim-bookworm (Python 3.11.16, Debian 12, built
# 2026-08-25) as recorded by docker-library/repo-info (repos/python/remote/3.11-slim-bookworm.md).
# To move to a newer build (security fixes), run
#   docker buildx imagetools inspect python:3.11-slim-bookworm     # the "Digest:" line
# and put that digest in both FROM lines (CONTRIBUTING.md, "Updating dependencies").
FROM python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependency wheels first, from the lock file alone, so editing the code does not refetch them.
# --require-hashes: only the versions in requirements/runtime.txt, and only files whose hashes
# it lists. --only-binary: every dependency ships a wheel for CPython 3.11, no compiler needed.
COPY requirements/runtime.txt requirements/build.txt ./requirements/
RUN pip wheel --require-hashes --only-binary=:all: --wheel-dir /wheels/deps \
        -r requirements/runtime.txt \
 && cp requirements/runtime.txt /wheels/runtime.txt \
 && pip install --require-hashes -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY providers ./providers
# cronops' own wheel, built with the locked setuptools (no isolated build env to fetch another).
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .


FROM python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b AS runtime
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
# those wheels is installed, and --require-hashes checks each against the lock once more.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --disable-pip-version-check --require-hashes \
        --find-links=/wheels/deps -r /wheels/runtime.txt \
 && pip install --no-cache-dir --no-index --disable-pip-version-check --no-deps \
        /wheels/cronops-*.whl

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
