"""The last resort: failed recipients of a bounce no other detector read, from its structure.

Tried after every format family and the generic readers (issue 18 item 4). Many bounces follow
no format a detector knows: a terse "Undeliverable" notice, an old provider's plain text, a
bounce a person forwarded (``Fwd:``, the bounce inline or attached). What they share is
structure, and that is what this reads:

1. a forwarded bounce is unwrapped, attached (``message/rfc822``) or inline after a
   forwarding marker, and the inner bounce parsed by the detectors as if it had come alone
   (a notice's own statements come first: the message a notice returns may be a bounce
   itself, naming another recipient);
2. ``X-Failed-Recipients`` (Exim writes it on every bounce; others copied it);
3. addresses on the lines at and after a failure statement, in English, German, French,
   Spanish, Italian, Portuguese and Dutch (the sentences below, each from an MTA's source or a
   provider's published notice); an entry that states its own reason under its address is
   that recipient's diagnosis, else the statement's lines are;
4. addresses after a label of their own ("Error-for:", "Intended recipient:", ...), as the
   older notices without a failure sentence write them;
5. else the returned original's envelope (``X-Original-To``, ``Delivered-To``,
   ``Envelope-To``) or its ``To`` when it names one address.

Precision comes first (a wrong recipient can suppress a good address): the message must look
like a bounce at all (a null or MAILER-DAEMON/postmaster sender, X-Failed-Recipients, or a
bounce's Subject), its failure statement must open the notice (within its first
:data:`LEAD_LINES` lines, a machine's banner not counted: a notice states its failure first,
a person's mail that mentions one further down is not a notice), and no address of the
bounce's own sender, envelope or To, of the original's From, Reply-To, Sender or
Return-Path, and no postmaster or mailer-daemon, is ever a recipient.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import ANGLE_ADDRESS, attach_original, find_addresses
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail, read
from bounceloop.parsing.recipient import recipient
from bounceloop.parsing.text import squeeze

NAME = "fallback"

#: A failure statement must start within this many non-blank lines of the notice, not
#: counting a machine's banner lines (see _BANNER).
LEAD_LINES = 4
#: Lines read after a failure statement for its addresses (a list of recipients follows it).
LIST_LINES = 8
#: Lines of one recipient's entry read as its own reason: the address's line and the lines
#: under it (Exchange 2000/2003 puts a reason and "<host #5.1.1>" there, Exchange 5.5 its
#: reason and "MSEXCH:IMS:..." line, qmail the remote's reply).
ENTRY_LINES = 6
#: Lines read as the reason of a notice whose one recipient is known only from the original.
NOTICE_LINES = 24
#: How much of the notice is read at all: a notice is short; the rest is the original.
MAX_NOTICE = 20_000
#: Forwarded bounces are unwrapped at most this deep.
MAX_DEPTH = 2

# RFC 5321 section 4.5.5: bounces are sent with a null reverse-path, by convention from
# MAILER-DAEMON or postmaster (RFC 5321 section 4.5.1); qmail and Courier use these too,
# MDaemon its own name and MMDF "mmdf".
_DAEMON = rx.compile(r"^(?:mailer[-_]?daemon|mail[-_]?daemon|postmaster|mdaemon|mmdf)(?:[-+.]|@|$)",
                     re.I)

# Words of a bounce's Subject. English: RFC 3461/3464 DSN subjects as Sendmail ("Returned
# mail: see transcript for details"), Postfix ("Undelivered Mail Returned to Sender",
# "Delayed Mail"), Exim ("Mail delivery failed"), qmail ("failure notice"), Exchange
# ("Undeliverable:", "Delivery Status Notification (Failure)"). Exchange's localised NDR
# subjects: "Unzustellbar:" (de), "Non remis :" (fr), "No se puede entregar:" (es),
# "Non recapitabile:" (it), "Não é possível entregar:" (pt), "Onbestelbaar:" (nl). The
# older systems: Smail 3 "mail failed, returning to sender", MMDF "Failed mail" and
# "Waiting mail", usa.net "Error Condition Report", Netscape Messaging Server "Mail System
# Error - Returned Mail", Sendmail's "Warning: could not send message for past 4 hours".
_SUBJECT = rx.compile(
    r"undeliver|undelivered|non[- ]?deliver|not delivered|could not be delivered"
    r"|mail failed|failed mail|waiting mail|error condition report|mail system error"
    r"|could not send message|unable to deliver"
    r"|delivery (?:status|fail|failure|problem|report|notification|has failed)"
    r"|returned mail|returning message|mail delivery|failure notice|delayed mail"
    r"|unzustellbar|nicht zustellbar|zustellung fehlgeschlagen|nicht zugestellt"
    r"|non remis|non distribu|[ée]chec de (?:la )?(?:remise|distribution)"
    r"|no se puede entregar|no se pudo entregar|no entregado|error en la entrega"
    r"|non recapitabile|non recapitato|mancato recapito|recapito non riuscito"
    r"|n[ãa]o [ée] poss[íi]vel entregar|n[ãa]o entregue|falha na entrega"
    r"|onbestelbaar|niet bezorgd|niet afgeleverd|bezorging mislukt",
    re.I,
)

# Forwarding: the Subject's prefixes (Fwd/Fw, German WG, French TR, Spanish RV, Italian I,
# Portuguese ENC, Dutch Doorst) and the markers mail clients put before a forwarded message
# inline (Gmail, Thunderbird, Apple Mail, Outlook; Outlook's German and Danish "Original
# Message" separators as mailgun/talon talon/quotations.py RE_ORIGINAL_MESSAGE lists them).
_FORWARD_SUBJECT = rx.compile(r"^\s*(?:fwd?|wg|tr|rv|i|enc|doorst)\s*:", re.I)
# A reply's Subject prefix (RFC 5322 section 3.6.5 "Re:", German "AW:", Swedish/Danish "SV:").
_REPLY_SUBJECT = rx.compile(r"^\s*(?:re|aw|sv)\s*:", re.I)
_FORWARD_MARKER = rx.compile(
    r"^[ \t>]*(?:-{3,}\s*forwarded message\s*-{3,}|-{3,}\s*original message\s*-{3,}"
    r"|begin forwarded message:|-{3,}\s*weitergeleitete nachricht\s*-{3,}"
    r"|-{3,}\s*message transf[ée]r[ée]\s*-{3,}|-{3,}\s*mensaje reenviado\s*-{3,}"
    r"|-{3,}\s*urspr[üu]ngliche nachricht\s*-{3,}|-{3,}\s*oprindelig meddelelse\s*-{3,})"
    r"[ \t]*$",
    re.I | re.M,
)

# Failure statements, lower case. English: Postfix bounce(5) "could not be delivered to one
# or more recipients"; Exim "could not be delivered to one or more of its recipients ... The
# following address(es) failed"; Sendmail "Delivery to the following recipient(s) failed" /
# "could not be delivered"; qmail "I wasn't able to deliver your message to the following
# addresses"; Gmail "Delivery to the following recipient failed permanently"; Exchange
# "Delivery has failed to these recipients or groups", "did not reach the following
# recipient(s)"; Lotus Domino "was not delivered to"; old AOL "could not be delivered"; and
# the terse "Your message to X was rejected" / "undeliverable to" / "unable to deliver".
# Other languages are Exchange's localised NDRs ("Fehler bei der Zustellung an folgende
# Empfänger", "La remise a échoué", "Error en la entrega", "Recapito non riuscito", "Falha na
# entrega", "De bezorging is mislukt") and GMX/Web.de ("konnte nicht zugestellt werden"),
# Orange/La Poste ("n'a pas pu être remis/distribué"), and the like.
# Exchange 2000/2003's opening sentence "Your message did not reach some or all of the
# intended recipients." (Microsoft KB Q196920; hMailServer copies it).
# The older plain-text notices (before RFC 1894 DSNs were common): Smail 3's "Failed
# addresses follow:" (src/notify.c), Netscape Messaging Server's "This Message was
# undeliverable due to the following reason:" and "The following recipients did not receive
# this message:", MDaemon's "The attached message had PERMANENT fatal delivery errors!" and
# "The following addresses did NOT receive a copy of your message:", the ph nameserver
# mailer's (phquery) "Message not delivered to the following:", Dovecot's rejection_reason
# (default "Your message to <%t> was automatically rejected:%n%r"; RFC 5429 Sieve reject),
# and Exim's delay warning "has not yet been delivered to one or more of its recipients"
# (Exim's warn_message_file default; a delay, see _DELAY). MMDF's return notices
# (lib/mmdf/ml_send.c rtn_*: "It failed to be received by the following address(es):",
# the warning "Delivery attempts are still pending for the following address(es):");
# MasqMail's failmsg.tpl ("Delivery to the following recipients failed permanently");
# Sendmail's "The following addresses had permanent delivery errors" (savemail.c in some
# 8.x releases); "The following addresses were not valid", "These addresses were rejected",
# "not able to deliver to the following addresses", "cannot be sent to the following
# addresses" (catalogued with the above by AOLserver's nssmtpd bounce filters).
_FAILURE = rx.compile(
    r"did not reach some or all|failed addresses follow|was undeliverable"
    r"|did not receive (?:this|a copy of your) message"
    r"|fatal delivery error|message not delivered to|was automatically rejected"
    r"|not yet been delivered to|failed to be received by|still pending for the following"
    r"|had (?:permanent )?delivery errors|following addresses were not valid"
    r"|not able to deliver to|cannot be sent to the following"
    # Single sites' notices catalogued by GNU Mailman 2 (Mailman/Bouncers/SimpleMatch.py):
    # sdm.de "here is your list of failed recipients", dadoservice.it "Your message has
    # encountered delivery problems", MDaemon.PRO "<address> - no such user here", and
    # "This is a delivery failure notification message".
    r"|list of failed recipients|encountered delivery problems|- no such user here"
    r"|delivery failure notification message"
    r"|could not be delivered|couldn't be delivered|was not delivered|wasn't delivered"
    r"|not be delivered to|delivery (?:to the following|has failed|failed)"
    r"|failed to deliver|unable to deliver|could not deliver|couldn't deliver"
    r"|wasn't able to deliver|was unable to deliver|undeliverable to|permanent fatal error"
    r"|following (?:address(?:es|\(es\))?|recipients?(?:\(s\))?) (?:failed|could not|was not)"
    r"|did not reach the following|was rejected|were rejected|could not reach"
    r"|konnte nicht zugestellt|nicht zugestellt werden|fehler bei der zustellung"
    r"|zustellung (?:ist )?fehlgeschlagen|unzustellbar"
    r"|n'a pas pu [êe]tre (?:remis|distribu|d[ée]livr)|la remise a [ée]chou|impossible de remettre"
    r"|no (?:se )?(?:pudo|ha podido|puede) (?:ser )?entregar|error en la entrega"
    r"|non [èe] stato possibile recapitare|non pu[òo] essere recapitat|recapito non riuscito"
    r"|impossibile recapitare"
    r"|n[ãa]o foi poss[íi]vel entregar|n[ãa]o p[ôo]de ser entregue|falha na entrega"
    r"|kon niet worden (?:afgeleverd|bezorgd)|bezorging is mislukt|onbestelbaar"
    # MasqMail's own translations of failmsg.tpl and warnmsg.tpl (tpl/*.de, *.fr, *.it):
    # "konnte Ihre Mail nicht an alle Empfänger weitergeleitet werden", "votre courrier n'a
    # pas pu être transmis à tous ses destinataires", "non e' stato possibile spedire il tuo
    # msg a tutti i destinatari"; and its English "could not yet be delivered" (a delay).
    r"|nicht an alle empf[äa]nger|n'a pas pu [êe]tre transmis"
    r"|non (?:[èe]|e') stato possibile (?:spedire|recapitare)|could not yet be delivered"
    # The older notices catalogued by Sympa's bounce analyser (src/lib/Sympa/Spindle/
    # ProcessBounce.pm _anabounce, before its commit 1edca1031): Lotus Notes' "Failure
    # Reasons" banner, Mercury's "The local mail transport system has reported the following
    # problems" (1.43) and "One or more addresses in your message have failed" (1.31), "The
    # following recipients haven't received this message", "The following destination
    # addresses were unknown", "The destination mailbox X is unavailable", Exim 1.73's "The
    # address to which the message has not yet been delivered is:", PMDF's "Your message has
    # been enqueued and undeliverable for N day(s)", QuickMail's "Unknown QuickMail
    # recipient(s):", "This message was returned to you for the following reasons:", and
    # Sendmail 5's bare "Transcript of session follows" with "NNN addr... reason" lines.
    r"|-+ ?failure reasons ?-+|reported the following problems"
    r"|addresses in your message have failed|haven't received this message"
    r"|destination addresses were unknown|the destination mailbox \S+ is unavailable"
    r"|message has not yet been delivered|enqueued and undeliverable"
    r"|unknown quickmail recipient|returned to you for the following reason"
    r"|transcript of session follows",
)
# Delay notices (Postfix "Delayed Mail (still being retried)", Sendmail "Warning: could not
# send message for past 4 hours", Exim "has not yet been delivered"): not yet a failure. And
# the warnings Mailman 2's bounce detector knows (Mailman/Bouncers/SimpleWarning.py, its code
# read): MessageSwitch's "This is just a warning, you do not need to take any action",
# Symantec's "Delivery attempts will continue to be made", Gmail's "Message will be
# retried", "We will continue to try to deliver".
_DELAY = rx.compile(r"delayed|not yet been delivered|will (?:continue to )?(?:re)?try|"
                    r"still being retried|could not send message for past|still pending"
                    r"|just a warning|will be retried|delivery attempts will continue"
                    # MasqMail warnmsg.tpl and its translations (tpl/warnmsg.tpl.de/fr/it).
                    r"|could not yet be|noch nicht an alle|a [ée]t[ée]\s+diff[ée]r[ée]e"
                    r"|stato ritardato")
# A notice whose Subject says it is a delay: Gmail's and Exchange's "Delivery Status
# Notification (Delay)", Postfix's "Delayed Mail (still being retried)", Exim's "Warning:
# message <id> delayed <n> hours", Sendmail's "Warning: could not send message for past 4
# hours": a delay, even where the body gives the recipient only in a session transcript,
# with no statement of its own.
_DELAY_SUBJECT = rx.compile(r"\bdelay(?:ed)?\b|still being retried|could not send message for"
                            r" past", re.I)

# Where the notice ends and a copy of the original begins (Exim, Sendmail, qmail, Postfix,
# Exchange): the rest is not read for recipients.
_ORIGINAL = rx.compile(
    r"^[ \t-]*(?:-+ ?this is a copy of|below this line is a copy|original message follows"
    r"|-+ ?original message|-+ ?the original message|message headers follow"
    r"|-+ ?unsent message below|-+ ?returned message|received: from "
    # Smail 3, usa.net, demon.co.uk (Turnpike), HotPOP, MDaemon (its transcript quotes the
    # original's headers).
    r"|\|?-+ ?message text follows|-+ ?returned mail follows|-+ ?start of returned message"
    r"|original message attached|-+ ?session transcript)",
    re.I | re.M,
)
# A bare local part listed alone on a line (an old AOL/qmail-style notice names its own
# users without their domain: "could not be delivered ...:\n\tjdoe").
# GroupWise 7 gives its reason after it in parentheses ("\tjdoe (user not found)", as
# Sympa's bounce analyser reads it).
_BARE = rx.compile(r"^[ \t]+([A-Za-z0-9][A-Za-z0-9._-]{2,63})[ \t]*(?:\([^()]*\)[ \t]*)?$")
# An SMTP transcript's RCPT command and a reply to it (RFC 5321 section 4.1.1.3, 4.2).
_RCPT = rx.compile(r"\brcpt to:\s*<([^<>\s]+)>", re.I)
_REPLY = rx.compile(r"^[ \t]*(?:<<<|in:|<-)?[ \t]*([45]\d\d[ -].*)$", re.I)
# A recipient named after a label of its own at a line's start, as notices without a
# failure sentence write it: LSMTP's "Error-for:" (the LISTSERV-readable error list L-Soft's
# LSMTP appends), CompuServe's "Invalid receiver address:", usa.net's "Intended recipient:",
# HotPOP's "Undeliverable Address:", Prodigy's "User's mailbox is full:", and "Failed
# Recipient:" (formats catalogued by GNU Mailman 2's Mailman/Bouncers/SimpleMatch.py and
# Compuserve.py); those Sympa's bounce analyser catalogues (see _FAILURE): CompuServe's
# "Receiver not found:", IMail's "User mailbox exceeds allowed size:", the "Transcript of
# Report" "Rejected-For: addr,", PMDF's "Recipient address:", "The requested destination
# was:".
_LABELLED = rx.compile(
    r"^[ \t>]*(?:error-for|invalid receiver address|intended recipient|undeliverable address"
    r"|user's mailbox is full|failed recipient|invalid final delivery userid"
    r"|receiver not found|user mailbox exceeds allowed size|rejected-for|recipient address"
    r"|the requested destination was)[ \t]*:[ \t]*"
    r"<?([^<>\s]+@[^<>\s]+?)>?[ \t.,]*$",
    re.I | re.M,
)
# An address in single quotes (demon.co.uk's Turnpike: "It was addressed to 'jane@...'"):
# the quote is an atext character, so the address pattern alone would keep it.
_QUOTED_ADDRESS = rx.compile(r"'([^'<>@\s]+@[^'<>@\s]+)'")
# A machine's banner before the statement, not counted among a notice's opening lines: a
# rule of punctuation ("****", "-----", "|====|"), Sendmail's warning box ("**  THIS IS A
# WARNING MESSAGE ONLY  **", "YOU DO NOT NEED TO RESEND YOUR MESSAGE", savemail.c), the
# DSN preamble "This is an automatically generated Delivery Status Notification" (Exchange,
# Gmail), Exim's "This message was created automatically by mail delivery software", the
# MessageSwitch "This is just a warning, you do not need to take any action", InterScan's
# "****** Message from InterScan E-Mail VirusWall NT ******".
_BANNER = rx.compile(
    r"^[\W_]*$|warning message only|do not need to (?:resend|take any action)"
    r"|automatically generated|created automatically|message from interscan"
    # MasqMail's templates (tpl/failmsg.tpl and its .de/.fr/.it translations) open by
    # naming the daemon that sends them, in both languages, and the French one marks its
    # halves: "This message was sent to you by the mailer daemon", "Diese Nachricht wurde
    # Ihnen von dem Mail Agenten", "Ce message vous a été envoyé par le serveur de
    # messagerie", "Questo messaggio ti e' stato spedito dal demone", "[ENGLISH BELOW]".
    r"|sent to you by the mailer daemon|von dem mail agenten|par le serveur de messagerie"
    r"|stato spedito dal|^\[english below\]|^-+\[ \w+ \]-+$"
    # The warning a receiving gateway puts on top of mail from outside (Exchange Online's
    # mail flow rules prepending one, HCL Domino's "external email notifications"; the
    # wording most use: "CAUTION: This email originated from outside of the organization.
    # Do not click links or open attachments unless you recognize the sender and know the
    # content is safe."): not the notice's, whose statement follows it.
    r"|originated (?:from )?outside (?:of )?(?:the|your|our) (?:organi[sz]ation|company)"
    r"|do not click (?:on )?links or open attachments|unless you recogni[sz]e the sender",
    re.I,
)
# A notice that states its failure, lists the recipients, then gives the error under a line
# of its own (MasqMail failmsg.tpl/warnmsg.tpl: "This error message may give you a hint about
# what caused the failure:", "Diese Fehlermeldung könnte einen Hinweis über die Ursache
# geben:", "Ce message d'erreur peut vous aider à déterminer la cause", "Il seguente msg
# d'errore potrebbe aiutarti"): the error is the paragraph after that line.
_HINT = rx.compile(r"may give you a hint about what caused|fehlermeldung k[öo]nnte einen hinweis"
                   r"|message d'erreur peut|msg d'errore potrebbe", re.I)
# The header labels a mail client writes above a message it forwards inline, in its user's
# language (Outlook's "Von:/Gesendet:/An:/Betreff:", "De :/Envoyé :/À :/Objet :"...; the
# From and Date variants as mailgun/talon talon/quotations.py RE_FROM_COLON_OR_DATE_COLON
# lists them): read as the RFC 5322 fields they stand for.
_LABELS = {
    "From": ("von", "van", "de", "fra", "från", "da"),
    "Date": ("gesendet", "gesendet am", "envoyé", "envoye", "enviado", "enviado el", "inviato",
             "verzonden", "enviada", "enviada em", "sendt", "skickat", "datum"),
    "To": ("an", "à", "para", "a", "aan", "til", "till"),
    "Subject": ("betreff", "objet", "asunto", "oggetto", "onderwerp", "assunto", "emne", "ämne"),
}
# The original's header fields a notice quotes, indented, to say which message it is about,
# before its statement: Exchange 5.5's "Your message\n\n  To: ...\n  Subject: ...\n  Sent:
# ...\n\ndid not reach the following recipient(s):", Exchange 2000/2003's and hMailServer's
# "Your message did not reach some or all of the intended recipients.\n\n  Subject: ...\n
# Sent: ...". Not counted among the opening lines either. Exchange writes the labels in the
# language of its NDRs, as Outlook names those fields (the To, Date and Subject labels of
# _LABELS: Betreff/Gesendet (am), Objet/Envoyé, Asunto/Enviado (el)...).
_ABOUT_NAMES = sorted({"to", "cc", "subject", "sent", "date", *(
    label for field in ("To", "Date", "Subject") for label in _LABELS[field])},
    key=len, reverse=True)
_ABOUT = rx.compile(rf"[ \t]+(?:{'|'.join(map(re.escape, _ABOUT_NAMES))})[ \t]*:", re.I)
# Message-IDs look like addresses: a line naming one is not a recipient line.
_MSGID_LINE = rx.compile(r"message-id|in-reply-to|references", re.I)

_ENVELOPE = ("X-Original-To", "Delivered-To", "Envelope-To", "X-Envelope-To")
_SENDERS = ("From", "Sender", "Reply-To", "Return-Path", "Errors-To")
# A mailing list's own address, as the list stamps it on the mail it sends (RFC 2369
# List-Post; Mailman's X-BeenThere): the original's To is the list then, not the recipient.
_LIST = ("List-Post", "X-BeenThere")


def _daemon(address: str) -> bool:
    return bool(_DAEMON.match(address))


def _sent_as_bounce(mail: Mail) -> bool:
    """A null reverse-path, or sent from MAILER-DAEMON or postmaster."""
    path = mail.header("Return-Path").strip()
    return (path in ("<>", "") and mail.has("Return-Path")) or _daemon(mail.from_address)


def _bounce_like(mail: Mail) -> bool:
    """Does the message say it is a bounce at all (before any body is read)?"""
    return _sent_as_bounce(mail) or mail.has("X-Failed-Recipients") \
        or bool(_SUBJECT.search(mail.subject))


def match(mail: Mail) -> bool:
    return _bounce_like(mail) or bool(_FORWARD_SUBJECT.match(mail.subject))


def inquire(mail: Mail) -> list[Fact]:
    return _inquire(mail, 0)


def _inquire(mail: Mail, depth: int) -> list[Fact]:
    bounce = _bounce_like(mail)
    forward = _FORWARD_SUBJECT.match(mail.subject) is not None
    if bounce and not forward:
        # A notice's own statement names the recipient it failed; the message it returns
        # may be a bounce itself (a notice that was undeliverable in turn), whose recipient
        # is another's. That one is read only when the notice names none.
        own = _from_structure(mail)
        if own:
            return own
    if depth < MAX_DEPTH:
        inner = _forwarded(mail, depth)
        if inner:
            return inner
    return _from_structure(mail) if bounce and forward else []


def _forwarded(mail: Mail, depth: int) -> list[Fact]:
    """The facts of a bounce forwarded inside ``mail``, attached or inline."""
    candidates: list[bytes] = []
    if mail.original:
        # Attached: its own bytes, so that its parts decode with their own charsets.
        candidates.append(mail.original_raw or mail.original.encode("utf-8", "surrogateescape"))
    if _FORWARD_SUBJECT.match(mail.subject) or depth:
        marker = _FORWARD_MARKER.search(mail.body)
        if marker:
            candidates.append(_inline(mail.body[marker.end():]).encode("utf-8", "surrogateescape"))
    for raw in candidates:
        inner = read(raw)
        # A forward of a forward (the bounce attached or quoted one level further down) is
        # unwrapped again, up to MAX_DEPTH.
        if not (_bounce_like(inner) or inner.dsn or _FORWARD_SUBJECT.match(inner.subject)):
            continue
        facts = _detect(inner, depth)
        if facts:
            return facts
    return []


# The quotation marks of a message quoted in a reply or forward ("> " at each line's start,
# RFC 3676 section 4.5: one ">" a level of quoting).
_QUOTE = rx.compile(r"(?:> ?)+")
#: Levels of quoting taken off at most: deeper is a message quoted in a quote in a quote...
MAX_QUOTE_DEPTH = 8
_UNQUOTE = {n: rx.compile(rf"^(?:> ?){{1,{n}}}", re.M) for n in range(1, MAX_QUOTE_DEPTH + 1)}


def _unquote(text: str, first: str) -> str:
    """``text`` with as many levels of quoting taken off each line as ``first``, the quoted
    block's first line, has: quoting a Sendmail transcript adds a level to its own marks
    (">>> RCPT To:<...>" becomes "> >>> RCPT To:<...>"), and those must keep theirs."""
    marks = _QUOTE.match(first)
    depth = min(marks.group().count(">"), MAX_QUOTE_DEPTH) if marks else 0
    return _UNQUOTE[depth].sub("", text) if depth else text


_LABEL_NAMES = sorted({label for labels in _LABELS.values() for label in labels},
                     key=len, reverse=True)
_LABEL = rx.compile(rf"^({'|'.join(map(re.escape, _LABEL_NAMES))})[ \t]*:", re.I | re.M)
_FIELD = {label: field for field, labels in _LABELS.items() for label in labels}


def _inline(text: str) -> str:
    """A message forwarded inline, as the text of a message: its header lines ("From: ...",
    "Subject: ..."), a blank line, its body; quotation marks taken off, the labels of a
    client's own language read as the fields they name."""
    text = text.lstrip("\n")
    text = _unquote(text, text.partition("\n")[0])
    head, blank, body = text.partition("\n\n")
    head = _LABEL.sub(lambda m: f"{_FIELD[m.group(1).lower()]}:", head)
    return head + blank + body


