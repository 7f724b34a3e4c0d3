"""Yandex.Mail bounces from ``mailer-daemon@yandex.ru``.

Yandex's outbound relays (``forward*.mail.yandex.net``) run Postfix: an RFC 3464 report with
``X-Yandex-Queue-ID`` and ``X-Yandex-Sender`` fields, and a notice in Russian then English
(Subject "Недоставленное сообщение", "Undelivered message")::

                  **********
    Это письмо отправлено почтовым сервером yandex.ru.
    ...
    This is the mail system at host yandex.ru.
    ...
    <jane@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1
        <jane@example.org>... User unknown (in reply to RCPT TO command)

The report gives recipient, status and reply; the Postfix text adds the SMTP command.
"""

from __future__ import annotations

from bounceloop.parsing.detectors._providers import daemon_from, postfix_relay_facts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "yandex"

# yandex.ru, .com, .net, .com.tr, .by, .kz, .ua and the short ya.ru all send as
# mailer-daemon@<that domain>.
_DOMAINS = ("yandex.ru", "yandex.com", "yandex.net", "yandex.com.tr", "yandex.by",
            "yandex.kz", "yandex.ua", "ya.ru")


def match(mail: Mail) -> bool:
    return daemon_from(mail, *_DOMAINS)


def inquire(mail: Mail) -> list[Fact]:
    return postfix_relay_facts(mail)
