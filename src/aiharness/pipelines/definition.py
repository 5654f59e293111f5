"""What a pipeline is: an ordered list of steps and typed parameters with defaults.

A step is a function ``step(ctx: StepContext) -> dict | None`` (the dict holds its metrics).
Steps hand data to each other through files in the run's folder (``ctx.save_frame`` /
``ctx.load_frame``, ``ctx.save_model`` / ``ctx.load_model``): each step is its own job and
may run on another worker process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from aiharness.errors import Invalid

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

ParamType = Literal["int", "float", "str", "bool"]
_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    default: Any
    help: str = ""
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False  # None allowed (e.g. "infer")


class StepFailed(Exception):
    """A step's own, user-facing reason to stop (bad data for this pipeline)."""


@dataclass
class StepContext:
    """What a step gets: its run's params, the dataset, the run folder, a log, metrics."""

    run_id: str
    params: dict[str, Any]
    dataset_path: Path
    dataset_name: str
    run_dir: Path
    log_file: Path
    check_cancelled: Callable[[], None] = lambda: None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.gmtime())
        with self.log_file.open("a", encoding="utf-8") as handle:
            handle.write(f"[{stamp}] {message.rstrip()}\n")

    def load_dataset(self) -> pd.DataFrame:
        from aiharness.pipelines.tables import read_table

        frame, _ = read_table(self.dataset_path, name=self.dataset_name)
        return frame

    def path(self, name: str) -> Path:
        return self.run_dir / "artifacts" / name

    def _record(self, name: str) -> Path:
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if name not in self.artifacts:
            self.artifacts.append(name)
        return target

    def save_frame(self, name: str, frame: pd.DataFrame) -> None:
        frame.to_parquet(self._record(f"{name}.parquet"))

    def load_frame(self, name: str) -> pd.DataFrame:
        path = self.path(f"{name}.parquet")
        if not path.exists():
            raise StepFailed(f"artifact {name} is missing; did the step that writes it run?")
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]

        return pd.read_parquet(path)

    def save_model(self, model: Any, name: str = "model") -> None:
        import joblib  # type: ignore[import-untyped,unused-ignore]

        joblib.dump(model, self._record(f"{name}.joblib"))

    def load_model(self, name: str = "model") -> Any:
        import joblib  # type: ignore[import-untyped,unused-ignore]

        path = self.path(f"{name}.joblib")
        if not path.exists():
            raise StepFailed(f"model {name} is missing; did the train step run?")
        return joblib.load(path)

    def save_json(self, name: str, value: Any) -> None:
        self._record(f"{name}.json").write_text(json.dumps(value, default=str), encoding="utf-8")

    def load_json(self, name: str) -> Any:
        return json.loads(self.path(f"{name}.json").read_text(encoding="utf-8"))

    def save_plot(self, name: str, svg: str) -> None:
        self._record(f"{name}.svg").write_text(svg, encoding="utf-8")


StepFunction = Callable[[StepContext], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Step:
    name: str
    run: StepFunction
    description: str = ""


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    steps: tuple[Step, ...]
    params: tuple[Param, ...] = ()
    source: str = "builtin"

    def step(self, position: int) -> Step:
        return self.steps[position]

    def params_model(self) -> type[BaseModel]:
        fields: dict[str, Any] = {}
        for p in self.params:
            kind: Any = _TYPES[p.type]
            if p.choices:
                kind = Literal[p.choices]
            if p.optional:
                kind = kind | None
            from pydantic import Field

            fields[p.name] = (kind, Field(p.default, ge=p.minimum, le=p.maximum))
        return create_model(
            f"{self.name}_params", __config__=ConfigDict(extra="forbid", strict=False), **fields
        )

    def validate_params(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in, types checked; a wrong value is ``Invalid`` naming the param."""
        try:
            model = self.params_model().model_validate(dict(raw or {}))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in err['loc']) or 'params'}: {err['msg']}"
                for err in exc.errors()
            )
            raise Invalid(
                f"invalid parameters for pipeline {self.name!r}: {problems}",
                code="invalid_params",
            ) from None
        return model.model_dump()

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "steps": [{"name": s.name, "description": s.description} for s in self.steps],
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "default": p.default,
                    "help": p.help,
                    "choices": list(p.choices) or None,
                    "minimum": p.minimum,
                    "maximum": p.maximum,
                    "optional": p.optional,
                }
                for p in self.params
            ],
        }


def pipeline(
    name: str, description: str, steps: Sequence[Step], params: Sequence[Param] = ()
) -> Pipeline:
    """The constructor user modules call (``PIPELINES = [pipeline(...)]``)."""
    return Pipeline(name=name, description=description, steps=tuple(steps), params=tuple(params))
