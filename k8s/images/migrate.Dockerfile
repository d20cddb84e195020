# syntax=docker/dockerfile:1
# Schema migrations: yoyo applies migrations/ as the owner role (k8s/migrate-job.yaml).
# Build from the repository root:
#   docker build -f k8s/images/migrate.Dockerfile -t registry.example.com/shop/migrate:0.1.0 .

FROM python:3.11-slim-bookworm
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
# The same versions as the dev extra in pyproject.toml (devstack migrates with them).
RUN python -m venv /venv \
 && /venv/bin/pip install yoyo-migrations==9.0.0 "psycopg[binary]==3.3.9" \
 && groupadd --gid 10001 shop && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin shop
COPY migrations /app/migrations
WORKDIR /app
USER 10001:10001
# e.g. apply --batch --no-config-file --database postgresql+psycopg://… /app/migrations
ENTRYPOINT ["yoyo"]
