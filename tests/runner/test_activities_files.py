"""File, folder and ZIP activities against the real file system (in pytest's tmp_path)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from .enginekit import failure, one, value


def test_write_read_append(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "a.txt"
    assert one("file.write", output=None, path=str(path), content="héllo")[0].status == "COMPLETED"
    assert value("file.read", path=str(path)) == "héllo"
    one("file.append", output=None, path=str(path), content=" world")
    assert path.read_text(encoding="utf-8") == "héllo world"
    one("file.append", output=None, path=str(tmp_path / "new.txt"), content="x")
    assert (tmp_path / "new.txt").read_text() == "x"


def test_write_encoding_and_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "l1.txt"
    one("file.write", output=None, path=str(path), content="é", encoding="latin-1")
    assert path.read_bytes() == b"\xe9"
    assert value("file.read", path=str(path), encoding="latin-1") == "é"
    assert "as utf-8" in failure("file.read", path=str(path))
    assert "overwrite is false" in failure(
        "file.write", output=None, path=str(path), content="x", overwrite=False
    )
    assert path.read_bytes() == b"\xe9"  # unchanged
    assert "unknown encoding" in failure("file.read", path=str(path), encoding="klingon")


def test_read_missing_file_is_clear(tmp_path: Path) -> None:
    error = failure("file.read", path=str(tmp_path / "nope.txt"))
    assert "cannot read file" in error and "nope.txt" in error


def test_copy_move_delete_exists(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("data")
    (tmp_path / "dir").mkdir()
    assert value("file.copy", source=str(src), destination=str(tmp_path / "dir")) == str(
        tmp_path / "dir" / "a.txt"
    )
    assert (tmp_path / "dir" / "a.txt").read_text() == "data"
    assert "overwrite is false" in failure(
        "file.copy", source=str(src), destination=str(tmp_path / "dir"), overwrite=False
    )
    value("file.move", source=str(src), destination=str(tmp_path / "b.txt"))
    assert not src.exists() and (tmp_path / "b.txt").read_text() == "data"
    assert "does not exist" in failure("file.move", source=str(src), destination="x")
    assert value("file.exists", path=str(tmp_path / "b.txt")) is True
    assert value("file.exists", path=str(tmp_path / "dir")) is False
    assert value("file.exists", path=str(tmp_path / "dir"), folders=True) is True
    one("file.delete", output=None, path=str(tmp_path / "b.txt"))
    assert value("file.exists", path=str(tmp_path / "b.txt")) is False
    assert "does not exist" in failure("file.delete", output=None, path=str(tmp_path / "b.txt"))
    assert (
        one("file.delete", output=None, path=str(tmp_path / "b.txt"), missing_ok=True)[0].status
        == "COMPLETED"
    )
    assert "is a folder" in failure("file.delete", output=None, path=str(tmp_path / "dir"))


def test_large_copy_is_exact(tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(range(256)) * 20_000)  # ~5 MB, several chunks
    value("file.copy", source=str(src), destination=str(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == src.read_bytes()
    assert not list(tmp_path.glob(".*partial"))


def test_folder_create_list_delete(tmp_path: Path) -> None:
    base = tmp_path / "in"
    one("folder.create", output=None, path=str(base / "sub"))
    for name in ("a.csv", "b.txt", "sub/c.csv"):
        (base / name).write_text("x")
    assert value("folder.list", path=str(base)) == [
        str(base / n) for n in ("a.csv", "b.txt", "sub")
    ]
    assert value("folder.list", path=str(base), pattern="*.csv") == [str(base / "a.csv")]
    assert value("folder.list", path=str(base), pattern="*.csv", recursive=True) == [
        str(base / "a.csv"),
        str(base / "sub" / "c.csv"),
    ]
    assert value("folder.list", path=str(base), kind="folders") == [str(base / "sub")]
    assert value("folder.list", path=str(base), kind="files") == [
        str(base / "a.csv"),
        str(base / "b.txt"),
    ]
    assert "relative" in failure("folder.list", path=str(base), pattern="../*")
    assert "does not exist" in failure("folder.list", path=str(tmp_path / "none"))
    assert "not empty" in failure("folder.delete", output=None, path=str(base))
    assert base.exists()
    one("folder.delete", output=None, path=str(base), recursive=True)
    assert not base.exists()


def test_zip_roundtrip(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "nested" / "b.txt").write_text("B")
    archive = tmp_path / "out" / "pack.zip"
    one("zip.compress", output=None, source=str(src), destination=str(archive))
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["a.txt", "nested/", "nested/b.txt"]
    dest = tmp_path / "unpacked"
    files = value("zip.extract", source=str(archive), destination=str(dest))
    assert sorted(files) == [str(dest / "a.txt"), str(dest / "nested" / "b.txt")]
    assert (dest / "nested" / "b.txt").read_text() == "B"
    single = tmp_path / "one.zip"
    one("zip.compress", output=None, source=str(src / "a.txt"), destination=str(single))
    with zipfile.ZipFile(single) as zf:
        assert zf.namelist() == ["a.txt"]


def test_zip_into_its_own_source_folder(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A")
    archive = tmp_path / "self.zip"
    one("zip.compress", output=None, source=str(tmp_path), destination=str(archive))
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == ["a.txt"]


def _evil(path: Path, name: str) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("good.txt", "fine")
        zf.writestr(name, "evil")


def test_zip_slip_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    for i, name in enumerate(["../escape.txt", "a/../../escape.txt", "/abs/escape.txt"]):
        archive = tmp_path / f"evil{i}.zip"
        _evil(archive, name)
        dest = tmp_path / f"dest{i}"
        error = failure("zip.extract", source=str(archive), destination=str(dest))
        assert "zip-slip" in error and name in error
        assert not (tmp_path / "escape.txt").exists()
        assert not (dest / "good.txt").exists()  # nothing extracted


def test_zip_symlink_entries_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    assert "symbolic link" in failure(
        "zip.extract", source=str(archive), destination=str(tmp_path / "d")
    )


def test_zip_extract_bad_archive(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    assert "not a valid ZIP" in failure("zip.extract", source=str(bad), destination=str(tmp_path))


# -- issue 17: zip bombs ---------------------------------------------------------------------


def _bomb(path: Path, megabytes: int) -> None:
    """An archive whose one entry of zeros expands about 1000:1 (the attack: 306 KB -> 300 MB)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notes.txt", "a small honest file")
        with zf.open("zeros.bin", "w") as entry:
            block = bytes(1 << 20)
            for _ in range(megabytes):
                entry.write(block)


