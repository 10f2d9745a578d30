# Let's Encrypt certificates for the edge: certbot (pinned with its dependencies) and envoy/install-certs.sh
# as its deploy hook. Runs in Envoy's network namespace (compose.prod.yml), as the same non-root user as Envoy.
FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 10001 envoy && useradd --uid 10001 --gid envoy --no-create-home --home-dir /app envoy \
 && install -d -o envoy -g envoy /app /letsencrypt /etc/envoy/tls
WORKDIR /app
COPY docker/certbot.lock /tmp/certbot.lock
RUN pip install --no-deps -r /tmp/certbot.lock
COPY envoy/install-certs.sh envoy/install-certs.sh
COPY docker/certbot-renew.sh docker/certbot-renew.sh
USER 10001:10001
ENTRYPOINT ["sh", "docker/certbot-renew.sh"]
