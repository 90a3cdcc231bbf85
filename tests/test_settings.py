"""Settings come from the environment, are all checked at once, and are all documented."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from server.cli import cmd_settings
from server.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_need_nothing(tmp_path: Path) -> None:
    s = Settings.from_env({"THREADLINE_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path}/threadline.db"  # follows the data dir
    assert s.redis_url is None
    assert (s.edit_window, s.page_size, s.reply_page_size) == (900, 20, 3)
    assert len(s.secret_key) >= 32


def test_the_data_dir_holds_the_database_unless_a_url_names_another(tmp_path: Path) -> None:
    assert Settings().database_url == "sqlite:///./data/threadline.db"
    assert Settings(data_dir="/srv/tl/").database_url == "sqlite:////srv/tl/threadline.db"
    named = Settings.from_env(
        {"THREADLINE_DATA_DIR": str(tmp_path), "THREADLINE_DATABASE_URL": "postgresql://db/tl"}
    )
    assert named.database_url == "postgresql://db/tl"


def test_generated_secret_is_persisted(tmp_path: Path) -> None:
    first = Settings.from_env({"THREADLINE_DATA_DIR": str(tmp_path)}).secret_key
    again = Settings.from_env({"THREADLINE_DATA_DIR": str(tmp_path)}).secret_key
    assert first == again
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_each_value_says_where_it_came_from(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "THREADLINE_DATA_DIR": str(tmp_path),
            "THREADLINE_PAGE_SIZE": "50",
            "THREADLINE_DATABASE_URL": "postgresql://tl:pw-sekrit@db/tl",
            "THREADLINE_METRICS_TOKEN": "token-sekrit-0123456789",
        }
    )
    shown = {name: (value, source) for name, value, source in s.effective()}
    assert shown["THREADLINE_PAGE_SIZE"] == ("50", "environment")
    assert shown["THREADLINE_EDIT_WINDOW"] == ("900", "default")
    assert shown["THREADLINE_DATABASE_URL"] == ("postgresql://tl:***@db/tl", "environment")
    assert shown["THREADLINE_METRICS_TOKEN"] == ("(hidden)", "environment")
    assert shown["THREADLINE_SECRET_KEY"] == (
        "(hidden)",
        f"generated, kept in {tmp_path}/secret.key",
    )
    assert "sekrit" not in repr(s.effective())


def test_a_secret_is_only_generated_when_asked_for(tmp_path: Path) -> None:
    s = Settings.from_env({"THREADLINE_DATA_DIR": str(tmp_path / "new")}, generate_secret=False)
    assert s.secret_key == "" and not (tmp_path / "new").exists()
    assert dict((n, src) for n, _, src in s.effective())["THREADLINE_SECRET_KEY"].startswith(
        "generated into"
    )


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(
            {
                "THREADLINE_PAGE_SIZE": "lots",
                "THREADLINE_EDIT_WINDOW": "-5",
                "THREADLINE_DATABASE_URL": "mysql://x",
                "PORT": "70000",
                "THREADLINE_TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip",
            }
        )
    message = str(err.value)
    for name in (
        "THREADLINE_PAGE_SIZE",
        "THREADLINE_EDIT_WINDOW",
        "THREADLINE_DATABASE_URL",
        "PORT",
        "THREADLINE_TRUSTED_PROXIES",
    ):
        assert name in message
    assert "\n" not in message


def test_production_requires_a_secret_key() -> None:
    with pytest.raises(SettingsError, match="THREADLINE_SECRET_KEY"):
        Settings.from_env({"THREADLINE_ENV": "production"})
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"THREADLINE_SECRET_KEY": "short"})


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, _default, _help in Settings.documented():
        assert f"`{name}`" in readme, f"{name} is missing from the README settings table"


def test_readme_settings_table_is_what_threadline_settings_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cmd_settings(Settings(), argparse.Namespace(markdown=True))
    printed = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| Variable | Default | Meaning |")
    table = readme[start : readme.index("\n\n", start)] + "\n"
    assert table == printed, "paste `threadline settings --markdown` into README's Settings"
