"""Backend kinds -> implementations; every kind speaks the OpenAI API today, so one class
serves them all, with the kind deciding small differences (how to continue an answer)."""

from __future__ import annotations

from aiharness.gateway.backends.base import ChatBackend
from aiharness.gateway.settings import BackendSettings


def create_backend(settings: BackendSettings) -> ChatBackend:
    from aiharness.gateway.backends.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(settings)
