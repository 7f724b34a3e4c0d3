"""Mailbox syntax (RFC 5321 section 4.1.2 and 4.5.3.1): accepted forms and refusal reasons."""

from __future__ import annotations

import pytest

from bounceloop.core.address import AddressError, is_valid, normalize

L64 = "a" * 64
LABEL63 = "b" * 63

VALID = [
    # (input, normalised form)
    ("jane@example.org", "jane@example.org"),
    ("Jane.Doe@Example.ORG", "Jane.Doe@example.org"),  # domain lower-cased, local part kept
    ("JANE@EXAMPLE.ORG", "JANE@example.org"),
    ("<jane@example.org>", "jane@example.org"),  # angle brackets stripped
    ("  < jane@example.org >  ", "jane@example.org"),
    ("\tjane@example.org\r\n", "jane@example.org"),
    ("first.middle.last@example.org", "first.middle.last@example.org"),
    ("user+tag@example.org", "user+tag@example.org"),
    ("!#$%&'*+/=?^_`{|}~-@example.org", "!#$%&'*+/=?^_`{|}~-@example.org"),  # all of atext
    ('"john doe"@example.org', '"john doe"@example.org'),  # quoted local part
    ('"a@b"@example.org', '"a@b"@example.org'),  # the last @ separates
    ('"a\\"b"@example.org', '"a\\"b"@example.org'),  # quoted-pair
    ('"..."@example.org', '"..."@example.org'),  # dots are fine inside quotes
    ('""@example.org', '""@example.org'),
    (f"{L64}@example.org", f"{L64}@example.org"),  # 64 octets: the limit
    (f"x@{LABEL63}.org", f"x@{LABEL63}.org"),  # 63-octet label: the limit
    ("x@a-b.example.org", "x@a-b.example.org"),
    ("x@a--b.example.org", "x@a--b.example.org"),
    ("x@1example.org", "x@1example.org"),
    ("x@x.y", "x@x.y"),
    ("x@example.org.", "x@example.org"),  # a root dot is dropped
    ("x@[192.0.2.1]", "x@[192.0.2.1]"),  # address literal
    ("x@bücher.example", "x@xn--bcher-kva.example"),  # IDNA: the A-label
    ("x@BÜCHER.Example", "x@xn--bcher-kva.example"),
    ("x@例え.テスト", "x@xn--r8jz45g.xn--zckzah"),
    ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
]


@pytest.mark.parametrize(("address", "expected"), VALID, ids=[v[0] for v in VALID])
def test_valid(address: str, expected: str) -> None:
    assert normalize(address) == expected
    assert is_valid(address)
    # Normal forms are fixed points.
    assert normalize(expected) == expected


def _domain_of_length(n: int) -> str:
    """A syntactically valid domain of exactly ``n`` octets (labels of up to 63)."""
    labels = []
    while n > 0:
        size = min(63, n)
        if n - size == 1:  # a final label of 0 octets after a dot is impossible
            size -= 2
        labels.append("c" * size)
        n -= size + 1
    domain = ".".join(labels)
    assert len(domain) == sum(len(x) for x in labels) + len(labels) - 1
    return domain


D253 = _domain_of_length(253)
D254 = _domain_of_length(254)

INVALID = [
    # (input, words the reason must contain)
    ("", "empty address"),
    ("   ", "empty address"),
    ("<>", "empty address"),
    ("< >", "empty address"),
    ("jane", "not an address"),
    ("jane@", "not an address"),
    ("@example.org", "not an address"),
    ("jane.example.org", "not an address"),
    # Local part.
    (f"{L64}a@example.org", "local part longer than 64"),
    (".jane@example.org", "invalid local part"),
    ("jane.@example.org", "invalid local part"),
    ("ja..ne@example.org", "invalid local part"),
    ("ja ne@example.org", "invalid local part"),
    ("ja(ne)@example.org", "invalid local part"),
    ("ja,ne@example.org", "invalid local part"),
    ("jane@doe@example.org", "invalid local part"),
    ('"unterminated@example.org', "invalid local part"),
    ('"a"b"@example.org', "invalid local part"),
    ('"a\\"@example.org', "invalid local part"),  # the closing quote is escaped
    ("jäne@example.org", "SMTPUTF8"),
    ("用户@example.org", "SMTPUTF8"),
    # Domain.
    ("jane@localhost", "invalid domain"),  # needs at least one dot
    ("jane@.example.org", "invalid domain"),
    ("jane@example..org", "invalid domain"),
    ("jane@-example.org", "invalid domain"),
    ("jane@example-.org", "invalid domain"),
    ("jane@exa_mple.org", "invalid domain"),
    ("jane@exa mple.org", "invalid domain"),
    (f"jane@{LABEL63}b.org", "invalid domain"),  # a 64-octet label
    (f"x@{D254}", "domain longer than 253"),
    ("jane@[192.0.2.256]", "invalid address literal"),
    ("jane@[example.org]", "invalid address literal"),
    ("jane@[]", "invalid address literal"),
    ("jane@[IPv6:2001:db8::1]", "invalid address literal"),  # only IPv4 literals for now
    ("jane@.", "invalid domain"),
    ("jane@ü..org", "invalid internationalised domain"),
    ("jane@" + "ü" * 70 + ".org", "invalid internationalised domain"),
    # The whole: at most 254 octets.
    (f"{L64}@{_domain_of_length(190)}", "address longer than 254"),
    (f"x@{D253}", "address longer than 254"),  # a 253-octet domain leaves no room
]


@pytest.mark.parametrize(("address", "reason"), INVALID, ids=[v[0][:40] for v in INVALID])
def test_invalid(address: str, reason: str) -> None:
    with pytest.raises(AddressError) as info:
        normalize(address)
    assert reason in str(info.value)
    assert not is_valid(address)


def test_limits_are_exact() -> None:
    assert len(D253) == 253 and len(D254) == 254
    d252 = _domain_of_length(252)
    assert normalize(f"x@{d252}") == f"x@{d252}"
    # 64 + 1 + 189 = 254 octets: the longest address.
    longest = f"{L64}@{_domain_of_length(189)}"
    assert len(longest) == 254 and normalize(longest) == longest
    assert len(f"{L64}@{_domain_of_length(190)}") == 255
    with pytest.raises(AddressError, match="longer than 254"):
        normalize(f"{L64}@{_domain_of_length(190)}")


def test_reason_quotes_the_address() -> None:
    with pytest.raises(AddressError, match=r"'ja\.\.ne@example\.org'"):
        normalize("ja..ne@example.org")


def test_address_error_is_a_value_error() -> None:
    assert issubclass(AddressError, ValueError)


def test_root_dot_is_dropped_only_once() -> None:
    # "example.org." is the absolute name; "example.org.." has an empty label.
    assert normalize("x@example.org.") == "x@example.org"
    with pytest.raises(AddressError, match="invalid domain"):
        normalize("x@example.org..")


def test_idna_2008_deviation_characters_are_kept() -> None:
    # IDNA 2003 (Python's "idna" codec) would map ß to ss and send the mail to fass.de.
    assert normalize("x@faß.de") == "x@xn--fa-hia.de"
