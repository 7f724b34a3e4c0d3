"""Settings: one typed object, built at the edge (CLI, service) and passed down.

Sources, strongest first: constructor arguments, ``BOUNCELOOP_*`` environment variables, a
TOML file (``BOUNCELOOP_CONFIG``, else ``bounceloop.toml`` in the working directory if it
exists), then the defaults below. The environment names are a contract (issue 3 and the
issues after it). Each field's docstring is its user-facing description, the one source of
docs/settings.md (:func:`reference`; tests/test_config.py holds the page to it).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bounceloop.core import suppression
from bounceloop.core.reasons import REASONS
from bounceloop.core.severity import Convention

#: RFC 5321 section 4.5.3.2 timeouts (seconds); tests and impatient users lower them.
DEFAULT_RETRY = (600, 600, 1800, 1800, 3600, 3600, 7200)


def _written(value: Any) -> str:
    """A default as one would write it in the environment ("" for none)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dict):
        return ",".join(f"{k}={_written(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ",".join(_written(v) for v in value)
    return "" if value is None else str(value)


def descriptions() -> dict[str, str]:
    """Each field of :class:`Settings` that has a docstring (the string after its line, as
    PEP 257 calls an attribute docstring): its name and the text.

    Read from this module's source here, not by pydantic's ``use_attribute_docstrings``,
    which reads and parses the source on every import of this module: 20 ms of each
    command's start-up (``python -X importtime``, 40 against 20 ms), for a text only
    this page uses."""
    import ast
    import inspect
    import itertools

    tree = ast.parse(inspect.getsource(sys.modules[__name__]))
    body = next(node.body for node in tree.body
                if isinstance(node, ast.ClassDef) and node.name == Settings.__name__)
    out: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            out[node.target.id] = inspect.cleandoc(after.value.value)
    return out


def reference() -> str:
    """docs/settings.md: every setting, its default and its meaning, from the fields of
    :class:`Settings` (their docstrings); ``python -m bounceloop.config`` prints it."""
    rows = []
    described = descriptions()
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        written = _written(field.get_default(call_default_factory=False))
        default = (str(extra["shown"]) if "shown" in extra
                   else f"`{written}`" if written else "(none)")
        meaning = " ".join(described.get(name, "").split()).replace("|", "\\|")
        rows.append(f"| `BOUNCELOOP_{name.upper()}` | {default} | {meaning} |")
    return "\n".join([
        "# Settings",
        "",
        "Environment variables, or a TOML file: `BOUNCELOOP_CONFIG`, else `bounceloop.toml` in",
        "the working directory, keys in lower case without the prefix (`mx_port = 2525`). The",
        "environment wins over the file. Lists are comma-separated (`a,b`); in the file, TOML",
        "arrays and tables work too.",
        "",
        "This page is made from the settings' own descriptions in `src/bounceloop/config.py`",
        "(`python -m bounceloop.config > docs/settings.md`); edit them there.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
        *rows,
        "",
    ])


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def host_port(value: str, default_port: int) -> tuple[str, int]:
    """"host:port", "[::1]:port", "host" -> (host, port)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":")
        return host, int(port) if port else default_port
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, default_port


def _check_host_port(value: str) -> None:
    """Refuse at the edge what :func:`host_port` could not read later ("host:abc")."""
    try:
        _, port = host_port(value, 0)
    except ValueError:
        raise ValueError(f"not host:port: {value!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range in {value!r}")


class Settings(BaseSettings):
    """Everything configurable, with the defaults a single-host install needs."""

    # Each field's docstring is its description: docs/settings.md is made from them
    # (:func:`reference`, through :func:`descriptions`), and a test holds the two together.
    model_config = SettingsConfigDict(env_prefix="BOUNCELOOP_", extra="ignore",
                                      validate_default=True)

    database_url: str = "sqlite:///bounceloop.db"
    """The database: ``sqlite:///FILE`` or ``postgresql+psycopg://user:pw@host/db``."""
    hostname: str = Field(default_factory=socket.getfqdn,
                          json_schema_extra={"shown": "the host's FQDN"})
    """The name given in EHLO."""
    bounce_domain: str = ""
    """The domain of VERP envelopes (``b-<id>-<tag>@DOMAIN``); empty: no VERP. Needs
    ``BOUNCELOOP_VERP_SECRET``."""
    verp_secret: SecretStr = SecretStr("")
    """The HMAC key that signs VERP envelopes and message tokens."""
    dns_servers: Annotated[list[str], NoDecode] = []
    """Comma-separated ``host:port`` of the DNS servers; none: the system resolver."""
    mx_port: int = 25
    """The SMTP port of MX delivery."""
    smarthost: str = ""
    """``host:port`` to send everything through instead of each recipient's MX."""
    allowed_target_networks: Annotated[list[str], NoDecode] = []
    """Comma-separated CIDRs exempt from the private-address refusal, e.g. ``127.0.0.0/8``
    (which also exempts IPv6 addresses carrying 127.x, see docs/webhooks.md)."""
    retry_schedule: Annotated[list[int], NoDecode] = list(DEFAULT_RETRY)
    """Seconds between delivery attempts; the last repeats."""
    max_delivery_time: int = 86400
    """Seconds after queueing a message fails for good."""
    tls: str = "opportunistic"
    """``opportunistic`` (STARTTLS when offered, plain if it fails), ``required`` or
    ``off``."""
    severity_convention: Convention = Convention.CODE
    """Soft/hard by ``code``, ``steps-1-3`` or ``steps-1-4``."""

    dns_timeout: float = 10.0
    """Seconds for a DNS answer."""
    connect_timeout: float = 30.0
    """Seconds to connect to an MX."""
    greeting_timeout: float = 300.0
    """Seconds for the MX's greeting (RFC 5321 4.5.3.2)."""
    command_timeout: float = 300.0
    """Seconds for the reply to a command (RFC 5321 4.5.3.2)."""
    data_timeout: float = 600.0
    """Seconds for the reply to the final dot (RFC 5321 4.5.3.2)."""

    max_connections: int = 50
    """Outbound connections at once, in total."""
    max_connections_per_domain: int = 5
    """Outbound connections at once to one domain."""
    max_messages_per_connection: int = 100
    """Messages sent over one connection before it is closed."""
    max_rcpts_per_transaction: int = 100
    """Recipients in one SMTP transaction."""
    delivery_database_process: bool = True
    """The delivery engine's claims and records in a process of its own beside the
    service's (false: a thread of it, sharing the interpreter lock with the SMTP lanes);
    an in-memory SQLite database always takes the thread."""

    spool_dir: Path = Path("spool")
    """Local state next to the database: the in-flight journals (``inflight/``)."""
    http_listen: str = "127.0.0.1:8080"
    """``host:port`` of the HTTP server (API, UI, health and metrics)."""
    smtp_listen: str = "127.0.0.1:2525"
    """``host:port`` of the inbound server; empty: none (a process that only sends)."""
    bounce_domains: Annotated[list[str], NoDecode] = []
    """More domains whose VERP addresses the inbound server accepts."""
    complaint_addresses: Annotated[list[str], NoDecode] = []
    """Where ARF reports come; none: ``abuse@`` each bounce domain."""
    smtp_tls_cert: Path | None = None
    """PEM certificate of the inbound server; STARTTLS is offered when it and the key are
    set."""
    smtp_tls_key: Path | None = None
    """PEM key of that certificate."""
    smtp_max_size: int = 25 * 1024 * 1024
    """Bytes of the largest message the inbound server takes (SIZE, RFC 1870)."""
    smtp_command_timeout: float = 300.0
    """Seconds an inbound session may go without progress (NOOP, RSET, VRFY, HELP are
    none)."""
    smtp_session_timeout: float = 1800.0
    """Seconds one inbound connection may last."""
    smtp_max_sessions: int = 200
    """Concurrent inbound sessions; more get ``421``."""
    smtp_max_sessions_per_client: int = Field(default=50, ge=0)
    """Concurrent sessions from one address (IPv6: one /84); more get ``421 4.7.0``; 0: no
    limit (Postfix's smtpd_client_connection_count_limit)."""
    smtp_client_limit_exceptions: Annotated[list[str], NoDecode] = []
    """Comma-separated CIDRs the per-client limit leaves out (Postfix's
    smtpd_client_event_limit_exceptions, without its default of $mynetworks)."""
    smtp_junk_command_limit: int = Field(default=100, ge=0)
    """NOOP, RSET, VRFY, HELP, HELO and EHLO past the first this many count as errors; 0: no
    limit (Postfix's smtpd_junk_command_limit)."""
    smtp_hard_error_limit: int = Field(default=20, ge=0)
    """Errors (4xx/5xx) without a stored message that end the session with ``421 4.7.0``;
    0: no limit (Postfix's smtpd_hard_error_limit)."""
    smtp_data_memory: int = Field(default=128 * 1024 * 1024, ge=1)
    """Bytes of DATA all inbound sessions may hold in memory until committed; past it
    ``452 4.3.1``; at least ``BOUNCELOOP_SMTP_MAX_SIZE``."""
    parse_processes: int = Field(default=1, ge=0)
    """Processes that parse returned mail beside the service's own (0: a thread of it, where
    the parse budget cannot stop a parse: a thread cannot be interrupted)."""
    trusted_feedback_domains: Annotated[list[str], NoDecode] = []
    """DKIM ``d=`` domains of feedback loops whose verified complaints tie by the address
    they name; none: only signed ties of ours count (``docs/returned-mail.md``)."""
    parse_timeout: float = Field(default=30.0, ge=0)
    """Seconds of wall time one returned message may take to parse (0: no limit); past it
    the message is recorded as failed to parse, and the messages behind it go on."""
    webhook_extras: bool = True
    """Our fields after the spec's in every webhook call; false: the spec's only."""
    webhook_timeout: int = Field(default=10, ge=1, le=300)
    """Seconds per call: a new webhook's default."""
    webhook_concurrency: int = Field(default=10, ge=1, le=100)
    """Calls at once: a new webhook's default."""
    webhook_retry_period: float = Field(default=86400.0, gt=0)
    """Seconds a failed call is retried for."""
    webhook_retry_base: float = Field(default=10.0, gt=0)
    """Seconds before the first retry, doubling for each next one..."""
    webhook_retry_max_delay: float = Field(default=3600.0, gt=0)
    """...up to this many, with jitter."""
    webhook_pause_after: float = Field(default=3 * 86400.0, gt=0)
    """Seconds of failing calls before a webhook is paused and flagged."""
    webhook_poll_interval: float = Field(default=0.2, gt=0)
    """Seconds between looks for retries falling due when idle (new events are heard at
    once)."""
    webhook_ca_file: Path | None = None
    """PEM roots trusted for https receivers, besides the system's."""
    suppression_rules: bool = True
    """False: nothing is suppressed but by hand or import."""
    suppression_hard_reasons: Annotated[list[str], NoDecode] = sorted(suppression.HARD_REASONS)
    """Reasons that suppress at once."""
    suppression_soft_reasons: Annotated[list[str], NoDecode] = sorted(suppression.SOFT_REASONS)
    """Reasons that suppress after the threshold."""
    suppression_soft_threshold: int = Field(default=3, ge=1, le=100)
    """Soft failures, on different days..."""
    suppression_soft_window: float = Field(default=30.0, gt=0)
    """...within this many days."""
    suppression_expiry: Annotated[dict[str, float], NoDecode] = {
        k: float(v) for k, v in suppression.DEFAULT_EXPIRY.items()}
    """Days an automatic entry lasts, per reason (``complaint`` too); 0 or not listed:
    never."""
    suppression_domains: bool = True
    """Suppress a domain our DNS found dead."""
    suppression_complaints: bool = True
    """A complaint suppresses the complainer."""
    suppression_complaint_scope: str = "sender"
    """``sender``: a complaint suppresses for that sender only; ``all``: for every
    sender."""
    suppression_sweep_interval: float = Field(default=60.0, gt=0)
    """Seconds between expiry sweeps in ``serve``."""
    job_lease: float = 300.0
    """Seconds a claimed job stays with its worker before another may take it."""
    job_retention: float = Field(default=7 * 86400.0, ge=0)
    """Seconds a done job is kept before the sweep deletes it (0: kept for ever)."""
    poll_interval: float = 1.0
    """Seconds between an idle worker's looks for due jobs (returned mail just stored is
    heard at once, from any process)."""
    log_format: Literal["text", "json"] = "text"
    """The service's log on stderr: ``text`` (``bounceloop: ...`` lines) or ``json`` (one
    object a line, message_id and recipient bound)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """``info``: a line per delivery attempt, returned message and failed webhook call;
    ``warning`` leaves those out."""
    login_concurrency: int = Field(default=2, ge=1, le=64)
    """Password checks (scrypt, 16 MiB each) a web process runs at once: more than the
    cores gains no speed, only memory."""
    login_wait: float = Field(default=10.0, gt=0, le=300)
    """Seconds a login waits for its turn before ``503`` with ``Retry-After``."""

    @field_validator("dns_servers", "allowed_target_networks", "bounce_domains",
                     "complaint_addresses", "smtp_client_limit_exceptions",
                     "trusted_feedback_domains", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("suppression_hard_reasons", "suppression_soft_reasons", mode="before")
    @classmethod
    def _reason_list(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("suppression_hard_reasons", "suppression_soft_reasons")
    @classmethod
    def _known_reasons(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in REASONS]
        if unknown:
            raise ValueError(f"unknown reason(s): {', '.join(unknown)}")
        return value

    @field_validator("suppression_expiry", mode="before")
    @classmethod
    def _expiry(cls, value: Any) -> Any:
        # "mailboxfull=30,suspend=90" (environment) or a TOML table.
        if isinstance(value, str):
            out: dict[str, str] = {}
            for part in _split(value):
                reason, eq, days = part.partition("=")
                if not eq:
                    raise ValueError(f"not reason=days: {part!r}")
                out[reason.strip()] = days.strip()
            return out
        return value

    @field_validator("suppression_expiry")
    @classmethod
    def _expiry_days(cls, value: dict[str, float]) -> dict[str, float]:
        for reason, days in value.items():
            if reason not in REASONS and reason not in (suppression.COMPLAINT,):
                raise ValueError(f"unknown reason in suppression expiry: {reason!r}")
            if days < 0:
                raise ValueError(f"negative expiry for {reason}")
        return value

    @field_validator("suppression_complaint_scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if value not in ("sender", "all"):
            raise ValueError("suppression complaint scope is one of: sender, all")
        return value

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("retry_schedule")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if not value or any(v <= 0 for v in value):
            raise ValueError("a retry schedule is one or more positive numbers of seconds")
        return value

    @field_validator("allowed_target_networks", "smtp_client_limit_exceptions")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for net in value:
            ipaddress.ip_network(net, strict=False)
        return value

    @field_validator("dns_servers")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        for server in value:
            _check_host_port(server)
        return value

    @field_validator("http_listen", "smtp_listen", "smarthost")
    @classmethod
    def _address(cls, value: str) -> str:
        if value:
            _check_host_port(value)
        return value

    @field_validator("tls")
    @classmethod
    def _tls(cls, value: str) -> str:
        if value not in ("opportunistic", "required", "off"):
            raise ValueError("tls is one of: opportunistic, required, off")
        return value

    @model_validator(mode="after")
    def _verp(self) -> Settings:
        if self.bounce_domain and not self.verp_secret.get_secret_value():
            raise ValueError("BOUNCELOOP_BOUNCE_DOMAIN needs BOUNCELOOP_VERP_SECRET")
        return self

    @model_validator(mode="after")
    def _data_memory(self) -> Settings:
        if self.smtp_data_memory < self.smtp_max_size:
            raise ValueError("BOUNCELOOP_SMTP_DATA_MEMORY must be at least "
                             "BOUNCELOOP_SMTP_MAX_SIZE (a message of the largest size must fit)")
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.smtp_tls_cert is None) != (self.smtp_tls_key is None):
            raise ValueError("BOUNCELOOP_SMTP_TLS_CERT and BOUNCELOOP_SMTP_TLS_KEY go together")
        return self

    @property
    def accepted_domains(self) -> list[str]:
        """Every domain whose VERP addresses the inbound server accepts, lower-case."""
        names = [self.bounce_domain, *self.bounce_domains] if self.bounce_domain else []
        return list(dict.fromkeys(n.lower() for n in names if n))

    @property
    def complaint_mailboxes(self) -> set[str]:
        """The addresses ARF reports come to, lower-case."""
        if self.complaint_addresses:
            return {a.lower() for a in self.complaint_addresses}
        return {f"abuse@{d}" for d in self.accepted_domains}

    def suppression_policy(self) -> suppression.Policy:
        """The suppression rules these settings describe."""
        return suppression.Policy(
            enabled=self.suppression_rules,
            hard=frozenset(self.suppression_hard_reasons),
            soft=frozenset(self.suppression_soft_reasons),
            threshold=self.suppression_soft_threshold,
            window=timedelta(days=self.suppression_soft_window),
            expiry={r: timedelta(days=d) for r, d in self.suppression_expiry.items() if d > 0},
            domains=self.suppression_domains, complaints=self.suppression_complaints,
            complaint_scope=self.suppression_complaint_scope)

    @property
    def journal_dir(self) -> Path:
        return self.spool_dir / "inflight"

    @property
    def dns_server_addresses(self) -> list[tuple[str, int]]:
        return [host_port(s, 53) for s in self.dns_servers]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("BOUNCELOOP_CONFIG", "bounceloop.toml")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if Path(path).is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


if __name__ == "__main__":
    sys.stdout.write(reference())
