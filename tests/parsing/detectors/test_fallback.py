"""The structural fallback's precision guard (issue 18 item 4): the addresses a bounce names
beside its failed recipient - its own sender, the original's senders, postmaster - are never
reported, and a message that does not look like a bounce yields nothing."""

from __future__ import annotations

import pytest

from bounceloop.parsing import parse

BOUNCE = """Return-Path: <>
From: Mail System <mailer-daemon@mx.example.net>
Sender: bounces@mx.example.net
To: <shop@example.org>
Subject: {subject}
Content-Type: text/plain

Delivery to the following recipients failed:
  shop@example.org, postmaster@example.net, bounces@mx.example.net
  replies@example.org
  <m.kovac@example.si>
  mailer-daemon@example.si
Message-ID: <m.kovac.order@example.org>

--- Below this line is a copy of the message.
From: Shop <shop@example.org>
Reply-To: replies@example.org
To: m.kovac@example.si
"""


def test_only_the_failed_recipient_is_reported() -> None:
    result = parse(BOUNCE.format(subject="Undeliverable: your order").encode())
    assert result.detector == "fallback"
    assert [r.recipient for r in result.records] == ["m.kovac@example.si"]


def test_a_message_that_is_no_bounce_yields_nothing() -> None:
    raw = BOUNCE.format(subject="your order")
    raw = raw.replace("Return-Path: <>", "Return-Path: <a@b.example>")
    raw = raw.replace("mailer-daemon@mx.example.net", "sales@mx.example.net")
    assert parse(raw.encode()).records == ()


PROSE = """Return-Path: <>
From: MAILER-DAEMON@mx.example.net
To: <shop@example.org>
Subject: about your order
Content-Type: text/plain

{banner}I looked into the order you asked about this morning.
The warehouse says the parcel left on Monday.
The courier has not scanned it since then.
I will call them again tomorrow.
Your message to a.berg@example.se could not be delivered, they say.
"""


def test_a_statement_below_the_opening_prose_is_not_a_notice() -> None:
    # A machine's banner is not counted among the opening lines; a person's prose is.
    assert parse(PROSE.format(banner="").encode()).records == ()
    assert parse(PROSE.format(banner="*" * 40 + "\n").encode()).records == ()


def test_a_banner_does_not_count_among_the_opening_lines() -> None:
    raw = PROSE.format(banner="*" * 40 + "\n** THIS IS A WARNING MESSAGE ONLY **\n"
                       "** YOU DO NOT NEED TO RESEND YOUR MESSAGE **\n" + "*" * 40
                       + "\n\nYour message could not be delivered to a.berg@example.se\n\n")
    assert [r.recipient for r in parse(raw.encode()).records] == ["a.berg@example.se"]


def test_a_gateways_external_warning_does_not_count_among_the_opening_lines() -> None:
    # The warning a receiving gateway puts on top (Exchange Online's mail flow rules, HCL
    # Domino's external email notifications), wrapped over two lines, before a notice whose
    # statement is its fourth line.
    notice = ("The mail system tried for 3 days.\nIt will try no more.\nThe host did not "
              "answer.\nYour message could not be delivered to a.berg@example.se\n")
    raw = PROSE.replace(PROSE[PROSE.index("{banner}"):], "{banner}" + notice)
    warning = ("CAUTION: This email originated from outside of the organization. Do not click "
               "links or\nopen attachments unless you recognize the sender and know the "
               "content is safe.\n\n")
    assert [r.recipient for r in parse(raw.format(banner="").encode()).records] == [
        "a.berg@example.se"]
    assert [r.recipient for r in parse(raw.format(banner=warning).encode()).records] == [
        "a.berg@example.se"]


LABELLED = """Return-Path: <{path}>
From: {sender}
To: <shop@example.org>
Subject: {subject}
Content-Type: text/plain

Intended recipient: k.ito@example.jp
Error-for:  shop@example.org
"""


