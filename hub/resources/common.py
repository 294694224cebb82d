"""Query and body types shared by several resources."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Page(msgspec.Struct, forbid_unknown_fields=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0
