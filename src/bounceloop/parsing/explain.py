"""Why a returned message's records say what they say: the decision path (``bounceloop
explain``, issue 18 item 6). Pure, like the parser; it runs the parser's own steps and
records what each found, so it cannot tell a different story from ``parse``.

Per message: the detectors tried in order (the first whose ``match`` holds and whose
``inquire`` finds something reads the message). Per recipient: where the status and the
reply code came from, the steps of the classifier and what each said, the rule that decided
and the text it matched, whether the MTA gave up after retrying, and the alternatives: the
other reasons whose phrases also occur in the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bounceloop.core.model import Bounce
from bounceloop.core.severity import Convention
from bounceloop.core.status import find_enhanced, find_reply_code
from bounceloop.parsing.classify import MAX_EVIDENCE, Classifier, says, which
from bounceloop.parsing.detectors import plan
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.finish import finish_all, one_per_recipient, reason_of, settle_codes
from bounceloop.parsing.mail import Mail, read
from bounceloop.parsing.rules.phrases import PHRASES


@dataclass(frozen=True, slots=True)
class Tried:
    """One detector asked about the message."""

    detector: str
    matched: bool
    """Its cheap header test held."""
    facts: int = 0
    """What its full read found (0: not its format after all)."""


@dataclass(frozen=True, slots=True)
class Alternative:
    """Another reason whose phrase also occurs in the text."""

    reason: str
    rule: str
    matched: str


@dataclass(slots=True)
class Path:
    """The decision path of one record."""

    record: Bounce
    stated_status: str
    """The status the detector read (a DSN's ``Status:`` field, a qmail "#5.1.1")."""
    status_source: str
    reply_source: str
    steps: list[str] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)


@dataclass(slots=True)
class Explanation:
    """The decision path of one message."""

    tried: list[Tried] = field(default_factory=list)
    detector: str = ""
    paths: list[Path] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "detector": self.detector,
            "tried": [{"detector": t.detector, "matched": t.matched, "facts": t.facts}
                      for t in self.tried],
            "records": [{
                "recipient": p.record.recipient, "reason": p.record.reason,
                "rule": p.record.rule, "matched": p.record.matched,
                "expired": p.record.expired, "action": p.record.action,
                "status": p.record.extended, "status_source": p.status_source,
                "stated_status": p.stated_status, "reply": p.record.code,
                "reply_source": p.reply_source, "description": p.record.description,
                "steps": p.steps,
                "alternatives": [{"reason": a.reason, "rule": a.rule, "matched": a.matched}
                                 for a in p.alternatives],
            } for p in self.paths],
            "error": self.error,
        }


def explain(raw: bytes, convention: Convention = Convention.CODE) -> Explanation:
    """The decision path of one message (never raises: a failure is in ``error``)."""
    out = Explanation()
    try:
        mail = read(raw)
        facts: list[Fact] = []
        for detector in plan(mail.subject):
            if not detector.match(mail):
                out.tried.append(Tried(detector.name, False))
                continue
            facts = detector.inquire(mail)
            out.tried.append(Tried(detector.name, True, len(facts)))
            if facts:
                out.detector = detector.name
                break
        facts = one_per_recipient(facts)
        stated = [(fact.status, fact.reply_code) for fact in facts]
        records = finish_all(facts, mail, out.detector, convention)
        # finish_all settled each fact's codes and cleaned its diagnostic in place; it
        # decided the reason on the cause (the reply's own code, else the status): the
        # classifier is asked again about that very fact, recording its steps.
        classifier = Classifier(out.detector)
        for fact, (status, reply), record in zip(facts, stated, records, strict=True):
            own = settle_codes(Fact(diagnosis=fact.diagnosis, reply_code=reply,
                                    status=status, context=fact.context))[2]
            out.paths.append(_path(fact.but(status=own or fact.status), own, status,
                                   record, classifier, mail))
    except Exception as exc:  # a bug to report, as parse() reports it
        out.error = f"{type(exc).__name__}: {exc}"
    return out


def _path(fact: Fact, own: str, stated: str, record: Bounce, classifier: Classifier,
          mail: Mail) -> Path:
    path = Path(record, stated, _status_source(fact, stated, record.extended),
                _reply_source(fact, record.code))
    if fact.status != record.extended:
        path.steps.append(f"the reason is read from the cause {fact.status or '-'} (the "
                          f"reply's own code), not the verdict {record.extended or '-'}")
    # The steps finish took, again, recording them.
    reason_of(classifier, fact, own, record.extended, mail, trace=path.steps)
    context = fact.context[:MAX_EVIDENCE].lower()
    path.steps.append(f"decided: {record.reason} by {record.rule}")
    text = " ".join(t for t in (fact.diagnosis[:MAX_EVIDENCE].lower(), context) if t)
    for reason in PHRASES:
        if reason == record.reason or not says(reason, text):
            continue
        found = which(reason, text)
        if found is not None:
            path.alternatives.append(Alternative(reason, f"phrase:{reason}/{found[0].id}",
                                                 found[1]))
    return path


def _status_source(fact: Fact, stated: str, status: str) -> str:
    if not status:
        return "none"
    if status == stated:
        return "the report's status field (as the detector read it)"
    if status == find_enhanced(fact.diagnosis[:MAX_EVIDENCE], fact.reply_code[:1]):
        refined = f", refining the stated {stated}" if stated else ""
        return f"the remote server's reply text{refined}"
    return "the notification text"


def _reply_source(fact: Fact, reply: str) -> str:
    if not reply:
        return "none"
    if reply == find_reply_code(fact.diagnosis[:MAX_EVIDENCE], reply[:1]):
        return "the remote server's reply text"
    return "the report"


def render(name: str, e: Explanation) -> str:
    """The decision path as text, for a terminal."""
    lines = [name]
    if e.error:
        lines.append(f"  error: {e.error}")
    lines.append("  detectors tried, in order: " + " ".join(
        t.detector + ("" if not t.matched else "(read it)" if t.facts else "(matched, found "
                      "nothing)") for t in e.tried))
    lines.append(f"  read by: {e.detector or 'none'}")
    if not e.paths:
        lines.append("  no records: not a report any detector reads")
    for p in e.paths:
        r = p.record
        lines.append(f"  {r.recipient or '(no recipient)'}: {r.reason or r.kind}"
                     f"{' (expired: the MTA gave up after retrying)' if r.expired else ''}")
        lines.append(f"    status {r.extended or '-'} from {p.status_source}; "
                     f"reply {r.code or '-'} from {p.reply_source}")
        lines.append(f"    rule {r.rule}" + (f", matched {r.matched!r}" if r.matched else ""))
        lines.append("    path:")
        lines += [f"      {step}" for step in p.steps]
        if p.alternatives:
            lines.append("    also matched:")
            lines += [f"      {a.reason}: {a.rule} ({a.matched!r})" for a in p.alternatives]
    return "\n".join(lines)


__all__ = ["Alternative", "Explanation", "Path", "Tried", "explain", "render"]
