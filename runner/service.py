"""``exekra runner install-service``: a systemd unit on Linux, a Windows service on Windows."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import sys
from pathlib import Path

UNIT_NAME = "exekra-runner.service"


def systemd_unit(*, exe: str, data_dir: str, user: str) -> str:
    return f"""[Unit]
Description=Exekra runner (workflow execution agent)
Documentation=https://exekra.example/docs/runner
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User={user}
Environment=EXEKRA_RUNNER_DATA_DIR={data_dir}
ExecStart={exe} runner start
Restart=always
RestartSec=5
# SIGTERM lets the runner report a running execution as STOPPED before it exits
KillSignal=SIGTERM
TimeoutStopSec=60
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
"""


def exekra_executable() -> str:
    found = shutil.which("exekra")
    if found:
        return str(Path(found).resolve())
    return str(Path(sys.executable).with_name("exekra"))


def install_systemd(data_dir: str, *, unit_dir: Path, enable: bool = True) -> Path:
    unit = systemd_unit(exe=exekra_executable(), data_dir=data_dir, user=getpass.getuser())
    unit_dir.mkdir(parents=True, exist_ok=True)
    path = unit_dir / UNIT_NAME
    path.write_text(unit)
    if enable and shutil.which("systemctl"):
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        subprocess.run(["systemctl", "enable", "--now", UNIT_NAME], check=True)
    return path


def install_windows(data_dir: str) -> str:  # pragma: no cover - Windows only
    try:
        import win32service  # noqa: F401  (pywin32, the `windows` extra)
    except ImportError:
        raise RuntimeError(
            "the Windows service needs pywin32: pip install 'exekra[windows]'"
        ) from None
    exe = exekra_executable()
    subprocess.run(
        [
            "sc.exe",
            "create",
            "ExekraRunner",
            f'binPath= "{exe}" runner start',
            "start= auto",
            "DisplayName= Exekra Runner",
        ],
        check=True,
    )
    subprocess.run(["setx", "/M", "EXEKRA_RUNNER_DATA_DIR", data_dir], check=True)
    return "ExekraRunner"