def test_zip_bomb_is_refused_by_ratio_before_anything_is_written(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    _bomb(archive, 20)
    assert archive.stat().st_size < 100_000  # 20 MiB of zeros in a few dozen KB
    dest = tmp_path / "out" / "here"
    error = failure("zip.extract", source=str(archive), destination=str(dest))
    assert "zeros.bin" in error and "zip_max_ratio" in error and "nothing was extracted" in error
    assert not (tmp_path / "out").exists()  # the folders it would have created are gone too
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.zip"]  # no staging folder left


def test_zip_total_size_limit_comes_from_the_runner_settings(tmp_path: Path) -> None:
    import os

    from runner.settings import RunnerSettings

    from .enginekit import graph, node, run

    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # incompressible: the ratio check cannot help
        for i in range(3):
            zf.writestr(f"part{i}.bin", os.urandom(1 << 20))
    dest = tmp_path / "dest"
    g = graph([node("n", "zip.extract", source=str(archive), destination=str(dest))])
    policy = RunnerSettings(data_dir=str(tmp_path / "runner"), zip_max_extract_mb=2.5)
    result, _ = run(g, policy=policy.activity_policy())
    assert result.status == "FAILED"
    assert "more than 2.5 MiB" in (result.error or "") and "zip_max_extract_mb" in result.error
    assert not dest.exists()
    # the same archive under the default limit (1 GiB) extracts
    assert len(value("zip.extract", source=str(archive), destination=str(dest))) == 3


def test_zip_failing_midway_leaves_nothing_half_extracted(tmp_path: Path) -> None:
    archive = tmp_path / "corrupt.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # stored: the second entry's bytes are at the end
        zf.writestr("first.txt", "first entry, fine")
        zf.writestr("second.txt", "SECOND-ENTRY-PAYLOAD")
    data = bytearray(archive.read_bytes())
    at = data.index(b"SECOND-ENTRY-PAYLOAD")
    data[at] ^= 0xFF  # its CRC no longer matches: found only while extracting it
    archive.write_bytes(bytes(data))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("was here before")
    error = failure("zip.extract", source=str(archive), destination=str(dest))
    assert "not a valid ZIP" in error or "CRC" in error
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt"]  # first.txt not left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.zip", "dest"]


def test_attach_hands_the_file_to_the_execution_scope(tmp_path: Path) -> None:
    from runner.activities.base import ExecutionScope

    from .enginekit import Run, chain, node

    report = tmp_path / "report.csv"
    report.write_bytes(b"a,b\n1,2\n")
    scope = ExecutionScope("local")
    run = Run(
        chain(
            node("a", "file.attach", path=str(report), output="rec"),
            node(
                "b",
                "file.attach",
                path=str(report),
                name="x.bin",
                kind="download",
                content_type="application/x-thing",
                output="rec2",
            ),
        ),  # fmt: skip
        scope=scope,
    )
    assert run.run().status == "COMPLETED"
    first, second = scope.artifacts
    assert first == {"name": "report.csv", "kind": "file", "content_type": "text/csv",
                     "node_id": "a", "size": 8, "data": b"a,b\n1,2\n"}  # fmt: skip
    assert second["name"] == "x.bin" and second["kind"] == "download"
    assert second["content_type"] == "application/x-thing" and second["node_id"] == "b"
    assert run.result.variables["rec"]["name"] == "report.csv"
    assert "data" not in run.result.variables["rec"]  # the bytes never land in a variable
    assert "does not exist" in failure("file.attach", path=str(tmp_path / "nope.csv"))
    assert "is a folder" in failure("file.attach", path=str(tmp_path))
