"""Allowed-host patterns of vault credentials: parsing, normalisation and matching."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.hosts import (
    MAX_PATTERNS,
    InvalidHostPattern,
    host_allowed,
    normalise_host,
    parse_pattern,
    parse_patterns,
)


def allowed(patterns: list[str], host: str | None, port: int | None = 443) -> bool:
    return host_allowed(parse_patterns(patterns), host, port)


def test_exact_host_any_port() -> None:
    assert allowed(["erp.acme.local"], "erp.acme.local", 443)
    assert allowed(["erp.acme.local"], "erp.acme.local", 8080)
    assert allowed(["erp.acme.local"], "erp.acme.local", None)
    assert not allowed(["erp.acme.local"], "evil.example", 443)
    assert not allowed(["erp.acme.local"], "erp.acme.local.evil.example", 443)
    assert not allowed(["erp.acme.local"], "xerp.acme.local", 443)
    assert not allowed(["erp.acme.local"], "acme.local", 443)


def test_wildcard_matches_subdomains_at_any_depth_but_not_the_domain() -> None:
    patterns = ["*.acme.local"]
    assert allowed(patterns, "erp.acme.local")
    assert allowed(patterns, "a.b.acme.local")
    assert not allowed(patterns, "acme.local")
    assert not allowed(patterns, "evilacme.local")  # a label boundary, not a suffix
    assert not allowed(patterns, "acme.local.evil.example")
    assert not allowed(patterns, "erp.acme.localhost")


def test_ports() -> None:
    assert allowed(["erp.acme.local:8443"], "erp.acme.local", 8443)
    assert not allowed(["erp.acme.local:8443"], "erp.acme.local", 443)
    assert not allowed(["erp.acme.local:8443"], "erp.acme.local", None)
    assert allowed(["*.acme.local:5432"], "db.acme.local", 5432)
    assert not allowed(["*.acme.local:5432"], "db.acme.local", 5433)
    assert str(parse_pattern("ERP.acme.local:0443")) == "erp.acme.local:443"
    for bad in ("erp.acme.local:0", "erp.acme.local:65536", "erp.acme.local:99999"):
        with pytest.raises(InvalidHostPattern, match="port"):
            parse_pattern(bad)


def test_case_trailing_dot_and_idn_are_normalised() -> None:
    assert allowed(["ERP.Acme.Local."], "erp.acme.local")
    assert allowed(["erp.acme.local"], "ERP.ACME.LOCAL.")
    assert normalise_host("Bücher.Example") == "xn--bcher-kva.example"
    assert allowed(["bücher.example"], "xn--bcher-kva.example")
    assert allowed(["xn--bcher-kva.example"], "BÜCHER.example")
    assert allowed(["*.bücher.example"], "shop.xn--bcher-kva.example")
    assert str(parse_pattern("*.Bücher.example.")) == "*.xn--bcher-kva.example"
    # a look-alike in another script is another host
    assert not allowed(["acme.local"], "аcme.local")  # Cyrillic а


def test_ip_literals() -> None:
    assert allowed(["10.0.0.7"], "10.0.0.7")
    assert not allowed(["10.0.0.7"], "10.0.0.8")
    assert allowed(["10.0.0.7:8080"], "10.0.0.7", 8080)
    assert not allowed(["10.0.0.7:8080"], "10.0.0.7", 80)
    assert allowed(["[fd00::7]"], "fd00:0:0::7")
    assert allowed(["fd00::7"], "[FD00::0007]")
    assert allowed(["[fd00::7]:5432"], "fd00::7", 5432)
    assert not allowed(["[fd00::7]:5432"], "fd00::7", 5433)
    assert str(parse_pattern("[FD00::7]:5432")) == "[fd00::7]:5432"
    # names never match addresses, nor a wildcard an address that "ends" like it
    assert not allowed(["localhost"], "127.0.0.1")
    assert not allowed(["127.0.0.1"], "localhost")
    assert not allowed(["*.0.0.1"], "127.0.0.1")
    # other spellings of an address are not the address (the check never widens)
    assert not allowed(["127.0.0.1"], "0x7f.1")
    assert not allowed(["127.0.0.1"], "2130706433")


def test_missing_or_malformed_hosts_are_never_allowed() -> None:
    for host in (None, "", ".", "..", "a..b", "-x.acme.local", "acme.local/evil", "a b"):
        assert not allowed(["*.acme.local", "acme.local"], host), host


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("*", "every host"),
        ("*:443", "every host"),
        ("*.local", "too broad"),
        ("*.com", "too broad"),
        ("erp.*.local", "whole first label"),
        ("*erp.acme.local", "whole first label"),
        ("**.acme.local", "whole first label"),
        ("https://erp.acme.local/", "not a URL"),
        ("user@erp.acme.local", "not a URL"),
        ("erp.acme.local/path", "not a URL"),
        ("", "1-300 characters"),
        ("a" * 301, "1-300 characters"),
        ("erp..acme.local", "not a host name"),
        ("-erp.acme.local", "not a host name"),
        ("[erp.acme.local]", "not a host name"),
        ("erp_acme.local", "not a host name"),
    ],
)
def test_bad_patterns_are_refused_with_a_reason(pattern: str, why: str) -> None:
    with pytest.raises(InvalidHostPattern, match=why):
        parse_pattern(pattern)


def test_pattern_lists() -> None:
    assert [str(p) for p in parse_patterns(["erp.acme.local", "ERP.acme.local."])] == [
        "erp.acme.local"
    ]
    with pytest.raises(InvalidHostPattern, match=str(MAX_PATTERNS)):
        parse_patterns([f"h{i}.acme.local" for i in range(MAX_PATTERNS + 1)])
    with pytest.raises(InvalidHostPattern):
        parse_patterns(["erp.acme.local", "*"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_a_pattern_or_a_clear_refusal(text: str) -> None:
    try:
        pattern = parse_pattern(text)
    except InvalidHostPattern as exc:
        assert str(exc)
        return
    assert parse_pattern(str(pattern)) == pattern  # normalised text parses to itself


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.one_of(st.none(), st.integers(0, 70000)))
def test_any_host_is_allowed_or_not_never_an_error(host: str, port: int | None) -> None:
    patterns = parse_patterns(["*.acme.local", "10.0.0.7", "erp.example:443"])
    assert host_allowed(patterns, host, port) in (True, False)
