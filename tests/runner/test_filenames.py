"""The one plain-file-name helper behind email.save_attachments, browser.download and a local
run's artifact folder, and the free numbered path it saves to."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.activities import ActivityError, _filenames
from runner.activities._filenames import safe_name, unique_path
from runner.execute import FolderArtifacts


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\a<b>.txt", "a_b_.txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # a bidi override hid the .exe
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        ("two\u2028lines\x85.txt", "twolines_.txt"),
        ("report. . ", "report"),
        (" .hidden ", "hidden"),
        ("NUL", "_NUL"),
    ],
)
def test_safe_name(raw: str, safe: str) -> None:
    assert safe_name(raw) == safe


def test_safe_name_falls_back_when_nothing_is_left() -> None:
    assert safe_name("...", "download") == "download"
    assert safe_name("\u202e/", "artifact") == "artifact"


def test_unique_path(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    assert unique_path(tmp_path, "b.txt") == tmp_path / "b.txt"
    assert unique_path(tmp_path, "a.txt") == tmp_path / "a (2).txt"
    assert unique_path(tmp_path, "a.txt", first=1) == tmp_path / "a (1).txt"
    assert unique_path(tmp_path, "a.txt", overwrite=True) == tmp_path / "a.txt"
    taken = {tmp_path / "a.txt", tmp_path / "a (2).txt"}
    assert unique_path(tmp_path, "a.txt", True, taken) == tmp_path / "a (3).txt"


def test_unique_path_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_filenames, "MAX_NUMBERED", 2)
    for name in ("a.txt", "a (1).txt", "a (2).txt"):
        (tmp_path / name).write_text("x")
    with pytest.raises(ActivityError, match="too many files named like"):
        unique_path(tmp_path, "a.txt", first=1)


def test_artifact_names_stay_in_their_folder(tmp_path: Path) -> None:
    folder = FolderArtifacts(tmp_path / "out")
    record = folder("../../x\u202e.png", b"data", "screenshot", "image/png", None)
    assert Path(record["path"]) == tmp_path / "out" / "001-x.png"
    assert safe_name("a\x07b.txt", control="") == "ab.txt"
    record = folder("..", b"data", "file", "text/plain", None)
    assert Path(record["path"]).name == "002-artifact"
