"""Provider tables: the big mailbox providers' own codes and wording, chosen by destination.

Gmail, Microsoft, Yahoo, Orange, Cox and others document their rejection texts and, often,
their own error codes ("AUP#CXBL", "OFR_416", "IB607"). When a bounce comes from one of
them, that documentation is better evidence than any generic phrase. A provider is chosen by
the recipient's domain, else by the remote MTA's host name (where the report names none, or
one no table knows, the host the reply signs itself with, as Yahoo's do:
classify.replying_host), else by the reporting MTA's (rules/providers.py holds the data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bounceloop.parsing.rules.providers import PROVIDERS, Provider, Rule
from bounceloop.parsing.searchers import span

if TYPE_CHECKING:
    from bounceloop.parsing.classify import Signals


def _index(attr: str) -> dict[str, Provider]:
    out: dict[str, Provider] = {}
    for provider in PROVIDERS:
        for name in getattr(provider, attr):
            out.setdefault(name, provider)
    return out


_BY_DOMAIN = _index("domains")
_BY_HOST = _index("hosts")
#: The longest name in either index: a longer name can only match by a parent domain.
_LONGEST = max(len(name) for name in (*_BY_DOMAIN, *_BY_HOST))


def _lookup(name: str, index: dict[str, Provider]) -> Provider | None:
    """The provider for ``name`` or for one of its parent domains (mx1.example.net ->
    example.net -> net)."""
    if len(name) > _LONGEST:
        # Only a parent domain no longer than the longest known name can match: start there,
        # not with a copy of the whole name per label (quadratic in a name of many labels).
        name = name[-_LONGEST - 1:].partition(".")[2]
    while name:
        provider = index.get(name)
        if provider is not None:
            return provider
        name = name.partition(".")[2]
    return None


def choose(domain: str, remote: str, reporting: str) -> Provider | None:
    """The provider responsible for a recipient domain / remote host, if any."""
    if domain:
        provider = _lookup(domain, _BY_DOMAIN)
        if provider is not None:
            return provider
    for host in (remote, reporting):
        if host:
            provider = _lookup(host, _BY_HOST)
            if provider is not None:
                return provider
    return None


def find(s: Signals) -> tuple[str, str]:
    """The provider's reason for this failure ("" when it has none to give) and the rule
    token of the entry that gave it: "provider:<name>/code:<code>" (or range:<a>-<b>) for
    its own error code, "provider:<name>/<reason>.<n>" for its n-th rule of that reason;
    after a newline, the text the entry matched."""
    if not s.text:
        return "", ""
    provider = choose(s.recipient_domain, s.remote_mta, s.reporting_mta)
    if provider is None:
        return "", ""
    if provider.code is not None:
        m = provider.code.search(s.text)
        if m:
            code = m.group(1).lower()
            reason = provider.codes.get(code, "")
            entry = f"code:{code}"
            if not reason:
                for (low, high), ranged in provider.ranges:
                    if code.isdigit() and low <= int(code) <= high:
                        reason, entry = ranged, f"range:{low}-{high}"
                        break
            if reason:
                return reason, f"provider:{provider.name}/{entry}\n{m.group(0)}"
    for rule in provider.rules:
        if rule.status and not s.status.startswith(rule.status):
            continue
        if rule.reply and s.reply != rule.reply:
            continue
        if rule.command and s.command != rule.command:
            continue
        if rule.reason == "authfailure" and s.unfinished_check():
            # A check that could not finish failed no authentication (classify._NOT_AUTH).
            continue
        if rule.reason == "blocked" and s.sender_stated():
            continue
        if rule.search(s.text):
            return rule.reason, _token(provider, rule, s.text)
    return "", ""


def _token(provider: Provider, rule: Rule, text: str) -> str:
    """The rule token of ``rule`` (see :func:`find`), made only for the rule that decided."""
    n = 1 + sum(1 for r in provider.rules[:provider.rules.index(rule)] if r.reason == rule.reason)
    where = span(rule.pattern, text)
    matched = text[where[0]:where[1]] if where is not None else ""
    return f"provider:{provider.name}/{rule.reason}.{n}\n{matched}"


__all__ = ["choose", "find"]
