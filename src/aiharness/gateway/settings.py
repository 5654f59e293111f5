"""The ``gateway`` settings section: backends (LLM servers), aliases and failover policy.

Backends come from the config file (``[[gateway.backends]]``); a single backend can also be
given with environment variables (``AIHARNESS_GATEWAY__BASE_URL``, ``..._MODEL``; or
``..._KIND=llama_cpp`` with ``..._MODEL`` naming a GGUF file for the embedded engine).
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aiharness.config import Section

# Server kinds speak the OpenAI API over HTTP; the kind only tunes details (how to continue an
# answer). ``llama_cpp`` is different: a GGUF file run in process by llama-cpp-python (the
# optional ``local-llm`` extra), not a server (that is ``llamacpp``).
BackendKind = Literal["openai", "ollama", "vllm", "llamacpp", "llama_cpp"]
EMBEDDED = "llama_cpp"
Capability = Literal["chat", "code", "embeddings"]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
AUTO = "auto"


class BackendSettings(BaseModel):
    """One OpenAI-compatible LLM server, or a GGUF file run in process (kind ``llama_cpp``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Unique name of the backend (used in aliases and records).")
    base_url: str = Field(
        "",
        description="Server root including `/v1`, e.g. `http://gpu1:8080/v1` (none for "
        "`llama_cpp`).",
    )
    model: str = Field(
        description="Model name the server serves (sent as `model`); for `llama_cpp` a GGUF "
        "file in the data dir's `models` folder, or an absolute path."
    )
    kind: BackendKind = Field(
        "openai",
        description="Server kind: openai, ollama, vllm, llamacpp (a llama.cpp server); "
        "llama_cpp runs the GGUF file in process (extra `local-llm`).",
    )
    api_key_env: str | None = Field(
        None, description="Environment variable that holds the server's API key (never logged)."
    )
    priority: int = Field(100, description="Lower goes first within a capability's alias.")
    connect_timeout_s: float = Field(2.0, gt=0, description="Time to open a connection.")
    first_token_timeout_s: float = Field(
        30.0, gt=0, description="Time to the answer's first token before failing over."
    )
    total_timeout_s: float = Field(300.0, gt=0, description="Longest a whole answer may take.")
    max_concurrency: int = Field(
        16, ge=1, le=4096, description="Most requests in flight to this backend at once."
    )
    capabilities: list[Capability] = Field(
        default_factory=lambda: list[Capability](["chat"]),
        description="What it serves: chat, code, embeddings.",
    )
    context_length: int = Field(
        8192,
        ge=256,
        description="Context window in tokens (`llama_cpp`: at most what the model was trained "
        "with, read from the file).",
    )
    threads: int | None = Field(
        None, ge=1, le=512, description="`llama_cpp` only: CPU threads (default: half the cores)."
    )
    chat_format: str | None = Field(
        None,
        max_length=64,
        description="`llama_cpp` only: llama-cpp-python's chat format (e.g. `gemma`, `chatml`) "
        "for a GGUF file without a chat template; default: the file's template.",
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r}: letters, digits and . _ : - only (at most 64)")
        return value

    @field_validator("base_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _kind_fits(self) -> BackendSettings:
        if self.kind == EMBEDDED:
            if "embeddings" in self.capabilities:
                raise ValueError(f"backend {self.name!r}: llama_cpp serves chat and code only")
            if not self.model.strip():
                raise ValueError(f"backend {self.name!r}: model must name a GGUF file")
        elif not self.base_url:
            raise ValueError(f"backend {self.name!r} needs base_url (the server root with /v1)")
        return self


class GatewaySettings(Section):
    """The model gateway: LLM backends, aliases, failover and usage records."""

    key: ClassVar[str] = "gateway"

    backends: list[BackendSettings] = Field(
        default_factory=list, description="LLM servers (`[[gateway.backends]]` in the file)."
    )
    aliases: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Public model names -> ordered backend names. Unset `chat`/`code`: every "
        "backend with that capability, by priority.",
    )
    # One backend from environment variables, for the simplest set-up.
    base_url: str | None = Field(
        None, description="A single backend's server root (with `model`); joins `backends`."
    )
    model: str | None = Field(
        None,
        description="Model served by the single `base_url` backend (with kind `llama_cpp` and "
        "no base_url: the GGUF file to run in process).",
    )
    api_key_env: str | None = Field(
        None, description="Environment variable with the single backend's API key."
    )
    kind: BackendKind = Field("openai", description="Kind of the single `base_url` backend.")
    failure_threshold: int = Field(
        3, ge=1, description="Failures in a row that put a backend into cooldown."
    )
    cooldown_s: float = Field(
        10.0, gt=0, description="First cooldown; it doubles on each failed probe."
    )
    max_cooldown_s: float = Field(120.0, gt=0, description="Longest cooldown.")
    health_interval_s: float = Field(
        15.0, gt=0, description="Seconds between background health probes of each backend."
    )
    max_tokens_limit: int = Field(
        32768, ge=1, description="Largest `max_tokens` accepted (bigger is refused as absurd)."
    )
    continue_mid_stream: bool = Field(
        True, description="Continue a broken stream on the next backend of the alias."
    )
    embeddings: Literal["knowledge", "backends", "off"] = Field(
        "knowledge",
        description="Who serves `/v1/embeddings` for the `embeddings` alias: the knowledge "
        "base's embedder, or backends with the embeddings capability.",
    )
    usage_batch_size: int = Field(200, ge=1, description="Usage records written per batch.")
    usage_flush_s: float = Field(1.0, gt=0, description="Longest a usage record waits unwritten.")
    reload_on_sighup: bool = Field(True, description="Reload backends and aliases on SIGHUP.")

    @model_validator(mode="after")
    def _consistent(self) -> GatewaySettings:
        if self.base_url and not self.model:
            raise ValueError("gateway.base_url needs gateway.model (the served model name)")
        if self.kind == EMBEDDED and self.base_url:
            raise ValueError("gateway.kind llama_cpp runs gateway.model in process: no base_url")
        names = [b.name for b in self.all_backends()]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"gateway backends named twice: {', '.join(doubled)}")
        known = set(names)
        for alias, members in self.aliases.items():
            if not NAME.match(alias) or alias == AUTO:
                raise ValueError(f"gateway alias {alias!r} is not a usable model name")
            missing = [m for m in members if m not in known]
            if missing:
                raise ValueError(f"gateway alias {alias!r} names unknown backends: {missing}")
        return self

    def all_backends(self) -> list[BackendSettings]:
        """The configured backends plus the one from ``base_url``/``model`` when set (or from
        ``model`` alone with kind ``llama_cpp``)."""
        found = list(self.backends)
        if self.model and (self.base_url or self.kind == EMBEDDED):
            found.append(
                BackendSettings(
                    name="default",
                    base_url=self.base_url or "",
                    model=self.model,
                    kind=self.kind,
                    api_key_env=self.api_key_env,
                    capabilities=["chat", "code"],
                )
            )
        return found
