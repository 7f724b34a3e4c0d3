"""Bounce format detectors: one module per MTA or provider family.

Each module is a pure function of a :class:`~bounceloop.parsing.mail.Mail`:

    NAME     the family name reported in ``Bounce.detector``
    match    a cheap test on headers (From, Subject, a vendor header) - no body scanning
    inquire  the full read: a list of :class:`~bounceloop.parsing.fact.Fact`, or [] if after
             all it is not this format

:data:`DETECTORS` is tried in order and the first non-empty answer wins: the specific
families first (their ``match`` is a header lookup), then the generic RFC 3464 reader, ARF,
RFC 3834 auto-replies (bounces carry auto-reply headers too, so after the bounce formats), and
last the structural fallback (``fallback``: any other bounce, forwarded ones too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from bounceloop.native import search_path

# The compiled modules first, when they are in use (bounceloop.native).
__path__ = search_path(__name__, __path__)

from bounceloop.parsing.detectors import (
    activehunter,
    amavis,
    amazonses,
    amazonworkmail,
    aol,
    apachejames,
    arf,
    autodsn,
    barracuda,
    bigfoot,
    biglobe,
    courier,
    domino,
    dragonfly,
    einsundeins,
    exchange2003,
    exchange2007,
    exim,
    ezweb,
    fallback,
    fml,
    gmail,
    gmx,
    googlegroups,
    googleworkspace,
    imailserver,
    imsva,
    interscanmss,
    kddi,
    mailfoundry,
    mailmarshalsmtp,
    mailru,
    mcafee,
    messagingserver,
    mfilter,
    mimecast,
    mxlogic,
    notes,
    nullmailer,
    office365,
    openmail,
    opensmtpd,
    outlook,
    postfix,
    powermta,
    qmail,
    receivingses,
    rfc3464,
    rfc3834,
    sendgrid,
    sendmail,
    surfcontrol,
    troubledelivering,
    v5sendmail,
    verizon,
    yahoo,
    yandex,
    zoho,
)
from bounceloop.parsing.detectors._common import subject_key
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail


class Detector(NamedTuple):
    name: str
    match: Callable[[Mail], bool]
    inquire: Callable[[Mail], list[Fact]]


def _of(module: object) -> Detector:
    return Detector(module.NAME, module.match, module.inquire)  # type: ignore[attr-defined]


#: Specific formats, most specific first. Constraints (each is a detector whose ``match``
#: would also accept the later one's mail):
#:   Google Groups / Workspace before Gmail (all from mailer-daemon@googlemail.com);
#:   Yahoo before AOL, qmail and Amazon SES (Yahoo's relays are qmail-derived and some of its
#:   bounces leave through SES); SES receiving and WorkMail before SES;
#:   the providers and appliances before the MTAs they run on (MXLogic, GMX, 1&1, Mail.ru,
#:   DragonFly before Exim; Bigfoot and IMSVA before Sendmail; AOL and Yandex before
#:   Postfix); Office 365 before Exchange 2007 and Outlook.
FAMILIES: tuple[Detector, ...] = tuple(
    _of(m)
    for m in (
        googlegroups, googleworkspace, gmail,
        yahoo, aol,
        receivingses, amazonworkmail, amazonses,
        office365, exchange2007, exchange2003, outlook,
        bigfoot, imsva, mxlogic, gmx, einsundeins, mailru, yandex, zoho, sendgrid,
        messagingserver, domino, notes, interscanmss, mailmarshalsmtp, amavis,
        mcafee, barracuda, surfcontrol, powermta, mimecast,
        biglobe, kddi, ezweb, verizon,
        activehunter, mfilter, imailserver, mailfoundry, openmail, autodsn,
        troubledelivering,
        dragonfly, nullmailer, exim, postfix, sendmail, v5sendmail, courier, opensmtpd,
        apachejames, fml,
        qmail,
    )
)

#: Generic readers, after every family declined.
GENERIC: tuple[Detector, ...] = (_of(arf), _of(rfc3464), _of(rfc3834), _of(fallback))

DETECTORS: tuple[Detector, ...] = FAMILIES + GENERIC

#: Subject (its first words, see :func:`subject_key`) -> the families that write it: they
#: are asked first, so most messages meet their detector in one or two cheap ``match``
#: calls. The other families still get their turn after them, in FAMILIES order.
BY_SUBJECT: dict[str, tuple[str, ...]] = {
    "delivery status": ("gmail", "googlegroups", "googleworkspace", "amazonses",
                        "amazonworkmail", "receivingses", "mcafee", "opensmtpd", "outlook",
                        "autodsn", "exchange2003"),
    "undelivered mail": ("aol", "yandex", "sendgrid", "zoho", "mailru", "postfix"),
    "mail delivery": ("dragonfly", "einsundeins", "exim", "gmx", "mxlogic", "zoho", "postfix",
                      "mailru"),
    "returned mail": ("bigfoot", "biglobe", "sendmail", "v5sendmail", "openmail", "imsva",
                      "nullmailer"),
    "failure notice": ("activehunter", "mfilter", "qmail", "yahoo"),
    "undeliverable": ("exchange2003", "exchange2007", "office365", "outlook", "aol",
                      "amazonses"),
    "undeliverable mail": ("amavis", "imailserver", "mailmarshalsmtp"),
    "undeliverable message": ("notes", "verizon"),
    "postmaster notify": ("sendmail",),
    "delivery notification": ("messagingserver",),
    "delivery failure": ("domino", "qmail"),
    "failure delivery": ("qmail",),
    "permanent delivery": ("qmail",),
    "warning": ("exim", "sendmail", "courier", "postfix"),
    "delayed mail": ("postfix",),
    "mail failure": ("exim",),
    "mail system": ("ezweb",),
    "aws notification": ("amazonses",),
    "notice": ("courier",),
    "mail could": ("interscanmss",),
    "delivery report": ("powermta",),
    "message you": ("barracuda",),
    "considered unsolicited": ("amavis",),
    "message delivery": ("mailfoundry",),
    "there was": ("troubledelivering",),
    "postmaster email": ("mimecast",),
}

_BY_NAME = {d.name: d for d in FAMILIES}
_ORDER = {d.name: i for i, d in enumerate(FAMILIES)}
_PLANS: dict[str, tuple[Detector, ...]] = {}
for _key, _names in BY_SUBJECT.items():
    _first = tuple(sorted((_BY_NAME[n] for n in _names), key=lambda d: _ORDER[d.name]))
    _PLANS[_key] = _first + tuple(d for d in FAMILIES if d not in _first) + GENERIC


def plan(subject: str) -> tuple[Detector, ...]:
    """The detectors to try for a message with this Subject, in order."""
    return _PLANS.get(subject_key(subject), DETECTORS)


__all__ = ["BY_SUBJECT", "DETECTORS", "FAMILIES", "GENERIC", "Detector", "plan",
           "subject_key"]