def test_a_labelled_recipient_only_in_a_bounce() -> None:
    bounce = LABELLED.format(path="", sender="postmaster@mx.example.jp",
                             subject="Error Condition Report")
    assert [r.recipient for r in parse(bounce.encode()).records] == ["k.ito@example.jp"]
    person = LABELLED.format(path="k.ito@example.jp", sender="k.ito@example.jp",
                             subject="my new address")
    assert parse(person.encode()).records == ()


@pytest.mark.parametrize("subject", ["mail failed, returning to sender", "Failed mail  (msg.a01)",
                                     "Error Condition Report",
                                     "Mail System Error - Returned Mail"])
def test_an_old_systems_subject_makes_a_bounce(subject: str) -> None:
    # Stored without its envelope (no Return-Path) and from a mailbox of no daemon's name,
    # as list servers keep them: the Subject is what says it is a bounce.
    raw = (f"From: Mail System <mail@relay.example.net>\nTo: <shop@example.org>\n"
           f"Subject: {subject}\n\nIntended recipient: k.ito@example.jp\n")
    assert [r.recipient for r in parse(raw.encode()).records] == ["k.ito@example.jp"]


TERSE = """Return-Path: <{path}>
From: {sender}
To: <shop@example.org>
Subject: Undeliverable mail
Content-Type: text/plain

{first}
"""


@pytest.mark.parametrize("first", ["<t.ono@example.jp>... User unknown",
                                   "t.ono@example.jp: mailbox is full"])
def test_a_terse_notice_opens_with_the_address(first: str) -> None:
    bounce = TERSE.format(path="", sender="MAILER-DAEMON@mx.example.jp", first=first)
    assert [r.recipient for r in parse(bounce.encode()).records] == ["t.ono@example.jp"]
    # The same lines from a person (a Subject alone does not make a notice terse).
    person = TERSE.format(path="k.ito@example.jp", sender="k.ito@example.jp", first=first)
    assert parse(person.encode()).records == ()
    # Nor does an address that only appears in prose.
    prose = TERSE.format(path="", sender="MAILER-DAEMON@mx.example.jp",
                         first="Please write to t.ono@example.jp: she knows.")
    assert parse(prose.encode()).records == ()


# The older notices Sympa's bounce analyser catalogues (src/lib/Sympa/Spindle/ProcessBounce.pm
# _anabounce, before its commit 1edca1031), each as its statement and list read: the failed
# recipient, and the reason where the notice states one in words a phrase knows.
SYMPA_FORMATS = [
    ("lotus-failure-reasons",
     "------- Failure Reasons --------\n\nUser not listed in public Name & Address Book\n"
     "g.ng@example.com\n", "g.ng@example.com", "filtered"),
    ("mercury-143",
     "The local mail transport system has reported the following problems\n"
     "while delivering your message:\n\n<p.zu@example.com>  No such user\n",
     "p.zu@example.com", "filtered"),
    ("mercury-131",
     "One or more addresses in your message have failed with the following\nproblems:\n\n"
     "<t.ko@example.com>   mailbox full\n", "t.ko@example.com", "mailboxfull"),
    ("havent-received",
     "The following recipients haven't received this message:\n\n    u.ba@example.com\n",
     "u.ba@example.com", None),
    ("destinations-unknown",
     "The following destination addresses were unknown (please check\n"
     "the addresses and re-mail the message):\n\nSMTP <v.lo@example.com>\n",
     "v.lo@example.com", None),
    ("mailbox-unavailable",
     "The destination mailbox x.po@example.com is unavailable\n", "x.po@example.com", None),
    ("exim-1.73-warning",
     "This message has not yet been delivered.\n"
     "The address to which the message has not yet been delivered is:\n\n  z.ri@example.com\n",
     "z.ri@example.com", "expired"),
    ("pmdf-enqueued",
     "Your message has been enqueued and undeliverable for 5 day\nto the following "
     "recipients:\n\n  Recipient address: e.ga@example.com\n  Reason: Timeout\n",
     "e.ga@example.com", "expired"),
    ("quickmail",
     "   ---- Special condition follows ----\n\nUnknown QuickMail recipient(s):\n"
     "  i.ke@example.com\n", "i.ke@example.com", None),
    ("returned-for-reasons",
     "This message was returned to you for the following reasons:\n\n"
     "    user unknown: c.di@example.com\n", "c.di@example.com", "filtered"),
    ("sendmail-5-transcript",
     "   ----- Transcript of session follows -----\n550 k.ma@example.com... User unknown\n",
     "k.ma@example.com", "filtered"),
    ("compuserve", "Receiver not found: j.la@example.com\n", "j.la@example.com", "filtered"),
    ("imail-quota", "User mailbox exceeds allowed size: r.di@example.com\n",
     "r.di@example.com", "mailboxfull"),
    ("transcript-of-report",
     "   ----- Transcript of Report follows -----\n\nRejected-For: h.ito@example.jp,\n"
     "    explanation user unknown\n", "h.ito@example.jp", "filtered"),
    ("requested-destination",
     "The requested destination was:  c.lun@example.cn\n", "c.lun@example.cn", None),
    ("groupwise-7",
     "The message that you sent was undeliverable to the following:\n"
     "\tg.in (user not found)\n", "g.in@gw.example.net", "filtered"),
]


