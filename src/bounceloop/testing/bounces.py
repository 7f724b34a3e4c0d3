"""Returned messages as real MTAs write them, answering a message we sent.

For the end-to-end tests and ``bench/inbound.py``: given the copy of a message a (fake)
MX received - our ``X-Bounceloop-Id`` header and all - these build what would come back to
its envelope: an RFC 3464 DSN (Postfix's layout; failed or delayed), a qmail bounce and an
Exim bounce (non-standard, plain text), an RFC 3834 auto-reply, an RFC 5965 ARF complaint,
and a message no parser knows. Each is bytes with CRLF line ends, ready for DATA.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime

_DATE = format_datetime(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def _headers_of(original: bytes) -> str:
    head = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return head.decode("utf-8", "replace")


def dsn(recipient: str, original: bytes, *, status: str = "5.1.1",
        diagnostic: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
        action: str = "failed", envid: str = "", mta: str = "mx.dest.test") -> bytes:
    """Postfix's multipart/report DSN (RFC 3464), with the original's headers returned."""
    diag = diagnostic.format(rcpt=recipient)
    envid_line = f"Original-Envelope-Id: {envid}\n" if envid else ""
    title = "Undelivered Mail Returned to Sender" if action == "failed" else \
        "Delayed Mail (still being retried)"
    return _crlf(f"""Return-Path: <>
From: MAILER-DAEMON@{mta} (Mail Delivery System)
Subject: {title}
Date: {_DATE}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-b"

--dsn-b
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {mta}.

<{recipient}>: host {mta} said: {diag}

--dsn-b
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {mta}
{envid_line}Arrival-Date: {_DATE}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; {mta}
Diagnostic-Code: smtp; {diag}

--dsn-b
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{_headers_of(original)}

--dsn-b--
""")


def qmail(recipient: str, original: bytes) -> bytes:
    """qmail-send's plain-text bounce, the original quoted after the break line."""
    body = original.replace(b"\r\n", b"\n").decode("utf-8", "replace")
    return _crlf(f"""Return-Path: <>
Date: {_DATE}
From: MAILER-DAEMON@mail.dest.test
Subject: failure notice

Hi. This is the qmail-send program at mail.dest.test.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{recipient}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

{body}""")


def exim(recipient: str, original: bytes) -> bytes:
    """Exim's plain-text bounce: mailbox full, the original's headers returned."""
    return _crlf(f"""Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@mx.dest.test>
Subject: Mail delivery failed: returning message to sender
Date: {_DATE}
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    host mx.dest.test [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    552 5.2.2 Mailbox full: quota exceeded

------ This is a copy of the message, including all the headers. ------

{_headers_of(original)}
""")


def autoreply(recipient: str, original: bytes) -> bytes:
    """An out-of-office reply (RFC 3834), answering the original's Message-ID in
    In-Reply-To and References as RFC 3834 section 3.1 has responders do."""
    m = re.search(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", original, re.I | re.M)
    refs = f"In-Reply-To: {m.group(1).decode()}\nReferences: {m.group(1).decode()}\n" \
        if m else ""
    return _crlf(f"""Return-Path: <>
From: <{recipient}>
Subject: Out of office: your message
Date: {_DATE}
{refs}Auto-Submitted: auto-replied
X-Autoreply: yes
Precedence: auto_reply

I am out of the office until 1 December with no access to e-mail.
""")


def arf(recipient: str, original: bytes, *, sender: str = "news@sender.test") -> bytes:
    """An ISP feedback-loop complaint (RFC 5965), the original attached."""
    body = original.replace(b"\r\n", b"\n").decode("utf-8", "replace")
    return _crlf(f"""From: Feedback Loop <fbl@isp.test>
Subject: Abuse report
Date: {_DATE}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf-b"

--arf-b
Content-Type: text/plain; charset=us-ascii

This is an email abuse report.

--arf-b
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: IspFBL/1.0
Version: 1
Original-Mail-From: <{sender}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: {_DATE}
Source-IP: 192.0.2.1

--arf-b
Content-Type: message/rfc822

{body}
--arf-b--
""")


def unknown(original: bytes) -> bytes:
    """Returned mail no parser recognises (a human's reply), the original quoted below."""
    body = original.replace(b"\r\n", b"\n").decode("utf-8", "replace")
    quoted = "\n".join("> " + line for line in body.splitlines())
    return _crlf(f"""From: A Person <person@dest.test>
Subject: Re: your message
Date: {_DATE}

Please take me off this list, I never asked for it.

{quoted}
""")
