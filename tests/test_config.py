"""Settings: the BOUNCELOOP_* environment contract, the TOML file, and their precedence."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from pydantic import ValidationError

from bounceloop import native
from bounceloop.config import DEFAULT_RETRY, Settings, descriptions, host_port, reference
from bounceloop.core.severity import Convention


@pytest.fixture(autouse=True)
def _clean(clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default hostname is socket.getfqdn(): fix it, the tests are not about it.
    monkeypatch.setenv("BOUNCELOOP_HOSTNAME", "client.example.org")


def _error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    return str(info.value)


def test_defaults() -> None:
    s = Settings()
    assert s.database_url == "sqlite:///bounceloop.db"
    assert s.dns_servers == [] and s.dns_server_addresses == []
    assert s.mx_port == 25
    assert s.allowed_target_networks == []
    assert s.bounce_domain == "" and s.verp_secret.get_secret_value() == ""
    assert s.retry_schedule == list(DEFAULT_RETRY)
    assert s.max_delivery_time == 86400
    assert s.tls == "opportunistic"
    assert s.severity_convention is Convention.CODE
    assert (s.http_listen, s.smtp_listen) == ("127.0.0.1:8080", "127.0.0.1:2525")
    assert s.hostname == "client.example.org"


def test_default_hostname_is_the_fqdn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOUNCELOOP_HOSTNAME")
    assert Settings().hostname == socket.getfqdn()


def test_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_DATABASE_URL", "postgresql+psycopg://bl@127.0.0.1/bl")
    assert Settings().database_url == "postgresql+psycopg://bl@127.0.0.1/bl"


@pytest.mark.parametrize(("value", "servers", "addresses"), [
    ("127.0.0.1:5353,[::1]:53", ["127.0.0.1:5353", "[::1]:53"],
     [("127.0.0.1", 5353), ("::1", 53)]),
    (" 127.0.0.2 , 127.0.0.3:1053 ,", ["127.0.0.2", "127.0.0.3:1053"],
     [("127.0.0.2", 53), ("127.0.0.3", 1053)]),
    ("[::1]", ["[::1]"], [("::1", 53)]),
    ("::1", ["::1"], [("::1", 53)]),
    ("", [], []),  # empty: the system resolver
])
def test_dns_servers(monkeypatch: pytest.MonkeyPatch, value: str, servers: list[str],
                     addresses: list[tuple[str, int]]) -> None:
    monkeypatch.setenv("BOUNCELOOP_DNS_SERVERS", value)
    s = Settings()
    assert s.dns_servers == servers
    assert s.dns_server_addresses == addresses


@pytest.mark.parametrize("value", ["127.0.0.1:abc", "127.0.0.1:", "[::1]:x", "127.0.0.1:70000"])
def test_bad_dns_server_is_refused_at_the_edge(monkeypatch: pytest.MonkeyPatch,
                                               value: str) -> None:
    assert "dns_servers" in _error(monkeypatch, BOUNCELOOP_DNS_SERVERS=f"127.0.0.1,{value}")


def test_mx_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_MX_PORT", "2525")
    assert Settings().mx_port == 2525


def test_mx_port_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "mx_port" in _error(monkeypatch, BOUNCELOOP_MX_PORT="abc")


def test_allowed_target_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_ALLOWED_TARGET_NETWORKS", "127.0.0.0/8,10.0.0.0/8")
    assert Settings().allowed_target_networks == ["127.0.0.0/8", "10.0.0.0/8"]


def test_allowed_target_networks_host_bits_and_ipv6(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_ALLOWED_TARGET_NETWORKS", "127.0.0.1/8, ::1/128")
    assert Settings().allowed_target_networks == ["127.0.0.1/8", "::1/128"]


@pytest.mark.parametrize("value", ["10.0.0.0/33", "10.0.0.256/8", "not-a-network",
                                   "127.0.0.0/8,fe80::/129"])
def test_invalid_network_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    message = _error(monkeypatch, BOUNCELOOP_ALLOWED_TARGET_NETWORKS=value)
    assert "allowed_target_networks" in message


def test_bounce_domain_with_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_BOUNCE_DOMAIN", "bounce.example.org")
    monkeypatch.setenv("BOUNCELOOP_VERP_SECRET", "s3cret")
    s = Settings()
    assert s.bounce_domain == "bounce.example.org"
    assert s.verp_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)  # a SecretStr: not printed by accident


def test_bounce_domain_without_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, BOUNCELOOP_BOUNCE_DOMAIN="bounce.example.org")
    assert "BOUNCELOOP_BOUNCE_DOMAIN needs BOUNCELOOP_VERP_SECRET" in message


def test_bounce_domain_with_empty_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, BOUNCELOOP_BOUNCE_DOMAIN="bounce.example.org",
                     BOUNCELOOP_VERP_SECRET="")
    assert "BOUNCELOOP_VERP_SECRET" in message


def test_secret_without_bounce_domain_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_VERP_SECRET", "s3cret")
    assert Settings().bounce_domain == ""


@pytest.mark.parametrize(("value", "expected"), [
    ("60,120", [60, 120]),
    ("60, 120", [60, 120]),
    ("600", [600]),
    ("60,120,", [60, 120]),
])
def test_retry_schedule(monkeypatch: pytest.MonkeyPatch, value: str,
                        expected: list[int]) -> None:
    monkeypatch.setenv("BOUNCELOOP_RETRY_SCHEDULE", value)
    assert Settings().retry_schedule == expected


@pytest.mark.parametrize("value", ["", "0", "-5", "60,0", "abc", "60 120", "1.5"])
def test_bad_retry_schedule(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    assert "retry_schedule" in _error(monkeypatch, BOUNCELOOP_RETRY_SCHEDULE=value)


def test_listen_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_HTTP_LISTEN", "0.0.0.0:9090")
    monkeypatch.setenv("BOUNCELOOP_SMTP_LISTEN", "[::1]:2626")
    s = Settings()
    assert (s.http_listen, s.smtp_listen) == ("0.0.0.0:9090", "[::1]:2626")
    assert host_port(s.http_listen, 8080) == ("0.0.0.0", 9090)
    assert host_port(s.smtp_listen, 2525) == ("::1", 2626)


@pytest.mark.parametrize(("name", "value"), [
    ("BOUNCELOOP_HTTP_LISTEN", "127.0.0.1:http"),
    ("BOUNCELOOP_HTTP_LISTEN", "127.0.0.1:65536"),
    ("BOUNCELOOP_SMTP_LISTEN", "[::1]:smtp"),
    ("BOUNCELOOP_SMARTHOST", "relay.example.org:x"),
])
def test_bad_listen_address_is_refused(monkeypatch: pytest.MonkeyPatch, name: str,
                                       value: str) -> None:
    field = name.removeprefix("BOUNCELOOP_").lower()
    assert field in _error(monkeypatch, **{name: value})


@pytest.mark.parametrize("value", ["opportunistic", "required", "off"])
def test_tls(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BOUNCELOOP_TLS", value)
    assert Settings().tls == value


@pytest.mark.parametrize("value", ["on", "", "Required", "starttls"])
def test_bad_tls(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    assert "tls is one of: opportunistic, required, off" in _error(
        monkeypatch, BOUNCELOOP_TLS=value)


@pytest.mark.parametrize(("value", "expected"), [
    ("code", Convention.CODE),
    ("steps-1-3", Convention.STEPS_1_3),
    ("steps-1-4", Convention.STEPS_1_4),
])
def test_severity_convention(monkeypatch: pytest.MonkeyPatch, value: str,
                             expected: Convention) -> None:
    monkeypatch.setenv("BOUNCELOOP_SEVERITY_CONVENTION", value)
    assert Settings().severity_convention is expected


@pytest.mark.parametrize("value", ["steps", "steps-1-5", "CODE", ""])
def test_bad_severity_convention(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    assert "severity_convention" in _error(monkeypatch, BOUNCELOOP_SEVERITY_CONVENTION=value)


def test_timeouts_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("BOUNCELOOP_MAX_CONNECTIONS_PER_DOMAIN", "2")
    monkeypatch.setenv("BOUNCELOOP_MAX_DELIVERY_TIME", "3600")
    s = Settings()
    assert (s.connect_timeout, s.max_connections_per_domain, s.max_delivery_time) == (
        0.5, 2, 3600)


def test_inbound_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert (s.smtp_max_sessions_per_client, s.smtp_client_limit_exceptions,
            s.smtp_junk_command_limit, s.smtp_hard_error_limit, s.smtp_data_memory) == (
        50, [], 100, 20, 128 * 1024 * 1024)
    monkeypatch.setenv("BOUNCELOOP_SMTP_MAX_SESSIONS_PER_CLIENT", "0")
    monkeypatch.setenv("BOUNCELOOP_SMTP_CLIENT_LIMIT_EXCEPTIONS", "127.0.0.0/8, ::1/128")
    monkeypatch.setenv("BOUNCELOOP_SMTP_JUNK_COMMAND_LIMIT", "5")
    monkeypatch.setenv("BOUNCELOOP_SMTP_HARD_ERROR_LIMIT", "3")
    monkeypatch.setenv("BOUNCELOOP_SMTP_DATA_MEMORY", str(64 * 1024 * 1024))
    s = Settings()
    assert (s.smtp_max_sessions_per_client, s.smtp_client_limit_exceptions,
            s.smtp_junk_command_limit, s.smtp_hard_error_limit, s.smtp_data_memory) == (
        0, ["127.0.0.0/8", "::1/128"], 5, 3, 64 * 1024 * 1024)


@pytest.mark.parametrize(("env", "field"), [
    ({"BOUNCELOOP_SMTP_DATA_MEMORY": "1000000"}, "at least BOUNCELOOP_SMTP_MAX_SIZE"),
    ({"BOUNCELOOP_SMTP_MAX_SIZE": "2000", "BOUNCELOOP_SMTP_DATA_MEMORY": "1999"},
     "at least BOUNCELOOP_SMTP_MAX_SIZE"),
    ({"BOUNCELOOP_SMTP_CLIENT_LIMIT_EXCEPTIONS": "10.0.0.0/33"},
     "smtp_client_limit_exceptions"),
    ({"BOUNCELOOP_SMTP_HARD_ERROR_LIMIT": "-1"}, "smtp_hard_error_limit"),
    ({"BOUNCELOOP_SMTP_JUNK_COMMAND_LIMIT": "-1"}, "smtp_junk_command_limit"),
    ({"BOUNCELOOP_SMTP_MAX_SESSIONS_PER_CLIENT": "-1"}, "smtp_max_sessions_per_client"),
])
def test_bad_inbound_limits_are_refused(monkeypatch: pytest.MonkeyPatch,
                                        env: dict[str, str], field: str) -> None:
    assert field in _error(monkeypatch, **env)


def test_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_NO_SUCH_SETTING", "x")
    assert not hasattr(Settings(), "no_such_setting")


def test_constructor_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCELOOP_MX_PORT", "2525")
    assert Settings(mx_port=26).mx_port == 26


# ------------------------------------------------------------------------------------------
# The TOML file.
# ------------------------------------------------------------------------------------------

TOML = """\
database_url = "sqlite:///from-toml.db"
mx_port = 2600
dns_servers = ["127.0.0.1:5353"]
retry_schedule = [30, 90]
tls = "required"
"""


def test_bounceloop_toml_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "bounceloop.toml").write_text(TOML)
    s = Settings()
    assert s.database_url == "sqlite:///from-toml.db"
    assert s.mx_port == 2600
    assert s.dns_server_addresses == [("127.0.0.1", 5353)]
    assert s.retry_schedule == [30, 90]
    assert s.tls == "required"


def test_bounceloop_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    elsewhere = tmp_path / "etc" / "other.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text('mx_port = 2700\n')
    (tmp_path / "bounceloop.toml").write_text("mx_port = 2600\n")  # not read then
    monkeypatch.setenv("BOUNCELOOP_CONFIG", str(elsewhere))
    assert Settings().mx_port == 2700


def test_bounceloop_config_missing_file_means_defaults(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bounceloop.toml").write_text("mx_port = 2600\n")
    monkeypatch.setenv("BOUNCELOOP_CONFIG", str(tmp_path / "missing.toml"))
    assert Settings().mx_port == 25


def test_environment_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bounceloop.toml").write_text(TOML)
    monkeypatch.setenv("BOUNCELOOP_MX_PORT", "2525")
    monkeypatch.setenv("BOUNCELOOP_RETRY_SCHEDULE", "60,120")
    s = Settings()
    assert (s.mx_port, s.retry_schedule) == (2525, [60, 120])
    assert s.database_url == "sqlite:///from-toml.db"  # the rest still from the file


def test_toml_values_are_validated(tmp_path: Path) -> None:
    (tmp_path / "bounceloop.toml").write_text('bounce_domain = "bounce.example.org"\n')
    with pytest.raises(ValidationError, match="BOUNCELOOP_VERP_SECRET"):
        Settings()
    (tmp_path / "bounceloop.toml").write_text('allowed_target_networks = ["10.0.0.0/33"]\n')
    with pytest.raises(ValidationError, match="allowed_target_networks"):
        Settings()


def test_toml_comma_strings_work_like_the_environment(tmp_path: Path) -> None:
    (tmp_path / "bounceloop.toml").write_text(
        'retry_schedule = "60,120"\nallowed_target_networks = "127.0.0.0/8,10.0.0.0/8"\n')
    s = Settings()
    assert s.retry_schedule == [60, 120]
    assert s.allowed_target_networks == ["127.0.0.0/8", "10.0.0.0/8"]


# ------------------------------------------------------------------------------------------
# host_port
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("example.org:2525", ("example.org", 2525)),
    ("127.0.0.1:53", ("127.0.0.1", 53)),
    ("example.org", ("example.org", 25)),
    ("127.0.0.1", ("127.0.0.1", 25)),
    ("[::1]:2525", ("::1", 2525)),
    ("[::1]", ("::1", 25)),
    ("[2001:db8::1]:587", ("2001:db8::1", 587)),
    ("::1", ("::1", 25)),  # bare IPv6: no port can be told apart
    ("2001:db8::1", ("2001:db8::1", 25)),
    ("  example.org:26  ", ("example.org", 26)),
    ("example.org:0", ("example.org", 0)),
])
def test_host_port(value: str, expected: tuple[str, int]) -> None:
    assert host_port(value, 25) == expected


@pytest.mark.parametrize("value", ["example.org:smtp", "example.org:", "[::1]:x"])
def test_host_port_bad_port(value: str) -> None:
    with pytest.raises(ValueError):
        host_port(value, 25)


ROOT = Path(__file__).resolve().parents[1]
#: Variables the manual may name that are not settings: the file of settings itself.
NOT_SETTINGS = {"BOUNCELOOP_CONFIG", native.ENV}


def test_every_setting_has_a_description() -> None:
    described = descriptions()
    assert set(described) <= set(Settings.model_fields)
    missing = [name for name in Settings.model_fields if not described.get(name)]
    assert not missing, f"settings without a docstring (docs/settings.md is made of them): " \
        f"{missing}"


def test_the_settings_page_is_made_from_the_settings() -> None:
    # One source: the fields' docstrings. Regenerate with python -m bounceloop.config.
    page = (ROOT / "docs" / "settings.md").read_text()
    assert page == reference(), (
        "docs/settings.md is stale: python -m bounceloop.config > docs/settings.md")
    for name in Settings.model_fields:
        assert f"| `BOUNCELOOP_{name.upper()}` |" in page


def test_the_manual_names_only_real_settings() -> None:
    known = {f"BOUNCELOOP_{name.upper()}" for name in Settings.model_fields} | NOT_SETTINGS
    named: dict[str, set[str]] = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        # A whole name, not a wildcard ("BOUNCELOOP_WEBHOOK_RETRY_*") or a header's CGI name.
        for name in re.findall(r"(?<![A-Z_])BOUNCELOOP_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_])",
                               path.read_text()):
            named.setdefault(name, set()).add(path.name)
    unknown = {name: where for name, where in named.items() if name not in known}
    assert not unknown, f"the manual names settings that do not exist: {unknown}"
    assert "BOUNCELOOP_DATABASE_URL" in named  # the search finds names at all


@pytest.mark.parametrize(("name", "shown"), [
    ("RETRY_SCHEDULE", "`600,600,1800,1800,3600,3600,7200`"),  # a list, comma-separated
    ("VERP_SECRET", "(none)"),  # an empty secret
    ("WEBHOOK_POLL_INTERVAL", "`0.2`"),
    ("JOB_RETENTION", "`604800`"),  # a whole float, as an integer
    ("SUPPRESSION_RULES", "`true`"),
    ("SUPPRESSION_EXPIRY", "`mailboxfull=30,exceedlimit=30,suspend=90,hostunknown=90,"
                           "notaccept=90`"),
    ("HOSTNAME", "the host's FQDN"),  # computed where it runs: said, not computed here
])
def test_a_default_is_shown_as_one_would_write_it(name: str, shown: str) -> None:
    assert f"| `BOUNCELOOP_{name}` | {shown} |" in reference()
