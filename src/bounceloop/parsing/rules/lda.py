"""Local delivery agents: the programs that write into the mailbox after SMTP accepted.

When the final hop is a local delivery (the MTA hands the message to dovecot-lda, procmail,
maildrop, ...), the bounce quotes that program's own message. Its wording is specific and
beats any generic phrase: "Quota exceeded" from dovecot is a full mailbox, whatever code the
MTA wrapped around it. A recognised agent whose message matches nothing is a mailer error.
"""

from __future__ import annotations

#: (agent, phrases that identify it, {reason: phrases}) - all lowercase regexes.
AGENTS: tuple[tuple[str, tuple[str, ...], dict[str, tuple[str, ...]]], ...] = (
    (
        "dovecot",
        # "your message to <[^>]*> was automatically rejected:", read from the first "your
        # message to <" after a ">" only: all before one ">" share it, and reading to it from
        # each of many is quadratic.
        (r"(?<![^>])(?>[^>]*?your message to <)[^>]*> was automatically rejected:",),
        {
            "mailboxfull": (r"quota exceeded", r"not enough disk space", r"over quota"),
            "userunknown": (r"mailbox doesn't exist",),
            # Any other reason after rejection_reason's opening is a Sieve script's: Pigeonhole
            # sends the "reject" action's text with it (RFC 5429 section 2.2: the recipient's
            # own rules refused the message; src/lib-sieve/sieve-actions.c).
            "filtered": (r"was automatically rejected:",),
        },
    ),
    (
        "mail.local",
        (r"mail\.local: ",),
        {
            "mailboxfull": (r"disc quota exceeded", r"disk quota exceeded", r"mailbox full"),
            "systemerror": (r"temporary file write error",),
            "userunknown": (r": user unknown", r": invalid mailbox path", r"unknown user"),
        },
    ),
    (
        "procmail",
        (r"procmail: ", r"/procmail "),
        {
            "mailboxfull": (r"quota exceeded", r"over quota"),
            "systemerror": (r"service unavailable",),
            "systemfull": (r"no space left to finish writing",),
        },
    ),
    (
        "maildrop",
        (r"maildrop: ",),
        {
            "mailboxfull": (r"maildir over quota",),
            "userunknown": (r"cannot find system user", r"invalid user specified"),
        },
    ),
    (
        "vpopmail",
        (r"vdelivermail: ",),
        {
            "mailboxfull": (r"user is over quota",),
            "suspend": (r"account is locked",),
            "filtered": (r"user does not exist, but will deliver to ",),
            "userunknown": (r"no mailbox here by that name",),
        },
    ),
    (
        # qmail-local writes into a maildir or mbox itself; its failures to do so carry
        # qmail's own codes (notqmail qmail-local.c): a mailer error, whatever the 4.2.1 of a
        # refused client would otherwise suggest. qmail-ldap's qmail-local adds its maildir
        # and quota checks (qmail-local.c: "The maildir '%s' seems to be corrupted.
        # (#4.2.1)", "Temporary race condition while (re)calculating quota. (#4.3.0)",
        # "Unable to quota %s: %s. (#4.3.0)"; github.com/qmail-ldap/qmail-ldap, 33d8d0d).
        # Two say what failed on the destination system itself: its maildir write ran out
        # of time (alarm, "Timeout on maildir delivery. (#4.3.0)", RFC 3463 X.3.0 mail
        # system status), and the recipient's home directory has unsafe permissions, so
        # qmail-local will not deliver there ("Uh-oh: home directory is writable.").
        "qmail-local",
        (r"unable to chdir to maildir\. \(#4\.2\.1\)",
         r"unable to (?:open|lock|write) mailbox\. \(#4\.2\.1\)",
         r"timeout on maildir delivery\. \(#4\.3\.0\)",
         r"seems to be corrupted\. \(#4\.2\.1\)",
         r"race condition while (?:re)?calculating quota\. \(#4\.3\.0\)",
         r"unable to quota [^\n]{0,200}\(#4\.3\.0\)",
         r"uh-oh: home directory is writable\. \(#4\.7\.0\)"),
        {
            "systemerror": (r"timeout on maildir delivery", r"home directory is writable"),
        },
    ),
    (
        "vmailmgr",
        (r"vdeliver: ",),
        {
            "mailboxfull": (r"system quota violation",),
            "userunknown": (r"invalid or unknown virtual user",),
        },
    ),
)
