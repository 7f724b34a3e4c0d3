"""Settings: one typed object, built at the edge (CLI, service) and passed down.

Sources, strongest first: constructor arguments, ``BOUNCELOOP_*`` environment variables, a
TOML file (``BOUNCELOOP_CONFIG``, else ``bounceloop.toml`` in the working directory if it
exists), then the defaults below. The environment names are a contract (issue 3):

    BOUNCELOOP_DATABASE_URL            sqlite:///bounceloop.db | postgresql+psycopg://...
    BOUNCELOOP_DNS_SERVERS             host:port,host:port   (empty: the system resolver)
    BOUNCELOOP_MX_PORT                 25
    BOUNCELOOP_ALLOWED_TARGET_NETWORKS 127.0.0.0/8,...       (exempt from the private-IP refusal)
    BOUNCELOOP_BOUNCE_DOMAIN           bounces.example.org   (VERP envelopes; empty: no VERP)
    BOUNCELOOP_VERP_SECRET             the HMAC key of VERP tokens
    BOUNCELOOP_RETRY_SCHEDULE          600,600,1800,1800,3600,3600,7200 (seconds; last repeats)
    BOUNCELOOP_HTTP_LISTEN             127.0.0.1:8080
    BOUNCELOOP_SMTP_LISTEN             127.0.0.1:2525
    BOUNCELOOP_SPOOL_DIR               spool                 (local state: in-flight journals)

and for the inbound (bounce) server, issue 4:

    BOUNCELOOP_BOUNCE_DOMAINS          old.example.org,...   (more domains whose VERP
                                                              addresses are accepted)
    BOUNCELOOP_COMPLAINT_ADDRESSES     abuse@bounces.example.org (default: abuse@ each
                                                              bounce domain)
    BOUNCELOOP_SMTP_TLS_CERT / _KEY    PEM files; STARTTLS is offered when set
    BOUNCELOOP_SMTP_MAX_SIZE           26214400              (bytes; RFC 1870 SIZE)
    BOUNCELOOP_SMTP_COMMAND_TIMEOUT    300                   (seconds without progress;
                                                              NOOP, RSET, VRFY, HELP are none)
    BOUNCELOOP_SMTP_SESSION_TIMEOUT    1800                  (seconds per connection)
    BOUNCELOOP_SMTP_MAX_SESSIONS       200                   (concurrent; more get 421)
    BOUNCELOOP_SMTP_MAX_SESSIONS_PER_CLIENT 50               (concurrent from one address
                                                              (IPv6: /84); 0: no limit)
    BOUNCELOOP_SMTP_CLIENT_LIMIT_EXCEPTIONS                  (CIDRs exempt from that limit;
                                                              default none)
    BOUNCELOOP_SMTP_JUNK_COMMAND_LIMIT 100                   (NOOP, RSET, VRFY, HELP, HELO,
                                                              EHLO; past it each is an error;
                                                              0: no limit)
    BOUNCELOOP_SMTP_HARD_ERROR_LIMIT   20                    (errors without a stored message,
                                                              then 421; 0: no limit)
    BOUNCELOOP_SMTP_DATA_MEMORY        134217728             (bytes of DATA held by all
                                                              sessions; past it 452; at least
                                                              BOUNCELOOP_SMTP_MAX_SIZE)
    BOUNCELOOP_PARSE_PROCESSES         1                     (processes parsing returned mail;
                                                              0: a thread, with no time budget)
    BOUNCELOOP_PARSE_TIMEOUT           30                    (seconds one returned message may
                                                              take to parse; over it: failed)
    BOUNCELOOP_TRUSTED_FEEDBACK_DOMAINS fbl.example.net,...  (DKIM d= of feedback loops whose
                                                              verified complaints tie by the
                                                              address named; default none)

and for webhooks, issue 5:

    BOUNCELOOP_WEBHOOK_EXTRAS          true                  (false: the spec's fields only,
                                                              for every webhook)
    BOUNCELOOP_WEBHOOK_TIMEOUT         10                    (seconds per call; a webhook's own)
    BOUNCELOOP_WEBHOOK_CONCURRENCY     10                    (calls at once per webhook)
    BOUNCELOOP_WEBHOOK_RETRY_PERIOD    86400                 (seconds of retries, then dead)
    BOUNCELOOP_WEBHOOK_RETRY_BASE      10                    (first retry delay, doubling...)
    BOUNCELOOP_WEBHOOK_RETRY_MAX_DELAY 3600                  (...up to this, with jitter)
    BOUNCELOOP_WEBHOOK_PAUSE_AFTER     259200                (seconds failing: paused, flagged)
    BOUNCELOOP_WEBHOOK_POLL_INTERVAL   0.2                   (seconds between idle looks)
    BOUNCELOOP_WEBHOOK_CA_FILE         PEM                   (extra trusted roots for https)

and for suppression, issue 6 (core.suppression has the rules):

    BOUNCELOOP_SUPPRESSION_RULES       true                  (false: only entries made by hand)
    BOUNCELOOP_SUPPRESSION_HARD_REASONS hasmoved,hostunknown,notaccept,userunknown
    BOUNCELOOP_SUPPRESSION_SOFT_REASONS exceedlimit,mailboxfull,suspend
    BOUNCELOOP_SUPPRESSION_SOFT_THRESHOLD 3                  (soft failures on different days)
    BOUNCELOOP_SUPPRESSION_SOFT_WINDOW 30                    (days)
    BOUNCELOOP_SUPPRESSION_EXPIRY      mailboxfull=30,exceedlimit=30,suspend=90,hostunknown=90,
                                       notaccept=90          (days per reason; 0 or not
                                                              listed: never)
    BOUNCELOOP_SUPPRESSION_DOMAINS     true                  (suppress a domain our DNS
                                                              found dead)
    BOUNCELOOP_SUPPRESSION_COMPLAINTS  true
    BOUNCELOOP_SUPPRESSION_COMPLAINT_SCOPE sender            (or all: every sender)
    BOUNCELOOP_SUPPRESSION_SWEEP_INTERVAL 60                 (seconds between expiry sweeps)

and for running many processes, issue 8 (observability.logs):

    BOUNCELOOP_LOG_FORMAT              text                  (or json: one object a line,
                                                              message_id and recipient bound)
    BOUNCELOOP_LOG_LEVEL               info                  (debug, info, warning, error)
    BOUNCELOOP_JOB_RETENTION           604800                (seconds a done job is kept;
                                                              0: for ever)

and for the web UI's logins, issue 16 (web.ui.session):

    BOUNCELOOP_LOGIN_CONCURRENCY       2                     (password checks at once per
                                                              process, 16 MiB each)
    BOUNCELOOP_LOGIN_WAIT              10                    (seconds a login waits for its
                                                              turn, then 503)
"""