# The notices Mailman 2's bounce detector matches by their statement and end line
# (Mailman/Bouncers/SimpleMatch.py PATTERNS, its code read), each written here from that
# statement, the address form its pattern reads and its end line; the site the pattern was
# made for names the case.
MAILMAN_FORMATS = [
    ("sdm", "Here is your list of failed recipients:\n\n<a.sd@example.com>\n\n"
     "Here is your returned mail.\n", "a.sd@example.com", None),
    ("sz-sb", "The following addresses had permanent fatal errors:\n\n    a.sz@example.com\n\n"
     "Transcript of session follows.\n", "a.sz@example.com", None),
    ("demon", "This message was created automatically by mail delivery software.\n\n"
     "RCPT To: <a.de@example.com>\n550 unknown user\n\nOriginal message follows.\n",
     "a.de@example.com", "userunknown"),
    ("interscan", "Message from InterScan E-Mail VirusWall NT\n\nRCPT To: <a.in@example.com>\n"
     "550 user unknown\n\nEnd of message\n", "a.in@example.com", "userunknown"),
    ("smail", "Failed addresses follow:\n a.sm@example.com ... unknown user\n"
     "Message text follows:\n", "a.sm@example.com", None),
    ("newmail", "This is the machine generated message from mail service.\n"
     "Unable to deliver to <a.ne@example.com>\n--- Below the next line is a copy of the "
     "message.\n", "a.ne@example.com", None),
    ("mdaemon-3.5", "The following addresses did NOT receive a copy of your message:\n\n"
     "> a.md@example.com\n\n--- Session Transcript ---\n", "a.md@example.com", None),
    ("usa.net", "Intended recipient: a.us@example.com\nReason: user unknown\n"
     "--------RETURNED MAIL FOLLOWS--------\n", "a.us@example.com", None),
    ("hotpop", "Undeliverable Address: a.ho@example.com\nReason: no such user\n"
     "Original message attached\n", "a.ho@example.com", None),
    ("demon-2", "This message was created automatically by mail delivery software.\n"
     "A message addressed to 'a.dd@example.com' could not be delivered.\n"
     "---- START OF RETURNED MESSAGE ----\n", "a.dd@example.com", None),
    ("prodigy", "User's mailbox is full: <a.pr@example.com>\nUnable to deliver mail.\n",
     "a.pr@example.com", "mailboxfull"),
    ("smtpsvc", "The email below could not be delivered to the following user:\n\n"
     "<a.ms@example.com>\n\nOld message:\n", "a.ms@example.com", None),
    ("yahoo-sbcglobal", "Unable to deliver message to the following address(es).\n\n"
     "<a.ya@example.com>:\n550 user unknown\n\n--- Original message follows.\n",
     "a.ya@example.com", None),
    ("googlemail", "Delivery to the following recipient failed permanently:\n\n"
     "     a.go@example.com\n\n----- Original message -----\n", "a.go@example.com", None),
    ("kundenserver", "A message that you sent could not be delivered to one or more of its\n"
     "recipients.\n\n<a.ku@example.com>:\nunknown user\n\n--- Below this line is a copy of "
     "the message.\n", "a.ku@example.com", None),
    ("kundenserver-2", "A message that you have sent could not be delivered to one or more\n"
     "recipients.\n\na.k2@example.com:\n  550 user unknown\n\n--- The header of the original "
     "message is following. ---\n", "a.k2@example.com", None),
    ("thehartford", "Delivery to the following recipients failed.\n\n       "
     "a.th@example.com\n\nNo such user.\n", "a.th@example.com", None),
    ("hartfordlife", "Your message\n\n  a.hl@example.com\n\nbecause:\n  user unknown\n",
     "a.hl@example.com", None),
    ("kviv", "Unable to deliver message to <a.kv@example.com>.\nUser unknown.\n"
     "***** End of message *****\n", "a.kv@example.com", None),
    ("earthlink", "Sorry, unable to deliver your message to a.ea@example.com for the following "
     "reason:\n550 user unknown\nA copy of the original message below this line:\n",
     "a.ea@example.com", None),
    ("ademe", "A message could not be delivered to:\n  a.ad@example.com\nSubject: hello\n",
     "a.ad@example.com", None),
    ("andrew", "Invalid final delivery userid: a.an@example.com\nOriginal message follows.\n",
     "a.an@example.com", None),
    ("e500", "---- Failed Recipients ----\n<a.e5@example.com>\n---- Returned Mail ----\n",
     "a.e5@example.com", None),
    ("lsmtp", "--> Error description:\nError-for: a.ls@example.com\nError-Code: 5\n"
     "Error-End: One error reported.\n", "a.ls@example.com", None),
    ("qmail-spanish", "Your message could not be delivered\n\n<a.qm@example.com>:\n"
     "user unknown\n-\n", "a.qm@example.com", None),
    ("socgen", "Your message could not be delivered to a.so@example.com\n\n",
     "a.so@example.com", None),
    ("dadoservice", "Your message has encountered delivery problems\nto local user a.da.\n"
     "(Originally addressed to a.da@example.com)\nYour message reads (in part):\n",
     "a.da@example.com", None),
    ("gomaps", "Did not reach the following recipient(s):\n\nc a.gm@example.com on Mon, 1 "
     "Jan 2001\n\n", "a.gm@example.com", None),
    ("eyou", "This is the deliver program at example.com.\nI'm sorry to inform you that\n\n"
     "a.ey@example.com\n-\n", "a.ey@example.com", None),
    ("pla", "a.pl@example.com - no such user here.\nThere is no user by that name\n",
     "a.pl@example.com", None),
    ("fastdnsservers", "The following recipient(s) could not be reached:\n\n"
     "a.fd@example.com\n", "a.fd@example.com", None),
    ("lttf", "Could not deliver message to the following recipient(s):\n\n"
     "Failed Recipient: a.lt@example.com\nReason: unknown\n\n--\n", "a.lt@example.com", None),
    ("uci", "--------Message not delivered to:\n  a.uc@example.com\n--------Error Detail\n",
     "a.uc@example.com", None),
    ("dovecot-mdn", "Your message to a.dv@example.com was automatically rejected:\n"
     "Quota exceeded (mailbox for user is full)\n\nReporting-UA: example.com; Dovecot Mail "
     "Delivery Agent\n", "a.dv@example.com", "mailboxfull"),
    ("mail.ru", "A message that you sent was rejected by the local scanning code that "
     "checks\n  a.ru@example.com\nThis is a copy of your message\n", "a.ru@example.com", None),
    ("mailenable", "Message could not be delivered to some recipients.\nThe following "
     "recipient(s) could not be reached:\n\n\tRecipient: [SMTP:a.me@example.com]\n\tReason: "
     "Mailbox does not exist\n\nMessage headers follow:\n", "a.me@example.com", None),
    ("yahoo-other", "Sorry, we wasn't able to deliver the following message to the following "
     "address.\nTo: a.yo@example.com\n---Below this line is a copy of the message.\n",
     "a.yo@example.com", None),
    ("unknown-mta", "This is a delivery failure notification message\n-- a.un@example.com\n"
     "The problem appears to be : user unknown\n", "a.un@example.com", None),
]


