"""Hub settings: one declarative loader (``workflows.settings``), the same rules as the runner's.

``test_foundation.py::test_settings_precedence`` pins the order and the basic refusals; these
pin what the shared loader adds: the conversions, the names in messages, one clear CLI line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exekra.cli import main
from hub.config import CONFIG_FILE, ConfigError, Settings, load_settings
from workflows.settings import SettingsError, describe


def test_file_values_are_converted_like_environment_values(tmp_path, monkeypatch):
    (tmp_path / CONFIG_FILE).write_text(
        json.dumps({"port": "6000", "queue_timeout": 30, "license_public_key": "~/pub.pem"})
    )
    monkeypatch.setenv("EXEKRA_STOP_GRACE", " 7.5 ")
    monkeypatch.setenv("EXEKRA_THREADS", "08")  # numbers in text are read as Python reads them
    s = load_settings(str(tmp_path))
    assert s.threads == 8 and s.port == 6000
    assert s.queue_timeout == 30.0 and isinstance(s.queue_timeout, float)
    assert s.stop_grace == 7.5
    assert s.license_public_key == str(Path.home() / "pub.pem")


def test_unknown_key_names_the_file_and_a_close_setting(tmp_path):
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"treads": 4}))
    with pytest.raises(ConfigError) as err:
        load_settings(str(tmp_path))
    assert str(err.value) == (
        f"{tmp_path / CONFIG_FILE}: unknown setting 'treads' (did you mean 'threads'?)"
    )


@pytest.mark.parametrize("raw", ["5000.5", True, [5000]])
def test_a_value_that_does_not_fit_names_setting_and_file(tmp_path, raw):
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"port": raw}))
    with pytest.raises(ConfigError, match=r"json: setting 'port': .* not a valid integer"):
        load_settings(str(tmp_path))


def test_the_data_folder_comes_before_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("EXEKRA_DATA_DIR", str(tmp_path / "env"))
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / CONFIG_FILE).write_text(json.dumps({"data_dir": "/elsewhere"}))
    assert load_settings().data_dir == str(tmp_path / "env")
    assert load_settings(str(tmp_path)).data_dir == str(tmp_path)


def test_every_setting_is_declared_and_errors_share_one_base():
    assert [item.name for item in describe(Settings)][:2] == ["data_dir", "database_url"]
    assert issubclass(ConfigError, SettingsError)


def test_init_with_an_unknown_key_is_one_clear_line(tmp_path, capsys):
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"prot": 5001}))
    with pytest.raises(SystemExit) as exit_:
        main(["hub", "init", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("Error: ") and err.count("\n") == 1
    assert "unknown setting 'prot' (did you mean 'port'?)" in err
