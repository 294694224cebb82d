"""Runner settings: one declarative loader (``workflows.settings``), the same rules as the hub's.

Defaults < ``runner-config.json`` < ``EXEKRA_RUNNER_*`` < options; a key in the file that is not
a setting is refused by name; values from the file and the environment are converted alike.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from exekra.cli import main
from runner.settings import CONFIG_FILE, RunnerConfigError, RunnerSettings, load_runner_settings


def write_config(folder: Path, values: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(json.dumps(values))


def test_what_connect_writes_loads_back_unchanged(tmp_path):
    """``connect`` saves every setting: none of them may be refused as unknown."""
    saved = load_runner_settings(str(tmp_path), hub_url="http://h:5000", machine_key="FC-1")
    written = json.loads(saved.save().read_text())
    assert set(written) == {name for name in asdict(saved) if name != "data_dir"}
    assert load_runner_settings(str(tmp_path)) == saved


def test_a_file_of_an_earlier_version_still_loads(tmp_path):
    # `connect` at the first runner commit wrote work_dir, a setting retired since
    write_config(tmp_path, {"hub_url": "http://h", "machine_key": "FC-1", "work_dir": ""})
    assert load_runner_settings(str(tmp_path)).hub_url == "http://h"


def test_unknown_key_in_the_file_is_refused_by_name(tmp_path):
    write_config(tmp_path, {"hub_url": "http://h", "pol_interval": 2})
    with pytest.raises(RunnerConfigError) as err:
        load_runner_settings(str(tmp_path))
    message = str(err.value)
    assert CONFIG_FILE in message and "unknown setting 'pol_interval'" in message
    assert "did you mean 'poll_interval'?" in message


def test_file_and_environment_values_are_converted_alike(tmp_path, monkeypatch):
    write_config(
        tmp_path,
        {"poll_interval": "2.5", "log_batch_size": "50", "wake_channel": "off",
         "heartbeat_interval": 10, "browser_downloads": "~/dl"},
    )  # fmt: skip
    s = load_runner_settings(str(tmp_path))
    assert (s.poll_interval, s.log_batch_size, s.wake_channel) == (2.5, 50, False)
    assert s.heartbeat_interval == 10.0 and isinstance(s.heartbeat_interval, float)
    assert s.browser_downloads == str(Path.home() / "dl")
    for raw, value in [("yes", True), ("No", False), (" on ", True), ("0", False), ("TRUE", True)]:
        monkeypatch.setenv("EXEKRA_RUNNER_BROWSER_HEADLESS", raw)
        assert load_runner_settings(str(tmp_path)).browser_headless is value


@pytest.mark.parametrize(
    ("source", "name", "raw", "words"),
    [
        ("env", "wake_channel", "sometimes", ["EXEKRA_RUNNER_WAKE_CHANNEL", "boolean"]),
        ("env", "poll_interval", "fast", ["EXEKRA_RUNNER_POLL_INTERVAL", "number"]),
        ("file", "poll_interval", "fast", [CONFIG_FILE, "'fast'", "number"]),
        ("file", "log_level", [1], [CONFIG_FILE, "text"]),
    ],
)
def test_a_value_that_does_not_fit_is_refused_naming_setting_and_source(
    tmp_path, monkeypatch, source, name, raw, words
):
    if source == "env":
        monkeypatch.setenv("EXEKRA_RUNNER_" + name.upper(), raw)
    else:
        write_config(tmp_path, {name: raw})
    with pytest.raises(RunnerConfigError) as err:
        load_runner_settings(str(tmp_path))
    for word in [f"setting {name!r}", *words]:
        assert word in str(err.value)


def test_file_must_hold_an_object(tmp_path):
    (tmp_path / CONFIG_FILE).write_text("[1, 2]")
    with pytest.raises(RunnerConfigError, match="must hold a JSON object"):
        load_runner_settings(str(tmp_path))


def test_options_win_and_unknown_options_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("EXEKRA_RUNNER_HUB_URL", "http://env")
    assert load_runner_settings(str(tmp_path), hub_url="http://opt").hub_url == "http://opt"
    assert load_runner_settings(str(tmp_path), hub_url=None).hub_url == "http://env"
    with pytest.raises(RunnerConfigError, match="unknown setting 'hub'"):
        load_runner_settings(str(tmp_path), hub="http://opt")


def test_defaults_are_the_declared_ones():
    assert RunnerSettings().poll_interval == 5.0 and RunnerSettings().wake_channel is True


def test_start_with_an_unknown_key_is_one_clear_line(tmp_path, capsys):
    write_config(tmp_path, {"hub_url": "http://127.0.0.1:1", "machine_key": "FC-1", "colour": 1})
    with pytest.raises(SystemExit) as exit_:
        main(["runner", "start", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert f"{tmp_path / CONFIG_FILE}: unknown setting 'colour'" in err