def _list_notice(subject: str, body: str) -> bytes:
    """A notice in ``body`` returning a mailing list's message: the original's To is the
    list, so a recipient can only come from the notice."""
    return ("Return-Path: <>\nFrom: Mail Delivery Subsystem <MAILER-DAEMON@gw.example.net>\n"
            f"To: <list-bounces@lists.example.org>\nSubject: {subject}\n\n{body}"
            "\n--- Original message follows.\n\nFrom: List <list@lists.example.org>\n"
            "To: members@lists.example.org\nSubject: news\n\nText.\n").encode()


@pytest.mark.parametrize(("body", "recipient", "reason"),
                         [c[1:] for c in SYMPA_FORMATS + MAILMAN_FORMATS],
                         ids=[c[0] for c in SYMPA_FORMATS + MAILMAN_FORMATS])
def test_an_older_notice_names_its_recipient(body: str, recipient: str,
                                             reason: str | None) -> None:
    # "filtered" for "user unknown" with no SMTP command is the Sisimai convention (see
    # parsing.classify._filtered), which the benchmark corpus keeps.
    records = parse(_list_notice("Returned mail", body)).records
    assert [r.recipient for r in records] == [recipient]
    if reason is not None:
        assert records[0].reason == reason


SINA = """Return-Path: <>
From: MAILER-DAEMON@sina.com
To: list-bounces@lists.example.org
Subject: =?GB2312?B?zcvQxQ==?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=GB2312

<wangli@sina.com>
    user not found
{original}--b--
"""
SINA_ORIGINAL = """
--b
Content-Type: message/rfc822

From: List <list@lists.example.org>
To: members@lists.example.org
Subject: news

Text.
"""