def _detect(inner: Mail, depth: int) -> list[Fact]:
    # The detectors package imports this module: the inner bounce is handed to it at run time.
    from bounceloop.parsing.detectors import plan

    for detector in plan(inner.subject):
        if detector.name == NAME:
            return _inquire(inner, depth + 1)
        if detector.match(inner):
            facts = detector.inquire(inner)
            if facts:
                return facts
    return []


def _excluded(mail: Mail) -> set[str]:
    """Addresses that are never the failed recipient: the bounce's own sender, envelope and
    To (the bounce goes back to the original's sender), the original's senders and the list
    that sent it."""
    out: set[str] = set()
    for name in (*_SENDERS, "To"):
        out.update(a.lower() for a in find_addresses(mail.header(name)))
    for name in (*_SENDERS, *_LIST):
        out.update(a.lower() for a in find_addresses(mail.original_header(name)))
    return out


def _from_structure(mail: Mail) -> list[Fact]:
    notice = mail.body[:MAX_NOTICE]
    end = _ORIGINAL.search(notice)
    if end:
        notice = notice[:end.start()]
        # The copy quoted as text after its marker line: its senders are guarded too.
        attach_original(mail, mail.body[mail.body.find("\n", end.start()) + 1:])
    excluded = _excluded(mail)
    # A bounce quoted in a reply ("> " before each line, RFC 3676 section 4.5) reads as the
    # bounce itself; Sendmail's transcript marks (">>> RCPT To:<...>") keep their command.
    lines = notice.split("\n")
    if _REPLY_SUBJECT.match(mail.subject):
        first = next((line for line in lines if line.startswith(">")), "")
        lines = _unquote(notice, first).split("\n")
    hits = _statements(lines) or _terse(mail, lines)
    text = squeeze(" ".join(lines[hits[0]:hits[0] + LIST_LINES])) if hits else ""
    if hits:
        text = squeeze(f"{text} {_hinted(lines, hits[0])}")
    found: list[str] = []
    for value in mail.headers_all("X-Failed-Recipients"):
        found += find_addresses(value)
    # Where a listed recipient's entry states its own reason, that reason is its diagnosis:
    # in a notice about several recipients, each has its own.
    own: dict[str, str] = {}
    for at in hits:
        for address, where in _listed(lines, at, mail.from_address):
            found.append(address)
            entry = _entry(lines, where)
            if entry:
                own.setdefault(address, entry)
    refused = _refused(lines)
    found += list(refused)
    labelled: list[str] = []
    for i, text_line in enumerate(lines):
        named = _LABELLED.match(text_line)
        if named:
            labelled.append(named.group(1))
            # The label is the reason ("Receiver not found:"), or the lines under it give
            # one ("Rejected-For: addr," then "explanation ...").
            own.setdefault(named.group(1), _paragraph(lines, i))
    found += labelled
    if not found and hits:
        found = _from_original(mail)
        # The notice names its one recipient only by name ("John Doe on DATE", as Exchange
        # lists a recipient from its directory): all it says below is about that one.
        text = squeeze(" ".join(lines[hits[0]:hits[0] + NOTICE_LINES]))
    if not found or not (hits or refused or labelled or mail.has("X-Failed-Recipients")):
        return []
    action = ("delayed" if _DELAY.search(text.lower()) or _DELAY_SUBJECT.search(mail.subject)
              else "failed")
    facts: list[Fact] = []
    seen: set[str] = set()
    for candidate in found:
        address = recipient(candidate)
        key = address.lower()
        if not address or key in seen or key in excluded or _daemon(key):
            continue
        seen.add(key)
        reply = refused.get(candidate, "")
        facts.append(Fact(recipient=address, action=action,
                          diagnosis=reply or own.get(candidate) or text,
                          command="RCPT" if reply else "", date=mail.header("Date")))
    return facts


