"""Receiving returned mail (step 5): the inbound SMTP server and the processing worker.

    server     aiosmtpd in the service's loop: VERP/complaint recipients only, store then 250
    inbox      group commit of received messages (many sessions, one transaction)
    correlate  tie a returned message to the message it answers (pure; lookups by protocol)
    lookup     correlate's lookups over the database
    process    parse, tie, write error rows and events; the Processor worker loop
    parser     the parser processes, each message under a time budget

The package imports nothing: a parser process (spawned, see parser) loads only the parser
and what it needs, not the SMTP server and the database layer (0.6 s and 62 MiB of RSS
before, per parser process). Import from the modules.
"""