def test_a_daemon_returning_the_original_lists_its_recipient_first() -> None:
    # Sina's notices (Mailman 2 Bouncers/Sina.py): Chinese Subject and statement, the failed
    # address opening a line of the first part. A daemon that returns the original is
    # sending a bounce, whatever its Subject's language.
    records = parse(SINA.format(original=SINA_ORIGINAL).encode()).records
    assert [r.recipient for r in records] == ["wangli@sina.com"]
    # Without the returned original nothing says it is a bounce: no recipient is guessed.
    assert parse(SINA.format(original="").encode()).records == ()


LIST_ORIGINAL = """Return-Path: <>
From: System Administrator <postmaster@corp.example.net>
To: <news-bounces@lists.example.org>
Subject: Undeliverable: March news

Your message did not reach some or all of the intended recipients.

The following recipient(s) could not be reached:

      Ingrid Solberg on 3/4/2004 4:25 PM
            The recipient name is not recognized

--- Original message follows.

From: Editor <editor@example.org>
To: news@lists.example.org
{list_header}Subject: March news

Text.
"""


@pytest.mark.parametrize("list_header", ["X-BeenThere: news@lists.example.org\n",
                                         "List-Post: <mailto:news@lists.example.org>\n"])
def test_a_lists_own_address_is_not_the_recipient(list_header: str) -> None:
    # The notice names its recipient only by name; the original went to a list, whose own
    # address (RFC 2369 List-Post, Mailman's X-BeenThere) is its To: no recipient is known.
    assert parse(LIST_ORIGINAL.format(list_header=list_header).encode()).records == ()
    # Sent to a person, the original's To is the recipient.
    person = LIST_ORIGINAL.format(list_header="").replace("news@lists.example.org",
                                                          "i.solberg@corp.example.net")
    assert [r.recipient for r in parse(person.encode()).records] == ["i.solberg@corp.example.net"]


LOCALISED = """Return-Path: <>
From: Systemadministrator <postmaster@ex.example.de>
To: <news-bounces@lists.example.org>
Subject: Unzustellbar: Neuigkeiten

{statement}

      Betreff:\tNeuigkeiten
      Gesendet am:\t04.03.2004 16:25

{listing}

      'h.weber@ex.example.de' am 04.03.2004 16:25
            <mail.ex.example.de #5.1.1>
"""


