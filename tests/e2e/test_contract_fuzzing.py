"""Contract fuzzing: schemathesis, a tool we did not write, against the running stack through
Envoy, driven by the generated OpenAPI documents. A fresh store, its first admin token (every
scope); for the storefront and the admin API: no 5xx, every response (status, content type,
headers, body) as documented, errors in the google.rpc.Status shape. Each run is a fixed number
of cases from a fixed seed, bounded by a timeout; what it found is fixed and kept as plain
regression tests (tests/e2e/test_fuzz_findings.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.api_client import admin, create_product, signup

DOCUMENTS = Path(__file__).resolve().parents[2] / "gen" / "openapi"
# Cases per operation (FUZZ_EXAMPLES): each document's run takes well under a minute here,
# both together well under the three minutes CI allows (the timeout below is the hard bound).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
TIMEOUT_SECONDS = 150
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)

# Calls that would end the run's own access: stateful testing links RequestStoreClosure's
# confirmation token into CloseStore, and ListAccessTokens' ids into RevokeAccessToken, after
# which every call is a (correct) 401. Their own e2e tests cover them (test_store_closing,
# test_access_tokens).
SELF_DESTRUCTIVE = ("StoreAdmin_CloseStore", "StoreAdmin_RevokeAccessToken")


@pytest.fixture(scope="module")
def fuzz_store(http):
    store = signup(http, "fuzz")
    create_product(http, store, "Fuzz Tee", skus=["FUZZ-1"], handle="fuzz-tee")
    return store


def schemathesis(document: str, url: str, headers: dict[str, str], report: Path):
    args = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        str(DOCUMENTS / document),
        "--url",
        url,
        "--checks",
        CHECKS,
        # A fixed number of cases from a fixed seed, so a run is repeatable (a time budget
        # would make it depend on the machine's speed); the subprocess timeout bounds it.
        "--max-examples",
        str(EXAMPLES),
        # One worker: CPython 3.11 before 3.11.8 can fail ast.parse in concurrent threads
        # ("AST constructor recursion depth mismatch"), which hypothesis calls to describe
        # its strategies; the run would end on the tool's own error, not the API's.
        "--workers",
        "1",
        "--seed",
        "16",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        "--no-color",
        *(a for op in SELF_DESTRUCTIVE for a in ("--exclude-operation-id", op)),
        *(a for name, value in headers.items() for a in ("-H", f"{name}: {value}")),
    ]
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
        # Its cache (.schemathesis/) stays out of the work tree.
        cwd=report.parent,
    )


def _explain(done: subprocess.CompletedProcess) -> str:
    return f"schemathesis exited {done.returncode}\n{done.stdout[-20000:]}\n{done.stderr[-3000:]}"


@pytest.mark.timeout(TIMEOUT_SECONDS * 2)
def test_storefront_contract(stack, fuzz_store, tmp_path):
    done = schemathesis(
        "storefront.json", stack.edge_url, {"Host": fuzz_store.host}, tmp_path / "report"
    )
    assert done.returncode == 0, _explain(done)
    print(done.stdout[-3000:])


@pytest.mark.timeout(TIMEOUT_SECONDS * 2)
def test_admin_contract(stack, fuzz_store, tmp_path):
    done = schemathesis("admin.json", stack.edge_url, admin(fuzz_store), tmp_path / "report")
    assert done.returncode == 0, _explain(done)
    print(done.stdout[-3000:])
