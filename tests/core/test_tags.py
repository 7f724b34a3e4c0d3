"""core.tags: the same characters as the standard library's HMAC and base32 spell."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random

import pytest

from bounceloop.core import tags


def _stdlib(secret: str, data: bytes, length: int) -> str:
    mac = hmac.new(secret.encode(), data, hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:length]


def test_tags_match_hmac_and_base32_of_the_standard_library() -> None:
    rng = random.Random(18)
    for n in range(3000):
        secret = "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(0, 80)))
        data = rng.randbytes(rng.randrange(0, 200))
        length = n % tags.MAX_LENGTH + 1
        assert tags.tag(secret, data, length) == _stdlib(secret, data, length)


def test_secrets_are_not_mixed_up_by_the_keyed_cache() -> None:
    # More secrets than the cache keeps, in turn: each tag is still its own secret's.
    secrets = [f"secret-{i}" for i in range(40)]
    for _ in range(3):
        for s in secrets:
            assert tags.tag(s, b"3f9c2a7e51d04b18", 16) == _stdlib(s, b"3f9c2a7e51d04b18", 16)


@pytest.mark.parametrize("length", [0, -1, 17])
def test_a_length_outside_1_to_16_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="1 to 16"):
        tags.tag("s", b"x", length)
