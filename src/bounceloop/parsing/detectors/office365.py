"""Microsoft 365 / Exchange Online (and Outlook.com since its move onto it): the NDR.

The report is Exchange 2013+'s (see :mod:`._microsoft`), sent by Exchange Online::

    From: Microsoft Outlook <postmaster@tenant.onmicrosoft.com>
    X-MS-Exchange-Message-Is-Ndr:
    X-MS-Exchange-CrossTenant-OriginalArrivalTime: 29 Apr 2019 23:34:45.6789 (UTC)

    mx.example.org rejected your message to the following email addresses:

    jane@example.org (jane@example.org)<mailto:jane@example.org>
    ...
    mx.example.org gave this error:
    <jane@example.org>... User Unknown

    Diagnostic information for administrators:

    Generating server: AB1PR01MB0001.eurprd01.prod.outlook.com

    jane@example.org
    mx.example.org
    Remote Server returned '550 5.1.1 <jane@example.org>... User Unknown'

Since 2017 a redesigned text ("Your message to jane@example.org couldn't be delivered.",
"Status code: 550 5.1.10") is common; the RFC 3464 part is then the main source. Told from
an on-premises Exchange by the cross-tenant headers, the onmicrosoft.com/outlook.com sender
or an outlook.com Message-ID; so it is tried before exchange2007.
"""

from __future__ import annotations

from bounceloop.parsing.detectors import _microsoft
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "office365"


def match(mail: Mail) -> bool:
    return _microsoft.cloud_stamped(mail) and _microsoft.looks_like_ndr(mail)


def inquire(mail: Mail) -> list[Fact]:
    return _microsoft.inquire(mail)