def _refused(lines: list[str]) -> dict[str, str]:
    """Recipients an SMTP session transcript shows refused: a ``RCPT TO:<address>`` line
    answered, on one of the next two lines, by a 4xx or 5xx reply (RFC 5321 section 4.2;
    Sendmail's ">>> RCPT To:<...>" / "<<< 550 ...", Postfix's "Out: RCPT TO:<...>" / "In:
    550 ..." in its transcripts to the postmaster)."""
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        rcpt = _RCPT.search(line)
        if rcpt is None:
            continue
        for answer in lines[i + 1:i + 3]:
            reply = _REPLY.match(answer)
            if reply:
                out.setdefault(rcpt.group(1), squeeze(reply.group(1)))
                break
            if _RCPT.search(answer):
                break
    return out


def _statements(lines: list[str]) -> list[int]:
    """Indexes of the lines holding a failure statement, if the first one opens the notice
    (within :data:`LEAD_LINES` non-blank lines that are not a banner). A statement wrapped
    onto the next line ("could not be\ndelivered", as notices fill their paragraphs to 72
    columns) counts at its first line."""
    hits: list[int] = []
    shown = 0
    for i, line in enumerate(lines):
        if not line.strip() or (not hits and (_BANNER.search(line) or _ABOUT.match(line))):
            continue
        shown += 1
        if _FAILURE.search(line.lower()) or _wrapped(lines, i):
            hits.append(i)
        elif not hits and shown >= LEAD_LINES:
            return []
    return hits


