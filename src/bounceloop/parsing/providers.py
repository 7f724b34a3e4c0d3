"""Provider tables: the big mailbox providers' own codes and wording, chosen by destination.

Gmail, Microsoft, Yahoo, Orange, Cox and others document their rejection texts and, often,
their own error codes ("AUP#CXBL", "OFR_416", "IB607"). When a bounce comes from one of
them, that documentation is better evidence than any generic phrase. A provider is chosen by
the recipient's domain, else by the remote MTA's host name, else by the reporting MTA's
(rules/providers.py holds the data).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bounceloop.parsing.rules.providers import PROVIDERS, Provider

if TYPE_CHECKING:
    from bounceloop.parsing.classify import Signals


def choose(domain: str, remote: str, reporting: str) -> Provider | None:
    """The provider responsible for a recipient domain / remote host, if any."""
    for provider in PROVIDERS:
        if domain and _suffix(domain, provider.domains):
            return provider
    for host in (remote, reporting):
        if not host:
            continue
        for provider in PROVIDERS:
            if _suffix(host, provider.hosts):
                return provider
    return None


def _suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    return any(name == suffix or name.endswith("." + suffix) for suffix in suffixes)


def find(s: Signals) -> str:
    """The provider's reason for this failure, or "" when it has none to give."""
    if not s.text:
        return ""
    provider = choose(s.recipient_domain, s.remote_mta, s.reporting_mta)
    if provider is None:
        return ""
    if provider.code is not None:
        m = provider.code.search(s.text)
        if m:
            code = m.group(1).lower()
            reason = provider.codes.get(code, "")
            if not reason:
                for (low, high), ranged in provider.ranges:
                    if code.isdigit() and low <= int(code) <= high:
                        reason = ranged
                        break
            if reason:
                return reason
    for rule in provider.rules:
        if rule.status and not s.status.startswith(rule.status):
            continue
        if rule.reply and s.reply != rule.reply:
            continue
        if rule.command and s.command != rule.command:
            continue
        if rule.pattern.search(s.text):
            return rule.reason
    return ""


__all__ = ["choose", "find", "re"]
