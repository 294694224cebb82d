"""Runner agent setup: secret storage, settings, the service unit, CLI messages."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

from runner.secrets_store import ENC_FILE, KEY_FILE, SecretStore, SecretStoreError
from runner.service import systemd_unit
from runner.settings import load_runner_settings
from tests.support import REPO


def test_secret_file_fallback_is_encrypted_and_private(tmp_path):
    store = SecretStore(tmp_path, use_keyring=False)
    secret = "ab" * 32
    store.save("FC-123", secret)
    enc = (tmp_path / ENC_FILE).read_bytes()
    assert secret.encode() not in enc and b"FC-123" not in enc
    for name in (ENC_FILE, KEY_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert SecretStore(tmp_path, use_keyring=False).load("FC-123") == secret
    assert store.load("FC-other") is None


def test_secret_file_with_wrong_key_is_a_clear_error(tmp_path):
    store = SecretStore(tmp_path, use_keyring=False)
    store.save("FC-1", "s")
    (tmp_path / KEY_FILE).unlink()
    try:
        SecretStore(tmp_path, use_keyring=False).load("FC-1")
    except SecretStoreError as exc:
        assert "exekra runner connect" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("a file encrypted with another key must not decrypt")


def test_headless_linux_has_no_keyring_so_the_file_is_used(tmp_path):
    # This machine has no keyring backend (keyring.backends.fail), like a headless server.
    assert "encrypted file" in SecretStore(tmp_path).backend


def test_settings_file_and_environment(tmp_path, monkeypatch):
    s = load_runner_settings(str(tmp_path), hub_url="http://h:5000", machine_key="FC-1")
    path = s.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("EXEKRA_RUNNER_POLL_INTERVAL", "0.5")
    again = load_runner_settings(str(tmp_path))
    assert again.hub_url == "http://h:5000" and again.poll_interval == 0.5
    assert again.heartbeat_interval == 30.0


def test_systemd_unit_verifies(tmp_path):
    unit = systemd_unit(
        exe=shutil.which("true") or "/bin/true", data_dir=str(tmp_path), user="root"
    )
    assert "ExecStart=" in unit and "Restart=always" in unit and "KillSignal=SIGTERM" in unit
    path = tmp_path / "exekra-runner.service"
    path.write_text(unit)
    if shutil.which("systemd-analyze"):
        res = subprocess.run(
            ["systemd-analyze", "verify", str(path)], capture_output=True, text=True
        )
        # verify complains about the environment of a container (no running systemd), never
        # about the unit's own syntax
        assert "exekra-runner.service:" not in res.stderr, res.stderr


def test_install_service_writes_unit_without_enabling(tmp_path):
    data = tmp_path / "data"
    load_runner_settings(str(data), hub_url="http://h", machine_key="FC-9").save()
    res = subprocess.run(
        [sys.executable, "-m", "exekra", "runner", "install-service", "--data-dir", str(data),
         "--unit-dir", str(tmp_path / "units"), "--no-enable"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    unit = (tmp_path / "units" / "exekra-runner.service").read_text()
    assert f"EXEKRA_RUNNER_DATA_DIR={data}" in unit and "runner start" in unit


def test_cli_messages(tmp_path):
    env = {**os.environ, "EXEKRA_RUNNER_DATA_DIR": str(tmp_path / "d")}
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "exekra", "runner", *a], capture_output=True, text=True,
        cwd=REPO, env=env,
    )  # fmt: skip
    res = run("start")
    assert res.returncode == 2 and "exekra runner connect" in res.stderr
    res = run("connect", "--hub", "http://127.0.0.1:1", "--key", "XX-1", "--secret", "s")
    assert res.returncode == 2 and "FC-" in res.stderr
    res = run("connect", "--hub", "http://127.0.0.1:1", "--key", "FC-1", "--secret", "s")
    assert res.returncode != 0 and "cannot reach the hub" in res.stderr
    assert run("--help").returncode == 0
