"""The layering the code is organised by (ARCHITECTURE.md), checked on the source itself:

- rule modules (`rules.py`, `*_rules.py` and the pure modules of services/common) import no
  I/O library, no gRPC or protobuf, no generated code, and no services module that is not a
  rule module itself — so a rule can always be unit-tested in milliseconds;
- only entrypoints (servicers, message conversions, bootstraps, the edge's xDS/ext_authz code
  and the server kit) speak gRPC or protobuf; use cases and repositories speak domain objects;
- no module reaches into another module's private (`_name`) attributes, in services or bench.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"

# Pure modules of the shared kit, besides those named *rules.
COMMON_RULES = {
    "errors",
    "ids",
    "money",
    "stock_rules",
    "cursor",
    "webhook_topics",
    "plans",
    "store_keys",
    "identities",
    "limits",
}
IO_AND_WIRE = ("grpc", "asyncpg", "redis", "aio_pika", "httpx", "stripe", "aiosmtplib", "dns")
GENERATED = ("shop", "envoy", "google.protobuf", "google.rpc", "google.api", "xds")
# Where gRPC and protobuf are spoken.
ENTRYPOINT_NAMES = {"servicer.py", "messages.py", "bootstrap.py", "__main__.py"}
ENTRYPOINT_DIRS = {SERVICES / "store" / "edge"}
COMMON_WIRE = {
    "decoding",
    "edge_trust",
    "interceptors",
    "messages",
    "server",
    "status",
    "telemetry",
    "telemetry_interceptor",
    "tenancy",
}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def is_rule_module(path: Path) -> bool:
    if path.stem == "rules" or path.stem.endswith("_rules"):
        return True
    return path.parent == SERVICES / "common" and path.stem in COMMON_RULES


def speaks_wire(path: Path) -> bool:
    if path.name in ENTRYPOINT_NAMES or path.parent in ENTRYPOINT_DIRS:
        return True
    return path.parent == SERVICES / "common" and path.stem in COMMON_WIRE


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) for every import in the file, type-only ones too."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def service_modules() -> list[Path]:
    return sorted(SERVICES.rglob("*.py"))


RULE_MODULES = [p for p in service_modules() if is_rule_module(p)]


def test_the_rule_modules_are_found():
    names = {module_name(p) for p in RULE_MODULES}
    assert "services.checkout.cart.rules" in names
    assert "services.common.stock_rules" in names
    assert len(names) >= 10


@pytest.mark.parametrize("path", RULE_MODULES, ids=module_name)
def test_rule_modules_stay_pure(path: Path):
    rule_names = {module_name(p) for p in RULE_MODULES}
    offending = []
    for module, names in imports(path):
        if under(module, IO_AND_WIRE + GENERATED):
            offending.append(module)
        elif module.startswith("services."):
            targets = [module] + [f"{module}.{n}" for n in names]
            if not any(t in rule_names for t in targets):
                offending.append(module)
    assert offending == [], f"{module_name(path)} imports {offending}"


def test_only_entrypoints_speak_grpc_or_protobuf():
    offenders = {
        module_name(path): sorted({m for m, _ in imports(path) if under(m, ("grpc", *GENERATED))})
        for path in service_modules()
        if not speaks_wire(path)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def private_reaches(path: Path) -> list[str]:
    """`from a import _b` and `a._b` where `a` is another of our modules."""
    tree = ast.parse(path.read_text(), str(path))
    ours = ("services", "bench", "devstack")
    aliases: dict[str, str] = {}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and under(node.module, ours):
            for alias in node.names:
                if alias.name.startswith("_") and alias.name != "__version__":
                    found.append(f"{node.module}.{alias.name}")
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if under(alias.name, ours):
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            found.append(f"{aliases[node.value.id]}.{node.attr}")
    return found


@pytest.mark.parametrize("tree", ["services", "bench"])
def test_no_module_reaches_into_private_names(tree: str):
    offenders = {
        str(path.relative_to(ROOT)): private_reaches(path)
        for path in sorted((ROOT / tree).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_private_name_check_catches_a_reach(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from services.checkout.cart.store import _key\n"
        "from services.checkout.checkout import stock\n"
        "x = stock._LOCK\n"
    )
    assert private_reaches(sample) == [
        "services.checkout.cart.store._key",
        "services.checkout.checkout.stock._LOCK",
    ]
