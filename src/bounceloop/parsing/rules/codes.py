"""What a status or reply code says about the reason, when the text does not say more.

``STATUS`` maps an RFC 3463 code to the reason its registry meaning implies. Codes whose
meaning is too broad to name a reason (``5.0.0``, ``4.4.0``, ``5.5.0``) are deliberately
absent: the text decides those. Some pairs look asymmetric on purpose:

- 4.2.1 / 5.2.1 "mailbox disabled": in the wild 5.2.1 is what Sendmail, Exchange and
  content filters send when the *recipient's* rules refuse the mail (``filtered``), while
  4.2.1 is the temporary refusal Orange, Yahoo and others send for a blocked client IP;
- 4.7.1 is the greylisting / client-blocked deferral; 5.7.1 is any policy refusal, so it
  only says "security" until the text says what kind.

Where RFC 3463 names the condition, the table follows it: X.2.4 "mailing list expansion
problem" (a fault of the remote system), X.4.5 "mail system congestion" (not a full disk),
X.4.6 "routing loop detected", X.5.3 "too many recipients" (per message: exceedlimit, not
concurrent connections), X.5.4 "invalid command arguments" (a syntax error).

``REPLY`` gives the reason a bare reply code implies, used last, only for a record that
nothing else decided (RFC 5321 section 4.2.3, RFC 4954, RFC 7504).
"""

from __future__ import annotations

