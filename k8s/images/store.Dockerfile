# syntax=docker/dockerfile:1
# Store service (signup, admin store API, ext_authz, xDS control plane).
# Build from the repository root:
#   docker build -f k8s/images/store.Dockerfile -t registry.example.com/shop/store:0.1.0 .
# The Python images (store, catalog, relay, consumers) share every build step but the last
# lines, so a builder with a cache builds the shared layers once.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
# Runtime dependencies only, pinned in pyproject.toml; this layer changes only with it.
# xds-protos ships an older copy of opentelemetry/proto: the exporter's own goes back on top.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && python -m venv /venv && /venv/bin/pip install -r requirements.txt \
 && /venv/bin/pip install --force-reinstall --no-deps "$(grep '^opentelemetry-proto==' requirements.txt)"
# Stubs from protos/ exactly as `make proto` makes them (tools kept out of the runtime venv).
RUN python -m venv /tools && /tools/bin/pip install grpcio-tools==1.85.1 googleapis-common-protos==1.76.0
COPY protos ./protos
RUN SITE="$(/tools/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && mkdir gen && /tools/bin/python -m grpc_tools.protoc -I protos -I "$SITE" -I "$SITE/grpc_tools/_proto" \
      --python_out=gen --grpc_python_out=gen \
      --include_imports --include_source_info --descriptor_set_out=/tmp/shop.pb $(find protos -name '*.proto' | sort)
COPY services ./services
# The OpenAPI documents the Platform service serves at /openapi/*.json, as `make proto` makes them.
COPY devstack/__init__.py ./devstack/__init__.py
COPY devstack/openapi ./devstack/openapi
RUN PYTHONPATH=/src:/src/gen /venv/bin/python -m devstack.openapi /tmp/shop.pb gen/openapi
# Compiled now: the root filesystem is read-only at run time.
RUN /venv/bin/python -m compileall -q services gen

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH PYTHONPATH=/app:/app/gen
RUN groupadd --gid 10001 shop && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin shop
COPY --from=build /venv /venv
COPY --from=build /src/gen /app/gen
COPY --from=build /src/services /app/services
WORKDIR /app
USER 10001:10001
# gRPC (health and reflection included) and Prometheus metrics.
EXPOSE 50051 9090
ENTRYPOINT ["python", "-m", "services.store"]