def _terse(mail: Mail, lines: list[str]) -> list[int]:
    """A terse notice, whose Subject is its statement ("Undeliverable mail") and whose body
    opens with the failed address and its reason ("<jane@...>... User unknown", as Sendmail
    words a recipient's error; "jane@...: mailbox full"), or lists it after a statement in a
    language the statements above do not know, within the notice's opening lines: the line
    of that first entry, when the message was sent as a bounce with a bounce's Subject, or by
    a mailer daemon that returns the original (Sina's notices, whose Subject and statement are
    Chinese, list "<address>" lines first: Mailman 2 Bouncers/Sina.py)."""
    if not _sent_as_bounce(mail):
        return []
    if not (_SUBJECT.search(mail.subject)
            or (_daemon(mail.from_address) and mail.original_headers)):
        return []
    shown = 0
    for i, line in enumerate(lines):
        if not line.strip() or _BANNER.search(line) or _ABOUT.match(line):
            continue
        if _ENTRY.match(line):
            return [i]
        shown += 1
        if shown >= LEAD_LINES:
            return []
    return []


def _wrapped(lines: list[str], i: int) -> bool:
    """Does a statement begin on line ``i`` and end on the next?"""
    if i + 1 >= len(lines) or not lines[i + 1].strip():
        return False
    after = lines[i + 1].lower()
    joined = lines[i].lower().rstrip() + " " + after.lstrip()
    return bool(_FAILURE.search(joined)) and not _FAILURE.search(after)


