"""Allowed-host patterns of a vault credential, and the check every sending activity makes.

A credential bound to hosts may only be sent to a host one of its patterns matches. Patterns:

* ``erp.acme.local`` — exactly that host name, any port;
* ``*.acme.local`` — any host *under* ``acme.local`` at any depth (``erp.acme.local``,
  ``a.b.acme.local``), not ``acme.local`` itself (as in a Content-Security-Policy); the rest
  after ``*.`` needs at least two labels, so ``*.com`` or a bare ``*`` is refused;
* ``10.0.0.7``, ``[fd00::7]`` — one IP address (wildcards never match addresses);
* any of these with ``:port`` — only that port (a URL without a port has its scheme's default:
  ``https://erp.acme.local/`` is port 443).

Host names compare after normalisation: case folded, one trailing dot dropped, international
names in their ASCII (punycode, IDNA 2008 with UTS 46 mapping) form, IPv6 addresses in their
compressed form. Matching is by name: DNS is trusted to resolve an allowed name to the right
machine. The hub checks patterns when a credential is saved (:func:`parse_patterns`); the runner
checks every destination (:func:`host_allowed`) before a secret leaves the machine.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import idna

__all__ = [
    "MAX_PATTERNS",
    "HostPattern",
    "InvalidHostPattern",
    "host_allowed",
    "normalise_host",
    "parse_pattern",
    "parse_patterns",
]

#: most patterns one credential may have
MAX_PATTERNS = 50
_MAX_PATTERN = 300
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PORTED = re.compile(r"^(?P<host>.+):(?P<port>[0-9]{1,5})$")


class InvalidHostPattern(ValueError):
    """A host pattern that cannot be used; the message says why."""


def _ip(host: str) -> str | None:
    """The canonical text of an IP address literal (``[v6]`` brackets optional), or None."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(bare).compressed
    except ValueError:
        return None


def normalise_host(host: str) -> str:
    """``host`` as patterns compare it; raises :class:`InvalidHostPattern` if it is no host.

    ``ERP.Acme.Local.`` → ``erp.acme.local``; ``Bücher.example`` → ``xn--bcher-kva.example``;
    ``[::FFFF:10.0.0.1]`` → ``::ffff:a00:1``.
    """
    host = host.strip()
    address = _ip(host)
    if address is not None:
        return address
    if host.endswith("."):
        host = host[:-1]
    if not host or host.startswith(".") or ".." in host:
        raise InvalidHostPattern(f"{host!r} is not a host name")
    if host.isascii() and "xn--" not in host.lower():
        ascii_name = host.lower()  # the common case, without idna's cost
    else:
        try:
            ascii_name = idna.encode(host, uts46=True).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidHostPattern(f"{host!r} is not a host name: {exc}") from None
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in ascii_name.split(".")):
        raise InvalidHostPattern(f"{host!r} is not a host name")
    return ascii_name


@dataclass(frozen=True)
class HostPattern:
    """One parsed pattern: ``host`` normalised, ``wildcard`` for ``*.``, ``port`` or None."""

    host: str
    wildcard: bool = False
    port: int | None = None
    is_ip: bool = False

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.is_ip and ":" in self.host else self.host
        text = f"*.{host}" if self.wildcard else host
        return f"{text}:{self.port}" if self.port is not None else text

    def matches(self, host: str, port: int | None) -> bool:
        """Whether ``host`` (already normalised) on ``port`` is allowed by this pattern."""
        if self.port is not None and port != self.port:
            return False
        if self.wildcard:  # never an address: *.3.4 must not match 1.2.3.4
            return _ip(host) is None and host.endswith("." + self.host)
        return host == self.host


def parse_pattern(text: str) -> HostPattern:
    """Parse one pattern (see the module's docstring); :class:`InvalidHostPattern` if bad."""
    if not isinstance(text, str):
        raise InvalidHostPattern("a host pattern must be text")
    raw = text.strip()
    if not raw or len(raw) > _MAX_PATTERN:
        raise InvalidHostPattern(f"a host pattern must be 1-{_MAX_PATTERN} characters")
    if "/" in raw or "@" in raw or "?" in raw or "#" in raw or " " in raw:
        raise InvalidHostPattern(f"{raw!r}: give a host name with an optional :port, not a URL")
    if raw in ("*", "*.*", "*.") or raw.startswith("*:"):
        raise InvalidHostPattern(
            f"{raw!r} would allow every host; leave the allowed hosts empty for that"
        )
    host, port = raw, None
    if _ip(raw) is None:  # "::1" is an address, not host ":" port
        m = _PORTED.match(raw)
        if m:
            host, port = m.group("host"), int(m.group("port"))
            if not 1 <= port <= 65535:
                raise InvalidHostPattern(f"{raw!r}: the port must be 1-65535")
    address = _ip(host)
    if address is not None:
        return HostPattern(address, port=port, is_ip=True)
    if host.startswith("[") or ":" in host:
        raise InvalidHostPattern(f"{raw!r} is not a host name or IP address")
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
    if "*" in host:
        raise InvalidHostPattern(
            f"{raw!r}: '*' may only be the whole first label, as in *.acme.local"
        )
    name = normalise_host(host)
    if wildcard and (name.count(".") < 1 or _ip(name) is not None):
        raise InvalidHostPattern(
            f"{raw!r} is too broad: a wildcard needs a domain of two or more labels "
            "(*.acme.local, not *.local)"
        )
    return HostPattern(name, wildcard=wildcard, port=port)


def parse_patterns(texts: list[str]) -> list[HostPattern]:
    """Parse a credential's patterns (at most :data:`MAX_PATTERNS`; duplicates dropped)."""
    if len(texts) > MAX_PATTERNS:
        raise InvalidHostPattern(f"at most {MAX_PATTERNS} allowed hosts per credential")
    out: list[HostPattern] = []
    for text in texts:
        pattern = parse_pattern(text)
        if pattern not in out:
            out.append(pattern)
    return out


def host_allowed(patterns: list[HostPattern], host: str | None, port: int | None) -> bool:
    """Whether one of ``patterns`` allows ``host`` on ``port`` (a missing or malformed host
    is never allowed)."""
    if not host:
        return False
    try:
        name = normalise_host(host)
    except InvalidHostPattern:
        return False
    return any(p.matches(name, port) for p in patterns)
