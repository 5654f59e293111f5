"""The pipelines a platform knows: the built-ins plus those in the user pipelines folder.

A user module is any ``*.py`` file in that folder that defines ``PIPELINES`` (a list of
``Pipeline``). A module that fails to import or names a pipeline twice is skipped, and the
reason is kept in ``problems`` (shown by ``GET /api/pipelines``): one bad file breaks nothing.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from aiharness.errors import NotFound
from aiharness.observability.logging import get_logger
from aiharness.pipelines.builtin import builtin_pipelines
from aiharness.pipelines.definition import Pipeline

log = get_logger("aiharness.pipelines.registry")
USER_MODULE_PREFIX = "aiharness_user_pipelines"


class PipelineRegistry:
    def __init__(self, user_dir: Path | None = None) -> None:
        self._pipelines: dict[str, Pipeline] = {p.name: p for p in builtin_pipelines()}
        self.problems: list[str] = []
        if user_dir is not None and user_dir.is_dir():
            for path in sorted(user_dir.glob("*.py")):
                self._load(path)

    def _load(self, path: Path) -> None:
        name = f"{USER_MODULE_PREFIX}.{path.stem}"
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError("not a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            found = getattr(module, "PIPELINES", None)
            if not isinstance(found, (list, tuple)) or not all(
                isinstance(p, Pipeline) for p in found
            ):
                raise TypeError("it must define PIPELINES, a list of pipeline(...) objects")
        except Exception as exc:
            self.problems.append(f"{path.name}: {type(exc).__name__}: {exc}")
            log.warning("user pipeline module skipped", path=str(path), error=str(exc))
            return
        for item in found:
            if item.name in self._pipelines:
                self.problems.append(f"{path.name}: pipeline {item.name!r} already exists")
                continue
            self._pipelines[item.name] = Pipeline(
                name=item.name,
                description=item.description,
                steps=item.steps,
                params=item.params,
                source=path.name,
            )

    def get(self, name: str) -> Pipeline:
        try:
            return self._pipelines[name]
        except KeyError:
            known = ", ".join(sorted(self._pipelines))
            raise NotFound(f"no pipeline {name!r}; known: {known}") from None

    def all(self) -> list[Pipeline]:
        return [self._pipelines[n] for n in sorted(self._pipelines)]