def _listed(lines: list[str], at: int, sender: str) -> list[tuple[str, int]]:
    """The addresses on a failure statement's line and the list that follows it (up to a
    blank line after the list, or :data:`LIST_LINES` lines), each with its line's index."""
    found: list[tuple[str, int]] = []
    end = min(len(lines), at + LIST_LINES)
    for i in range(at, end):
        line = lines[i]
        if not line.strip():
            if found:
                end = i
                break
            continue
        if _MSGID_LINE.search(line):
            continue
        named = ([m.group(1) for m in ANGLE_ADDRESS.finditer(line)]
                 or [m.group(1) for m in _QUOTED_ADDRESS.finditer(line)]
                 or find_addresses(line))
        if not named and lines[at].rstrip().endswith(":") and "@" in sender:
            bare = _BARE.match(line)
            if bare:
                named = [f"{bare.group(1)}@{sender.rpartition('@')[2]}"]
        found += [(address, i) for address in named]
    return found + (_more(lines, end) if found else [])


# A line that opens with an address: the next entry of a list of recipients ("<jane@...>:",
# "jane@... on DATE", "SMTP=jane@...;", "> jane@...").
# Exchange 2000/2003 quotes an address it lists by itself ("'jane@...' on DATE"); an
# apostrophe inside the local part is the address's own (RFC 5322 atext: o'brien@...).
_ENTRY = rx.compile(r"^[ \t>]*(?:smtp=|rfc822;\s*)?['<]?"
                    r"([^\s<>'\"():;,@]++(?:'[^\s<>'\"():;,@]++)*+@[^\s<>'\"():;,@]++)"
                    r"[>']?(?=[\s:;,.]|$)", re.I)


