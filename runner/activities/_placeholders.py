"""``{placeholder}`` replacement inside Word and PowerPoint paragraphs, across runs.

Word splits text into runs wherever formatting (or the spell checker, or an edit) changed,
so ``{name}`` is often stored as ``{na`` + ``me}``. The paragraph's text is matched as a whole;
the value goes into the run where the placeholder starts (keeping its formatting) and the
rest of the placeholder is cut from the runs it spilled into.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from workflows.expressions import format_value

#: ``{name}``; ``{{name}}`` is literal text, as in workflow templates
PLACEHOLDER = re.compile(r"(?<!\{)\{\s*([A-Za-z_][A-Za-z0-9_ .\-]*?)\s*\}(?!\})")


class Filler:
    """Fills paragraphs from ``values``; remembers what it filled and what had no value."""

    def __init__(self, values: Mapping[str, Any], missing: str) -> None:
        self.values = {str(k): v for k, v in values.items()}
        self.missing_mode = missing
        self.filled: list[str] = []
        self.missing: list[str] = []

    def paragraph(self, runs: Sequence[Any]) -> None:
        texts = [r.text for r in runs]
        full = "".join(texts)
        matches = list(PLACEHOLDER.finditer(full))
        if not matches:
            return
        offsets = []
        pos = 0
        for t in texts:
            offsets.append(pos)
            pos += len(t)
        for m in reversed(matches):
            key = m.group(1)
            if key in self.values:
                replacement = format_value(self.values[key])
                self.filled.append(key)
            else:
                self.missing.append(key)
                if self.missing_mode != "empty":
                    continue
                replacement = ""
            self._splice(texts, offsets, m.start(), m.end(), replacement)
        for run, new in zip(runs, texts, strict=True):
            if run.text != new:
                run.text = new

    @staticmethod
    def _splice(texts: list[str], offsets: list[int], start: int, end: int, new: str) -> None:
        first = _run_at(offsets, texts, start)
        last = _run_at(offsets, texts, end - 1)
        head = texts[first][: start - offsets[first]]
        if first == last:
            texts[first] = head + new + texts[first][end - offsets[first] :]
            return
        texts[first] = head + new
        for k in range(first + 1, last):
            texts[k] = ""
        texts[last] = texts[last][end - offsets[last] :]

    def result(self) -> list[str]:
        return sorted(set(self.filled))


def _run_at(offsets: list[int], texts: list[str], index: int) -> int:
    for i in range(len(offsets) - 1, -1, -1):
        if offsets[i] <= index and texts[i]:
            return i
    return 0


def fill_all(filler: Filler, paragraphs: Iterable[Any]) -> None:
    for paragraph in paragraphs:
        filler.paragraph(list(paragraph.runs))
