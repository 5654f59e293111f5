"""LLM backends: a small interface (``base.ChatBackend``) and its implementations."""

from aiharness.gateway.backends.base import BackendError, BackendStream, ChatBackend
from aiharness.gateway.backends.registry import create_backend

__all__ = ["BackendError", "BackendStream", "ChatBackend", "create_backend"]