from __future__ import annotations

import ipaddress
import os
import socket
from datetime import timedelta
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

    model_config = SettingsConfigDict(env_prefix="BOUNCELOOP_", extra="ignore",
                                      validate_default=True)

    database_url: str = "sqlite:///bounceloop.db"
    hostname: str = Field(default_factory=socket.getfqdn)
    """The name we give in EHLO."""
    bounce_domain: str = ""
    verp_secret: SecretStr = SecretStr("")
    dns_servers: Annotated[list[str], NoDecode] = []
    mx_port: int = 25
    smarthost: str = ""
    """host:port to send everything through instead of each recipient's MX."""
    allowed_target_networks: Annotated[list[str], NoDecode] = []
    retry_schedule: Annotated[list[int], NoDecode] = list(DEFAULT_RETRY)
    max_delivery_time: int = 86400
    tls: str = "opportunistic"
    """opportunistic (STARTTLS when offered, plain if it fails), required, or off."""
    severity_convention: Convention = Convention.CODE

    dns_timeout: float = 10.0
    connect_timeout: float = 30.0
    greeting_timeout: float = 300.0
    command_timeout: float = 300.0
    data_timeout: float = 600.0

    max_connections: int = 50
    max_connections_per_domain: int = 5
    max_messages_per_connection: int = 100
    max_rcpts_per_transaction: int = 100

    spool_dir: Path = Path("spool")
    """Local state next to the database: the in-flight journals (``inflight/``)."""
    http_listen: str = "127.0.0.1:8080"
    smtp_listen: str = "127.0.0.1:2525"
    """The inbound server; empty: none (a process that only sends)."""
    bounce_domains: Annotated[list[str], NoDecode] = []
    complaint_addresses: Annotated[list[str], NoDecode] = []
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    smtp_max_size: int = 25 * 1024 * 1024
    smtp_command_timeout: float = 300.0
    smtp_session_timeout: float = 1800.0
    smtp_max_sessions: int = 200
    smtp_max_sessions_per_client: int = Field(default=50, ge=0)
    """Postfix's smtpd_client_connection_count_limit; 0: no limit."""
    smtp_client_limit_exceptions: Annotated[list[str], NoDecode] = []
    """Networks whose clients that limit leaves out (Postfix's
    smtpd_client_event_limit_exceptions, without its default of $mynetworks)."""
    smtp_junk_command_limit: int = Field(default=100, ge=0)
    """Postfix's smtpd_junk_command_limit; 0: no limit."""
    smtp_hard_error_limit: int = Field(default=20, ge=0)
    """Postfix's smtpd_hard_error_limit; 0: no limit."""
    smtp_data_memory: int = Field(default=128 * 1024 * 1024, ge=1)
    """Bytes of DATA all inbound sessions may hold in memory until their commit."""
    parse_processes: int = Field(default=1, ge=0)
    """Processes that parse returned mail beside the service's own (0: a thread of it, where
    the parse budget cannot stop a parse: a thread cannot be interrupted)."""
    trusted_feedback_domains: Annotated[list[str], NoDecode] = []
    """DKIM d= domains of feedback loops whose verified complaints tie by the address they
    name (inbound.feedback); none: only signed ties of ours count."""
    parse_timeout: float = Field(default=30.0, ge=0)
    """Seconds of wall time one returned message may take to parse (0: no limit); past it
    the message is recorded as failed to parse, and the messages behind it go on."""
    webhook_extras: bool = True
    """Our fields after the spec's in webhook calls; false for strict receivers."""
    webhook_timeout: int = Field(default=10, ge=1, le=300)
    webhook_concurrency: int = Field(default=10, ge=1, le=100)
    webhook_retry_period: float = Field(default=86400.0, gt=0)
    webhook_retry_base: float = Field(default=10.0, gt=0)
    webhook_retry_max_delay: float = Field(default=3600.0, gt=0)
    webhook_pause_after: float = Field(default=3 * 86400.0, gt=0)
    webhook_poll_interval: float = Field(default=0.2, gt=0)
    webhook_ca_file: Path | None = None
    suppression_rules: bool = True
    suppression_hard_reasons: Annotated[list[str], NoDecode] = sorted(suppression.HARD_REASONS)
    suppression_soft_reasons: Annotated[list[str], NoDecode] = sorted(suppression.SOFT_REASONS)
    suppression_soft_threshold: int = Field(default=3, ge=1, le=100)
    suppression_soft_window: float = Field(default=30.0, gt=0)
    """Days."""
    suppression_expiry: Annotated[dict[str, float], NoDecode] = {
        k: float(v) for k, v in suppression.DEFAULT_EXPIRY.items()}
    """Days an automatic entry lasts, per reason (``complaint`` too); 0 or absent: never."""
    suppression_domains: bool = True
    suppression_complaints: bool = True
    suppression_complaint_scope: str = "sender"
    suppression_sweep_interval: float = Field(default=60.0, gt=0)
    job_lease: float = 300.0
    job_retention: float = Field(default=7 * 86400.0, ge=0)
    """Seconds a done job is kept before the sweep deletes it (0: kept for ever)."""
    """Seconds a claimed job stays with its worker before another may take it."""
    poll_interval: float = 1.0
    log_format: Literal["text", "json"] = "text"
    """The service's log on stderr: ``bounceloop: ...`` lines, or one JSON object a line."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """info: a line per delivery attempt, returned message and failed webhook call."""
    login_concurrency: int = Field(default=2, ge=1, le=64)
    """Password checks (scrypt, 16 MiB each) a web process runs at once: more than the
    cores gains no speed, only memory."""
    login_wait: float = Field(default=10.0, gt=0, le=300)
    """Seconds a login waits for a free check before it gets 503 with Retry-After."""

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
