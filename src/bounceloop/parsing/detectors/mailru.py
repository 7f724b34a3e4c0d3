"""Mail.Ru bounces from ``mailer-daemon@corp.mail.ru``.

Mail.Ru's relays (``smtp*.mail.ru``, ``f*.i.mail.ru``) run Exim. The notice is Exim's, with
a Russian copy in front of the English one and the Subject "Ваше сообщение не доставлено.
Mail failure."::

    Это письмо создано автоматически сервером Mail.Ru, отвечать на него не нужно.

    К сожалению, Ваше письмо не может быть доставлено одному или нескольким получателям:

      jane@example.org
        SMTP error from remote mail server after RCPT TO:<jane@example.org>:
        host mx.example.org [192.0.2.25]: 550 5.1.1 <jane@example.org>... User unknown

    **********************

    This message was created automatically by mail delivery software.
    ...
    ------ This is a copy of the message, including all the headers. ------

The English part is Exim's own text, so exim's reader does the work; this module claims the
message for the family (bk.ru, inbox.ru, list.ru mail is sent by the same servers).
"""

from __future__ import annotations

from bounceloop.parsing.detectors import exim
from bounceloop.parsing.detectors._providers import daemon_from
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "mailru"


def match(mail: Mail) -> bool:
    return daemon_from(mail, "mail.ru")


def inquire(mail: Mail) -> list[Fact]:
    return exim.inquire(mail)
