from __future__ import annotations

from pathlib import Path

import pytest

from aiharness.config import ConfigError, Settings, check_production_secrets
from aiharness.features import load_settings

pytestmark = pytest.mark.unit


def test_defaults_put_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    assert (
        settings.resolved_database_url == f"sqlite:///{(tmp_path / 'd' / 'aiharness.db').resolve()}"
    )


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIHARNESS_PORT", "9001")
    monkeypatch.setenv("AIHARNESS_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/db"


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIHARNESS_PORT", "eighty")
    with pytest.raises(ConfigError, match="AIHARNESS_PORT"):
        load_settings()


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="AIHARNESS_NO_SUCH"):
        load_settings(no_such=1)


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_config_file_is_read_and_env_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"aiharness{suffix}"
    if suffix == ".toml":
        path.write_text('port = 8100\nlog_level = "debug"\n')
    else:
        path.write_text("port: 8100\nlog_level: debug\n")
    monkeypatch.setenv("AIHARNESS_CONFIG_FILE", str(path))
    monkeypatch.setenv("AIHARNESS_LOG_LEVEL", "warning")
    settings = load_settings()
    assert settings.port == 8100
    assert settings.log_level == "warning"


def test_missing_config_file_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIHARNESS_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml.*does not exist"):
        load_settings()


def test_default_secret_refused_outside_dev(tmp_path: Path) -> None:
    check_production_secrets(Settings(data_dir=tmp_path, env="dev"))
    with pytest.raises(ConfigError, match="AIHARNESS_SECRET_KEY"):
        check_production_secrets(Settings(data_dir=tmp_path, env="prod"))
    check_production_secrets(Settings(data_dir=tmp_path, env="prod", secret_key="x" * 40))


def test_sections_read_nested_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiharness.jobs.settings import JobsSettings
    from aiharness.knowledge.settings import KnowledgeSettings

    monkeypatch.setenv("AIHARNESS_KNOWLEDGE__EMBEDDER__KIND", "openai")
    monkeypatch.setenv("AIHARNESS_JOBS__MODULES", '["a.b"]')
    monkeypatch.setenv("AIHARNESS_KNOWLEDGE__SEARCH__KEYWORD_WEIGHT", "")
    settings = load_settings()
    assert KnowledgeSettings.of(settings).embedder.kind == "openai"
    assert KnowledgeSettings.of(settings).search.keyword_weight is None
    assert JobsSettings.of(settings).modules == ["a.b"]


def test_flat_names_still_work_and_warn_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aiharness import config
    from aiharness.jobs.settings import JobsSettings
    from aiharness.knowledge.settings import KnowledgeSettings

    monkeypatch.setattr(config, "_warned", set())
    monkeypatch.setenv("AIHARNESS_EMBEDDER_KIND", "sentence-transformers")
    monkeypatch.setenv("AIHARNESS_JOB_MODULES", '["x.y"]')
    monkeypatch.setenv("AIHARNESS_WORKER_ENABLED", "false")
    first = load_settings()
    load_settings()
    assert KnowledgeSettings.of(first).embedder.kind == "sentence-transformers"
    assert JobsSettings.of(first).modules == ["x.y"]
    assert JobsSettings.of(first).worker_enabled is False
    out = capsys.readouterr()
    warnings = (out.out + out.err).count("AIHARNESS_EMBEDDER_KIND")
    assert warnings == 1
    assert "AIHARNESS_KNOWLEDGE__EMBEDDER__KIND" in out.out + out.err


def test_a_flat_and_a_nested_name_with_different_values_is_one_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIHARNESS_QUEUE_URL", "redis://a:6379/0")
    monkeypatch.setenv("AIHARNESS_JOBS__QUEUE_URL", "redis://b:6379/0")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "AIHARNESS_QUEUE_URL" in message and "AIHARNESS_JOBS__QUEUE_URL" in message
    assert "\n" not in message
    monkeypatch.setenv("AIHARNESS_JOBS__QUEUE_URL", "redis://a:6379/0")  # the same: fine
    load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AIHARNESS_JOBS__NO_SUCH", "1"),
        ("AIHARNESS_KNOWLEDGE__EMBEDDER__NOPE", "x"),
        ("AIHARNESS_NOPE__X", "1"),
    ],
)
def test_an_unknown_nested_setting_names_the_key(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_config_file_sections_lists_and_flat_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiharness.jobs.settings import JobsSettings
    from aiharness.knowledge.settings import KnowledgeSettings

    path = tmp_path / "aiharness.toml"
    path.write_text(
        "port = 8100\n"
        "chunk_max_tokens = 256\n"  # a flat name of earlier versions
        "[jobs]\nmodules = ['a.b', 'c.d']\n"
        "[knowledge.embedder]\nkind = 'openai'\nmodel = 'bge-m3'\n"
        "[knowledge]\ningest_roots = ['/srv/manuals', '/mnt/nas']\n"
    )
    monkeypatch.setenv("AIHARNESS_CONFIG_FILE", str(path))
    settings = load_settings()
    knowledge = KnowledgeSettings.of(settings)
    assert settings.port == 8100
    assert JobsSettings.of(settings).modules == ["a.b", "c.d"]
    assert (knowledge.embedder.kind, knowledge.embedder.model) == ("openai", "bge-m3")
    assert [str(p) for p in knowledge.ingest_roots] == ["/srv/manuals", "/mnt/nas"]
    assert knowledge.chunking.max_tokens == 256
    path.write_text("chunk_max_tokens = 256\n[knowledge.chunking]\nmax_tokens = 300\n")
    with pytest.raises(ConfigError, match="chunk_max_tokens"):
        load_settings()
    path.write_text("[knowledge]\nno_such = 1\n")
    with pytest.raises(ConfigError, match="AIHARNESS_KNOWLEDGE__NO_SUCH: unknown setting"):
        load_settings()


def test_child_processes_get_every_setting_as_nested_names(tmp_path: Path) -> None:
    from aiharness.config import environment_of
    from aiharness.features import make_settings

    settings = make_settings(
        data_dir=tmp_path,
        jobs={"modules": ["a.b"], "worker_concurrency": 3},
        knowledge={"embedder": {"kind": "openai", "api_key": "s3cret"}},
    )
    env = environment_of(settings)
    assert env["AIHARNESS_JOBS__WORKER_CONCURRENCY"] == "3"
    assert env["AIHARNESS_JOBS__MODULES"] == '["a.b"]'
    assert env["AIHARNESS_KNOWLEDGE__EMBEDDER__API_KEY"] == "s3cret"
    assert env["AIHARNESS_DATA_DIR"] == str(tmp_path.resolve())


def test_the_cli_says_a_bad_nested_setting_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from aiharness.cli.main import app

    monkeypatch.setenv("AIHARNESS_KNOWLEDGE__EMBEDER__KIND", "openai")  # a typo
    result = CliRunner().invoke(app, ["collections", "list"])
    assert result.exit_code == 2
    assert "AIHARNESS_KNOWLEDGE__EMBEDER__KIND: unknown setting" in result.output
    assert "Traceback" not in result.output
