"""The package exports what its __all__ says, loading each module only when asked."""

from __future__ import annotations

import subprocess
import sys

import bounceloop.testing


def test_every_public_name_resolves() -> None:
    for name in bounceloop.testing.__all__:
        value = getattr(bounceloop.testing, name)
        assert value is not None, name
    assert set(bounceloop.testing.__all__) <= set(dir(bounceloop.testing))


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        bounceloop.testing.NoSuchFake  # noqa: B018
    except AttributeError as error:
        assert "NoSuchFake" in str(error)
    else:
        raise AssertionError("no AttributeError")


def test_ports_do_not_pull_in_the_servers() -> None:
    code = ("import sys; from bounceloop.testing import free_port; free_port(); "
            "print(sorted(m for m in ('aiosmtpd', 'dns', 'trustme') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_module_runs_without_a_double_import_warning() -> None:
    out = subprocess.run([sys.executable, "-W", "error", "-m", "bounceloop.testing.mx",
                          "--help"], capture_output=True, text=True, check=True)
    assert "--record" in out.stdout
    assert out.stderr == ""
