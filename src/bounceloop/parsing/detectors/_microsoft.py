"""The non-delivery report of Exchange Server 2007 and later, shared by exchange2007/office365.

Exchange 2007, 2010, 2013+ and Exchange Online (Microsoft 365) all build the same report: a
``multipart/report`` whose text part has a part for people, then a part for administrators,
then the original headers. Most of it is translated into the sender's language (the
``Content-Language`` of the report); the SMTP lines in the administrators' part are not::

    Delivery has failed to these recipients or groups:          (fr: Échec de la remise ...)

    Jane Doe<mailto:jane@example.org>
    The e-mail address you entered couldn't be found. ...

    Diagnostic information for administrators:                  (fr: Informations de diagnostic ...)

    Generating server: mail.example.net                         (fr: Serveur de génération :)

    jane@example.org
    #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##         (2007/2010)
    mx.example.org #550 5.1.1 <jane@example.org>... User unknown ##       (2010, remote reply)
    #< #5.1.1 smtp;550 5.1.1 <jane@example.org>... User unknown> #SMTP#   (2007, remote reply)
    Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'   (2013+)
    5/25/2018 8:21:10 AM - Server at mx.example.org returned '450 4.4.312 ...'  (retries)

    Original message headers:                          (fr: En-têtes de message d'origine :)

Exchange Online (2015+) adds "mx.example.org gave this error:" in the people part and names
the remote host on the line after the recipient in the administrators' part. Its 2017 design
("Your message to jane@example.org couldn't be delivered." ... "Status code: 550 5.1.10" ...
"Original Message Details" ... "Recipient Address: jane@example.org") has no administrators'
part in that form; its reply is on a "Reported error:" or "Status code:" line.

The RFC 3464 part, when present, is the authority for recipients and status; the text fills
in what it lacks (a report relayed through a gateway often loses the MIME structure, and an
NDR generated inside the organisation often has no Remote-MTA).
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import ADDRESS, facts_or_original, first_address
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

# The first line of the people part, as Exchange words it (en, de, fr, it, es, pt, nl, ja).
# Only the lowercase start is compared; the rest of the line varies ("or groups",
# "or distribution lists").
INTRO_MARKERS = (
    "delivery has failed to these recipients",
    "delivery is delayed to these recipients",
    "fehler bei der zustellung an folgende empfänger",
    "die zustellung an folgende empfänger",
    "échec de la remise pour ces destinataires",
    "il recapito non è riuscito per i seguenti destinatari",
    "error en la entrega a estos destinatarios",
    "no se pudo entregar a estos destinatarios",
    "falha na entrega para estes destinatários",
    "kan niet bezorgen bij deze geadresseerden",
    "次の受信者またはグループへの配信に失敗しました",
)
# The heading of the administrators' part (same languages).
ADMIN_MARKERS = (
    "diagnostic information for administrators",
    "diagnoseinformationen für administratoren",
    "informations de diagnostic pour les administrateurs",
    "informazioni di diagnostica per gli amministratori",
    "información de diagnóstico para administradores",
    "informações de diagnóstico para administradores",
    "diagnostische gegevens voor beheerders",
    "管理者向けの診断情報",
)
# The heading of the original headers that end the report text.
_ORIGINAL_MARKERS = (
    "original message headers",
    "ursprüngliche nachrichtenkopfzeilen",
    "en-têtes de message d'origine",
    "intestazioni originali del messaggio",
    "encabezados del mensaje original",
    "cabeçalhos da mensagem original",
    "oorspronkelijke berichtkoppen",
    "元のメッセージ ヘッダー",
    "original message details",
)
# "Generating server: mail.example.net" and its translations: a label, a colon, a host.
_GENERATING = rx.compile(
    r"^\s*(?:generating server|generierender server|serveur de g\S*ration|"
    r"server di generazione|servidor de generaci\S*n|servidor de gera\S*o|生成サーバー)"
    r"\s*[:：]\s*([\w.\-]+)\s*$",
    re.I,
)
# 2007/2010: "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", optionally preceded by
# the remote host and followed by "rfc822;jane@example.org" after the closing "##"; a remote
# server's reply also as "#< #5.5.1 smtp;502 5.5.1 Unrecognized command.> #SMTP#" (the
# status, then the reply after "smtp;", closed by "> #SMTP#").
_HASHED = rx.compile(
    r"^\s*(?:([\w.\-]+)\s+)?#\s*(?:<\s*(?:#\s*([245]\.\d{1,3}\.\d{1,3})\s+)?(?:smtp\s*;\s*)?)?"
    r"([245]\d\d[ \-](?:.*?\S)??)\s*(?:##.*|>\s*#smtp#.*)?$", re.I)
# 2013+: "Remote Server returned '...'", "Remote Server at host (ip) returned '...'",
# "5/25/2018 8:21:10 AM - Server at host returned '...'".
# What "\bserver(?: at ([\w.\-]+))?[^']*?\breturned\s+'(.*)$" (re.I) finds, read in parts by
# _returned(): as one pattern it reads from every "server" to the next quote, and again for
# every shorter host name it backtracks to (quadratic in a long line, exponential-looking in
# practice).
_SERVER = rx.compile(r"\bserver", re.I)
_AT_HOST = rx.compile(r" at ([\w.\-]+)", re.I)
_RETURNED_QUOTE = rx.compile(r"\breturned\s+'", re.I)
_REST = rx.compile(r"(.*)$")
_HOST_ONLY = rx.compile(r"^\s*([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)\s*$")
_BARE_ADDRESS = rx.compile(r"^\s*<?([^\s<>@]+@[^\s<>@]+?)>?\s*$")
# The 2017 Exchange Online design.
_YOUR_MESSAGE_TO = rx.compile(r"your message to (\S+@\S+?) couldn't be delivered", re.I)
_RECIPIENT_ADDRESS = rx.compile(r"^[^\S\n]*recipient address:\s*(\S[^\s@]*@\S+)\s*$",
                                re.I | re.M)
# "Reported error:" has the full reply; "Status code:" only its codes.
_REPORTED = rx.compile(r"^[^\S\n]*reported error:\s*(.*?\S|[^\S\n])\s*$", re.I | re.M)
_STATUS_CODE = rx.compile(r"^[^\S\n]*status code:\s*(.*?\S|[^\S\n])\s*$", re.I | re.M)
_GENERATED_BY = rx.compile(r"^[^\S\n]*dsn generated by:\s*([\w.\-]+)\s*$", re.I | re.M)

_DELAY_WORDS = ("delivery is delayed to these recipients", "delivery has been delayed",
                "hasn't been delivered yet", "is delayed to these recipients")


def looks_like_ndr(mail: Mail) -> bool:
    """Exchange 2010+ stamps its reports; older ones are known by the words they begin with."""
    if mail.has("X-MS-Exchange-Message-Is-Ndr"):
        return True
    head = mail.body[:2000].lower()
    return any(m in head for m in INTRO_MARKERS) or any(m in head for m in ADMIN_MARKERS) or (
        "couldn't be delivered" in head and "office 365" in head)


def inquire(mail: Mail) -> list[Fact]:
    text = _report_text(mail.body)
    from_text = _admin_facts(text)
    if not from_text:
        from_text = _online_facts(mail.body)
    _, stated = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    stated = [f for f in stated if f.recipient or f.diagnosis]
    delayed = any(w in text[:3000].lower() for w in _DELAY_WORDS)
    facts = _merge(stated, from_text) if stated else from_text
    reporting = _generating_server(text)
    for fact in facts:
        if not fact.action:
            fact.action = "delayed" if delayed else "failed"
        fact.reporting_mta = fact.reporting_mta or reporting
        fact.date = fact.date or mail.header("Date")
    return [f for f in facts_or_original(mail, facts) if f.recipient]


def _report_text(body: str) -> str:
    """The report text up to the original headers (they quote the failed recipient too)."""
    low = body.lower()
    end = len(body)
    for marker in _ORIGINAL_MARKERS:
        i = low.find(marker)
        if 0 <= i < end:
            end = i
    return body[:end]


def _generating_server(text: str) -> str:
    for line in text.split("\n"):
        m = _GENERATING.match(line)
        if m:
            return m.group(1)
    return ""


def _admin_facts(text: str) -> list[Fact]:
    """Recipients and replies of the administrators' part."""
    low = text.lower()
    start = -1
    for marker in ADMIN_MARKERS:
        i = low.find(marker)
        if i >= 0 and (start < 0 or i < start):
            start = i
    if start < 0:
        return []
    facts: list[Fact] = []
    current: Fact | None = None
    lines = text[start:].split("\n")[1:]
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or _GENERATING.match(line):
            continue
        bare = _BARE_ADDRESS.match(line)
        if bare and "'" not in line:
            current = Fact(recipient=bare.group(1))
            facts.append(current)
            # Exchange Online names the remote host on the next line.
            if i < len(lines):
                host = _HOST_ONLY.match(lines[i])
                if host:
                    current.remote_mta = host.group(1)
                    i += 1
            continue
        if current is None or current.diagnosis:
            # Later lines for the same recipient are earlier attempts: the first is final.
            continue
        returned = _returned(line)
        if returned:
            at_host, quoted = returned
            # The reply may have been wrapped by a relay: read on to the closing quote.
            parts = [quoted]
            while not parts[-1].rstrip().endswith("'") and i < len(lines) and lines[i].strip():
                parts.append(lines[i].strip())
                i += 1
            current.diagnosis = " ".join(parts).rstrip().removesuffix("'")
            current.remote_mta = current.remote_mta or at_host
            continue
        hashed = _HASHED.match(line)
        if hashed:
            current.diagnosis = hashed.group(3).rstrip(">").strip()
            current.status = current.status or (hashed.group(2) or "")
            if hashed.group(1) and "." in hashed.group(1):
                current.remote_mta = current.remote_mta or hashed.group(1)
    return facts


