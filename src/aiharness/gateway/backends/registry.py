"""Backend kinds -> implementations. Every server kind speaks the OpenAI API, so one class
serves them all, with the kind deciding small differences (how to continue an answer); the
embedded ``llama_cpp`` kind runs a GGUF file in process and is imported only when configured,
so the default install never needs llama-cpp-python."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiharness.gateway.backends.base import ChatBackend
from aiharness.gateway.settings import EMBEDDED, BackendSettings


def _openai_compat(settings: BackendSettings, models_dir: Path | None) -> ChatBackend:
    from aiharness.gateway.backends.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(settings)


def _llama_cpp(settings: BackendSettings, models_dir: Path | None) -> ChatBackend:
    from aiharness.gateway.backends.llama_cpp import LlamaCppBackend

    return LlamaCppBackend(settings, models_dir=models_dir)


BACKENDS: dict[str, Callable[[BackendSettings, Path | None], ChatBackend]] = {
    "openai": _openai_compat,
    "ollama": _openai_compat,
    "vllm": _openai_compat,
    "llamacpp": _openai_compat,
    EMBEDDED: _llama_cpp,
}


def create_backend(settings: BackendSettings, *, models_dir: Path | None = None) -> ChatBackend:
    """A backend for ``settings``; ``models_dir`` is where relative GGUF file names live (the
    data dir's ``models`` folder)."""
    return BACKENDS[settings.kind](settings, models_dir)
