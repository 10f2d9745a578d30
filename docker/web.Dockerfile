# The browser view: built with node (npm ci from web/package-lock.json), served as static files by
# web/serve.py behind Envoy, on the same origin as the API.
FROM node:22.12.0-bookworm-slim AS build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
# The generated TypeScript the page imports as @gen/... (one copy, in the TypeScript client package).
COPY clients/ts/src/gen /clients/ts/src/gen
RUN npm run build

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN groupadd --gid 10001 web && useradd --uid 10001 --gid web --no-create-home --home-dir /app web
WORKDIR /app
COPY web/serve.py web/serve.py
COPY --from=build /web/dist web/dist
USER 10001:10001
EXPOSE 8080
# web/serve.py's flags: listen address, the built page, and the OpenID issuer the page signs in with.
CMD ["sh", "-c", "exec python web/serve.py --listen 0.0.0.0:8080 --dist web/dist --issuer \"$DRIFT_MONITOR_WEB_ISSUER\""]
