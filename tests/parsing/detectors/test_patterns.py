"""Readers that replaced one-pattern regular expressions (issue 16) read what the pattern did.

The patterns below are the ones the detectors used: each backtracked on some long input
(quadratic, for exim's exponential). On generated input - the pieces each pattern reads, in
any order - the reader that replaced it must give the same answer. (The speed is measured in
bench/adversarial.py; tests/parsing/test_hostile.py guards the bound.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from bounceloop.parsing.detectors import (
    _microsoft,
    autodsn,
    exchange2003,
    exim,
    imailserver,
    postfix,
    sendmail,
    troubledelivering,
)

COMMON = [" ", "\t", "\n", "x", "a@b.c", "@", "<", ">", ":", "-", ".", "5"]


def _same(pieces: list[str], old: Callable[[str], object],
          new: Callable[[str], object]) -> None:
    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.sampled_from(pieces + COMMON), max_size=25).map("".join))
    def check(text: str) -> None:
        assert new(text) == old(text)

    check()


def _groups(pattern: re.Pattern[str], how: str = "search") -> Callable[[str], object]:
    def run(text: str) -> object:
        m = getattr(pattern, how)(text)
        return None if m is None else m.groups()

    return run


def test_exim_framing() -> None:
    framed = re.compile(
        r"^(?P<frame>.*?(?:SMTP error from remote (?:mail server|mailer) after [^:]+?"
        r"(?::\s*<[^>]*>(?:\s+\S+=\S+)*)?:(?:\s*host\s+\S+\s+\[[^\]]+\]:)?))\s*"
        r"(?P<reply>[245]\d\d[\s\-].*)$", re.S)

    def old(text: str) -> object:
        m = framed.match(text)
        return ("", "") if m is None else (m.group("reply").strip(), m.group("frame").strip())

    _same(["SMTP error from remote mail server after ", "SMTP error from remote mailer after ",
           "RCPT TO", "<a@b>", " SIZE=1", " a=b=c", " =x", " a=:b", " host mx [192.0.2.1]:",
           "host", "[", "]", "550 ", "550-", "="], old, exim._reply_of)


def test_microsoft_returned() -> None:
    pattern = re.compile(r"\bserver(?: at ([\w.\-]+))?[^']*?\breturned\s+'(.*)$", re.I)

    def old(text: str) -> object:
        m = pattern.search(text)
        return None if m is None else (m.group(1) or "", m.group(2))

    _same(["server", "Server", " at ", "returned", " returned '", "'", "x.returned", "xserver"],
          old, _microsoft._returned)


def test_exchange2003_entry_and_code() -> None:
    entry = re.compile(r"^\s*(.+?@.+?)\s+on\s+(?:\d|[A-Z][a-z]{2},)")
    _same([" on ", " on 4", " on Thu,", "Thu,", "(SMTP:a@b)"],
          lambda t: (m.group(1) if (m := entry.match(t)) else ""), exchange2003._entry)
    code = re.compile(r"MSEXCH:\S.*?\(([0-9A-F]{8})\)")
    _same(["MSEXCH:", "MSEXCH:IMS", "(000C05A6)", "(", ")", "0", "A"],
          lambda t: (m.group(1) if (m := code.search(t)) else ""), exchange2003._msexch_code)


def test_postfix_entry_text() -> None:
    said = re.compile(r"^host (?P<host>\S+?)\[(?P<ip>[^\]]*)\] said: (?P<reply>.*?)"
                      r"(?: \(in reply to (?P<cmd>.+?) command\))?$", re.S)
    refused = re.compile(r"^host (?P<host>\S+?)\[[^\]]*\] refused to talk to me: "
                         r"(?P<reply>.*)$", re.S)

    def old(text: str) -> object:
        text = text.strip()
        m = said.match(text)
        if m:
            return m.group("reply"), m.group("cmd") or "", m.group("host")
        m = refused.match(text)
        return (m.group("reply"), "CONN", m.group("host")) if m else None

    def new(text: str) -> object:
        text = text.strip()
        found = postfix._host_said(text, "] said: ")
        if found is not None:
            return *postfix._in_reply_to(found[1]), found[0]
        found = postfix._host_said(text, "] refused to talk to me: ")
        return (found[1], "CONN", found[0]) if found else None

    _same(["host ", "[", "]", "] said: ", "] refused to talk to me: ", " (in reply to ",
           " command)", "RCPT TO", "mx", "192.0.2.1"], old, new)


def test_sendmail_list_heads_and_notes() -> None:
    head = re.compile(r"^\s*-+\s*the following addresses had ([a-z -]+?)\s*-+\s*$",
                      re.I | re.M)
    _same(["---", "----- ", "the following addresses had ", "permanent fatal errors",
           " -----", "- -", "\x0b"],
          lambda t: [(m.group(1), m.end()) for m in head.finditer(t)],
          lambda t: [(kind, end) for kind, _, end in sendmail._list_heads(t)])
    note = re.compile(r"^\s*\((reason|expanded from):\s*(.*?)\)?\s*$", re.I)

    def new(text: str) -> object:
        m = sendmail._NOTE.match(text)
        return None if m is None else (m.group(1), sendmail._note(m.group(2)))

    _same(["(reason:", "(Expanded from:", ")", "))"], _groups(note, "match"), new)


def test_imailserver_address() -> None:
    line = re.compile(r"^([A-Za-z][\w'\-]*(?: [\w'\-()]+)+):\s*<?(\S+@[^\s>]+)>?\s*$")

    def new(text: str) -> object:
        m = imailserver._REASON_LINE.match(text)
        address = imailserver._address(m.group(2)) if m else ""
        return (m.group(1), address) if m and address else None

    _same(["Unknown user: ", "Aa a: ", "<", ">", "@@", ">>"], _groups(line, "match"), new)


def test_troubledelivering_errors_and_reply() -> None:
    error = re.compile(r"^The following recipients? returned \w+ errors?:\s*(.*?)\.?\s+Reason:"
                       r"\s*(.*?)(?=\n[ \t]*\n|\Z)", re.M | re.I | re.S)
    _same(["The following recipient returned permanent errors:", "Reason:", " Reason: ",
           "reason:", "\n\n", "\n \n"],
          lambda t: [m.groups() for m in error.finditer(t)], troubledelivering._errors)
    reply = re.compile(r"with the following error message:\s*\[(.*)\]\s*$", re.S)
    _same(["with the following error message:", "[", "]", "] "],
          lambda t: (m.group(1) if (m := reply.search(t)) else None), troubledelivering._reply)


def test_autodsn_outcome_words() -> None:
    outcome = re.compile(r"^De(?:li|le)very to the following recipients? (.+?):?[ \t]*$", re.M)

    def new(text: str) -> object:
        m = next((m for m in autodsn._OUTCOME.finditer(text) if m.group(1)), None)
        return None if m is None else (autodsn._words(m.group(1)), m.end())

    _same(["Delivery to the following recipients ", "Delevery to the following recipient ",
           "failed permanently", ":"],
          lambda t: (m.group(1), m.end()) if (m := outcome.search(t)) else None, new)
