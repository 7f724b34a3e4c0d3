"""Receiving returned mail (step 5): the inbound SMTP server and the processing worker.

    server     aiosmtpd in the service's loop: VERP/complaint recipients only, store then 250
    inbox      group commit of received messages (many sessions, one transaction)
    correlate  tie a returned message to the message it answers (pure; lookups by protocol)
    lookup     correlate's lookups over the database
    process    parse, tie, write error rows and events; the Processor worker loop
"""

from __future__ import annotations

from bounceloop.inbound.inbox import Inbox
from bounceloop.inbound.process import Context, Processor, process, run_batch
from bounceloop.inbound.server import InboundServer

__all__ = ["Context", "InboundServer", "Inbox", "Processor", "process", "run_batch"]
