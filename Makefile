# Verbs people guess. Everything runs inside .venv; `make venv` is implied.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SITE    = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PROTOS := $(shell find protos -name '*.proto' | sort)

.PHONY: venv proto migrate run test bench lint fmt clean k8s-validate

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# xds-protos ships an older copy of opentelemetry/proto/...; whichever package pip installs
	# last wins, so put the OTLP exporter's own version back on top.
	$(PY) -m pip install -q --force-reinstall --no-deps "$$(grep -o 'opentelemetry-proto==[0-9.]*' pyproject.toml)"
	touch $@

# Python stubs, Envoy's descriptor set and the OpenAPI documents, all from protos/ in one step
# so they cannot drift.
proto: gen/.stamp

gen/.stamp: $(PROTOS) $(wildcard devstack/openapi/*.py) $(VENV)/.installed
	rm -rf gen && mkdir -p gen
	$(PY) -m grpc_tools.protoc -I protos -I $(SITE) -I $(SITE)/grpc_tools/_proto \
		--python_out=gen --pyi_out=gen --grpc_python_out=gen \
		--include_imports --include_source_info --descriptor_set_out=gen/shop.pb $(PROTOS)
	echo "$(CURDIR)/gen" > $(SITE)/shop_gen.pth
	# The OpenAPI documents (gen/openapi/*.json) from the same descriptor set: never hand-edited.
	$(PY) -m devstack.openapi gen/shop.pb gen/openapi
	touch $@

migrate: proto
	$(PY) -m devstack.migrate

run: proto
	$(PY) -m devstack.run

test: proto
	$(PY) -m pytest

# Every benchmark in full (minutes; JSON in bench/results/). `BENCH_SMOKE=1 make bench` runs
# each in its tiny mode (seconds), as tests/bench does in `make test`.
bench: proto
	$(PY) -m bench.storefront
	$(PY) -m bench.edge_trust
	$(PY) -m bench.edge_scale
	$(PY) -m bench.events
	$(PY) -m bench.catalog_scale
	$(PY) -m bench.catalog_scale.one_store
	$(PY) -m bench.checkout
	$(PY) -m bench.accounts

# Every manifest in k8s/ against the Kubernetes schemas, offline (k8s/validate.py).
k8s-validate: proto
	$(PY) k8s/validate.py

lint: proto
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf gen .run .pytest_cache .ruff_cache