def _more(lines: list[str], start: int) -> list[tuple[str, int]]:
    """The entries of a list longer than :data:`LIST_LINES` lines, or in paragraphs (qmail,
    Exchange and Smail give each recipient a line that opens with its address, then its
    reason): from ``start``, each line that opens with an address, until a paragraph opens
    with something else."""
    found: list[tuple[str, int]] = []
    opening = False
    for i in range(start, len(lines)):
        line = lines[i]
        if not line.strip():
            opening = True
            continue
        entry = _ENTRY.match(line)
        if entry:
            found.append((entry.group(1), i))
            opening = False
        elif opening or _FAILURE.search(line.lower()):
            break
    return found


def _hinted(lines: list[str], start: int) -> str:
    """The error a notice gives under a line that introduces it (:data:`_HINT`), after
    ``start``: the paragraph that follows, without the introduction's own lines (nor their
    translation in parentheses)."""
    for i in range(start, min(len(lines), start + 4 * LIST_LINES)):
        if not _HINT.search(lines[i]):
            continue
        taken: list[str] = []
        for line in lines[i + 1:i + 1 + LIST_LINES]:
            if not line.strip():
                if taken:
                    break
                continue
            if not taken and (line.lstrip().startswith("(")
                              or line.rstrip().endswith((":", ":)"))):
                continue  # the introduction's translation or its wrapped end
            taken.append(line)
        return " ".join(taken)
    return ""