def test_a_notice_in_an_unknown_language_lists_its_recipient() -> None:
    # Exchange 2000/2003's NDR layout (Microsoft KB 842029) with its labels in German, as
    # Outlook names those fields; the sentences are read by their structure, not their
    # words: the first address entry within the opening lines, in a bounce.
    raw = LOCALISED.format(statement="Eine Nachricht, die Sie gesendet haben.",
                           listing="Folgende Empfänger:")
    records = parse(raw.encode()).records
    assert [(r.recipient, r.extended) for r in records] == [("h.weber@ex.example.de", "5.1.1")]
    # Past the opening lines, an address is not an entry of the notice.
    longer = LOCALISED.format(statement="Eins.\nZwei.\nDrei.", listing="Vier.\nFünf.")
    assert parse(longer.encode()).records == ()


@pytest.mark.parametrize("warning", [
    # MessageSwitch and Symantec's gateway, as Mailman 2's warning detector knows them
    # (Mailman/Bouncers/SimpleWarning.py).
    "This is just a warning, you do not need to take any action.",
    "Delivery attempts will continue to be made for 4 days.",
])
def test_a_warning_is_a_delay(warning: str) -> None:
    raw = _list_notice("Delivery Status Notification",
                       "Your message could not be delivered to the following recipient:\n\n"
                       f"  w.ms@example.com\n\n{warning}\n")
    (record,) = parse(raw).records
    assert (record.recipient, record.action) == ("w.ms@example.com", "delayed")


def test_a_notice_its_subject_calls_a_delay_is_one() -> None:
    # The body gives the recipient only in the session transcript, with no statement.
    raw = _list_notice("Warning: could not send message for past 4 hours",
                       "   ----- Transcript of session follows -----\n"
                       ">>> RCPT To:<d.la@example.com>\n<<< 452 4.2.2 Mailbox full\n")
    (record,) = parse(raw).records
    assert (record.recipient, record.action, record.expired) == ("d.la@example.com", "delayed",
                                                                 False)


def test_a_terse_entry_keeps_an_apostrophe_of_its_local_part() -> None:
    raw = (b"Return-Path: <>\r\nFrom: MAILER-DAEMON@mail.example.ie\r\n"
           b"To: owner@lists.example.org\r\nSubject: Undeliverable mail\r\n\r\n"
           b"<o'brien@example.ie>... User unknown\r\n\r\n"
           b"Received: from lists.example.org by mail.example.ie\r\n"
           b"From: owner@lists.example.org\r\nTo: list@lists.example.org\r\nSubject: hi\r\n")
    assert [r.recipient for r in parse(raw).records] == ["o'brien@example.ie"]


# A Sendmail V5 transcript a person forwarded inline: its ">>> " and "<<< " marks are its own,
# not quoting; quoted again ("> " before each line), one level is the forward's.
TRANSCRIPT = """From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>
Subject: Returned mail: Deferred: Connection timed out during user open with example.org
To: news@example.com

   ----- Transcript of session follows -----
While talking to smtp.example.org:
>>> RCPT To:<ivo@example.org>
<<< 550 <ivo@example.org>, User Unknown
550 <ivo@example.org>... User unknown
421 example.org (smtp)... Deferred: Connection timed out during user open with example.org
"""


@pytest.mark.parametrize("quote", ["", "> "], ids=["plain", "quoted"])
def test_a_forwarded_transcript_keeps_its_command(quote: str) -> None:
    inner = "".join(f"{quote}{line}\n" for line in TRANSCRIPT.splitlines())
    raw = ("From: Jane Person <jane@person.example>\nTo: help@example.com\n"
           "Subject: Fwd: Returned mail\n\nWhat does this mean?\n\n"
           "---------- Forwarded message ---------\n" + inner)
    records = parse(raw.encode()).records
    assert [(r.recipient, r.reason) for r in records] == [("ivo@example.org", "userunknown")]


