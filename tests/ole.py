"""A minimal OLE2 compound-file writer (version 3, 512-byte sectors, mini stream for small
streams), for test files no library here writes: a legacy .xls with a VBA project storage.

Only what readers need: header, FAT, directory (children as a balanced binary tree ordered
the way the format sorts names), mini FAT and mini stream. No DIFAT beyond the header's 109
entries (files up to ~7 MB).
"""

from __future__ import annotations

import struct
from typing import Any

SECTOR = 512
MINI = 64
CUTOFF = 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _tree(streams: dict[str, bytes]) -> dict[str, Any]:
    root: dict[str, Any] = {"name": "Root Entry", "type": 5, "children": {}}
    for path, data in streams.items():
        *folders, leaf = path.split("/")
        node = root
        for folder in folders:
            node = node["children"].setdefault(folder, {"name": folder, "type": 1, "children": {}})
        node["children"][leaf] = {"name": leaf, "type": 2, "data": data}
    return root


def _key(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def write_ole(streams: dict[str, bytes]) -> bytes:
    """A compound file holding ``streams`` (``"Folder/Sub/Name"`` → bytes)."""
    root = _tree(streams)
    entries: list[dict[str, Any]] = []

    def number(node: dict[str, Any]) -> None:
        node["id"] = len(entries)
        entries.append(node)
        for child in sorted(node.get("children", {}).values(), key=lambda n: _key(n["name"])):
            number(child)

    number(root)
    for node in entries:
        node.setdefault("left", NOSTREAM)
        node.setdefault("right", NOSTREAM)
        kids = sorted(node.get("children", {}).values(), key=lambda n: _key(n["name"]))
        node["child"] = _balance(kids)

    mini = bytearray()
    big: list[dict[str, Any]] = []
    for node in entries:
        data = node.get("data")
        if data is None:
            continue
        if len(data) < CUTOFF:
            node["start"] = len(mini) // MINI if data else END
            mini += data + b"\0" * (-len(data) % MINI)
        else:
            big.append(node)
    mini_sectors = len(mini) // MINI
    n_dir = -(-len(entries) * 128 // SECTOR)
    n_minifat = -(-mini_sectors * 4 // SECTOR)
    n_ministream = -(-len(mini) // SECTOR)
    n_big = sum(-(-len(n["data"]) // SECTOR) for n in big)
    others = n_dir + n_minifat + n_ministream + n_big
    n_fat = 1
    while n_fat * (SECTOR // 4) < n_fat + others:
        n_fat += 1
    assert n_fat <= 109, "too large for this writer"

    fat = [FREE] * (n_fat * SECTOR // 4)
    for i in range(n_fat):
        fat[i] = FATSECT
    cursor = n_fat

    def chain(count: int) -> int:
        nonlocal cursor
        if count == 0:
            return END
        start = cursor
        for i in range(count):
            fat[cursor + i] = cursor + i + 1 if i < count - 1 else END
        cursor += count
        return start

    dir_start = chain(n_dir)
    minifat_start = chain(n_minifat)
    root["start"] = chain(n_ministream)
    root["size"] = len(mini)
    for node in big:
        node["start"] = chain(-(-len(node["data"]) // SECTOR))

    minifat = [FREE] * (n_minifat * SECTOR // 4)
    for node in entries:
        data = node.get("data")
        if data is None or len(data) >= CUTOFF or not data:
            continue
        count = -(-len(data) // MINI)
        for i in range(count):
            minifat[node["start"] + i] = node["start"] + i + 1 if i < count - 1 else END

    header = bytearray(SECTOR)
    struct.pack_into("<8s16sHHHHH6sIIIIIIIII", header, 0,
                     bytes.fromhex("D0CF11E0A1B11AE1"), b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6,
                     b"\0" * 6, 0, n_fat, dir_start, 0, CUTOFF,
                     minifat_start if n_minifat else END, n_minifat, END, 0)  # fmt: skip
    difat = list(range(n_fat)) + [FREE] * (109 - n_fat)
    struct.pack_into("<109I", header, 76, *difat)

    out = bytearray(header)
    out += struct.pack(f"<{len(fat)}I", *fat)
    directory = b"".join(_entry(n) for n in entries)
    directory += _empty_entry() * (n_dir * SECTOR // 128 - len(entries))
    out += directory
    out += struct.pack(f"<{len(minifat)}I", *minifat)
    out += bytes(mini) + b"\0" * (-len(mini) % SECTOR)
    for node in big:
        out += node["data"] + b"\0" * (-len(node["data"]) % SECTOR)
    return bytes(out)


def _balance(kids: list[dict[str, Any]]) -> int:
    """Link sorted siblings as a balanced binary tree; returns the root's id."""
    if not kids:
        return NOSTREAM
    mid = len(kids) // 2
    node = kids[mid]
    node["left"] = _balance(kids[:mid])
    node["right"] = _balance(kids[mid + 1 :])
    return int(node["id"])


def _entry(node: dict[str, Any]) -> bytes:
    name = node["name"].encode("utf-16-le") + b"\0\0"
    data = node.get("data")
    size = node.get("size", len(data) if data is not None else 0)
    start = node.get("start", END if node["type"] != 1 else 0)
    return struct.pack("<64sHBBIII16sIQQII", name, len(name), node["type"], 1,
                       node["left"], node["right"], node["child"], b"\0" * 16, 0, 0, 0,
                       start, size) + b"\0" * 4  # fmt: skip


def _empty_entry() -> bytes:
    return struct.pack("<64sHBBIII16sIQQII", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM,
                       b"\0" * 16, 0, 0, 0, 0, 0) + b"\0" * 4  # fmt: skip