def _entry(lines: list[str], at: int) -> str:
    """The reason an entry of a list of recipients gives under its address line: the lines
    that follow it up to a blank line, the next entry or a failure statement, with the address
    line itself; "" when the address stands alone (its reason, if any, is the notice's)."""
    if not _ENTRY.match(lines[at]):
        return ""
    taken = _paragraph(lines, at)
    return taken if taken != squeeze(lines[at]) else ""


def _paragraph(lines: list[str], at: int) -> str:
    """Line ``at`` and those under it, up to a blank line, the next entry or a failure
    statement (at most :data:`ENTRY_LINES` lines). A statement indented deeper than line
    ``at`` is the entry's own reason ("Your message was rejected by the remote server: 550
    ..." under the address), not the next paragraph."""
    taken = [lines[at]]
    depth = len(lines[at]) - len(lines[at].lstrip())
    for line in lines[at + 1:at + ENTRY_LINES]:
        if not line.strip() or _ENTRY.match(line) or (
                _FAILURE.search(line.lower()) and len(line) - len(line.lstrip()) <= depth):
            break
        taken.append(line)
    return squeeze(" ".join(taken))


def _from_original(mail: Mail) -> list[str]:
    """The returned original's envelope recipient, or its To when it names one address."""
    for name in _ENVELOPE:
        named = find_addresses(mail.original_header(name))
        if len(named) == 1:
            return named
    named = find_addresses(mail.original_header("To"))
    return named if len(named) == 1 else []
