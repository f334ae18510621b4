# syntax=docker/dockerfile:1
# wtp-oauth's image (SPEC §10; docs/deploying.md). The build stage makes wheels: one of every
# dependency, then the application's own. The runtime stage installs those wheels and nothing
# else: no compiler, no source tree, no root process.
#
#   docker build -t wtp-oauth .
#   docker run -p 8000:8000 -v wtp-data:/data wtp-oauth      # SQLite in the /data volume
#
# docker-compose.yml runs the same image on PostgreSQL, behind a proxy, as several replicas.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /build

# The dependencies first, from pyproject.toml alone: this layer is built again when they
# change, not on every change of the source. Every dependency ships binary wheels for
# CPython 3.11 on Linux (amd64 and arm64), so this stage needs no compiler either.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" > requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels/deps -r requirements.txt

# Then the application's wheel: templates, static files and migrations are inside it.
COPY README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --no-deps --wheel-dir /wheels/app .


FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    WTP_DATABASE_URL=sqlite+aiosqlite:////data/wtp_oauth.db

# The user the server runs as, and the folder it may write: the SQLite default lives there.
RUN groupadd --system --gid 10001 wtp \
 && useradd --system --uid 10001 --gid wtp --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin wtp \
 && install -d -o wtp -g wtp -m 0750 /data

# The wheels are mounted from the build stage, not copied, so no layer keeps them. The
# dependencies get a layer of their own, reused while pyproject.toml does not change.
RUN --mount=type=bind,from=build,source=/wheels/deps,target=/wheels/deps \
    pip install --no-cache-dir --no-index /wheels/deps/*.whl
RUN --mount=type=bind,from=build,source=/wheels/app,target=/wheels/app \
    pip install --no-cache-dir --no-index --no-deps /wheels/app/*.whl \
 && pip check

# By number, so that Kubernetes' runAsNonRoot can tell it is not root.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# /readyz answers 200 while the database is reachable, 503 when not (SPEC §9); urlopen
# raises on 503, so the check fails. The slim image has no curl: Python makes the request.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
# Migrates the database to head, then serves. Set WTP_ISSUER to the public URL.
CMD ["wtp-oauth", "serve", "--host", "0.0.0.0", "--port", "8000"]