STATUS: dict[str, str] = {
    "2.1.5": "delivered",
    "4.1.6": "hasmoved",
    "4.1.7": "rejected",
    "4.1.8": "rejected",
    "4.1.9": "systemerror",
    "4.2.1": "blocked",
    "4.2.2": "mailboxfull",
    "4.2.3": "exceedlimit",
    "4.2.4": "systemerror",
    "4.3.1": "systemfull",
    # RFC 3463 3.4: X.3.2 "System not accepting network messages" - "an imminent
    # shutdown, excessive load, or system maintenance": held temporarily, a condition of
    # the remote system; notaccept (a destination that takes no mail at all) only when
    # permanent.
    "4.3.2": "systemerror",
    "4.3.3": "systemerror",
    "4.3.5": "systemerror",
    # RFC 3463 3.5: X.4.1 "No answer from host" (Postfix's "connect to ...: Connection
    # refused/timed out", smtp_connect.c): the network, not an expiry; a report that gave up
    # on it stated no cause (parsing.finish).
    "4.4.1": "networkerror",
    "4.4.2": "networkerror",
    "4.4.3": "systemerror",
    "4.4.4": "networkerror",
    "4.4.5": "systemerror",
    "4.4.6": "networkerror",
    "4.4.7": "expired",
    "4.4.8": "networkerror",
    "4.5.3": "exceedlimit",
    "4.5.5": "systemerror",
    "4.6.0": "contenterror",
    "4.6.2": "contenterror",
    "4.6.5": "contenterror",
    "4.7.1": "blocked",
    "4.7.2": "blocked",
    "4.7.5": "securityerror",
    "4.7.6": "securityerror",
    "4.7.7": "securityerror",
    "4.7.12": "securityerror",
    "4.7.15": "securityerror",
    "4.7.16": "mesgtoobig",
    # RFC 7372 3.1 (X.7.20-X.7.23: DKIM and SPF validation failed) and RFC 8617 (X.7.29:
    # ARC validation failure), temporary as Stalwart and others answer them.
    "4.7.20": "authfailure",
    "4.7.21": "authfailure",
    "4.7.22": "authfailure",
    "4.7.23": "authfailure",
    "4.7.24": "authfailure",
    "4.7.25": "requireptr",
    "4.7.26": "authfailure",
    "4.7.29": "authfailure",
    "5.1.0": "userunknown",
    "5.1.1": "userunknown",
    "5.1.2": "hostunknown",
    "5.1.3": "userunknown",
    "5.1.4": "filtered",
    "5.1.6": "hasmoved",
    "5.1.7": "rejected",
    "5.1.8": "rejected",
    "5.1.9": "systemerror",
    "5.1.10": "notaccept",
    "5.2.0": "filtered",
    "5.2.1": "filtered",
    "5.2.2": "mailboxfull",
    "5.2.3": "exceedlimit",
    "5.2.4": "systemerror",
    "5.3.0": "systemerror",
    "5.3.1": "systemfull",
    "5.3.2": "notaccept",
    "5.3.3": "systemerror",
    "5.3.4": "mesgtoobig",
    "5.3.5": "systemerror",
    "5.4.0": "networkerror",
    "5.4.3": "systemerror",
    "5.4.4": "hostunknown",
    "5.4.6": "networkerror",  # RFC 3463 3.5: routing loop detected (as 4.4.6)
    "5.5.2": "syntaxerror",
    "5.5.3": "exceedlimit",
    "5.5.4": "syntaxerror",
    "5.5.5": "systemerror",
    "5.5.6": "syntaxerror",
    "5.6.0": "contenterror",
    "5.6.1": "contenterror",
    "5.6.2": "contenterror",
    "5.6.3": "contenterror",
    "5.6.5": "contenterror",
    "5.6.6": "contenterror",
    "5.6.7": "contenterror",
    "5.6.8": "contenterror",
    "5.6.9": "contenterror",
    "5.7.0": "securityerror",
    "5.7.1": "securityerror",
    "5.7.2": "securityerror",
    "5.7.3": "securityerror",
    "5.7.4": "securityerror",
    "5.7.5": "securityerror",
    "5.7.6": "securityerror",
    "5.7.7": "securityerror",
    "5.7.8": "securityerror",
    "5.7.9": "securityerror",
    "5.7.10": "securityerror",
    "5.7.11": "securityerror",
    "5.7.13": "suspend",
    "5.7.14": "securityerror",
    "5.7.15": "securityerror",
    "5.7.16": "mesgtoobig",
    "5.7.17": "hasmoved",
    "5.7.18": "hasmoved",
    "5.7.19": "securityerror",
    "5.7.20": "authfailure",
    "5.7.21": "authfailure",
    "5.7.22": "authfailure",
    "5.7.23": "authfailure",
    "5.7.24": "authfailure",
    "5.7.25": "requireptr",
    "5.7.26": "authfailure",
    # RFC 7505 section 4.2: 5.7.27 "Sender address has null MX" (the sender's domain
    # takes no mail, so it cannot take bounces), where 5.1.10 is the recipient's.
    "5.7.27": "rejected",
    "5.7.28": "spamdetected",
    "5.7.29": "authfailure",
    "5.7.30": "failedstarttls",
    # Exchange Online's own detail codes, where its NDR reference gives one meaning to the
    # code whatever the text ("Email non-delivery reports and SMTP errors in Exchange
    # Online"): 5.7.511 "Access denied, banned sender[<IP>]" is the sending IP's ban (its
    # 5.7.502 of the same words is the sender's account), 4.7.850-899 "Access denied, please
    # try again later" is suspicious activity from the sending IP, and 5.7.708 "traffic not
    # accepted from this IP" a known low-reputation IP ("fix error code 5.7.700 through
    # 5.7.750").
    "5.7.511": "blocked",
    "5.7.708": "badreputation",
    **{f"4.7.{n}": "badreputation" for n in range(850, 900)},
}

#: reply code -> (SMTP command it implies, reason). RFC 4954 AUTH codes imply AUTH.
REPLY: dict[str, tuple[str, str]] = {
    "422": ("AUTH", "securityerror"),
    "432": ("AUTH", "securityerror"),
    "451": ("", "systemerror"),
    "452": ("", "systemfull"),
    "454": ("AUTH", "securityerror"),
    "455": ("", "syntaxerror"),
    "500": ("", "syntaxerror"),
    "501": ("", "syntaxerror"),
    "502": ("", "syntaxerror"),
    "503": ("", "syntaxerror"),
    "504": ("", "syntaxerror"),
    "521": ("CONN", "notaccept"),
    "523": ("AUTH", "securityerror"),
    "524": ("AUTH", "securityerror"),
    "525": ("AUTH", "securityerror"),
    "534": ("AUTH", "securityerror"),
    "535": ("AUTH", "securityerror"),
    "538": ("AUTH", "securityerror"),
    "551": ("", "hasmoved"),
    "552": ("", "mailboxfull"),
    "555": ("", "syntaxerror"),
    "556": ("RCPT", "notaccept"),
}
