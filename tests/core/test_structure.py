"""The package's dependency arrows, checked from its source: faces -> features -> jobs/db/
observability, never back. Imports and module names in strings (``importlib``, feature
descriptions) both count. The second test proves each rule fires on its forbidden arrow."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aiharness.features import FEATURES

pytestmark = pytest.mark.unit

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "src" / "aiharness"
MODULE_STRING = re.compile(r"^(aiharness(?:\.[a-z_][a-z0-9_]*)+)(?::[A-Za-z_][A-Za-z0-9_]*)?$")
# Features the others build on (their services, job context and registry are for everyone;
# the audit log records every feature's changes).
LAYERS = frozenset({"jobs", "audit"})
FEATURE_NAMES = frozenset(f.name for f in FEATURES)
# The platform's own modules: they know no feature.
KERNEL = (
    "aiharness.config",
    "aiharness.errors",
    "aiharness.api_errors",
    "aiharness.feature",
    "aiharness.platform",
    "aiharness.deps",
    "aiharness.health",
    "aiharness.clients",
    "aiharness.principal",
    "aiharness.throttle",
)
ROOT = ("aiharness.app", "aiharness.features")
FACES = ("aiharness.web", "aiharness.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    base = PACKAGE_DIR.parent / relative
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def references(path: Path) -> set[str]:
    """Modules this file imports or names in a string."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            found.add(origin)
            for alias in node.names:
                if _is_module(f"{origin}.{alias.name}"):
                    found.add(f"{origin}.{alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_STRING.match(node.value)
            if match:
                found.add(match.group(1))
    return {name for name in found if name.startswith("aiharness")}


def dependency_graph() -> dict[str, set[str]]:
    return {
        module_name(path): references(path) - {module_name(path)}
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
    }


def feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FEATURE_NAMES else None


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@dataclass(frozen=True)
class Rule:
    name: str
    forbids: Callable[[str, str], bool]


def _other_internals(src: str, dst: str) -> bool:
    a, b = feature_of(src), feature_of(dst)
    if a is None or b is None or a == b or b in LAYERS:
        return False
    return dst not in (f"aiharness.{b}", f"aiharness.{b}.public")


def _router_import(src: str, dst: str) -> bool:
    if not dst.endswith(".router") or feature_of(dst) is None:
        return False
    # Only the feature's own description names it (the app factory mounts what it declares).
    return src != f"aiharness.{feature_of(dst)}.feature"


RULES = (
    Rule("db -> a feature", lambda s, d: _under(s, ("aiharness.db",)) and bool(feature_of(d))),
    Rule(
        "observability -> a feature",
        lambda s, d: _under(s, ("aiharness.observability",)) and bool(feature_of(d)),
    ),
    Rule("kernel -> a feature", lambda s, d: _under(s, KERNEL) and bool(feature_of(d))),
    Rule(
        "jobs -> another feature",
        lambda s, d: feature_of(s) == "jobs" and feature_of(d) not in (None, "jobs", "audit"),
    ),
    Rule(
        "audit -> another feature",
        lambda s, d: feature_of(s) == "audit" and feature_of(d) not in (None, "audit"),
    ),
    Rule(
        "a feature -> web, cli or the composition root",
        lambda s, d: bool(feature_of(s)) and _under(d, (*FACES, *ROOT)),
    ),
    Rule("a feature -> another feature's internals", _other_internals),
    Rule(
        "gateway -> assistant",
        lambda s, d: feature_of(s) == "gateway" and feature_of(d) == "assistant",
    ),
    Rule("a router imported outside its feature's description", _router_import),
)


def violations(graph: dict[str, set[str]]) -> Iterator[str]:
    for src, targets in sorted(graph.items()):
        for dst in sorted(targets):
            for rule in RULES:
                if rule.forbids(src, dst):
                    yield f"{rule.name}: {src} imports {dst}"


def test_the_package_has_no_forbidden_dependency() -> None:
    graph = dependency_graph()
    assert len(graph) > 50  # the walk found the package
    assert "aiharness.knowledge.router" in graph["aiharness.knowledge.feature"]  # strings count
    found = list(violations(graph))
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("src", "dst", "rule"),
    [
        ("aiharness.db.engine", "aiharness.knowledge.models", "db -> a feature"),
        ("aiharness.observability.logging", "aiharness.jobs.models", "observability"),
        ("aiharness.platform", "aiharness.knowledge.runtime", "kernel -> a feature"),
        ("aiharness.jobs.worker", "aiharness.knowledge.runtime", "jobs -> another feature"),
        ("aiharness.audit.service", "aiharness.jobs.service", "audit -> another feature"),
        ("aiharness.knowledge.service", "aiharness.web.templating", "web, cli"),
        ("aiharness.knowledge.ingest", "aiharness.cli.common", "web, cli"),
        ("aiharness.jobs.wiring", "aiharness.features", "composition root"),
        ("aiharness.assistant.service", "aiharness.knowledge.retrieval", "internals"),
        ("aiharness.gateway.routing", "aiharness.assistant.public", "gateway -> assistant"),
        ("aiharness.web.pages.knowledge", "aiharness.knowledge.router", "router"),
    ],
)
def test_each_forbidden_arrow_is_caught(src: str, dst: str, rule: str) -> None:
    found = list(violations({src: {dst}}))
    assert len(found) >= 1 and any(rule in line for line in found), found


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("aiharness.assistant.service", "aiharness.knowledge.public"),
        ("aiharness.knowledge.ingest", "aiharness.jobs.service"),
        ("aiharness.jobs.service", "aiharness.audit"),
        ("aiharness.pipelines.runs", "aiharness.audit.service"),
        ("aiharness.web.pages.knowledge", "aiharness.knowledge.service"),
        ("aiharness.cli.local", "aiharness.knowledge.runtime"),
        ("aiharness.app", "aiharness.web.router"),
        ("aiharness.knowledge.feature", "aiharness.knowledge.router"),
    ],
)
def test_allowed_arrows_pass(src: str, dst: str) -> None:
    assert list(violations({src: {dst}})) == []


def test_importlib_strings_count_as_imports(tmp_path: Path) -> None:
    module = PACKAGE_DIR / "jobs" / "wiring.py"
    assert "aiharness.jobs.embedded" in references(module)  # a lazy import inside a function
