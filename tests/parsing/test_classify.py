"""The reason classifier as a table: the evidence of one failure -> its reason.

Each row is (diagnosis, status, reply, command, extra Fact fields) -> reason. The texts are
what real servers write (paraphrased, with invented names); each row exercises one rule.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bounceloop.core.reasons import REASONS
from bounceloop.parsing import classify
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.parse import parse
from bounceloop.parsing.rules.phrases import PHRASES

Row = tuple[str, str, str, str, dict[str, Any], str]

TABLE: list[Row] = [
    # The status code's meaning, when the text adds nothing.
    ("550 5.2.2 <a@example.org>... Mailbox Full", "5.2.2", "550", "RCPT", {}, "mailboxfull"),
    ("550 5.1.1 <a@example.org>: Recipient address rejected: User unknown in local "
     "recipient table", "5.1.1", "550", "RCPT", {}, "userunknown"),
    ("550 5.1.2 bad destination system", "5.1.2", "550", "RCPT", {}, "hostunknown"),
    ("550 5.1.6 recipient no longer on server", "5.1.6", "550", "RCPT", {}, "hasmoved"),
    ("554 5.7.26 message fails DMARC", "5.7.26", "554", "DATA", {}, "authfailure"),
    ("550 5.7.25 the sending IP has no PTR", "5.7.25", "550", "MAIL", {}, "requireptr"),
    ("550 5.7.27 null MX", "5.7.27", "550", "RCPT", {}, "rejected"),
    # Dovecot's rejection_reason with a Sieve script's own words (Pigeonhole's reject action).
    ("554 5.7.1 Your message to <a@b.example> was automatically rejected: I do not accept "
     "messages from you", "5.7.1", "554", "DATA", {"recipient": "a@b.example"}, "filtered"),
    # A report with no Remote-MTA (OpenSMTPD writes none, nor the command): Yahoo's reply
    # signs itself with its host, which chooses Yahoo's documented table.
    ("554 delivery error: dd This user doesn't have a yahoo.com account (a@b.example) [0] - "
     "mta1001.mail.bf1.yahoo.com", "", "554", "", {"recipient": "a@b.example"}, "userunknown"),
    # The same reply passed on by a relay the report names as the remote host: no table
    # knows the relay, the reply's signature names Yahoo.
    ("554 delivery error: dd This user doesn't have a yahoo.com account (a@b.example) [0] - "
     "mta1001.mail.bf1.yahoo.com", "", "554", "DATA",
     {"recipient": "a@b.example", "remote_mta": "relay.example.net"}, "userunknown"),
    ("552 5.7.0 This message was blocked because its content presents a potential security "
     "issue. - gsmtp", "5.7.0", "552", "DATA", {}, "virusdetected"),
    ("552 5.3.4 message too big for system", "5.3.4", "552", "DATA", {}, "mesgtoobig"),
    ("550 5.2.3 RESOLVER.RST.RecipSizeLimit", "5.2.3", "550", "RCPT", {}, "exceedlimit"),
    ("525 5.7.13 user account disabled", "5.7.13", "525", "RCPT", {}, "suspend"),
    ("554 5.6.0 headers malformed", "5.6.0", "554", "DATA", {}, "contenterror"),
    ("501 5.1.8 bad sender's system address", "5.1.8", "501", "MAIL", {}, "rejected"),
    ("250 2.1.5 OK", "2.1.5", "250", "", {}, "delivered"),
    # Words beat a vague code.
    ("550 5.0.0 mailbox is full", "5.0.0", "550", "RCPT", {}, "mailboxfull"),
    # "Exceeded its quota" in any tense: a plain-text notice with no code at all.
    ("rejected due to the user exceeding its mailbox quota", "", "", "", {}, "mailboxfull"),
    ("552 the mailbox exceeds its storage quota", "", "552", "RCPT", {}, "mailboxfull"),
    ("550 5.7.1 Client host [192.0.2.9] blocked using zen.spamhaus.org", "5.7.1", "550",
     "RCPT", {}, "blocked"),
    ("554 5.7.1 Service unavailable; Client host rejected: dynamic IP", "5.7.1", "554",
     "RCPT", {}, "blocked"),
    ("550 5.7.1 Unauthenticated email is not accepted due to the domain's DMARC policy",
     "5.7.1", "550", "DATA", {}, "authfailure"),
    ("550 5.7.1 Reverse DNS lookup for host 192.0.2.5 failed", "5.7.1", "550", "MAIL", {},
     "requireptr"),
    ("554 5.7.1 Relay access denied", "5.7.1", "554", "RCPT", {}, "norelaying"),
    ("552 5.7.0 message content rejected as spam", "5.7.0", "552", "DATA", {},
     "spamdetected"),
    ("554 5.7.1 Virus found in attachment", "5.7.1", "554", "DATA", {}, "virusdetected"),
    ("550 5.7.1 Message not accepted for policy reasons", "5.7.1", "550", "DATA", {},
     "policyviolation"),
    ("421 4.7.0 too many connections from your IP", "4.7.0", "421", "CONN", {},
     "toomanyconn"),
    ("451 4.7.1 you are sending too fast, try again slower", "4.7.1", "451", "MAIL", {},
     "speeding"),
    ("550 Message rejected: headers are not RFC compliant (duplicate Subject header)", "",
     "550", "DATA", {}, "notcompliantrfc"),
    ("550 Your IP has a poor reputation", "", "550", "MAIL", {}, "badreputation"),
    ("530 5.7.0 Must issue a STARTTLS command first", "5.7.0", "530", "MAIL", {},
     "failedstarttls"),
    ("554 5.7.1 SMTP authentication required", "5.7.1", "554", "MAIL", {}, "securityerror"),
    ("Host or domain name not found. Name service error for name=nowhere.example: Host not "
     "found", "5.4.4", "", "", {}, "hostunknown"),
    # Before MAIL FROM only the client can have been judged (RFC 5321 3.3): Proofpoint's and
    # Mimecast's connection-time refusals.
    ("550 5.7.0 Local Policy Violation", "5.7.0", "550", "CONN", {}, "blocked"),
    ("421 Sender address blocked", "", "421", "CONN", {}, "blocked"),
    ("550 5.7.0 Local Policy Violation", "5.7.0", "550", "DATA", {}, "policyviolation"),
    # postscreen(8) judged the client's IP (deny list, DNSBL, pregreet or pipelining tests).
    ("550 5.3.2 Service currently unavailable", "5.3.2", "550", "RCPT", {}, "blocked"),
    ("450 4.3.2 Service currently unavailable", "4.3.2", "450", "RCPT", {}, "blocked"),
    # RFC 3463 X.3.2 held temporarily: the remote system's own condition (maddy's storage
    # error, internal/storage/imapsql/delivery.go), not a destination that takes no mail.
    ("453 4.3.2 Internal server error, try again later", "4.3.2", "453", "DATA", {},
     "systemerror"),
    # The sender named by its address, with no command known (Gmail's and Microsoft 365's
    # bounces name none): smtpf's and Apache James's sender refusals.
    ("550 5.7.1 sender <spammer@example.org> black listed #127", "5.7.1", "550", "", {},
     "rejected"),
    ("550 5.7.1 Sender <someone@example.org> is not allowed for unauthenticated connection "
     "from 192.0.2.25", "5.7.1", "550", "", {}, "rejected"),
    # X.1.0 "other address status": the words say whose address, at RCPT TO too (Exchange
    # Online).
    ("550 5.1.0 Sender denied", "5.1.0", "550", "RCPT", {}, "rejected"),
    # An X.5.x syntax error stays one with no command known (Postfix's non-FQDN check).
    ("504 5.5.2 <someone>: Recipient address rejected: need fully-qualified address",
     "5.5.2", "504", "", {}, "syntaxerror"),
    # The client's HELO name refused, with no command known (Courier, mox).
    ("517 HELO mta.example.org does not exist.", "", "517", "", {}, "blocked"),
    ("550 5.5.0 your ehlo domain does not resolve to an IP address", "5.5.0", "550", "", {},
     "blocked"),
    # Words about the sender's address beat X.5.4's "invalid command arguments" (Stalwart).
    ("501 5.5.4 You are not allowed to send from this address.", "5.5.4", "501", "", {},
     "rejected"),
    ("550 5.5.1 Protocol error", "5.5.1", "550", "RCPT", {}, "blocked"),
    # A scanner's clean verdict, added by a relay to the notice, is no virus found (the
    # MailScanner signature; AVG's tagline); a rejection by a virus scanner still is one.
    ("Failed to read response template /home/jane/.vacation.msg: No such file or directory "
     "-- This message has been scanned for viruses and dangerous content by MailScanner, and "
     "is believed to be clean.", "5.0.0", "", "", {}, "mailererror"),
    ("550 5.2.2 Mailbox full. No virus found in this message. Checked by AVG", "5.2.2", "550",
     "RCPT", {}, "mailboxfull"),
    ("554 5.7.1 Message rejected by anti-virus scanner", "5.7.1", "554", "DATA", {},
     "virusdetected"),
    # iRedAPD's sender policy answers RCPT TO under Postfix's "Recipient address rejected:"
    # and X.7.1: its words are about the sender.
    ("554 5.7.1 <someone@example.com>: Recipient address rejected: Sender is not same as "
     "SMTP authenticate username", "5.7.1", "554", "RCPT", {}, "rejected"),
    ("554 5.7.1 <someone@example.com>: Recipient address rejected: SMTP AUTH is required "
     "for users under this sender domain", "5.7.1", "554", "RCPT", {}, "rejected"),
    ("554 5.7.1 <someone@example.com>: Recipient address rejected: Policy rejection due to "
     "null sender", "5.7.1", "554", "RCPT", {}, "rejected"),
    # A listed PTR name is a listed client, not a missing PTR (iRedAPD wblist_rdns).
    ("554 5.7.1 <someone@example.com>: Recipient address rejected: Blacklisted reverse DNS "
     "name of server IP address", "5.7.1", "554", "RCPT", {}, "blocked"),
    ("550 5.7.25 Client host rejected: cannot find your reverse DNS", "5.7.25", "550", "RCPT",
     {}, "requireptr"),
    # Mimecast's greylisting 451 (DOC-1369).
    ("451 Internal resource is temporarily unavailable - https://community.mimecast.com/docs/"
     "DOC-1369#451", "", "451", "RCPT", {}, "blocked"),
    # XMail's bounce (SMAILSvr.cpp): the domain does not exist, not a user in it.
    ("Recipient domain \"example.org\" does not exist (or it has a misconfigured DNS)", "5.0.0",
     "", "", {}, "hostunknown"),
    ("connect to mx.example.org[192.0.2.8]:25: No route to host", "4.4.1", "", "", {},
     "networkerror"),
    ("connect to mx.example.org[192.0.2.8]:25: Connection timed out", "4.4.1", "", "", {},
     "expired"),
    ("The domain example.org doesn't receive email: returned Null MX", "", "", "", {},
     "notaccept"),
    ("451 4.3.0 Internal server error", "4.3.0", "451", "DATA", {}, "systemerror"),
    ("452 4.3.1 Insufficient system storage: mail system full", "4.3.1", "452", "RCPT", {},
     "systemfull"),
    ("command died with status 1: \"/usr/local/bin/filter\"", "5.3.0", "", "",
     {"diagnostic_type": "X-UNIX"}, "mailererror"),
    # Postfix pipe(8): the status is its mapping of the command's exit code (sys_exits.c:
    # EX_NOPERM is 5.7.0, "permission denied"); the command's own words say why.
    ("The recipient mailbox has exceeded its disk space limit.", "5.7.0", "", "",
     {"diagnostic_type": "X-UNIX"}, "mailboxfull"),
    ("500 5.5.2 Syntax error, command unrecognized", "5.5.2", "500", "DATA", {},
     "syntaxerror"),
    ("550 5.1.1 Address suppressed: on the account's suppression list", "5.1.1", "550", "RCPT",
     {}, "userunknown"),
    # The command matters: "user unknown" answering RCPT is the address; after DATA (or with
    # no command at all) a filter acting for the recipient wrote it.
    ("550 User unknown", "5.0.0", "550", "RCPT", {}, "userunknown"),
    ("550 User unknown", "5.0.0", "550", "DATA", {}, "filtered"),
    ("550 User unknown", "5.0.0", "550", "", {}, "filtered"),
    ("550 5.2.1 <a@example.org>... User Unknown", "5.2.1", "550", "RCPT", {}, "userunknown"),
    ("550 5.2.1 <a@example.org>... User Unknown", "5.2.1", "550", "DATA", {}, "filtered"),
    # A rejection at MAIL FROM is about the sender.
    ("553 sorry, your envelope sender domain must exist", "", "553", "MAIL", {}, "rejected"),
    ("550 Sender verify failed", "", "550", "MAIL", {}, "rejected"),
    # Sendmail's access map REJECT names the sender ("<addr>... Access denied"); the same
    # words alone at MAIL FROM are Dovecot submission's refusal of an unauthenticated user.
    ("550 5.7.1 <a@example.org>... Access denied", "5.7.1", "550", "MAIL", {}, "rejected"),
    ("554 5.7.1 Access denied (anonymous user)", "5.7.1", "554", "MAIL", {}, "securityerror"),
    ("550 5.7.1 <a@example.org>... Access denied", "5.7.1", "550", "", {}, "securityerror"),
    # A DNS failure reported as temporary is not "no such domain".
    ("Name service error for domain example.org: Host not found, try again", "", "", "", {},
     "networkerror"),
    # A reason the format states: final unless weak, and then a stronger probe wins.
    ("anything at all", "5.0.0", "550", "", {"reason": "feedback"}, "feedback"),
    ("552 quota exceeded", "5.0.0", "552", "RCPT", {"reason": "userunknown"}, "mailboxfull"),
    ("user lookup failed in directory", "", "", "", {"reason": "userunknown"}, "userunknown"),
    # A delayed report with nothing else to go on has expired (the MTA is still retrying).
    ("", "4.0.0", "", "", {"action": "delayed"}, "expired"),
    # The notification text is weaker than the server's reply...
    ("550 5.1.8 Sender address rejected", "5.1.8", "550", "",
     {"context": "Address not found: the address couldn't be found"}, "rejected"),
    # ...but speaks when the reply says nothing.
    ("", "5.0.0", "", "", {"context": "The recipient's mailbox is full."}, "mailboxfull"),
    # A local delivery agent's own words, even in the notification text.
    ("550 5.1.1 <b@example.org>... User unknown", "5.1.1", "550", "",
     {"context": "Your message to <b@example.org> was automatically rejected: Quota exceeded"},
     "mailboxfull"),
    ("procmail: Error while writing to \"/var/mail/c\"", "", "", "", {}, "mailererror"),
    # Provider tables, chosen by the recipient's domain or the rejecting host.
    ("550 5.1.1 RCP-P1 Recipient address does not exist", "5.1.1", "550", "RCPT",
     {"recipient": "x@facebook.com"}, "userunknown"),
    ("554 delivery error: dd Sorry, this mailbox is disabled", "", "554", "RCPT",
     {"remote_mta": "mta5.am0.yahoodns.net"}, "suspend"),
    ("550 5.1.0 <x@example.net> sender rejected. AUP#CXSMTP", "5.1.0", "550", "MAIL",
     {"recipient": "a@cox.net"}, "rejected"),
    ("550 Adresse d au moins un destinataire invalide. OFR_416", "5.1.1", "550", "RCPT",
     {"recipient": "a@orange.fr"}, "userunknown"),
    # An MTA's own category is a hint for when the evidence decides nothing.
    ("550 refused: ref 48-xz", "5.0.0", "550", "RCPT", {"hint": "suspend"}, "suspend"),
    ("550 5.2.2 over quota", "5.2.2", "550", "RCPT", {"hint": "suspend"}, "mailboxfull"),
    # What is still undecided: a reply code alone (RFC 5321), else onhold, else undefined.
    ("551 not here", "", "551", "RCPT", {}, "hasmoved"),
    ("521 no thanks", "", "521", "CONN", {}, "notaccept"),
    ("550 unclear", "5.0.0", "550", "RCPT", {}, "onhold"),
    ("", "", "", "", {}, "undefined"),
    # Auto-reply wording in a diagnostic.
    ("I am out of the office until Monday", "", "", "", {}, "vacation"),
    # Issue 18: the documented reply wins over a status-table guess or a nearby phrase.
    # Too many recipients in one transaction (RFC 3463 X.5.3) is a per-message limit; "from
    # <client>" is Postfix's recipient rate limit.
    ("452 4.5.3 Error: too many recipients", "4.5.3", "452", "RCPT", {}, "exceedlimit"),
    ("554 Too many recipients", "5.0.0", "554", "RCPT", {}, "exceedlimit"),
    ("450 4.7.1 Error: too many recipients from 192.0.2.9", "4.7.1", "450", "RCPT", {},
     "speeding"),
    ("452 4.5.3 Too many recipients: Too many messages sent", "4.5.3", "452", "MAIL", {},
     "speeding"),
    # Exchange's sender submission quota is a sending limit, not a full mailbox.
    ("554 5.2.2 Submission quota exceeded", "5.2.2", "554", "", {}, "speeding"),
    ("552 5.2.2 Quota exceeded", "5.2.2", "552", "RCPT", {}, "mailboxfull"),
    # Postfix's sender restrictions answer RCPT TO, with the sender's words and code.
    ("504 5.5.2 <bounce>: Sender address rejected: need fully-qualified address", "5.5.2",
     "504", "RCPT", {}, "rejected"),
    ("550 5.1.0 <b@example.org>: Sender address rejected: undeliverable address: User unknown",
     "5.1.0", "550", "RCPT", {}, "rejected"),
    ("550-Unrouteable address\n550 Sender verify failed", "5.0.0", "550", "RCPT", {},
     "rejected"),
    ("554 5.7.1 Service unavailable; Sender address [s@example.org] blocked using "
     "dbl.example.net", "5.7.1", "554", "RCPT", {}, "rejected"),
    ("450 4.7.1 <mx.example.org>: Helo command rejected: Host not found", "4.7.1", "450",
     "RCPT", {}, "blocked"),
    ("450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]",
     "4.7.1", "450", "RCPT", {}, "requireptr"),
    # RFC 3463 X.7.1's own words at MAIL FROM are about the sender; at RCPT they say no more
    # than the code.
    ("553 5.7.1 Delivery not authorized, message refused", "5.7.1", "553", "MAIL", {},
     "rejected"),
    ("553 5.7.1 Delivery not authorized, message refused", "5.7.1", "553", "RCPT", {},
     "securityerror"),
    # Recipient wording whose source places it at RCPT TO, read without a command: the
    # address; the same words of Postfix's check_recipient_access (5.7.1): a filter's.
    ("550 5.4.1 Recipient address rejected: Access denied", "5.4.1", "550", "", {},
     "userunknown"),
    ("550 5.1.10 Recipient not found by SMTP address lookup", "5.1.10", "550", "", {},
     "userunknown"),
    ("554 5.7.1 <a@example.org>: Recipient address rejected: Access denied", "5.7.1", "554",
     "", {}, "filtered"),
    # Session timeouts and loops are network errors; a certificate that expired is not the
    # queue's expiry.
    ("421 4.4.2 mx.example.org Error: timeout exceeded", "4.4.2", "421", "", {},
     "networkerror"),
    ("mail for example.org loops back to myself", "5.4.6", "", "", {}, "networkerror"),
    ("5.7.322 certificate-expired: Destination mail server's certificate is expired",
     "5.7.322", "", "", {}, "securityerror"),
    # Protocol errors: Google's "SMTP protocol violation" is a syntax error, and so is a bare
    # "Protocol violation" (no server documents it as a policy's).
    ("451 4.5.0 SMTP protocol violation, see RFC 2821", "4.5.0", "451", "", {},
     "syntaxerror"),
    ("550 Protocol violation", "5.0.0", "550", "DATA", {}, "syntaxerror"),
    ("554 SMTP synchronization error", "5.0.0", "554", "CONN", {}, "syntaxerror"),
    ("555 syntax error (#5.5.4)", "5.5.4", "555", "", {}, "syntaxerror"),
    # The Postfix VDA patch's quota text, whatever the 5.2.3 (message length) beside it.
    ("maildir delivery failed: Sorry, the user's maildir has overdrawn his diskspace quota, "
     "please try again later.", "5.2.3", "", "", {}, "mailboxfull"),
    # qmail-local's own failure to write the mailbox, whatever its 4.2.1 suggests.
    ("Unable to chdir to maildir. (#4.2.1)", "4.2.1", "", "", {}, "mailererror"),
    # A greeting refused with nothing more said (Postfix "refused to talk to me"): the client.
    ("554 mx.example.org ESMTP not accepting messages", "5.0.0", "554", "CONN", {},
     "blocked"),
    # Postfix's header_checks REJECT default is a content filter's; amavis adds "UBE".
    ("550 5.7.1 Message content rejected", "5.7.1", "550", "DATA", {}, "filtered"),
    ("550 5.7.1 Message content rejected, UBE, id=1234-05", "5.7.1", "550", "DATA", {},
     "spamdetected"),
    # OpenSMTPD's RCPT reply read from its own bounce, which names no command.
    ("550 Invalid recipient: <a@example.org>", "5.0.0", "550", "", {}, "userunknown"),
    # Exim's own routing verdict in its bounce (no SMTP command): no router took the address.
    ("Unrouteable address", "5.0.0", "", "", {}, "userunknown"),
    # The command says whose refusal a bare one is: after DATA, a filter's.
    ("550 5.7.1 Message refused", "5.7.1", "550", "DATA", {}, "filtered"),
    ("554 Sorry, message looks like SPAM to me", "", "554", "DATA", {}, "spamdetected"),
    ("503 5.0.0 Polite people say HELO first", "5.0.0", "503", "MAIL", {}, "syntaxerror"),
    ("421 4.7.0 mx.example.org Error: too many errors", "4.7.0", "421", "", {}, "syntaxerror"),
    ("550 5.7.0 Missing From header", "5.7.0", "550", "DATA", {}, "notcompliantrfc"),
    ("553 5.7.0 Unauthorized use of sender address", "5.7.0", "553", "MAIL", {}, "rejected"),
    ("550 5.7.1 <a@example.net>... Relaying denied. IP name possibly forged [192.0.2.9]",
     "5.7.1", "550", "RCPT", {}, "requireptr"),
    ("451 4.7.20 No passing DKIM signatures found.", "4.7.20", "451", "DATA", {},
     "authfailure"),
    ("451 4.3.0 Error: queue file write error", "4.3.0", "451", "DATA", {}, "systemerror"),
    ("451 4.7.1 TLS is required but unavailable or failed (MTA-STS)", "4.7.1", "451", "RCPT",
     {}, "failedstarttls"),
    ("517-Domain does not exist: example.org.\n517 Invalid domain", "", "517", "MAIL", {},
     "rejected"),
    ("501 5.7.27 Domain in MAIL FROM has null MX record", "5.7.27", "501", "MAIL", {},
     "rejected"),
    # ... but Postfix's HELO check answering MAIL FROM is about the client's name.
    ("450 4.7.1 <mx.example.org>: Helo command rejected: Host not found", "4.7.1", "450",
     "MAIL", {}, "blocked"),
    ("451 Bare line-feed; see http://haraka.github.io/barelf/", "", "451", "DATA", {},
     "notcompliantrfc"),
    ("454 4.5.0 SMTP protocol violation, no commands allowed to pipeline after STARTTLS",
     "4.5.0", "454", "", {}, "syntaxerror"),
    ("421 HL:ICC", "", "421", "CONN", {"recipient": "a@163.com"}, "toomanyconn"),
    ("452 4.4.5 Insufficient disk space; try again later", "4.4.5", "452", "MAIL", {},
     "systemfull"),
    ("550 Mail from 192.0.2.9 refused by rbl-plus.mail-abuse.org", "", "550", "", {},
     "blocked"),
    ("554 Service unavailable; Client host [192.0.2.9] blocked using Barracuda Reputation",
     "", "554", "", {}, "blocked"),
    ("503 5.5.1 You must authenticate first.", "5.5.1", "503", "MAIL", {}, "securityerror"),
    # Exchange Online's 5.7.511 ban names the sending IP; its 5.7.502 the sender.
    ("550 5.7.511 Access denied, banned sender[192.0.2.9]. To request removal", "5.7.511",
     "550", "RCPT", {}, "blocked"),
    ("550 5.7.502 Access denied, banned sender", "5.7.502", "550", "RCPT", {}, "rejected"),
    # Issue 18: rules that follow the servers' documented replies.
    # A syntax error in a command or its arguments (RFC 5321 4.2.2)...
    ("503 5.5.1 Polite people say EHLO first", "5.5.1", "503", "MAIL", {}, "syntaxerror"),
    ("553 5.5.4 <jane>... Domain name required", "5.5.4", "553", "MAIL", {}, "syntaxerror"),
    ("421 4.7.0 mx.example.org Error: too many errors", "4.7.0", "421", "RCPT", {},
     "syntaxerror"),
    # ...but an addressing status refusing one of the two addresses names whose it is.
    ("501 5.1.3 Bad destination mailbox address syntax", "5.1.3", "501", "RCPT", {},
     "userunknown"),
    ("501 5.1.7 Bad sender address syntax", "5.1.7", "501", "MAIL", {}, "rejected"),
    # A recipient-side filter's own words at any command; a bare refusal after DATA.
    ("550 5.7.1 Recipient doesn't want your mail", "5.7.1", "550", "RCPT", {}, "filtered"),
    ("550 5.7.1 Message refused", "5.7.1", "550", "DATA", {}, "filtered"),
    ("554 5.7.1 Spam message rejected", "5.7.1", "554", "DATA", {}, "spamdetected"),
    # Relaying refused because the client's name could not be verified: its PTR.
    ("550 5.7.1 <a@example.org>... Relaying denied. IP name lookup failed [192.0.2.7]",
     "5.7.1", "550", "RCPT", {}, "requireptr"),
    # "Mail from <IP>" is the client; "blocked using <list>" a block list, whatever its name.
    ("550 Mail from 192.0.2.7 refused by rbl.example.net", "", "550", "", {}, "blocked"),
    ("554 Client host [192.0.2.7] blocked using Example Reputation", "", "554", "", {},
     "blocked"),
    # A refusal of MAIL FROM that says nothing more is the sender's.
    ("550 go away", "5.0.0", "550", "MAIL", {}, "rejected"),
    # Words the status table's guess must not hide.
    ("451 4.7.1 TLS is required but unavailable", "4.7.1", "451", "RCPT", {},
     "failedstarttls"),
    ("452 4.4.5 Insufficient disk space; try again later", "4.4.5", "452", "MAIL", {},
     "systemfull"),
    ("452 4.2.2 Greylisted, please try again later", "4.2.2", "452", "RCPT", {}, "blocked"),
    ("452 Unable to scan for viruses", "", "452", "DATA", {}, "systemerror"),
    ("450 4.4.0 Temporary DMARC DNS lookup failure", "4.4.0", "450", "DATA", {},
     "networkerror"),
    ("451 Excessive unknown recipients - possible open relay", "", "451", "RCPT", {},
     "blocked"),
    ("452 4.5.3 Too many recipients", "4.5.3", "452", "RCPT", {}, "exceedlimit"),
    ("554 5.3.4 Line is too long.", "5.3.4", "554", "DATA", {}, "notcompliantrfc"),
    ("503 5.5.3 Message rejected.", "5.5.3", "503", "DATA", {}, "filtered"),
    ("451 VS1-IP Excessive unknown recipients - possible Open Relay (#4.1.8)", "4.1.8", "451",
     "RCPT", {}, "blocked"),
    # Status codes of RFC 3463 (routing loop) and RFC 8617 (ARC) the table reads.
    ("554 5.4.6 loop detected", "5.4.6", "554", "RCPT", {}, "networkerror"),
    ("451 4.7.29 ARC check did not pass", "4.7.29", "451", "DATA", {}, "authfailure"),
    # NetEase's own codes.
    ("421 HL:ICC", "", "421", "CONN", {"recipient": "a@163.com"}, "toomanyconn"),
    ("450 RP:DRC", "", "450", "RCPT", {"recipient": "a@126.com"}, "exceedlimit"),
    # Older servers' words, without a status (Cyrus lmtpd, Lotus Notes,
    # CompuServe, IMail, PMDF; see their phrases' sources).
    ("550-Mailbox unknown.  Either there is no mailbox associated with this name", "", "550",
     "RCPT", {}, "userunknown"),
    ("550 User not known", "", "550", "RCPT", {}, "userunknown"),
    ("550 User not listed in public Name & Address Book", "", "550", "RCPT", {},
     "userunknown"),
    ("550 Receiver not found: 70000.123", "", "550", "RCPT", {}, "userunknown"),
    ("552 User mailbox exceeds allowed size", "", "552", "RCPT", {}, "mailboxfull"),
    ("553 Illegal host/domain name found", "", "553", "RCPT", {}, "hostunknown"),
    # The MTAs' own words for an expiry, a size and a full mailbox (Exim smtp.c, Sendmail
    # queue.c, Postfix smtp_proto.c and local(8)).
    ("retry time not reached for any host after a long failure period", "", "", "", {},
     "expired"),
    ("Cannot send message for 5 days", "", "", "", {}, "expired"),
    # Local delivery agents and servers audited from their sources (issue 18): vpopmail
    # vdelivermail.c, Dovecot mail-error.h (through dovecot-lda/LMTP), XMail Errors.cpp,
    # hMailServer SMTPConnection.cpp/LocalDelivery.cpp, qpsmtpd plugins/headers.
    ("mail is looping", "", "", "", {}, "networkerror"),
    ("Auto creation of maildir failed. (#5.9.8)", "", "", "", {}, "systemerror"),
    ("Not enough disk quota", "", "", "", {}, "mailboxfull"),
    ("451 4.2.0 <a@example.org> Timeout while waiting for lock", "4.2.0", "451", "DATA", {},
     "systemerror"),
    ("User maximum mailbox size reached", "", "", "", {}, "mailboxfull"),
    ("Delivery to this account was cancelled since the account inbox is full. Max size: 100 MB",
     "", "", "", {}, "mailboxfull"),
    ("554 Your message was received but it could not be saved. Please retry later.", "", "554",
     "DATA", {}, "systemerror"),
    ("550 Delivery is not allowed to this address.", "", "550", "RCPT", {}, "norelaying"),
    ("550 Rejected by DKIM.", "", "550", "DATA", {}, "authfailure"),
    # Exim's SPF example (spec.xfpt) with the open-spf.org link dropped, as a site may.
    ("550 192.0.2.7 is not allowed to send mail from example.com", "", "550", "MAIL", {},
     "authfailure"),
    ("550 We require a valid Date header", "", "550", "DATA", {}, "notcompliantrfc"),
    # Second audit (issue 18): qmail-ldap qmail-lspawn.c/qmail-local.c/qmail-smtpd.c, Zimbra
    # LmtpReply.java, Exchange Server's documented enhanced codes, rspamd mx_check, Postal's
    # SMTP server.
    ("Mailaddress is administratively disabled. (#5.2.1)", "5.2.1", "", "", {}, "suspend"),
    ("Timeout while performing search on LDAP server. (#4.4.3)", "4.4.3", "", "", {},
     "systemerror"),
    ("Automatic homedir creator crashed (#4.3.0)", "4.3.0", "", "", {}, "systemerror"),
    ("The maildir '/home/a/Maildir/' seems to be corrupted. (#4.2.1)", "4.2.1", "", "", {},
     "mailererror"),
    ("Temporary race condition while calculating quota. (#4.3.0)", "4.3.0", "", "", {},
     "mailererror"),
    ("Unable to quota mail: file does not exist. (#4.3.0)", "4.3.0", "", "", {},
     "mailererror"),
    ("553 sorry, we don't relay for [192.0.2.1] (#5.7.1)", "5.7.1", "553", "RCPT", {},
     "norelaying"),
    ("451 4.2.2 Server accepts messages only on TLS connection", "4.2.2", "451", "RCPT", {},
     "failedstarttls"),
    ("501 5.1.4 Recipient address reserved by RFC 2606", "5.1.4", "501", "RCPT", {},
     "hostunknown"),
    ("501 5.1.6 Recipient addresses in single label domains not accepted", "5.1.6", "501",
     "RCPT", {}, "hostunknown"),
    ("550 5.2.1 Content Filter agent quarantined this message", "5.2.1", "550", "DATA", {},
     "spamdetected"),
    ("554 5.7.1 Domain published RFC 7505 Null MX", "5.7.1", "554", "DATA", {}, "rejected"),
    ("550 Invalid route token", "", "550", "RCPT", {}, "userunknown"),
    # Exim's sender verification (acl.c: "Verification failed for <sender>", the verifying
    # router's words, "Sender verify failed"), quoted by a notice that names no command: the
    # unknown user is the sender.
    ("550-Verification failed for <s@example.org> 550-No Such User Here 550 Sender verify "
     "failed", "", "550", "", {}, "rejected"),
    ("message size 12345 exceeds size limit 10240 of server mx.example.org[192.0.2.1]", "",
     "", "", {}, "mesgtoobig"),
    ("cannot update mailbox /var/mail/jane for user jane. error writing message: File too "
     "large", "", "", "", {}, "mailboxfull"),
    # An audit of the MTAs' own error strings (Postfix local/cleanup/dns/postscreen, Exim,
    # Sendmail, OpenSMTPD): each row is a string the program writes, and fails without its
    # phrase.
    ("alias database loop for jane", "", "", "", {}, "networkerror"),
    ("remote host address is the local host", "", "", "", {}, "networkerror"),
    ("No valid route to remote MX", "", "", "", {}, "networkerror"),
    ("Address family mismatch on destination MXs", "", "", "", {}, "networkerror"),
    ("alias database unavailable", "", "", "", {}, "systemerror"),
    ("user lookup error", "", "", "", {}, "systemerror"),
    ("cannot access home directory /home/jane: Permission denied", "", "", "", {},
     "systemerror"),
    ("destination /var/mail/jane is not owned by recipient", "", "", "", {}, "systemerror"),
    ("failed to lock mailbox /var/mail/jane (lock file)", "", "", "", {}, "systemerror"),
    ("Deferred: user database error", "", "", "", {}, "systemerror"),
    ("421 Too much load; please try again later.", "", "421", "CONN", {}, "systemerror"),
    ("message header length exceeds safety limit", "", "", "", {}, "contenterror"),
    ("MIME nesting exceeds safety limit", "", "", "", {}, "contenterror"),
    ("invalid message/* or multipart/* encoding domain", "", "", "", {}, "contenterror"),
    ("552 Message header not CRLF terminated", "", "552", "DATA", {}, "contenterror"),
    ("Name service error for example..org: invalid host or domain name", "", "", "", {},
     "hostunknown"),
    ("all hosts for 'example.org' have been failing for a long time (and retry time not "
     "reached)", "", "", "", {}, "expired"),
    ("451 4.3.0 mailer local died with signal 9", "4.3.0", "451", "", {}, "mailererror"),
    ("500 Too many syntax or protocol errors", "", "500", "MAIL", {}, "syntaxerror"),
    ("421 4.3.2 All server ports are busy", "4.3.2", "421", "CONN", {}, "toomanyconn"),
    ("550 5.7.1 bogus HELO name used: localhost", "5.7.1", "550", "RCPT", {}, "blocked"),
    # Proofpoint's refusal of a sending IP its reputation service blocks, whatever X.7.0.
    ("554 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.25", "5.7.0", "554",
     "RCPT", {}, "blocked"),
    # Yahoo's TSS04 is about the sending IP's reputation (its error codes page), also when
    # Yahoo's own host is the remote.
    ("421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected "
     "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
     "4.7.0", "421", "MAIL", {"remote_mta": "mta6.am0.yahoodns.net"}, "badreputation"),
    # Yahoo's TS03/TSS09 "All messages from <IP> will be permanently deferred": the IP's bulk
    # volume (Yahoo's SLN3436), not a refused sender.
    ("421 4.7.1 [TS03] All messages from 192.0.2.25 will be permanently deferred; Retrying "
     "will NOT succeed. See https://help.yahoo.com/kb/postmaster/SLN3436.html", "4.7.1", "421",
     "MAIL", {"remote_mta": "mta7.am0.yahoodns.net"}, "badreputation"),
    ("553 5.7.2 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying "
     "will NOT succeed", "5.7.2", "553", "MAIL", {}, "badreputation"),
    # Postfix's failed lookup table at the receiving server (smtpd_check.c reject_dict_retry),
    # not a DNS failure; Sendmail's DNSBL lookup "of <address> at <list>" is one.
    ("451 4.3.0 <a@example.org>: Temporary lookup failure", "4.3.0", "451", "RCPT", {},
     "systemerror"),
    ("451 Temporary lookup failure of 192.0.2.9 at bl.example.net", "4.4.3", "451", "MAIL", {},
     "networkerror"),
    # A word inside a host name or a longer word is not the phrase: "dialup.example.net" is
    # the host that wrote a loop error (Sendmail "config error: mail loops back to me"), and
    # "registered as spammer" is a recipient's own reject list, not a spam verdict.
    ("553 dialup.example.net config error: mail loops back to myself", "", "553", "", {},
     "networkerror"),
    ("550 5.7.1 Client host rejected: dial-up IP not allowed", "5.7.1", "550", "RCPT", {},
     "blocked"),
    # Words that name the cause beat a status that names another: a disabled account under
    # 5.1.1, SPF under a bare 5.7.1, Exchange 2003's "not found in DNS" under its 5.4.0.
    ("550 5.1.1 <jane@example.org> recipient rejected, account administratively disabled",
     "5.1.1", "550", "RCPT", {}, "suspend"),
    ("550 5.7.1 [BFD] Sender prohibited by SPF", "5.7.1", "550", "MAIL", {}, "authfailure"),
    ("The destination server for this recipient could not be found in Domain Name Service "
     "(DNS). Please verify the email address and retry. <mail.example.net #5.4.0>", "5.4.0",
     "", "", {}, "hostunknown"),
    # A checker the receiving server could not run is its own error, not a virus found or an
    # authentication failed (MIMEDefang; Cisco AsyncOS, here without its 4.7.1).
    ("451 4.3.0 Problem running virus-scanner", "4.3.0", "451", "DATA", {}, "systemerror"),
    ("451 Unable to perform DMARC verification.", "", "451", "DATA", {}, "systemerror"),
    # hMailServer's error before any reply: its own loop guard, or a failed connection.
    ("Error Type: SMTP Connection to recipients server failed. Error: Could not connect to "
     "192.0.2.9 on port 25 since this would mean connecting to myself.", "", "", "", {},
     "networkerror"),
    # qmail-remote ends every permanent failure with "Giving up on <ip>.": not an expiry.
    ("192.0.2.7 does not like recipient. Remote host said: 557 Email address - a@example.org"
     " - is not available here. Giving up on 192.0.2.7.", "", "557", "RCPT", {}, "onhold"),
    # Gmail's permanent failure after an NXDOMAIN answer; one it still retries (4.0.0) it
    # took for a lookup that may yet succeed.
    ("DNS Error: Address resolution of example.org. failed: Domain name not found", "", "",
     "", {}, "hostunknown"),
    ("DNS Error: Address resolution of example.org. failed: Domain name not found", "4.0.0",
     "", "", {}, "networkerror"),
    # Catalogue families of issue 18 (Mail.ru, Cisco AsyncOS, DNSBLs): Mail.ru refuses an
    # unknown mailbox only after DATA and names it; AsyncOS's SPF reject and its directory
    # harvest drop; a URI domain of the message on SURBL or the Spamhaus DBL, after DATA.
    ("550 Message was not accepted -- invalid mailbox. Local mailbox a@mail.example is "
     "unavailable: user not found", "", "550", "DATA", {}, "userunknown"),
    ("550 #5.7.1 SPF unauthorized mail is prohibited.", "5.7.1", "550", "", {}, "authfailure"),
    ("550 Too many invalid recipients.", "", "550", "RCPT", {}, "blocked"),
    ("550 spam.example.net blacklisted in multi.surbl.org", "5.0.0", "550", "DATA", {},
     "spamdetected"),
    ("550 spam.example.net listed in dbl.spamhaus.org; see "
     "http://www.spamhaus.org/query/dbl?domain=spam.example.net", "5.0.0", "550", "DATA", {},
     "spamdetected"),
    # MailChannels Outbound Filtering: its content filter's [CS] block, and an [RBL] block
    # whose "sender" is the listed sending IP.
    ("550 5.7.1 [CS] Message blocked. If this is a false positive, please report this to your "
     "hosting service provider.", "5.7.1", "550", "DATA", {}, "spamdetected"),
    ("550 5.7.1 [RBL] Sender blocked 192.0.2.25", "5.7.1", "550", "", {}, "blocked"),
    # RFC 3463's title of X.1.1, written with no command and no status of its own (Libero's
    # help page): the recipient address, not a filter.
    ("BAD DESTINATION MAILBOX ADDRESS", "5.0.0", "", "", {}, "userunknown"),
    # Open-source filters, policy servers and MTAs (catalogue families iredapd, pmg,
    # opendkim, zonemta, spamd, wildduck, go-guerrilla): their own words name the cause.
    ("554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: Message size is too large", "5.7.1",
     "554", "DATA", {}, "mesgtoobig"),
    ("451 4.3.0 Error: maximum DATA size exceeded (10485760)", "4.3.0", "451", "DATA", {},
     "mesgtoobig"),
    ("554 5.7.1 <jane@example.org>: Recipient address rejected: Rejected by SPF: 192.0.2.25 "
     "is not a designated mailserver for s@example.net (context mfrom, on gw.example.org)",
     "5.7.1", "554", "RCPT", {}, "authfailure"),
    ("550 5.7.0 bad DKIM signature data", "5.7.0", "550", "DATA", {}, "authfailure"),
    ("550 5.7.0 no DKIM signature data", "5.7.0", "550", "DATA", {}, "authfailure"),
    ("550 5.7.0 DKIM signature syntax error", "5.7.0", "550", "DATA", {}, "authfailure"),
    ("553 The recipient address <jane doe@example.org> is not a valid RFC-5321 address.", "",
     "553", "RCPT", {}, "userunknown"),
    ("450-Your address 192.0.2.25 is in the nixspam list 450 See "
     "http://www.heise.de/ix/nixspam/dnsbl_en/ for details", "", "450", "DATA", {}, "blocked"),
    ("450 Your address 192.0.2.25 has mailed to spamtraps here", "", "450", "DATA", {},
     "blocked"),
    ("450-Your address 192.0.2.25 has sent mail to a ualberta.ca spamtrap 450 within the last "
     "24 hours", "", "450", "DATA", {}, "blocked"),
    ("450-SPAM. Your address 192.0.2.25 appears to be from China 450 See "
     "http://www.okean.com/asianspamblocks.html for more details", "", "450", "DATA", {},
     "blocked"),
    ("451 4.7.0 internal DKIM error", "4.7.0", "451", "DATA", {}, "systemerror"),
    ("554 5.5.0 Transaction failed - backend not running ShutteredState", "5.5.0", "554",
     "DATA", {}, "systemerror"),
    ("450 Failed to queue message [ERRQ05]", "", "450", "DATA", {}, "systemerror"),
    ("500 A delivery loop was detected which causes this email which caused the email to be "
     "undeliverable (26)", "", "500", "DATA", {}, "networkerror"),
    # A password that expired is the submitting account's, not the queue's lifetime.
    ("554 5.7.1 <jane@example.org>: Recipient address rejected: Password expired or never "
     "changed, please change your password in webmail before sending email", "5.7.1", "554",
     "RCPT", {}, "securityerror"),
    # A line over RFC 5322's 998 characters is the message's form, whatever limit code.
    ("550 5.2.3 Error: maximum line length exceeded", "5.2.3", "550", "DATA", {},
     "notcompliantrfc"),
    # A permanent reply about the server's own timeout is not the queue's lifetime.
    ("554 5.5.0 Error: transaction timeout", "5.5.0", "554", "DATA", {}, "systemerror"),
    ("451 4.7.0 resource unavailable", "4.7.0", "451", "DATA", {}, "systemerror"),
    # A check that could not finish for a DNS error is not a failed authentication, even
    # under RFC 7372's X.7.24; OpenDKIM's words are a DNS failure only when temporary.
    ("450 4.7.24 <jane@example.org>: Recipient address rejected: Message deferred due to: "
     "SPF Temporary Error: DNS The DNS operation timed out.", "4.7.24", "450", "RCPT", {},
     "networkerror"),
    ("451 4.7.5 DKIM key retrieval failed", "4.7.5", "451", "DATA", {}, "networkerror"),
    ("550 5.7.0 DKIM key retrieval failed", "5.7.0", "550", "DATA", {}, "authfailure"),
    # Postfix's non-FQDN recipient: a syntax status decides; without one, no such user.
    ("504 5.5.2 <jane>: Recipient address rejected: need fully-qualified address", "5.5.2",
     "504", "RCPT", {}, "syntaxerror"),
    ("Recipient address rejected: need fully-qualified address", "", "", "RCPT", {},
     "userunknown"),
    # A network status answering MAIL FROM is a lookup the server could not make.
    ("451 4.4.0 cannot verify mx records for mailfrom domain", "4.4.0", "451", "MAIL", {},
     "networkerror"),
    # 501 to HELO/EHLO: a syntax error in its argument, not a refusal of the client.
    ("501 5.5.1 HELO/EHLO requires domain address", "5.5.1", "501", "EHLO", {},
     "syntaxerror"),
    ("550 5.5.0 HELO rejected", "5.5.0", "550", "EHLO", {}, "blocked"),
    # A security refusal before MAIL FROM can only be of the client.
    ("554 5.7.1 Access denied", "5.7.1", "554", "EHLO", {}, "blocked"),
    # qmail-local's failures on the destination system itself; its others are a mailer's.
    ("Timeout on maildir delivery. (#4.3.0)", "4.3.0", "", "", {}, "systemerror"),
    ("Uh-oh: home directory is writable. (#4.7.0)", "4.7.0", "", "", {}, "systemerror"),
    ("Unable to chdir to maildir. (#4.2.1)", "4.2.1", "", "", {}, "mailererror"),
    # A DMARC check that did not run, under the X.7.1 of a blocked client.
    ("451 #4.7.1 Unable to perform DMARC verification.", "4.7.1", "451", "DATA", {},
     "systemerror"),
    ("451 4.7.1 Client host blocked for 10 minutes", "4.7.1", "451", "DATA", {}, "blocked"),
    # No command named: words that say the client's IP was blocked beat the spam it sent;
    # after DATA, the spam filter's words decide.
    ("550 5.7.1 [192.0.2.25] Our system has detected an unusual rate of unsolicited mail "
     "originating from your IP address. To protect our users from spam, mail sent from your "
     "IP address has been blocked.", "5.7.1", "550", "", {}, "blocked"),
    ("550 5.7.1 Message rejected as spam by Content Filtering.", "5.7.1", "550", "", {},
     "spamdetected"),
    # A reply with no enhanced code, in a report with no Status field (a plain-text
    # notification): the spam filter's words decide after DATA all the same.
    ("550 spam.example.net listed in dbl.spamhaus.org; see "
     "http://www.spamhaus.org/query/dbl?domain=spam.example.net", "", "550", "DATA", {},
     "spamdetected"),
    # No command named: RFC 3463's X.1.x still says whose address was malformed.
    ("501 5.1.7 Bad sender address syntax", "5.1.7", "501", "", {}, "rejected"),
    ("501 5.1.3 Bad recipient address syntax", "5.1.3", "501", "", {}, "userunknown"),
    ("501 5.5.4 Syntax error in parameters scanning \"TO\"", "5.5.4", "501", "", {},
     "syntaxerror"),
    # Microsoft 365 relaying another server's refusal: the remote's words, not a sending
    # limit of Microsoft's own.
    ("552 5.7.1 Spam score exceeded threshold", "5.7.1", "552", "DATA",
     {"remote_mta": "mx.example.org", "reporting_mta": "AM0PR01MB1234.eurprd01.prod.outlook.com"},
     "spamdetected"),
    # Postfix's anvil limit on one client's recipients per time unit, relayed by Microsoft
    # 365: a rate (smtpd_client_recipient_rate_limit), not too many recipients in a message.
    ("450 4.7.1 Error: too many recipients from 192.0.2.25", "4.7.1", "450", "RCPT",
     {"remote_mta": "mx.example.org", "reporting_mta": "AM0PR01MB1234.eurprd01.prod.outlook.com"},
     "speeding"),
    ("450 4.7.1 Error: too many recipients from 192.0.2.25", "4.7.1", "450", "RCPT",
     {"remote_mta": "mx.example.org", "reporting_mta": "googlemail.com"}, "speeding"),
    # Postfix's RHSBL check of the sender's domain, relayed by Microsoft 365: its table's
    # "blocked using" (Microsoft's own client blocks) does not read the sender's refusal.
    ("554 5.7.1 Service unavailable; Sender address [spammer@example.org] blocked using "
     "dbl.spamhaus.org", "5.7.1", "554", "",
     {"remote_mta": "mx.example.org", "reporting_mta": "AM0PR01MB1234.eurprd01.prod.outlook.com"},
     "rejected"),
    # Microsoft's own NDRs as its reference explains them: 5.7.502 bans the sending account
    # (the sender's fault), 5.7.25 asks for an IPv6 sender's reverse DNS record.
    ("5.7.502 Access denied, banned sender", "5.7.502", "", "", {"recipient": "jane@outlook.com"},
     "rejected"),
    ("5.7.25 Access denied, the sending IPv6 address [2a01:111:f200:2004::240] must have a "
     "reverse DNS record", "5.7.25", "", "", {"recipient": "jane@outlook.com"}, "requireptr"),
    # A DMARC check that could not run is no failed authentication, in a provider's table
    # too (Microsoft's "dmarc verification" words; Cisco AsyncOS's default reply).
    ("451 #4.7.1 Unable to perform DMARC verification.", "4.7.1", "451", "DATA",
     {"recipient": "jane@outlook.com"}, "systemerror"),
]


@pytest.mark.parametrize(("text", "status", "reply", "command", "extra", "reason"), TABLE,
                         ids=[f"{r[5]}:{r[0][:40]}" for r in TABLE])
def test_reason(text: str, status: str, reply: str, command: str, extra: dict[str, Any],
                reason: str) -> None:
    fact = Fact(recipient=extra.pop("recipient", "jane@example.org"), diagnosis=text,
                status=status, reply_code=reply, command=command,
                action=extra.pop("action", "failed"), **extra)
    assert classify.decide(fact) == reason


def test_every_phrase_reason_is_a_reason() -> None:
    assert set(PHRASES) <= set(REASONS)
    assert set(classify.PROBES) <= set(REASONS)
    assert set(classify.PHRASE_ORDER) <= set(REASONS)


def test_every_reason_is_reachable_in_the_table() -> None:
    reachable = {row[5] for row in TABLE}
    # Only delivered/feedback/vacation come from elsewhere too; all must show up here.
    missing = set(REASONS) - reachable - {"suppressed"}
    assert not missing, missing


def test_evidence_is_capped() -> None:
    fact = Fact(diagnosis="x " * 1_000_000 + "mailbox is full")
    # Past MAX_EVIDENCE characters nothing is read: a megabyte of noise decides nothing.
    assert classify.decide(fact) == "onhold"


# ---------------------------------------------------------------------------------------------
# Every record explains itself (issue 18 item 6): the rule that decided and the text it matched.

BOUNCES = Path(__file__).resolve().parents[1] / "data" / "bounces"

#: (sample, recipient's record index, rule, matched): one row per kind of rule.
RULES: list[tuple[str, int, str, str]] = [
    ("postfix-01.eml", 0, "status:5.1.1", "5.1.1"),
    ("biglobe-01.eml", 0, "phrase:mailboxfull/mail-box-exceeded", "mailbox exceeded"),
    ("amavis-01.eml", 0, "phrase:spamdetected/dash-spam", "- spam"),
    ("office365-02.eml", 0, "provider:microsoft/userunknown.1", "recipientnotfound"),
    ("arf-02.eml", 0, "detector:arf/feedback", ""),
    ("rfc3464-01.eml", 1, "phrase:networkerror/host-name-lookup-failure",
     "host name lookup failure"),
    # "no such user" answered after DATA: a filter acting for the recipient; the phrase that
    # decided is userunknown's.
    ("surfcontrol-01.eml", 0, "phrase:userunknown/no-such-user", "no such user"),
]


@pytest.mark.parametrize(("name", "index", "rule", "matched"), RULES)
def test_rule_of_a_real_sample(name: str, index: int, rule: str, matched: str) -> None:
    record = parse((BOUNCES / name).read_bytes()).records[index]
    assert (record.rule, record.matched) == (rule, matched)


def test_every_record_names_its_rule() -> None:
    seen: set[str] = set()
    for path in sorted(BOUNCES.glob("*.eml")):
        for record in parse(path.read_bytes()).records:
            assert record.rule, path.name
            kind, _, rest = record.rule.partition(":")
            seen.add(kind)
            if kind == "phrase":
                # The phrase named matches the text the record says it matched, and that
                # text is in the diagnostic or the notification.
                reason, _, id_ = rest.partition("/")
                phrase = next(p for p in PHRASES[reason] if p.id == id_)
                assert re.search(phrase.pattern, record.matched), (path.name, record.rule)
                assert record.matched in path.read_bytes().decode("latin-1").lower() or \
                    record.matched in record.description.lower(), path.name
            elif kind in ("status", "reply"):
                assert record.matched == rest, path.name
    assert {"phrase", "status", "provider", "detector", "expiry"} <= seen


def test_decision_of_the_fallbacks() -> None:
    unknown = Fact(recipient="a@example.org", diagnosis="something went wrong")
    assert classify.Classifier().decision(unknown) == classify.Decision(
        "onhold", "default:onhold", "")
    bare = Fact(recipient="a@example.org", reply_code="521")
    assert classify.Classifier().decision(bare) == classify.Decision(
        "notaccept", "reply:521", "521")
    delayed = Fact(recipient="a@example.org", action="delayed", status="4.0.0",
                   diagnostic_type="X-Local")
    assert classify.Classifier().decision(delayed) == classify.Decision(
        "expired", "action:delayed", "delayed")


@pytest.mark.parametrize("chosen", [classify.SENDER_STATED, classify.RECIPIENT_STATED],
                         ids=["sender", "recipient"])
def test_stated_phrase_gates(chosen: tuple[str, frozenset[str], tuple[str, ...]]) -> None:
    """Every match of the phrases a precedence rule reads holds one of its gate strings (the
    gate never hides a match): each literal the generator finds every match must contain
    holds one of them."""
    from bounceloop.parsing.literals import gate

    reason, ids, strings = chosen
    phrases = [p for p in PHRASES[reason] if p.id in ids]
    assert len(phrases) == len(ids)
    for phrase in phrases:
        needed = gate([phrase.pattern])
        assert needed, phrase.id
        assert all(any(g in n for g in strings) for n in needed), (phrase.id, needed)


@pytest.mark.parametrize(("diagnosis", "host"), [
    ("554 delivery error: dd This user doesn't have a yahoo.com account (a@b.example) [0] - "
     "mta1001.mail.bf1.yahoo.com", "mta1001.mail.bf1.yahoo.com"),
    # The comment of the report's Status field after it (dsn.fields appends it).
    ("554 delivery error: dd This user doesn't have a yahoo.com account (a@b.example) [0] - "
     "mta1001.mail.bf1.yahoo.com (bad destination mailbox address)",
     "mta1001.mail.bf1.yahoo.com"),
    ("550 5.1.1 The email account that you tried to reach does not exist. - gsmtp", ""),
    ("550 5.1.1 User unknown - see the list", ""),
])
def test_replying_host(diagnosis: str, host: str) -> None:
    assert classify.replying_host(diagnosis) == host
