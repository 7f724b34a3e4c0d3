"""Microsoft Exchange Server 2007 and later, on premises: the non-delivery report (NDR).

Exchange 2007+ writes ``multipart/report`` with a text part in the sender's language (its
``Content-Language``), an RFC 3464 part and the returned headers; the text's part for
administrators carries the SMTP reply in English whatever the language::

    Delivery has failed to these recipients or groups:

    jane@example.org<mailto:jane@example.org>
    The e-mail address you entered couldn't be found. ...

    Diagnostic information for administrators:

    Generating server: mail.example.net

    jane@example.org
    #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##

    Original message headers:

Exchange 2013+ writes the reply as "Remote Server returned '550 5.1.1 ...'". The reading is
shared with Exchange Online (office365, which must be tried first: it is the same report with
cloud headers) in :mod:`._microsoft`.
"""

from __future__ import annotations

from bounceloop.parsing.detectors import _microsoft
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "exchange2007"


def match(mail: Mail) -> bool:
    return _microsoft.looks_like_ndr(mail) and not _microsoft.cloud_stamped(mail)


def inquire(mail: Mail) -> list[Fact]:
    return _microsoft.inquire(mail)