EXIM_NOTICE = b"""Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@relay.example.com>
To: sara.lind@example.org
Subject: Mail delivery failed: returning message to sender
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  o.nilsen@example.no
    host mx.example.no [192.0.2.9]
    SMTP error from remote mail server after RCPT TO:<o.nilsen@example.no>:
    550 5.1.1 <o.nilsen@example.no>: Recipient address rejected: User unknown
"""


def _attached(subject: bytes, inner: bytes, boundary: bytes = b"F") -> bytes:
    return (b"From: Jane Person <jane@person.example>\nTo: help@example.com\nSubject: "
            + subject + b"\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\""
            + boundary + b"\"\n\n--" + boundary + b"\nContent-Type: text/plain\n\nSee the "
            b"attached.\n\n--" + boundary + b"\nContent-Type: message/rfc822\n\n" + inner
            + b"\n--" + boundary + b"--\n")


def test_a_forward_of_a_forwarded_bounce_is_unwrapped() -> None:
    twice = _attached(b"Fwd: Fw: this one too",
                      _attached(b"Fw: this one too", EXIM_NOTICE, b"G"))
    records = parse(twice).records
    assert [(r.recipient, r.reason) for r in records] == [("o.nilsen@example.no", "userunknown")]


def test_an_attached_forward_keeps_its_own_charset() -> None:
    # Outlook's German forward in ISO-8859-1, attached to another forward: its separator
    # "-----Urspr\xfcngliche Nachricht-----" must read as written, not as UTF-8 read twice.
    inner = (b"From: Katrin Becker <k.becker@example.de>\nTo: liste@example.org\n"
             b"Subject: WG: Newsletter\nContent-Type: text/plain; charset=iso-8859-1\n"
             b"Content-Transfer-Encoding: 8bit\n\nBitte l\xf6schen.\n\n"
             b"-----Urspr\xfcngliche Nachricht-----\n"
             b"Von: Mail Delivery System [mailto:Mailer-Daemon@relay.example.com]\n"
             b"Gesendet: Donnerstag, 14. November 2024 17:30\nAn: k.becker@example.de\n"
             b"Betreff: Mail delivery failed: returning message to sender\n\n"
             + EXIM_NOTICE.split(b"\n\n", 1)[1])
    records = parse(_attached(b"Fwd: WG: Newsletter", inner)).records
    assert [(r.recipient, r.reason) for r in records] == [("o.nilsen@example.no", "userunknown")]


INDENTED = """Return-Path: <>
From: Mail Delivery Subsystem <postmaster@mail.example.com>
To: news@sender.example
Subject: Undeliverable: March news

Your message did not reach some or all of the intended recipients.

The following recipient(s) could not be reached:

   joe.bloggs@example.org
      Remote server (192.0.2.44) issued an error.
      Your message was rejected by the remote server: 550 5.2.2 Mailbox full

   ann.lee@example.org
      Your message was rejected by the remote server: 550 5.1.1 User unknown
"""


def test_a_statement_indented_under_an_address_is_its_reason() -> None:
    records = parse(INDENTED.encode()).records
    assert [(r.recipient, r.reason) for r in records] == [
        ("joe.bloggs@example.org", "mailboxfull"), ("ann.lee@example.org", "userunknown")]


NOTICE_OF_A_NOTICE = b"""Return-Path: <>
From: postmaster@mx.example.net
To: postmaster@example.org
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

This is an automatically generated Delivery Status Notification.

Delivery to the following recipients failed.

       jane@example.org

--outer
Content-Type: message/rfc822

From: <postmaster@example.org>
To: <jane@example.org>
Subject: Delivery Failure

Message delivery failed to the following address
bob@example.com
Reason: Mailbox <bob@example.com> does not exist

--outer--
"""


def test_a_notice_that_returns_a_notice_names_its_own_recipient() -> None:
    """The message a notice returns may be a bounce itself (here the notice of a postmaster,
    undeliverable in turn): the notice's own statement names the recipient that failed, not
    the one inside what it returns."""
    result = parse(NOTICE_OF_A_NOTICE)
    assert [r.recipient for r in result.records] == ["jane@example.org"]
