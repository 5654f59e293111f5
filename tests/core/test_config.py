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
