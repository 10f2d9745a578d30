# The gRPC server (target `server`, also the backup service), the dev image with the sandbox issuer and a
# debugger (target `dev`), and the test runner (target `testing`).
# Reproducible: a pinned base, and every Python package pinned with its dependencies in docker/*.lock.
FROM python:3.11.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid app --no-create-home --home-dir /app app \
 && install -d -o app -g app /app /backups
WORKDIR /app

FROM base AS server
COPY docker/server.lock /tmp/server.lock
RUN pip install --no-deps -r /tmp/server.lock
COPY docker/entrypoint.py docker/entrypoint.py
COPY drift_monitoring drift_monitoring
COPY server server
COPY scripts/__init__.py scripts/backup.py scripts/wait_healthy.py scripts/
USER 10001:10001
EXPOSE 50051 9464
ENTRYPOINT ["python", "docker/entrypoint.py"]
CMD ["python", "-m", "server"]

FROM server AS dev
USER 0
COPY docker/dev.lock /tmp/dev.lock
RUN pip install --no-deps -r /tmp/dev.lock
COPY sandbox sandbox
RUN install -d -o app -g app /app/.issuer
USER 10001:10001
EXPOSE 5678 8950

FROM node:22.12.0-bookworm-slim AS node

FROM server AS testing
USER 0
# tests/deploy asks make whether the workflow's targets exist, and node to parse the dashboards' PromQL.
RUN apt-get update && apt-get install -y --no-install-recommends make libstdc++6 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
COPY docker/testing.lock /tmp/testing.lock
RUN pip install --no-deps -r /tmp/testing.lock
COPY . .
RUN npm ci --prefix deploy/promql --no-audit --no-fund && chown -R app:app /app
USER 10001:10001
CMD ["python", "-m", "pytest", "-q"]