def _returned(line: str) -> tuple[str, str] | None:
    """(host or "", the quoted reply) of "Remote Server at host returned '...", or None.

    The first "server" (a word start) whose first quote after it closes "returned '" wins;
    every "server" before that quote needs the same "returned" and fails with the first, so
    the search goes on after the quote. The host is the " at name" run after "server", cut
    where "returned" starts if it runs into it.
    """
    pos = 0
    while (server := _SERVER.search(line, pos)) is not None:
        after = server.end()
        quote = line.find("'", after)
        if quote < 0:
            return None
        returned = _RETURNED_QUOTE.search(line, after, quote + 1)
        rest = _REST.match(line, quote + 1) if returned is not None else None
        if returned is not None and rest is not None:
            at = _AT_HOST.match(line, after)
            host = ""
            if at is not None and returned.start() > at.start(1):
                host = line[at.start(1):min(at.end(1), returned.start())]
            return host, rest.group(1)
        pos = quote + 1
    return None


def _online_facts(body: str) -> list[Fact]:
    """The 2017 Exchange Online design, when it comes without its RFC 3464 part."""
    heading = _YOUR_MESSAGE_TO.search(body)
    m = heading or _RECIPIENT_ADDRESS.search(body)
    if m is None:
        return []
    recipient = first_address(m.group(1))
    if not recipient:
        return []
    reported = _REPORTED.search(body)
    diagnosis = reported.group(1) if reported else ""
    if not reported and heading is not None:
        # Only the codes: the line under the heading says what happened ("jane wasn't found
        # at example.org.").
        codes = _STATUS_CODE.search(body)
        tail = body[heading.end():].lstrip(" .\n")
        first_line = tail.split("\n", 1)[0].strip()
        if first_line and not ADDRESS.fullmatch(first_line):
            diagnosis = f"{codes.group(1) if codes else ''} {first_line}".strip()
    generated = _GENERATED_BY.search(body)
    return [Fact(recipient=recipient, diagnosis=diagnosis,
                 reporting_mta=generated.group(1) if generated else "")]


