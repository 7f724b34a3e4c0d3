"""SMTP reply codes (RFC 5321) and enhanced status codes (RFC 3463 and the IANA registry).

An enhanced status code is ``class.subject.detail``::

    class    2 success, 4 persistent transient failure, 5 permanent failure
    subject  0 other, 1 addressing, 2 mailbox, 3 mail system, 4 network/routing,
             5 mail delivery protocol, 6 message content/media, 7 security/policy
    detail   0-999, meaning given per subject below

This module also finds codes in free text, as written by real MTAs::

    550-5.1.1 The email account that you tried to reach does not exist.   (Gmail, multi-line)
    smtp; 550 #5.1.0 Address rejected                                      (Lotus Domino / Exchange)
    SMTP error from remote mail server after RCPT TO:<a@b>: 550 Unknown   (Exim)
    ... said: 550 Unknown user (#5.5.0)                                    (qmail)

A code is only taken where it stands alone: ``192.0.2.22`` and ``Postfix 2.5.1`` are not codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# RFC 3463 / IANA "Enumerated Status Codes" registry, in our words.

CLASSES: dict[str, str] = {
    "2": "Success",
    "4": "Persistent transient failure",
    "5": "Permanent failure",
}

SUBJECTS: dict[str, str] = {
    "0": "Other or undefined status",
    "1": "Addressing status",
    "2": "Mailbox status",
    "3": "Mail system status",
    "4": "Network and routing status",
    "5": "Mail delivery protocol status",
    "6": "Message content or media status",
    "7": "Security or policy status",
}

#: ``subject.detail`` -> (description, defining RFC).
DETAILS: dict[str, tuple[str, str]] = {
    "0.0": ("Other undefined status", "RFC 3463"),
    "1.0": ("Other address status", "RFC 3463"),
    "1.1": ("Bad destination mailbox address", "RFC 3463"),
    "1.2": ("Bad destination system address", "RFC 3463"),
    "1.3": ("Bad destination mailbox address syntax", "RFC 3463"),
    "1.4": ("Destination mailbox address ambiguous", "RFC 3463"),
    "1.5": ("Destination address valid", "RFC 3463"),
    "1.6": ("Destination mailbox has moved, no forwarding address", "RFC 3463"),
    "1.7": ("Bad sender's mailbox address syntax", "RFC 3463"),
    "1.8": ("Bad sender's system address", "RFC 3463"),
    "1.9": ("Message relayed to non-compliant mailer", "RFC 3886"),
    "1.10": ("Recipient address has null MX", "RFC 7505"),
    "2.0": ("Other or undefined mailbox status", "RFC 3463"),
    "2.1": ("Mailbox disabled, not accepting messages", "RFC 3463"),
    "2.2": ("Mailbox full", "RFC 3463"),
    "2.3": ("Message length exceeds administrative limit", "RFC 3463"),
    "2.4": ("Mailing list expansion problem", "RFC 3463"),
    "3.0": ("Other or undefined mail system status", "RFC 3463"),
    "3.1": ("Mail system full", "RFC 3463"),
    "3.2": ("System not accepting network messages", "RFC 3463"),
    "3.3": ("System not capable of selected features", "RFC 3463"),
    "3.4": ("Message too big for system", "RFC 3463"),
    "3.5": ("System incorrectly configured", "RFC 3463"),
    "3.6": ("Requested priority was changed", "RFC 6710"),
    "4.0": ("Other or undefined network or routing status", "RFC 3463"),
    "4.1": ("No answer from host", "RFC 3463"),
    "4.2": ("Bad connection", "RFC 3463"),
    "4.3": ("Directory server failure", "RFC 3463"),
    "4.4": ("Unable to route", "RFC 3463"),
    "4.5": ("Mail system congestion", "RFC 3463"),
    "4.6": ("Routing loop detected", "RFC 3463"),
    "4.7": ("Delivery time expired", "RFC 3463"),
    "5.0": ("Other or undefined protocol status", "RFC 3463"),
    "5.1": ("Invalid command", "RFC 3463"),
    "5.2": ("Syntax error", "RFC 3463"),
    "5.3": ("Too many recipients", "RFC 3463"),
    "5.4": ("Invalid command arguments", "RFC 3463"),
    "5.5": ("Wrong protocol version", "RFC 3463"),
    "5.6": ("Authentication exchange line is too long", "RFC 4954"),
    "6.0": ("Other or undefined media error", "RFC 3463"),
    "6.1": ("Media not supported", "RFC 3463"),
    "6.2": ("Conversion required and prohibited", "RFC 3463"),
    "6.3": ("Conversion required but not supported", "RFC 3463"),
    "6.4": ("Conversion with loss performed", "RFC 3463"),
    "6.5": ("Conversion failed", "RFC 3463"),
    "6.6": ("Message content not available", "RFC 4468"),
    "6.7": ("Non-ASCII addresses not permitted for that sender/recipient", "RFC 6531"),
    "6.8": ("UTF-8 string reply is required, but not permitted by the SMTP client", "RFC 6531"),
    "6.9": ("UTF-8 header message cannot be transferred to one or more recipients", "RFC 6531"),
    "6.10": ("UTF-8 string reply required (deprecated duplicate of X.6.8)", "RFC 6531"),
    "7.0": ("Other or undefined security status", "RFC 3463"),
    "7.1": ("Delivery not authorized, message refused", "RFC 3463"),
    "7.2": ("Mailing list expansion prohibited", "RFC 3463"),
    "7.3": ("Security conversion required but not possible", "RFC 3463"),
    "7.4": ("Security features not supported", "RFC 3463"),
    "7.5": ("Cryptographic failure", "RFC 3463"),
    "7.6": ("Cryptographic algorithm not supported", "RFC 3463"),
    "7.7": ("Message integrity failure", "RFC 3463"),
    "7.8": ("Authentication credentials invalid", "RFC 4954"),
    "7.9": ("Authentication mechanism is too weak", "RFC 4954"),
    "7.10": ("Encryption needed", "RFC 5248"),
    "7.11": ("Encryption required for requested authentication mechanism", "RFC 4954"),
    "7.12": ("A password transition is needed", "RFC 4954"),
    "7.13": ("User account disabled", "RFC 5248"),
    "7.14": ("Trust relationship required", "RFC 5248"),
    "7.15": ("Priority level is too low", "RFC 6710"),
    "7.16": ("Message is too big for the specified priority", "RFC 6710"),
    "7.17": ("Mailbox owner has changed", "RFC 7293"),
    "7.18": ("Domain owner has changed", "RFC 7293"),
    "7.19": ("RRVS test cannot be completed", "RFC 7293"),
    "7.20": ("No passing DKIM signature found", "RFC 7372"),
    "7.21": ("No acceptable DKIM signature found", "RFC 7372"),
    "7.22": ("No valid author-matched DKIM signature found", "RFC 7372"),
    "7.23": ("SPF validation failed", "RFC 7372"),
    "7.24": ("SPF validation error", "RFC 7372"),
    "7.25": ("Reverse DNS validation failed", "RFC 7372"),
    "7.26": ("Multiple authentication checks failed", "RFC 7372"),
    "7.27": ("Sender address has null MX", "RFC 7505"),
    "7.28": ("Mail flood detected", "IANA registry"),
    "7.29": ("ARC validation failure", "RFC 8617"),
    "7.30": ("REQUIRETLS support required", "RFC 8689"),
}


@dataclass(frozen=True, slots=True)
class EnhancedStatus:
    """A parsed RFC 3463 code with its registry meaning."""

    code: str
    klass: str
    subject: str
    detail: str

    @property
    def class_text(self) -> str:
        return CLASSES.get(self.klass, "")

    @property
    def subject_text(self) -> str:
        return SUBJECTS.get(self.subject, "")

    @property
    def detail_text(self) -> str:
        """The registry description, or "" for a detail the registry does not list."""
        return DETAILS.get(f"{self.subject}.{self.detail}", ("", ""))[0]

    @property
    def reference(self) -> str:
        return DETAILS.get(f"{self.subject}.{self.detail}", ("", ""))[1]

    @property
    def registered(self) -> bool:
        return f"{self.subject}.{self.detail}" in DETAILS

    @property
    def permanent(self) -> bool:
        return self.klass == "5"

    @property
    def transient(self) -> bool:
        return self.klass == "4"

    def describe(self) -> str:
        """"Permanent failure: Mailbox status: Mailbox full" style text."""
        parts = [self.class_text, self.subject_text, self.detail_text]
        return ": ".join(p for p in parts if p)


# RFC 3463 allows 1-3 digit subjects, but only 0-7 are defined; "5.8.1" is not a status.
_ENHANCED_EXACT = re.compile(r"([245])\.0{0,2}([0-7])\.(\d{1,3})")


def parse_enhanced(text: str) -> EnhancedStatus | None:
    """Parse a string that *is* an enhanced status code ("5.1.1"), or return None.

    Leading zeros are dropped as RFC 3463 section 2 writes numbers without them ("5.01.001" is
    read as 5.1.1, which is what the writer meant).
    """
    m = _ENHANCED_EXACT.fullmatch(text.strip())
    if m is None:
        return None
    klass, subject, detail = m.group(1), str(int(m.group(2))), str(int(m.group(3)))
    return EnhancedStatus(f"{klass}.{subject}.{detail}", klass, subject, detail)


# ---------------------------------------------------------------------------------------------
# RFC 5321 reply codes (section 4.2.3) and the ones later RFCs added.

REPLY_CODES: dict[str, tuple[str, str]] = {
    "211": ("System status, or system help reply", "RFC 5321"),
    "214": ("Help message", "RFC 5321"),
    "220": ("Service ready", "RFC 5321"),
    "221": ("Service closing transmission channel", "RFC 5321"),
    "235": ("Authentication succeeded", "RFC 4954"),
    "250": ("Requested mail action okay, completed", "RFC 5321"),
    "251": ("User not local; will forward", "RFC 5321"),
    "252": ("Cannot VRFY user, but will accept message and attempt delivery", "RFC 5321"),
    "334": ("Server challenge (AUTH continues)", "RFC 4954"),
    "354": ("Start mail input; end with <CRLF>.<CRLF>", "RFC 5321"),
    "421": ("Service not available, closing transmission channel", "RFC 5321"),
    "432": ("A password transition is needed", "RFC 4954"),
    "450": ("Requested mail action not taken: mailbox unavailable", "RFC 5321"),
    "451": ("Requested action aborted: local error in processing", "RFC 5321"),
    "452": ("Requested action not taken: insufficient system storage", "RFC 5321"),
    "454": ("Temporary authentication failure / TLS not available", "RFC 4954, RFC 3207"),
    "455": ("Server unable to accommodate parameters", "RFC 5321"),
    "500": ("Syntax error, command unrecognized", "RFC 5321"),
    "501": ("Syntax error in parameters or arguments", "RFC 5321"),
    "502": ("Command not implemented", "RFC 5321"),
    "503": ("Bad sequence of commands", "RFC 5321"),
    "504": ("Command parameter not implemented", "RFC 5321"),
    "521": ("Host does not accept mail", "RFC 7504"),
    "523": ("Encryption needed", "RFC 5248"),
    "530": ("Authentication required", "RFC 4954"),
    "534": ("Authentication mechanism is too weak", "RFC 4954"),
    "535": ("Authentication credentials invalid", "RFC 4954"),
    "538": ("Encryption required for requested authentication mechanism", "RFC 4954"),
    "550": ("Requested action not taken: mailbox unavailable", "RFC 5321"),
    "551": ("User not local; please try another path", "RFC 5321"),
    "552": ("Requested mail action aborted: exceeded storage allocation", "RFC 5321"),
    "553": ("Requested action not taken: mailbox name not allowed", "RFC 5321"),
    "554": ("Transaction failed (or, at connection open, no SMTP service here)", "RFC 5321"),
    "555": ("MAIL FROM/RCPT TO parameters not recognized or not implemented", "RFC 5321"),
    "556": ("Domain does not accept mail", "RFC 7504"),
}


def describe_reply(code: str) -> str:
    """The RFC meaning of a 3-digit reply code, or "" when it is not a registered code."""
    return REPLY_CODES.get(code, ("", ""))[0]


def is_reply_code(code: str) -> bool:
    """A syntactically valid reply code: first digit 2-5, second 0-5, third 0-9 (RFC 5321 4.2)."""
    return (
        len(code) == 3
        and code[0] in "2345"
        and code[1] in "012345"
        and code[2].isdigit()
    )


# ---------------------------------------------------------------------------------------------
# Finding codes in free text.

# An enhanced code standing alone: not part of an IP address, a version string or a longer
# number. A trailing full stop is allowed ("... (#5.5.0)." / "status 5.1.1.").
_ENHANCED_IN_TEXT = re.compile(r"(?<![\w.\-/])([245])\.([0-7])\.(\d{1,3})(?![\w\-/]|\.\d)")

# A reply code followed by a separator and an enhanced code: "550 5.1.1", "550-5.1.1",
# "550 #5.1.0", "550 [5.1.1]".
_REPLY_AND_ENHANCED = re.compile(
    r"(?<![\w.])([245]\d\d)[ \-]+[#\[(]?([245])\.([0-7])\.(\d{1,3})(?![\w\-]|\.\d)"
)

# A reply's own leading code with a second digit outside RFC 5321's 0-5 (see
# find_reply_code).
_OUT_OF_RANGE_LEAD = re.compile(r"([45][6-9]\d)(?=[ \-])")

# A reply code standing at the start of the text, or after a separator used by MTAs to
# introduce the remote reply: "said: 550", "smtp; 550", ">: 550", "RCPT TO: 550",
# ") 550" etc. It must be followed by a space, a hyphen (multi-line), the end, or ": "
# (Yahoo writes "550: 5.2.2 ...").
_REPLY_IN_TEXT = re.compile(r"(?:^|(?<=[\s:;>)\]\"'(]))([245][0-5]\d)(?=[ \-\t]|$|\.? |: )", re.M)


def find_enhanced(text: str, klass: str = "") -> str:
    """The first enhanced status code in ``text`` ("" if none).

    A code glued to a reply code ("550 5.1.1") wins over a code standing elsewhere, because
    only that one is certainly the server's status. With ``klass`` ("4" or "5") a code of that
    class is preferred.
    """
    if not text:
        return ""
    found = ""
    for m in _REPLY_AND_ENHANCED.finditer(text):
        code = f"{m.group(2)}.{int(m.group(3))}.{int(m.group(4))}"
        if not klass or code[0] == klass:
            return code
        found = found or code
    for m in _ENHANCED_IN_TEXT.finditer(text):
        code = f"{m.group(1)}.{int(m.group(2))}.{int(m.group(3))}"
        if code[0] == "2" and klass != "2":
            # Standing alone in a failure text, "2.5.1" is a version number ("Postfix
            # 2.5.1"), not a success status; a real one comes glued to its 250 reply.
            continue
        if not klass or code[0] == klass:
            return code
        found = found or code
    return found


def find_reply_code(text: str, klass: str = "") -> str:
    """The first SMTP reply code in ``text`` ("" if none).

    A code directly followed by an enhanced code wins; then a code at a line start or after
    an MTA's separator. ``klass`` ("4" or "5") prefers codes of that class. 2xx/3xx codes are
    only returned when ``klass`` asks for them, since a failure report that quotes "250 OK"
    is quoting the step that went well.
    """
    if not text:
        return ""
    for m in _REPLY_AND_ENHANCED.finditer(text):
        code = m.group(1)
        if is_reply_code(code) and (code[0] == klass or (not klass and code[0] in "45")):
            return code
    lead = _OUT_OF_RANGE_LEAD.match(text)
    if lead is not None and lead.group(1)[0] in (klass or "45"):
        # A reply that opens with a code whose second digit RFC 5321 does not define
        # (Courier's and Apache James's "571 ..."): a client reads an unexpected code by its
        # first digit (RFC 5321 4.2.1), so it is the server's reply all the same. Only at
        # the start: elsewhere such a number is more likely not a code at all.
        return lead.group(1)
    fallback = ""
    for m in _REPLY_IN_TEXT.finditer(text):
        code = m.group(1)
        if not is_reply_code(code):
            continue
        if klass:
            if code[0] == klass:
                return code
        elif code[0] in "45":
            return code
        if code[0] in "45":
            fallback = fallback or code
    return fallback


def has_coded_reply(text: str) -> bool:
    """Does ``text`` quote a reply with its own enhanced code ("550 5.1.1", "550-5.7.26")?
    Such a reply is more precise than a status an MTA states beside it."""
    return _REPLY_AND_ENHANCED.search(text) is not None


def codes(text: str) -> tuple[str, str]:
    """(reply code, enhanced code) found in a server reply or diagnostic text.

    When both are present but disagree on the class (a "550 4.2.2" reply), both are returned
    as found: deciding which one wins is the classifier's job (the enhanced code does).
    """
    enhanced = find_enhanced(text)
    reply = find_reply_code(text, enhanced[:1] if enhanced else "")
    if not reply:
        reply = find_reply_code(text)
    return reply, enhanced