def _merge(stated: list[Fact], from_text: list[Fact]) -> list[Fact]:
    """The RFC 3464 facts, completed from the administrators' part of the same report."""
    by_rcpt = {f.recipient.lower(): f for f in from_text}
    for i, fact in enumerate(stated):
        other = by_rcpt.get(fact.recipient.lower())
        if other is None and len(from_text) == len(stated):
            other = from_text[i]
        if other is None:
            continue
        # An internal recipient may be named by its X.500 "IMCEAEX-..." form in the report.
        if not fact.recipient or fact.recipient.upper().startswith("IMCEA"):
            fact.recipient = other.recipient
        if not fact.diagnosis:
            fact.diagnosis = other.diagnosis
        fact.remote_mta = fact.remote_mta or other.remote_mta
    return stated


def cloud_stamped(mail: Mail) -> bool:
    """Headers only Exchange Online (Microsoft 365, Outlook.com since 2017) puts on reports."""
    for name, _ in mail.headers:
        low = name.lower()
        if low.startswith(("x-ms-exchange-crosstenant-", "x-ms-exchange-transport-crosstenant")):
            return True
    sender = mail.from_address
    if sender.endswith((".onmicrosoft.com", "@outlook.com")):
        return True
    msgid = mail.header("Message-ID").lower().rstrip(">").strip()
    return msgid.endswith(("outlook.com", "exchangelabs.com"))
