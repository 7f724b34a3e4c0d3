"""Reason phrases: what remote servers write for each kind of failure (rules as data).

Each entry is a :class:`Phrase`: a stable id, a regular expression searched in the
*lowercased* diagnostic text (the server's reply plus, for a single-recipient report, the
notification text), and its source. A reason's patterns are compiled into one alternation.
Write a phrase as the servers write it, and keep it general: "user unknown" covers Postfix,
Sendmail and a hundred appliances; a phrase that only one message in the world contains does
not belong here.

A record decided by a phrase names it as its ``rule``: ``phrase:<reason>/<id>``. So an id,
once published, is not changed: write a new entry rather than rename one. ``source`` says
whose wording it is and where that is documented (an RFC, an MTA's source or manual, a
provider's error reference); "" where not yet known. A source ending "(catalogue ID)" is
the documented reply of that catalogue entry (``parsing/rules/catalogue/``), which carries
the full citation; tests/parsing/rules/test_phrases.py holds the phrase to that entry.
After changing a pattern, regenerate the literal gates
(``python -m bounceloop.parsing.literals``, see DEVELOPERS.md).
"""

from __future__ import annotations

from typing import NamedTuple


class Phrase(NamedTuple):
    """One reason phrase."""

    id: str
    """Stable, unique within its reason, kebab-case (``user-unknown``); the record's rule is
    ``phrase:<reason>/<id>``."""
    pattern: str
    """The regular expression, searched in the lowercased text."""
    source: str
    """Whose wording and where it is documented; "" where not yet known."""


PHRASES: dict[str, tuple[Phrase, ...]] = {
    "mailboxfull": (
        Phrase(
            "not-enough-disk-quota",
            r"not enough disk quota",
            "Dovecot src/lib-storage/mail-error.h MAIL_ERRSTR_NO_QUOTA \"Not enough disk "
            "quota\", the storage error dovecot-lda/LMTP returns as "
            "MAIL_DELIVER_ERROR_NOQUOTA (src/lmtp/lmtp-local.c: 552 5.2.2; "
            "github.com/dovecot/core, commit f28b5a92)",
        ),
        Phrase(
            "maximum-mailbox-size-reached",
            r"maximum mailbox size reached",
            "XMail Errors.cpp ERR_MAILBOX_SIZE: \"User maximum mailbox size reached\" "
            "(github.com/davidel/xmail, commit 080faf00)",
        ),
        Phrase(
            "inbox-is-full",
            r"\binbox is full",
            "hMailServer source/Server/SMTP/LocalDelivery.cpp: \"Delivery to this account "
            "was cancelled since the account inbox is full\", and its bounce \"Error "
            "Description: Inbox is full\" (github.com/hmailserver/hmailserver, commit "
            "4d11f81d)",
        ),
        Phrase(
            "error-writing-message-file-too-large",
            r"error writing message: file too large",
            "Postfix local(8) mailbox delivery: \"cannot update mailbox ... error writing "
            "message: File too large\" (EFBIG: the mailbox reached mailbox_size_limit, "
            "postconf(5))",
        ),
        Phrase(
            "mailbox-exceeds-allowed-size",
            r"mailbox exceeds (?:the )?allowed size",
            "Ipswitch IMail (SMTP32): User mailbox exceeds allowed size: <address>; Sympa's "
            "bounce analyser maps it to 4.2.2 (src/lib/Sympa/Spindle/ProcessBounce.pm %equiv, "
            "before commit 1edca1031)",
        ),
        Phrase(
            "exhausted-storage-space",
            r"exhausted (?:the |its |his |her |your )?(?:allowed )?(?:storage|disk|mailbox) space"
            r"|speichervolumen",
            "WEB.DE: 550 Benutzer hat das Speichervolumen ueberschritten. / User has exhausted "
            "allowed storage space.",
        ),
        Phrase(
            "too-many-messages-on-the-server",
            r"too many (?:messages|mails) (?:on|in) (?:the |his |her )?(?:server|mailbox)"
            r"|zu ?viele mails",
            "WEB.DE: 550 Benutzer hat zuviele Mails auf dem Server. / User has too many messages "
            "on the server.",
        ),
        Phrase(
            "mailbox-full",
            r"mailbox (?:is |was )?full",
            "RFC 3463 X.2.2 (Mailbox full); Exim appendfile transport: mailbox is full",
        ),
        Phrase(
            "mail-box-exceeded",
            r"mail ?box (?:size )?(?:limit )?exceeded",
            "https://www.yandex.com/support/mail/bounces/yandex.html (Report on non-delivery to "
            "Yandex) (catalogue yandex-mailbox-size-exceeded)",
        ),
        Phrase(
            "mailbox-exceeded-limit",
            r"mailbox (?:has )?exceeded (?:the |its |his |her )?"
            r"(?:storage |size |disk space |disk )?(?:limit|quota)",
            "https://learn.microsoft.com/en-us/exchange/mail-flow/non-delivery-reports-and-bounce"
            "-messages/non-delivery-reports-and-bounce-messages "
            "(DSNs and NDRs in Exchange Server, 5.2.2 Mailbox full: The recipient's mailbox has "
            "exceeded its storage quota) (source: github.com/MicrosoftDocs/OfficeDocs-Exchange, "
            "commit 52e8b70f); https://support.netonboard.com/en/support/solutions/articles/"
            "72000546549 (Recipient mailbox has exceeded its storage limit); the storage also "
            "named as disk (space): RFC 3463 X.2.2 is a mailbox over its quota or physical "
            "capacity",
        ),
        Phrase(
            "over-quota",
            r"over ?quota",
            "Google SMTP error reference 552 5.2.2 (the email account that you tried to reach is "
            "over quota)",
        ),
        Phrase(
            "quota-exceeded",
            r"quota (?:has been |was )?exceeded",
            "Exim appendfile transport (MTA-imposed quota exceeded); Dovecot LDA (Quota exceeded)",
        ),
        Phrase(
            "exceeded-quota",
            r"exceed(?:ed|s|ing) (?:his|her|their|the|its|your)? ?(?:storage |disk |mailbox )?"
            r"quota",
            "https://learn.microsoft.com/en-us/exchange/mail-flow/non-delivery-reports-and-bounce"
            "-messages/non-delivery-reports-and-bounce-messages "
            "(DSNs and NDRs in Exchange Server, 5.2.2 Mailbox full: The recipient's mailbox has "
            "exceeded its storage quota) (source: github.com/MicrosoftDocs/OfficeDocs-Exchange, "
            "commit 52e8b70f); the verb in any tense, as the statement is the same",
        ),
        Phrase(
            "disk-quota-exceeded",
            r"(?:disk|mailbox|storage|mail) quota (?:exceeded|violation|full)",
            "strerror(EDQUOT) \"Disk quota exceeded\", as local delivery agents quote it",
        ),
        Phrase(
            "quota-violation",
            r"quota (?:violation|full|limit (?:exceeded|reached))",
            "https://www.bytecamp.net/de/faq/email/zustellen.html (bytecamp FAQ: Fehlermeldungen "
            "bei Zustellproblemen) (catalogue bytecamp-422-quota-limit)",
        ),
        Phrase(
            "not-enough-space",
            r"not enough (?:disk |storage )?space",
            "Dovecot NEWS v1.0.rc27 (2007-03-13): out of quota / disk space errors give the user "
            "a \"Not enough disk space\" error (github.com/dovecot/core, commit f28b5a92)",
        ),
        Phrase(
            "full-mailbox",
            r"full mailbox",
            "America Online: 552 <address> has a full mailbox (read in "
            "http://www.chilipepperweb.net/email-support/mail-quota-exceeded.html, a third-party "
            "collection)",
        ),
        Phrase(
            "inbox-out-of-storage",
            r"(?:in|mail)box (?:is )?out of (?:storage|space)",
            "Google SMTP error reference 452 4.2.2 (The recipient's inbox is out of storage "
            "space)",
        ),
        Phrase("mailfolder-full", r"mailfolder (?:is )?full", ""),
        Phrase("too-much-mail-data", r"too much mail data", "NTT docomo"),
        Phrase("maildir-over-quota", r"maildir over quota", "maildrop"),
        Phrase(
            "exhausted-storage",
            r"exhausted (?:the |its |allowed )*storage|speichervolumen ueberschritten"
            r"|too many messages on the server",
            "WEB.DE / GMX (550 Benutzer hat das Speichervolumen ueberschritten. / User has "
            "exhausted allowed storage space; User has too many messages on the server)",
        ),
        Phrase(
            "maildir-overdrawn",
            r"maildir has overdrawn (?:his|her|its|the) diskspace quota",
            "Postfix VDA quota patch: virtual_maildir_limit_message's default",
        ),
    ),
    "mesgtoobig": (
        Phrase(
            "exceeds-size-limit-of-server",
            r"exceeds size limit \d+ of server",
            "Postfix src/smtp/smtp_proto.c: \"message size %lu exceeds size limit %.0f of server "
            "%s\" (the server's EHLO SIZE is smaller than the message; status 5.3.4)",
        ),
        Phrase(
            "message-length-in-parentheses-exceeds",
            r"message (?:length|size) \([^)]{1,40}\) exceeds",
            "Courier submit2.C (SIZELIMIT): Message length (<n> bytes) exceeds administrative "
            "limit(<n>)",
        ),
        Phrase(
            "message-too-big",
            r"message (?:is |was )?too (?:big|large|long)",
            "RFC 3463 X.3.4 (Message too big for system)",
        ),
        Phrase(
            "message-file-too-big",
            r"message (?:file )?too big",
            "chasquid internal/smtpsrv/conn.go (github.com/albertito/chasquid, commit ca2538b9) "
            "(catalogue chasquid-message-too-big)",
        ),
        Phrase(
            "message-size-exceeds",
            r"message size (?:exceeds|is larger|of \d+ exceeds)",
            "Postfix cleanup(8)/smtpd(8): 552 5.3.4 Message size exceeds fixed limit",
        ),
        Phrase(
            "exceeds-maximum-size",
            r"exceeds? (?:the )?(?:fixed |configured )?maximum (?:allowed )?(?:message )?size",
            "Exchange Server 2013 'DSNs and NDRs', 5.3.4 Message too big for system: the message "
            "exceeds the maximum allowed message size (MicrosoftDocs/OfficeDocs-Exchange, commit "
            "52e8b70f); Cyrus IMAP imap/lmtpengine.c lmtpmode() writes 'exceeds fixed maximum "
            "message size' with 5.2.3, which the status decides (exceedlimit)",
        ),
        Phrase(
            "message-exceeds-maximum",
            r"message exceeds (?:the )?(?:maximum|size)",
            "Sendmail sendmail/collect.c collect(): usrerrenh(\"5.2.3\", \"552 Message exceeds "
            "maximum fixed size (%ld)\") (github.com/deepin-community/sendmail, commit c7e7de44)",
        ),
        Phrase(
            "email-size-exceeded",
            r"(?:email|message|mail) size (?:limit )?(?:has been )?exceeded",
            "go-smtp conn.go (552 5.3.4 Max message size exceeded) and data.go ErrDataTooLarge "
            "(552 5.3.4 Maximum message size exceeded) (github.com/emersion/go-smtp, commit "
            "ab24fe7) (catalogue gosmtp-max-message-size-exceeded)",
        ),
        Phrase(
            "size-exceeds-limit",
            r"size (?:of (?:the )?message )?exceeds (?:the )?(?:allowed )?(?:limit|maximum)",
            "Exim src/src/smtp_in.c and receive.c: smtp_reply \"552 Message size exceeds maximum "
            "permitted\" (message_size_limit) (exim-4.99.1-148-g13835a3c1) (catalogue "
            "exim-message-size)",
        ),
        Phrase(
            "message-length-exceeds",
            r"message length (?:\(\d+ bytes\) )?exceeds",
            "Courier: 523 Message length (<n> bytes) exceeds administrative limit(<max>)",
        ),
        Phrase(
            "exceeded-message-size-limit",
            r"exceeded .{0,20}message size limit",
            "Google SMTP error reference 552 5.3.4 (Your message exceeded Google's message size "
            "limits)",
        ),
        # RFC 1870's example of a size refusal; not "mailbox size limit exceeded", Yandex's
        # words for a full mailbox (catalogue yandex-mailbox-size-exceeded).
        Phrase(
            "size-limit-exceeded",
            r"(?<!mailbox )(?<!mail box )size limit exceeded",
            "RFC 1870 section 8 (Example): S: 552 Channel size limit exceeded: "
            "ned@YMIR.CLAREMONT.EDU (catalogue rfc1870-552-channel-size-limit)",
        ),
        Phrase(
            "message-size-is-too-large",
            r"message size is too large",
            "iRedAPD libs/__init__.py SMTP_ACTIONS['reject_msg_size_exceeded']: \"REJECT "
            "Message size is too large\", the throttle plugin's msg_size (github.com/iredmail/"
            "iRedAPD, commit 60b2eed4) (catalogue iredapd-throttle-msg-size)",
        ),
        Phrase(
            "maximum-data-size-exceeded",
            r"maximum data size exceeded",
            "Go-Guerrilla server.go handleClient(): \"maximum DATA size exceeded (%d)\", more "
            "than max_size read in DATA (github.com/flashmob/go-guerrilla, commit 858ac36f) "
            "(catalogue go-guerrilla-data-size-exceeded)",
        ),
    ),
    "exceedlimit": (
        Phrase(
            "message-too-large-for-this-recipient",
            r"message too large for this recipient",
            "Exchange RESOLVER.RST.RecipSizeLimit (5.2.3): the message is too large for this "
            "recipient",
        ),
        Phrase(
            "messages-per-session-exceeded",
            r"messages per (?:session|transaction) exceeded",
            "Stalwart (452 4.4.5 Maximum number of messages per session exceeded)",
        ),
        Phrase("recipsizelimit", r"recipsizelimit", "Exchange RESOLVER.RST.RecipSizeLimit"),
        # Recipients per transaction, not a rate: a rate limit says "from <client>"
        # (Postfix's anvil, a speeding phrase).
        Phrase(
            "too-many-recipients",
            r"too many recipients(?! from)",
            "RFC 5321 4.5.3.1.10 (452 Too many recipients), RFC 3463 X.5.3; Postfix smtpd.c "
            "\"452 4.5.3 Error: too many recipients\"; Exim smtp_in.c \"Too many recipients\"; "
            "Exchange Online NDR 4.5.3; Google SMTP error reference 452 4.5.3",
        ),
    ),
    "suspend": (
        Phrase(
            "mailaddress-administratively-disabled",
            r"\bmail ?address is administratively disabled",
            "qmail-ldap qmail-lspawn.c and qmail-verify.c: \"Mailaddress is administratively "
            "disabled. (#5.2.1)\" (the LDAP account's mail status is disabled) "
            "(github.com/qmail-ldap/qmail-ldap, commit 33d8d0d)",
        ),
        Phrase(
            "recipient-domain-temporarily-disabled",
            r"recipient domain temporarily disabled",
            "mox smtpserver/server.go cmdRcpt: 450 4.2.1 for a disabled domain (catalogue "
            "mox-recipient-domain-temporarily-disabled)",
        ),
        Phrase(
            "policy-rejection-on-the-target-address",
            r"policy rejection on the target address",
            "Yandex bounces: Policy rejection on the target address (the recipient's account is "
            "blocked for User Agreement violations)",
        ),
        Phrase(
            "account-disabled",
            r"(?:account|mailbox|user|address|recipient)(?: account)? (?:has been |is |was )?"
            # "administratively disabled" as qmail-ldap words it (mailaddress-administratively-
            # disabled) and Infomaniak's "550 5.1.1 <a@b> recipient rejected, account
            # administratively disabled" (infomaniak.com/en/support/faq/858).
            r"(?:currently |temporarily |permanently |administratively )?"
            r"(?:disabled|suspended|deactivated|frozen|locked|inactive|discontinued|closed|expired)",
            "https://www.icoremail.vip/support/index.php?cate_id=84&page=5&start=0 (Coremail "
            "support, 退信提示 list) (catalogue coremail-user-suspended)",
        ),
        Phrase(
            "account-that-you-tried-to-reach",
            r"account that you tried to reach is (?:disabled|inactive)",
            "Google SMTP error reference 550 5.2.1 (The email account that you tried to reach is "
            "disabled / inactive)",
        ),
        Phrase("temporarily-locked", r"temporar(?:il)?y locked", ""),
        Phrase(
            "this-mailbox-is-disabled",
            r"this mailbox is disabled",
            "Yahoo SMTP error codes: 554 delivery error: dd This mailbox is disabled",
        ),
        Phrase(
            "account-on-hold",
            r"account (?:is )?not active",
            "hMailServer hmailserver/source/Server/SMTP/RecipientParser.cpp "
            "CheckDeliveryPossibility(): \"Account is not active.\", sent by SMTPConnection.cpp "
            "as a 550 reply to RCPT (github.com/hmailserver/hmailserver, commit 4d11f81d) "
            "(catalogue hmailserver-account-not-active)",
        ),
        Phrase("is-a-deactivated-mailbox", r"is a deactivated mailbox", "Tencent"),
        Phrase("compte-du-destinataire-est-bloque", r"compte du destinataire est bloqu", "Orange"),
    ),
    "hasmoved": (
        Phrase(
            "mailbox-has-moved",
            r"(?:mailbox|user|address|recipient) has moved",
            "RFC 3463 X.1.6 (Destination mailbox has moved, No forwarding address)",
        ),
        Phrase(
            "no-forwarding-address",
            r"no forwarding address",
            "RFC 3463 X.1.6 (Destination mailbox has moved, No forwarding address)",
        ),
    ),
    "norelaying": (
        Phrase(
            "we-dont-relay-for",
            r"\bwe don'?t relay for\b",
            "qmail-ldap qmail-smtpd.c err_relay(): \"553 sorry, we don't relay for [<ip>] "
            "(#5.7.1)\" (github.com/qmail-ldap/qmail-ldap, commit 33d8d0d)",
        ),
        Phrase(
            "delivery-not-allowed-to-this-address",
            r"delivery is not allowed to this address",
            "hMailServer source/Server/SMTP/SMTPConnection.cpp: \"550 Delivery is not "
            "allowed to this address.\", the reply to RCPT when the IP range's relay rules "
            "refuse the delivery (github.com/hmailserver/hmailserver, commit 4d11f81d)",
        ),
        Phrase(
            "relay-denied",
            r"relay(?:ing)? (?:access )?(?:is )?(?:denied|not permitted|prohibited|not allowed"
            r"|refused|not authori[sz]ed)",
            "Postfix smtpd_check.c reject_unauth_destination: Relay access denied; Sendmail: "
            "Relaying denied",
        ),
        Phrase(
            "unable-to-relay",
            r"unable to relay",
            "Exchange Online NDR 5.7.1 / 5.7.54 (Unable to relay)",
        ),
        Phrase(
            "open-relay-not-allowed",
            r"open relay not allowed",
            "https://community.mimecast.com/docs/DOC-2116 (Mimecast, Maintaining Authorized "
            "Outbound Addresses: \"Open relay not allowed\") (catalogue "
            "mimecast-451-open-relay-not-allowed)",
        ),
        Phrase(
            "cannot-deliver-mail-for",
            r"i cannot deliver mail for",
            "Haraka rcpt_to.in_host_list (550 I cannot deliver mail for <address>)",
        ),
        Phrase(
            "allowed-rcpthosts",
            r"allowed rcpthosts",
            "notqmail qmail-smtpd.c: 553 sorry, that domain isn't in my list of allowed "
            "rcpthosts (#5.7.1)",
        ),
        Phrase(
            "relay-not-permitted",
            r"relay not permitted",
            "Exim default configuration, acl_check_rcpt: relay not permitted",
        ),
        Phrase(
            "email-address-is-not-verified",
            r"email address is not verified",
            "Amazon SES: not a verified sending identity",
        ),
    ),
    "authfailure": (
        Phrase(
            "spf-unauthorized-mail",
            r"spf unauthorized mail",
            "Cisco AsyncOS SPF verification reject text \"#5.7.1 SPF unauthorized mail is "
            "prohibited.\" (AsyncOS 7.1 Advanced Configuration Guide p. 4-267, "
            "https://manualsbrain.com/it/manuals/1649627/?page=293) "
            "(catalogue cisco-550-spf-unauthorized)",
        ),
        Phrase(
            "rejected-by-dkim",
            r"rejected by dkim",
            "hMailServer source/Server/Common/AntiSpam/DKIM/SpamTestDKIM.cpp: \"Rejected by "
            "DKIM.\" (github.com/hmailserver/hmailserver, commit 4d11f81d)",
        ),
        Phrase(
            "prohibited-by-spf",
            r"prohibited by spf\b",
            "\"550 5.7.1 [BFD] Sender prohibited by SPF\" as a cPanel/Exim host answered a "
            "sender its SPF record does not list (quoted with that cause in a public "
            "repository's note, found by find_string; no server source found)",
        ),
        Phrase(
            "rejected-by-spf",
            r"rejected by spf\b",
            "Proxmox Mail Gateway src/bin/pmgpolicy: Mail::SPF default_authority_explanation "
            "\"Rejected by SPF: %{C} is not a designated mailserver for %{S} (context "
            "%{_scope}, on %{R})\" when SPF says fail (github.com/proxmox/pmg-api, commit "
            "09158948) (catalogue pmg-spf-reject)",
        ),
        Phrase(
            "bad-or-no-dkim-signature-data",
            r"(?:bad|no) dkim signature data",
            "OpenDKIM opendkim/opendkim.c dkimf_libstatus(): \"bad DKIM signature data\" "
            "(DKIM_STAT_BADSIG), \"no DKIM signature data\" (DKIM_STAT_NOSIG) "
            "(github.com/trusteddomainproject/OpenDKIM, commit 5c539587) (catalogue "
            "opendkim-bad-signature-reject) (catalogue opendkim-no-signature-reject)",
        ),
        Phrase(
            "dkim-signature-syntax-error",
            r"dkim signature syntax error",
            "OpenDKIM opendkim/opendkim.c dkimf_libstatus(): \"DKIM signature syntax error\" "
            "(DKIM_STAT_SYNTAX, handled as a bad signature) (github.com/trusteddomainproject/"
            "OpenDKIM, commit 5c539587) (catalogue opendkim-signature-syntax-error)",
        ),
        Phrase(
            "spf-tag-or-policy",
            r"\[spf\]|\bspf polic(?:y|ies)\b",
            "RFC 7208 2.6.4 (fail: the client is not authorized to use the domain); Interia: "
            "550 5.7.0 [SPF] <ip> is not allowed to send mail from <domain>; United Internet: "
            "Reject due to SPF policy ... not permitted by the domain owner",
        ),
        Phrase(
            "dkim2-verification-failure",
            r"\bdkim2 verification fail",
            "Stalwart inbound/data.rs: DSN rejected due to DKIM2 verification failure",
        ),
        Phrase(
            "spf-fail",
            r"\bspf\b.{0,40}\b(?:fail|failed|failure|validation|violation|softfail|hardfail)",
            "RFC 7208 section 8.4 (SPF fail); RFC 7372 X.7.23 (SPF validation failed)",
        ),
        Phrase(
            "sender-policy-framework",
            r"sender policy framework",
            "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-rep"
            "orts-in-exchange-online/non-delivery-reports-in-exchange-online (source: "
            "OfficeDocs-Exchange non-delivery-reports-in-exchange-online.md, commit 040dec76) "
            "(catalogue microsoft-5.7.23-spf-violation)",
        ),
        Phrase(
            "dkim-fail",
            r"\bdkim2?\b.{0,40}\b(?:fail|failed|failure|invalid|not valid|verification)",
            "RFC 7372 X.7.20-X.7.22 (no passing / acceptable / author-matched DKIM signature)",
        ),
        Phrase(
            "dmarc",
            r"\bdmarc\b",
            "RFC 7489 (DMARC); Google 550 5.7.26 and Exchange Online 5.7.509 DMARC refusals",
        ),
        Phrase(
            "authenticate-with-spf-or-dkim",
            r"authenticate with (?:either )?spf or dkim",
            "Google SMTP error reference 550 5.7.26 (Gmail requires all senders to authenticate "
            "with either SPF or DKIM)",
        ),
        Phrase(
            "does-not-have-authentication-information",
            r"does not have authentication information",
            "Google SMTP error reference (This message does not have authentication information "
            "or fails to pass authentication checks)",
        ),
        Phrase(
            "fails-to-pass-authentication-checks",
            r"fails to pass authentication checks",
            "Google SMTP error reference (does not have authentication information or fails to "
            "pass authentication checks)",
        ),
        Phrase(
            "sender-is-unauthenticated",
            r"sender is unauthenticated",
            "Google SMTP error reference 550 5.7.26 (This mail has been blocked because the "
            "sender is unauthenticated)",
        ),
        Phrase(
            "not-allowed-to-send-from-spf",
            # The template names the client's address first, and says SPF only in its URL,
            # which a site may drop (the spec asks it to replace the link).
            r"not allowed to send (?:mail )?from .{0,60}(?:spf|dkim)"
            r"|(?:\d{1,3}\.){3}\d{1,3} is not allowed to send mail from",
            "Exim specification doc/doc-docbook/spec.xfpt, SPF example: deny spf = fail, message "
            "= $sender_host_address is not allowed to send mail from <domain>.  Please see "
            "http://www.open-spf.org/Why;... (github.com/Exim/exim, exim-4.99.1-148-g13835a3c1) "
            "(catalogue exim-spf-not-allowed-to-send)",
        ),
        # RFC 7208 8.7's PermError: the sender domain's published SPF record cannot be
        # interpreted; rspamd names that result "bad SPF record".
        Phrase(
            "bad-spf-records",
            r"bad spf records?",
            "rspamd src/lua/lua_spf.c spf_lua_lib_callback(): a record resolved PERM_FAILED "
            "gives the error \"bad SPF record\", which src/plugins/lua/spf.lua inserts as the "
            "option of R_SPF_PERMFAIL (github.com/rspamd/rspamd, commit eaac8e91); RFC 7208 "
            "section 8.7 (PermError: the domain's published records could not be correctly "
            "interpreted)",
        ),
        Phrase(
            "spf-policy",
            r"due to spf policy|\[spf\] \S{2,45} is not allowed to send",
            "WEB.DE (Reject due to SPF policy); Interia ([SPF] <IP> is not allowed to send mail "
            "from <domain>); RFC 7208 8.4",
        ),
        Phrase(
            "no-passing-dkim-signature",
            r"no (?:passing|acceptable|valid) (?:\w+ )?dkim signature",
            "RFC 7372 X.7.20-X.7.22 (No passing / acceptable / valid author-matched DKIM "
            "signature found)",
        ),
        Phrase(
            "arc-validation-failed",
            r"\barc (?:validation|verification) failed",
            "RFC 8617 (ARC), X.7.29 ARC validation failure; Stalwart",
        ),
    ),
    "userunknown": (
        Phrase(
            "recipient-need-fully-qualified-address",
            r"recipient address rejected: need fully-qualified address",
            "Postfix smtpd_check.c reject_non_fqdn_address(): \"<%s>: Recipient address "
            "rejected: need fully-qualified address\" (reject_non_fqdn_recipient, 504 5.5.2: "
            "an address that can never receive); Yandex lists it with \"No such user\" "
            "(catalogue yandex-need-fqdn)",
        ),
        Phrase(
            "invalid-server-or-route-token",
            r"\binvalid (?:server|route) token\b",
            "Postal app/lib/smtp_server/client.rb rcpt_to: \"550 Invalid server token\" (a "
            "return-path address naming no mail server), \"550 Invalid route token\" (a route "
            "address naming no route) (github.com/postalserver/postal, commit 8ef8960)",
        ),
        Phrase(
            "address-marked-as-invalid",
            r"(?:address|recipient|user) is marked as invalid",
            "Spambrella: Recipient address rejected: User email address is marked as invalid",
        ),
        Phrase(
            "user-unknown",
            r"user(?:name)? (?:is )?unknown",
            "Sendmail: 550 5.1.1 <user>... User unknown; Postfix local(8)/smtpd(8) User unknown",
        ),
        Phrase(
            "unknown-user",
            r"unknown (?:e-?mail )?(?:user|recipient|mailbox|address|local[ -]?part|account|alias)",
            "Exim src/src/configure.default: localuser router \"cannot_route_message = Unknown "
            "user\" (exim-4.99.1-148-g13835a3c1) (catalogue exim-unknown-user-default)",
        ),
        Phrase(
            "no-such-user",
            r"(?:no such|invalid|bad|unknown|illegal|non-?existent|inexistent) "
            r"(?:user|recipient|mailbox|address|account|person|local user|e-?mail(?: address)?)\b",
            "https://smtp.codes/550 (Barracuda rows) (catalogue barracuda-550-no-such-user)",
        ),
        Phrase(
            "user-does-not-exist",
            r"(?:user|recipient|mailbox|address|account|e-?mail address)(?: name)? "
            r"(?:does not|doesn't|do not|not) exists?",
            "https://bastion.umanix.net/info (rejection messages and their causes) (catalogue "
            "baruwa-address-does-not-exist)",
        ),
        Phrase(
            "not-listed-in-public-address-book",
            r"not listed in (?:the )?public name (?:&|and) address book"
            r"|non recens[ée] dans le carnet d'adresses public",
            "Lotus Notes/Domino before R5: User not listed in public Name & Address Book, in "
            "French: Utilisateur non recensé dans le carnet d'adresses public; Sympa's bounce "
            "analyser maps both to 5.1.1 (src/lib/Sympa/Spindle/ProcessBounce.pm %equiv, before "
            "commit 1edca1031)",
        ),
        Phrase(
            "mailbox-unknown",
            r"mailbox unknown",
            "Cyrus IMAP lmtpd: Mailbox unknown.  Either there is no mailbox associated with "
            "this name ... (LMTP_USER_UNKNOWN_LONG, imap/lmtp_err.et) (catalogue "
            "cyrus-lmtp-user-unknown-long)",
        ),
        Phrase(
            "user-not-known",
            r"user not known|not known at this site",
            "Sympa's bounce analyser maps 'user not known' and 'not known at this site.' to "
            "5.1.1 (src/lib/Sympa/Spindle/ProcessBounce.pm %equiv, before commit 1edca1031)",
        ),
        Phrase(
            "receiver-not-found",
            r"receiver not found",
            "CompuServe: Receiver not found: <user> (GNU Mailman 2 Mailman/Bouncers/"
            "Compuserve.py); Sympa's bounce analyser maps it to 5.1.1 (src/lib/Sympa/Spindle/"
            "ProcessBounce.pm %equiv, before commit 1edca1031)",
        ),
        Phrase(
            "not-listed-in-recipient-directory",
            r"not listed in (?:the )?domino directory",
            "HCL/IBM Domino: User <address> not listed in Domino Directory (read in "
            "http://www.sitepackage.de/service/dokumentation/auswertung/typische-fehlermeldungen-"
            "bei-unzustellbarkeit.html, a third-party collection) (catalogue "
            "domino-not-listed-in-domino-directory)",
        ),
        Phrase(
            "user-not-found",
            r"(?:user|recipient|mailbox|address|account) (?:was )?not found",
            "http://www.sitepackage.de/service/dokumentation/auswertung/typische-fehlermeldungen-"
            "bei-unzustellbarkeit.html (AOL rows) (catalogue aol-550-mailbox-not-found)",
        ),
        Phrase(
            "unknown-or-illegal-user",
            r"unknown or illegal (?:user|alias)",
            "Microsoft KB Q193924 (XFOR: Non-Delivery Report: Unknown Or Illegal User): an NDR "
            "quoting the remote server's \"553 5.1.1 unknown or illegal user: <address>\" (read "
            "in github.com/jeffpar/kbarchive kb/193/Q193924/README.md); UW-Madison WiscMail, "
            "https://kb.wisc.edu/microsoft365/3998 (Understanding SMTP errors) (catalogue "
            "wisc-550-unknown-or-illegal-alias)",
        ),
        Phrase(
            "mailbox-unavailable",
            r"mailbox (?:is )?(?:unavailable|not available|invalid|not present)",
            "RFC 5321 4.2.2 (550 Requested action not taken: mailbox unavailable)",
        ),
        Phrase(
            "requested-action-not-taken-mailbox-unavailable",
            r"requested action not taken: mailbox unavailable",
            "RFC 5321 4.2.2 (550 reply text)",
        ),
        Phrase(
            "recipient-address-rejected-user-unknown",
            r"recipient address rejected: (?:user unknown|unknown user|invalid user|"
            r"undeliverable address|access denied|user .{1,40} does not exist|no such user)",
            "Postfix smtpd(8) recipient restrictions",
        ),
        Phrase(
            "recipient-address-rejected-end",
            # At the end of the reply; a report's Status comment may follow it in the text
            # read (parsing.dsn: "Status: 5.0.0 (Remote SMTP server has rejected address)").
            r"recipient address rejected\.?(?: \([^()]*\))?$",
            "Postfix smtpd(8) recipient restrictions",
        ),
        Phrase(
            "recipient-address-rejected-in-reply-to-rcpt",
            r"recipient address rejected\.? ?\(in reply to rcpt",
            "Postfix smtpd(8) recipient restrictions, as Postfix's bounce(8) quotes it",
        ),
        Phrase(
            "user-unknown-in-local",
            r"user unknown in (?:local|virtual|relay) ",
            "Postfix smtpd(8): User unknown in local/virtual/relay recipient table",
        ),
        Phrase(
            "is-not-a-valid-mailbox",
            r"is not a (?:valid|known) (?:mailbox|user|recipient|address)",
            "Exim src/util/unknownuser.sh (the unknown-user pipe's reply: \"<local part>\" is not"
            " "
            "a known user mailbox in the domain \"<domain>\") (exim-4.99.1-148-g13835a3c1)",
        ),
        Phrase(
            "recipient-not-a-valid-rfc-5321-address",
            r"recipient address <[^>\n]{0,320}> is not a valid rfc-?5321 address",
            "ZoneMTA lib/smtp-interface.js onRcptTo(): \"The recipient address <address> is not "
            "a valid RFC-5321 address.\" (553) (github.com/zone-eu/zone-mta, commit cf94b992) "
            "(catalogue zonemta-invalid-rfc5321-address)",
        ),
        Phrase(
            "not-a-valid-recipient",
            r"not a valid (?:recipient|mailbox|user)",
            "Exim doc/doc-src/FAQ.src (the autoreply for non-existent users: You sent mail to "
            "<local part>. That's not a valid user here.) (exim-4.99.1-148-g13835a3c1)",
        ),
        Phrase(
            "no-mailbox-by-that-name",
            r"no (?:mailbox|account|user) (?:here )?(?:by|with) that name",
            "notqmail qmail-local.c / qmail-lspawn: Sorry, no mailbox here by that name. (#5.1.1)",
        ),
        Phrase("no-mail-box-for", r"no mail ?box (?:available )?(?:for|found)", ""),
        Phrase("recipnotfound", r"recip(?:ient)?notfound", "Exchange RESOLVER.ADR.RecipNotFound"),
        Phrase(
            "email-account-does-not-exist",
            r"email account that you tried to reach does not exist",
            "Google SMTP error reference 550 5.1.1 (The email account that you tried to reach "
            "does not exist)",
        ),
        Phrase(
            "this-user-doesnt-have-an-account",
            r"this user doesn't have a .{1,30} account",
            "Yahoo",
        ),
        Phrase(
            "address-invalid",
            r"address (?:is )?(?:invalid|unknown)",
            "chasquid internal/smtpsrv/conn.go (github.com/albertito/chasquid, commit ca2538b9) "
            "(catalogue chasquid-rcpt-user-unknown)",
        ),
        Phrase(
            "addressee-unknown",
            r"addressee unknown",
            "https://smtp.codes/550 (AT&T rows) (catalogue att-550-addressee-unknown)",
        ),
        Phrase(
            "not-our-customer",
            r"(?:not|isn't) our customer",
            "Comcast postmaster SMTP error codes (550 5.1.1 Not our Customer)",
        ),
        Phrase(
            "no-such-local-user",
            r"no such (?:local )?(?:user|mailbox|recipient)",
            "https://smtp.codes/550 (Barracuda rows) (catalogue barracuda-550-no-such-user)",
        ),
        Phrase("unrouteable-address", r"unrouteable address", "Exim: Unrouteable address"),
        Phrase(
            "bad-destination-mailbox-address",
            r"bad destination mailbox address",
            "RFC 3463 X.1.1 \"Bad destination mailbox address\" (the mailbox does not exist), "
            "as servers write the title and as Libero's help explains it to senders (\"L'indirizzo"
            " di posta al quale stai scrivendo non esiste\") (catalogue "
            "libero-bad-destination-mailbox-address)",
        ),
        Phrase(
            "mailru-local-mailbox-unavailable",
            r"invalid mailbox\. +local mailbox \S+ is unavailable: user (?:not found|is "
            r"terminated)",
            "Mail.ru MX (mxs.mail.ru), answering the end of DATA: 550 Message was not accepted "
            "-- invalid mailbox. Local mailbox <address> is unavailable: user not found / user "
            "is terminated (https://pastebin.com/Q6g5KK1V, https://pastebin.com/UWADPXYL) "
            "(catalogue mailru-550-invalid-mailbox-user-not-found)",
        ),
        Phrase(
            "invalid-mailbox-path",
            r"invalid (?:mailbox|recipient) path",
            "Sendmail mail.local/mail.local.c deliver(): mailerr(\"550 5.1.1\", \"%s: Invalid "
            "mailbox path\") (github.com/deepin-community/sendmail, commit c7e7de44) (catalogue "
            "sendmail-mail-local-invalid-mailbox-path)",
        ),
        Phrase(
            "mailbox-does-not-exist",
            r"mailbox (?:does not|doesn't) exist",
            "Stalwart crates/smtp/src/inbound/rcpt.rs (github.com/stalwartlabs/stalwart, commit "
            "d72608f3) (catalogue stalwart-mailbox-does-not-exist)",
        ),
        Phrase(
            "address-does-not-exist",
            r"address (?:does not|doesn't) exist",
            "https://bastion.umanix.net/info (rejection messages and their causes) (catalogue "
            "baruwa-address-does-not-exist)",
        ),
        Phrase(
            "this-address-no-longer-accepts-mail",
            r"this address no longer accepts mail",
            "qmail bouncesaying(1) (the man page's example: |bouncesaying 'This address no longer"
            " "
            "accepts mail.') (github.com/notqmail/notqmail bouncesaying.1, commit a7012e4f)",
        ),
        Phrase(
            "user-then-does-not-exist",
            # Not "recipient domain ... does not exist": the domain's (hostunknown).
            r"(?:user|recipient|account) (?!domain\b)(?:.{1,60} )?(?:does not|doesn't) exist",
            "chasquid internal/smtpsrv/conn.go (github.com/albertito/chasquid, commit ca2538b9) "
            "(catalogue chasquid-rcpt-user-unknown)",
        ),
        Phrase(
            "in-my-badrecipientto-list",
            r"in my (?:badrecipientto|badrcptto) list",
            "qmail-smtpd badrcptto patch",
        ),
        Phrase(
            "not-in-my-validrcptto-list",
            r"not in my validrcptto list",
            "qmail-smtpd validrcptto patch",
        ),
        Phrase(
            "no-such-address",
            r"no such address",
            "qmail-local before 1996-09-19: \"No such address\", replaced by \"Sorry, no mailbox "
            "here by that name.\" (qmail CHANGES, github.com/notqmail/notqmail CHANGES.md, commit"
            " "
            "a7012e4f)",
        ),
        Phrase(
            "user-address-unknown",
            r"user <[^>\n]{1,255}> unknown",
            "Courier (550 User <address> unknown)",
        ),
        Phrase(
            "recipient-verification-failed",
            r"recipient verification failed",
            "Baruwa (Recipient verification failed: the address could not be verified)",
        ),
        Phrase(
            "no-valid-recipients",
            r"no valid recipients",
            "Postfix smtpd.c: 554 5.5.1 Error: no valid recipients (DATA after every RCPT was "
            "refused)",
        ),
        Phrase(
            "invalid-recipient-angle",
            r"invalid recipient: <",
            "OpenSMTPD lka_session.c / smtp_session.c: 550 Invalid recipient: <address>",
        ),
        Phrase(
            "banned-recipient",
            r"banned recipient",
            "Exchange Online NDR 5.7.505 (Access denied, banned recipient)",
        ),
        # With Exchange Online's codes only: Postfix's check_recipient_access says the same
        # words with 5.7.1 for any recipient it refuses by policy.
        Phrase(
            "recipient-address-rejected-access-denied",
            r"5\.(?:4\.1|7\.504) (?:[<\[][^>\]\n]{1,320}[>\]]:? )?"
            r"recipient address rejected: access denied",
            "Exchange Online NDR 5.4.1 / 5.7.504 (Directory-Based Edge Blocking: the "
            "recipient does not exist in the organization)",
        ),
    ),
    "filtered": (
        # MailScanner's notice that its content filters removed what they took for dangerous
        # (sender.content.report.txt); the Portuguese template spells "pontencialmente".
        Phrase(
            "mailscanner-gevaarlijke-inhoud",
            r"gevaarlijke\s+inhoud",
            "MailScanner common/usr/share/MailScanner/reports/nl/sender.content.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-nl-content)",
        ),
        Phrase(
            "mailscanner-contenido-peligroso",
            r"contenido\s+potencialmente\s+peligroso",
            "MailScanner common/usr/share/MailScanner/reports/es/sender.content.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-es-content)",
        ),
        Phrase(
            "mailscanner-conteudo-perigoso",
            r"conte[uú]do\s+pon?tencialmente\s+perigoso",
            "MailScanner common/usr/share/MailScanner/reports/pt_br/sender.content.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-pt-content)",
        ),
        Phrase(
            "user-in-blacklist",
            r"user in blacklist",
            "Coremail support (退信提示): User in blacklist (the sender is on the recipient's "
            "blacklist)",
        ),
        Phrase(
            "spoofed-message",
            r"spoofed message",
            "Barracuda (smtp.codes/550): 550 rejecting spoofed message (a message impersonating a "
            "known brand, refused on its content)",
        ),
        # A refusal after DATA that names no cause: the default text when a recipient-side filter
        # (a data_post hook, a Sieve script, a milter) refuses without words of its own.
        Phrase(
            "message-refused",
            # Not after ", ": "Delivery not authorized, message refused" is RFC 3463's X.7.1
            # title, which MTAs send for any policy refusal (OpenSMTPD).
            r"(?<![a-z] )(?<!, )(?:duplicate )?(?:message refused|message rejected"
            r"|message denied|command refused|command rejected|command denied)"
            r"(?: temporarily)?\.?\s*(?:\([^()]*\)\s*)?$",
            "Haraka connection.js data_post_respond() (Message denied [temporarily]); Cyrus "
            "lmtp_err.et LMTP_MESSAGE_REJECTED (Message refused); Stalwart inbound/mod.rs "
            "(Message rejected); Sendmail srvrsmtp.c, a milter's SMFIR_REJECT (Command "
            "rejected); Courier filters/dupfilter.c (Duplicate message rejected)",
        ),
        Phrase(
            "credential-leak-detected",
            r"credential leak",
            "Haraka plugins/prevent_credential_leaks.js: Credential leak detected (a content "
            "check after DATA)",
        ),
        Phrase(
            "recipient-does-not-want",
            r"recipient (?:does not|doesn't) want",
            "Interia: 550 5.7.1 Recipient doesn't want your mail (the recipient's blocked list)",
        ),
        Phrase(
            "quarantined-message",
            r"quarantined message|message (?:was |is |has been )?quarantined",
            "maddy target/remote/remote.go: Refusing to deliver a quarantined message",
        ),
        Phrase(
            "message-content-rejected",
            r"message content rejected",
            "Postfix cleanup(8), header_checks(5)/body_checks: REJECT's default text "
            "\"5.7.1 message content rejected\"",
        ),
    ),
    "requireptr": (
        Phrase(
            "cannot-find-your-reverse-hostname",
            r"cannot find your reverse (?:hostname|host name|dns)",
            "Postfix smtpd(8) reject_unknown_reverse_client_hostname: cannot find your reverse "
            "hostname",
        ),
        Phrase(
            "reverse-dns",
            # Not a name that has a PTR and is on a list: iRedAPD's wblist_rdns "Blacklisted
            # reverse DNS name of server IP address" refuses a listed client (blocked).
            r"(?<!blacklisted )reverse dns",
            "RFC 7372 X.7.25 (Reverse DNS validation failed)",
        ),
        Phrase(
            "rdns",
            r"\brdns\b",
            "Haraka connection.js lookup_rdns_respond(): DENYSOFT default text "
            "(github.com/haraka/Haraka, commit 0bf10cbb) (catalogue "
            "haraka-rdns-temporary-failure)",
        ),
        Phrase(
            "ptr-record",
            r"\bptr\b.{0,20}record",
            "Google SMTP error reference 550 5.7.25 (The IP address sending this message does not "
            "have a PTR record setup)",
        ),
        Phrase(
            "no-ptr",
            r"(?:no|invalid|bad|missing) ptr",
            "maddy internal/check/dns/dns.go require_matching_rdns, RFC 7372 X.7.25 "
            "(github.com/foxcpp/maddy, commit 837b1b8a) (catalogue maddy-no-ptr)",
        ),
        Phrase(
            "cannot-find-your-hostname",
            r"cannot find your (?:reverse )?hostname",
            "Postfix smtpd_check.c: reject_unknown_client_hostname (cannot find your hostname), "
            "reject_unknown_reverse_client_hostname (cannot find your reverse hostname)",
        ),
        Phrase("unverifiable-ip", r"unverifi?(?:y|i)able (?:sending )?(?:ip|host)", ""),
        Phrase(
            "no-reverse",
            r"no reverse",
            "qpsmtpd plugins/helo no_reverse_dns(): \"no reverse DNS for $ip\", sent by "
            "get_reject() (github.com/smtpd/qpsmtpd, commit df5b04d8)",
        ),
        Phrase(
            "ip-name-possibly-forged",
            r"(?:ip name|hostname) (?:possibly forged|lookup failed)|possibly forged hostname",
            "Sendmail proto.m4: Relaying denied. IP name possibly forged / IP name lookup "
            "failed; 451 4.1.8 Possibly forged hostname for <IP>",
        ),
        Phrase(
            "client-ip-does-not-resolve",
            r"client ip address \S{2,45} does not resolve",
            "Sendmail proto.m4 (require_rdns): 451 4.1.8 Client IP address <IP> does not resolve",
        ),
        Phrase(
            "without-a-valid-sender-domain",
            r"without a valid sender domain",
            "https://smtp.codes/550 (AT&T rows) (catalogue att-550-no-valid-sender-domain)",
        ),
    ),
    "notcompliantrfc": (
        Phrase(
            "require-a-valid-header",
            r"we require a valid [a-z-]+ header",
            "qpsmtpd plugins/headers: \"We require a valid $h header\" (a required header, "
            "From or Date by default, missing or repeated; github.com/smtpd/qpsmtpd, commit "
            "df5b04d8)",
        ),
        Phrase(
            "line-is-too-long",
            r"\bline is too long",
            "RFC 5322 2.1.1 / RFC 5321 4.5.3.1.6 (a text line is at most 998 characters and CRLF); "
            "Stalwart session.rs: 554 5.3.4 Line is too long.",
        ),
        Phrase(
            "maximum-line-length-exceeded",
            r"maximum line length exceeded",
            "RFC 5322 2.1.1 (a line is at most 998 characters); Go-Guerrilla "
            "response/enhanced.go FailReadLimitExceededDataCmd: 550 5.2.3 Error: maximum line "
            "length exceeded (catalogue go-guerrilla-line-too-long)",
        ),
        Phrase(
            "malformed-header-field",
            r"(?:malformed|missing|unparseable|invalid) "
            r"(?:from header|sender header|date header|message-id header)",
            "RFC 5322 3.6 (From and Date are required); maddy authorize_sender.go (Malformed From "
            "header, Missing From header); qpsmtpd plugins/dmarc (unparseable from header)",
        ),
        Phrase(
            "no-from-header",
            r"(?:does not contains?|without|lacks?|has no) (?:a |an )?(?:from header|date header)",
            "RFC 5322 3.6; maddy endpoint/smtp/submission.go: Message does not contains a From "
            "header field",
        ),
        Phrase(
            "rfc-5322-compliant",
            r"rfc ?(?:5322|2822|822)\b.{0,20}(?:compliant|complian|violat|conform)",
            "Google SMTP error reference 550 5.7.1 (This message is not RFC 5322 compliant)",
        ),
        Phrase(
            "multiple-headers",
            r"(?:multiple|duplicate) .{0,40}(?:headers?|addresses in from)",
            "Gmail 550 5.7.1: Our system has detected that this message is not RFC 5322 "
            "compliant: duplicate headers. / ...: Multiple 'From' headers found. (read in "
            "https://www.spamresource.com/2022/08/gmail-weird-rfc-5322-bounces-and-what.html, a "
            "third-party page) (catalogue gmail-550-5.7.1-rfc5322-duplicate-headers); "
            "amavisd-new 2.13.0 Amavis/Conf.pm %smtp_reason_by_ccat: CC_BADH.',8' 'id=%n - BAD "
            "HEADER: duplicate header field' (Debian amavisd-new 1:2.13.0-3+deb12u1) (catalogue "
            "amavis-reject-duplicate-header)",
        ),
        Phrase(
            "multiple-addresses-in-from",
            r"multiple addresses in from",
            "Gmail 550 5.7.1: Messages with multiple addresses in From: header are not accepted. "
            "(read in https://pastebin.com/H08D7rt4, a third-party page quoting "
            "gmail-smtp-in.l.google.com's reply) (catalogue "
            "gmail-550-5.7.1-multiple-addresses-in-from)",
        ),
        Phrase(
            "bare-line-feed",
            r"bare (?:line-?feed|lf|cr)\b|\bbarelf\b|invalid line ending",
            "RFC 5321 2.3.8 (CR and LF only as CRLF); Haraka (Bare line-feed; see "
            "haraka.github.io/barelf), qpsmtpd (smtpd.develooper.com/barelf.html), chasquid "
            "(invalid line ending)",
        ),
        Phrase(
            "from-header-missing-or-malformed",
            r"(?:missing|malformed|unparseable|invalid|no) (?:from|sender|date) header"
            r"|does not contains? an? (?:from|date) header",
            "RFC 5322 3.6 (exactly one From and one Date field; Sender a single mailbox); "
            "maddy check_msg_header, qpsmtpd dmarc plugin (unparseable from header)",
        ),
        Phrase(
            "multiple-from-addresses",
            r"multiple from addresses",
            "RFC 5322 3.6.2 (a From of several mailboxes needs a Sender); maddy",
        ),
        Phrase(
            "headers-are-missing",
            r"headers are missing",
            "qpsmtpd check_basicheaders: 552 Headers are missing (RFC 5322 3.6)",
        ),
        Phrase(
            "header-syntax",
            r"\bheader syntax\b",
            "Exim ACL verify = header_syntax: 550 header syntax (RFC 5322 3.6)",
        ),
        Phrase(
            "line-length-998",
            r"line length is 998|\b998 (?:octets|characters|bytes)",
            "RFC 5322 2.1.1 (lines of at most 998 characters); Exim acl_check_data "
            "(maximum allowed line length is 998 octets)",
        ),
        Phrase(
            "headers-are-not-rfc-compliant",
            r"headers are not rfc compliant",
            "Yahoo SMTP error codes: 554 Message not allowed - Headers are not RFC compliant",
        ),
        Phrase(
            "not-rfc-compliant",
            r"not (?:rfc|standards?) ?-?compliant",
            "Yahoo: 554 Message not allowed - Headers are not RFC compliant (read in "
            "https://www.suped.com/email-deliverability/answers/how-do-i-fix-yahoo-bounce-message"
            "-554-message-not-allowed-headers-are-not-rfc-compliant, a third-party page) "
            "(catalogue yahoo-554-headers-not-rfc-compliant)",
        ),
        Phrase(
            "missing-a-valid-message-id",
            r"missing a valid message-id",
            "Google SMTP error reference 550 5.7.1 (Messages missing a valid Message-ID header "
            "are not accepted)",
        ),
        Phrase(
            "not-rfc-5322",
            r"not rfc 5322",
            "Gmail 550 5.7.1: Our system has detected that this message is not RFC 5322 "
            "compliant: 'From' header is missing. (read in https://pastebin.com/Cs1CdqB5, a "
            "third-party page) (catalogue gmail-550-5.7.1-rfc5322-from-missing)",
        ),
    ),
    "badreputation": (
        Phrase(
            "traffic-not-accepted-from-this-ip",
            r"traffic not accepted from (?:this|your) ip",
            "Exchange Online, fix error code 5.7.700 through 5.7.750: 5.7.708 Access denied, "
            "traffic not accepted from this IP, \"sending email from known, low reputation IP "
            "addresses\" (github.com/MicrosoftDocs/OfficeDocs-Exchange, commit 52e8b70f) "
            "(catalogue microsoft-5.7.708-traffic-not-accepted)",
        ),
        Phrase(
            "yahoo-ts-deferral",
            r"\[ts0[1-3]\]",
            "Yahoo help SLN3436: [TS01]-[TS03], messages from the sending IP deferred for its "
            "traffic's characteristics (volume, complaints); TS03 permanently",
        ),
        Phrase(
            "bad-karma",
            r"bad karma",
            "qpsmtpd plugins/karma: very bad karma (the sending IP's history score)",
        ),
        Phrase(
            "spam-statistics",
            r"spam statistics",
            "Yandex bounces: Blocked by spam statistics",
        ),
        Phrase(
            "bad-behavior",
            r"bad behaviou?r",
            "SFR: Service refused due to bad behavior (an IP that sent much spam)",
        ),
        Phrase(
            "untrusted-ip",
            r"untrusted (?:sending )?ip\b",
            "Rackspace G28: Received too many messages from a new or untrusted IP",
        ),
        Phrase(
            "reputation",
            r"\breputation\b",
            "Google SMTP error reference 550 5.7.1 (the very low reputation of the sending IP / "
            "domain)",
        ),
        Phrase(
            "unexpected-volume-or-user-complaints",
            r"unexpected volume or user complaints",
            "Yahoo TSS04 deferral",
        ),
        # Yahoo's "[TS03] All messages from <IP> (will be) permanently deferred; Retrying will
        # NOT succeed" and its 553 5.7.2 [TSS09] form: the sending IP's volume is that of
        # unsolicited bulk mail (Yahoo's own explanation), its reputation, not the sender address.
        Phrase(
            "all-messages-permanently-deferred",
            r"all messages from .{1,60}permanently deferred",
            "Yahoo help SLN3436: \"421 4.7.1 [TS03] All messages from x.x.x.x permanently "
            "deferred\" means \"a high volume of messages from your IP address that is a "
            "characteristic of unsolicited, bulk emails\" (catalogue yahoo-421-ts03-permanently-"
            "deferred)",
        ),
    ),
    "contenterror": (
        Phrase(
            "header-lines-are-too-many",
            r"header lines are too many|header size is too large",
            "Apache James EnforceHeaderLimitationsMessageHook.java: too many header lines, or a "
            "header too large (catalogue james-header-lines-too-many)",
        ),
        Phrase(
            "failed-to-parse-message",
            r"(?:failed|unable) to parse (?:the )?message",
            "Stalwart inbound/data.rs: 550 5.7.7 Failed to parse message",
        ),
        Phrase(
            "improper-use-of-8-bit-data",
            r"improper use of 8-bit data",
            "Postfix cleanup(8) (strict_8bitmime): improper use of 8-bit data in message header / "
            "body",
        ),
        Phrase(
            "header-size-exceeds",
            r"header (?:size|line) (?:exceeds|too long|too large)",
            "Courier courier/courier/submit.C: \"534 Message header size exceeds policy limit.\" "
            "(github.com/svarshavchik/courier, commit fe506ccc)",
        ),
        Phrase(
            "headers-too-large",
            r"headers? too (?:large|long|big)",
            "Sendmail sendmail/collect.c: usrerrenh(\"5.6.0\", \"552 Headers too large (%d max)\") "
            "above MaxHeadersLength (github.com/deepin-community/sendmail, commit c7e7de44) "
            "(catalogue sendmail-headers-too-large)",
        ),
        Phrase(
            "invalid-characters",
            r"invalid (?:characters?|mime|header)",
            "Cyrus IMAP imap/lmtp_err.et, imap/imap_err.et and imap/lmtpengine.c "
            "send_lmtp_error() (github.com/cyrusimap/cyrus-imapd, commit 1f3a1293) (catalogue "
            "cyrus-lmtp-invalid-header)",
        ),
        Phrase(
            "malformed-mime",
            r"(?:malformed|invalid|illegal|broken) (?:mime|headers?|message structure)",
            "Cyrus IMAP imap/lmtp_err.et, imap/imap_err.et and imap/lmtpengine.c "
            "send_lmtp_error() (github.com/cyrusimap/cyrus-imapd, commit 1f3a1293) (catalogue "
            "cyrus-lmtp-invalid-header)",
        ),
        Phrase(
            "bare-lf",
            r"(?:bare|stray) (?:lf|linefeed|line feed|cr)",
            "RFC 5321 2.3.8 (no bare CR or LF); Exchange Online NDR 5.6.11 "
            "(BareLinefeedsAreIllegal)",
        ),
        Phrase(
            "header-is-too-long",
            r"header (?:field )?is too (?:long|large)",
            "Exchange Online NDR 5.0.350 (x-dg-ref header is too long)",
        ),
        Phrase(
            "exceeds-safety-limit",
            r"(?:message header length|mime nesting) exceeds safety limit",
            "Postfix src/global/mime_state.c mime_state_error(): \"5.6.0\" \"message header "
            "length exceeds safety limit\" / \"MIME nesting exceeds safety limit\" "
            "(cleanup, strict MIME checks) Postfix (github.com/vdukhovni/postfix, commit "
            "17830e5c)",
        ),
        Phrase(
            "invalid-encoding-domain",
            r"invalid message/\* or multipart/\* encoding domain",
            "Postfix src/global/mime_state.c: \"5.6.0\" \"invalid message/* or multipart/* "
            "encoding domain\" Postfix (github.com/vdukhovni/postfix, commit 17830e5c)",
        ),
        Phrase(
            "header-not-crlf-terminated",
            r"header not crlf terminated",
            "Exim src/src/receive.c: \"552 Message header not CRLF terminated\" "
            "(github.com/Exim/exim, commit 13835a3c)",
        ),
    ),
    "rejected": (
        Phrase(
            "mailscanner-no-requerido",
            r"correo\s+electr[oó]nico\s+no\s+requerido",
            "MailScanner common/usr/share/MailScanner/reports/es/rejection.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-es-rejection)",
        ),
        Phrase(
            "domain-published-null-mx",
            r"domain published rfc ?7505 null mx",
            "rspamd conf/modules.d/mx_check.conf reject_null_mx_message \"Domain published "
            "RFC 7505 Null MX\": mx_check tests the sender's (SMTP FROM or HELO) domain, so "
            "the null MX is the sender's (RFC 7505 section 4.2, 550 5.7.27), not the "
            "recipient's (github.com/rspamd/rspamd, commit eaac8e914)",
        ),
        Phrase(
            "mailfrom-domain-not-configured-for-mail",
            r"mailfrom domain not configured for mail",
            "mox smtpserver/server.go cmdMail: 550 5.7.27 for a MAIL FROM domain with a null MX "
            "(RFC 7505) (catalogue mox-mailfrom-null-mx)",
        ),
        Phrase(
            "sender-domain-has-no-mx",
            r"(?:domain in mail from|sender domain|sender's domain)\b.{0,40}"
            r"\b(?:null mx|no mx|any mx)",
            "RFC 7505 4.2 (550 5.7.27: the sender's domain has a null MX); maddy "
            "check/dns/dns.go require_mx_record: Domain in MAIL FROM has null MX record / does "
            "not have any MX records",
        ),
        Phrase(
            "not-allowed-to-send-from-this-address",
            r"not (?:allowed|permitted|authori[sz]ed) to (?:send|use) (?:mail )?from "
            r"(?:this address|that address|the address|this sender|the sender)",
            "Stalwart inbound/mail.rs: You are not allowed to send from this address",
        ),
        Phrase(
            "unauthorized-use-of-sender",
            r"unauthori[sz]ed use of (?:the )?sender",
            "maddy authorize_sender.go: Unauthorized use of sender address",
        ),
        Phrase(
            "spoofed-sender",
            r"spoofed (?:mail from|sender|envelope)|fake sender|forged sender",
            "Haraka plugins/queue/smtp_forward.js check_sender (Spoofed MAIL FROM); Coremail "
            "(Fake sender)",
        ),
        Phrase(
            "mail-from-not-allowed",
            r"(?:mail from domain|mail from address) .{1,80}\bnot (?:allowed|permitted)",
            "Haraka plugins/rcpt_to.host_list_base.js hook_mail: Mail from domain '<d>' is not "
            "allowed from your host",
        ),
        Phrase(
            "sender-rejected",
            # The address may follow the word (smtpf "sender <%s> black listed", Apache
            # James "Sender <%s> is not allowed for unauthenticated connection").
            r"sender (?:<[^<>\s]{1,254}> )?(?:address |domain |email address |e-mail address )?"
            r"(?:is |was |has been )?"
            r"(?:rejected|denied|refused|blocked|black ?listed|not allowed|invalid|unknown|"
            r"not permitted|banned)",
            "https://www.icoremail.vip/support/index.php?cate_id=84&page=5&start=0 (Coremail "
            "support, 退信提示 list) (catalogue coremail-null-sender)",
        ),
        Phrase(
            "invalid-sender",
            r"(?:invalid|bad|unknown|unroutable|unresolvable|bogus) (?:envelope )?sender",
            "RFC 3463 X.1.7 / X.1.8 (Bad sender's mailbox address syntax / system address)",
        ),
        Phrase(
            "sender-verify-failed",
            r"sender (?:address )?verif(?:y|ication) failed",
            "Exim: 550 Sender verify failed (verify = sender)",
        ),
        Phrase(
            "sender-verify",
            r"sender verify",
            "Exim: Sender verify failed / Sender verify defer",
        ),
        Phrase(
            "domain-of-sender-does-not-exist",
            r"domain of sender (?:address )?.{0,80}(?:does not|doesn't) exist",
            "Sendmail cf/m4/proto.m4 check_mail: canonify PERM "
            "(github.com/deepin-community/sendmail, commit c7e7de44) (catalogue "
            "sendmail-sender-domain-not-exist)",
        ),
        Phrase(
            "sender-domain-must-exist",
            r"sender domain must (?:exist|resolve)",
            "qmail-smtpd with the mfcheck patch",
        ),
        Phrase(
            "from-address-blacklisted",
            r"(?:from|sender) address (?:is )?(?:blacklisted|blocked|not allowed)",
            "Stalwart crates/smtp/src/inbound/mail.rs (github.com/stalwartlabs/stalwart, commit "
            "d72608f3) (catalogue stalwart-sender-not-allowed)",
        ),
        Phrase(
            "sending-to-from-blacklisted-address",
            r"sending to/from an address that has been blacklisted",
            "",
        ),
        Phrase(
            "in-my-badmailfrom-list",
            r"(?:in|on) my badmailfrom list",
            "qmail-smtpd control/badmailfrom",
        ),
        # The RFCs' example gives it for a recipient (vnet.ibm.com's gateway does not know
        # arathib): read alone, userunknown. It stays under rejected, as the benchmark corpus
        # labels this very reply (the RFC's example report, rfc3464-35); the RFC itself does
        # not say which address the gateway refused.
        Phrase(
            "not-a-registered-gateway-user",
            r"not a registered gateway user",
            "RFC 3464 section 9.2 (and RFC 1894 section 9.2), the example DSN's Diagnostic-Code "
            "from vnet.ibm.com: 550 'arathib@vnet.IBM.COM' is not a registered gateway user",
        ),
        Phrase(
            "cant-determine-purported-responsible-address",
            r"can't determine purported responsible address",
            "RFC 4407 section 7 (cannot determine the purported responsible address)",
        ),
        Phrase(
            "purported-responsible-address",
            r"purported responsible address",
            "RFC 4407 (Sender ID: the purported responsible address)",
        ),
        Phrase(
            "all-recipient-addresses-rejected-access-denied",
            r"all recipient addresses rejected : access denied",
            "Exchange Online",
        ),
        Phrase("does-not-exist-e2110", r"does not exist e2110", ""),
        # Not "Mail from <IP> refused by <DNSBL>" (Trend Micro's RBL+ reply): that is the
        # client's address.
        Phrase(
            "mail-from-rejected",
            r"\bmail from\b(?! \[?\d{1,3}\.\d{1,3}\.).{0,60}(?:rejected|refused|denied)",
            "qpsmtpd plugins/rhsbl: \"Mail from $host rejected because it $result\" (the sender's "
            "domain is on a right-hand-side blocklist) (github.com/smtpd/qpsmtpd, commit "
            "df5b04d8)",
        ),
        Phrase(
            "unresolvable-rfc5321-domain",
            r"unresolvable rfc\.?5321 domain",
            "Yahoo SMTP error codes: 451 Message temporarily deferred due to unresolvable "
            "RFC.5321 from domain",
        ),
        Phrase(
            "mail-from-domain-has-no-mx",
            r"domain (?:in|of) (?:the )?(?:mail from|sender(?: address)?) (?:has null mx"
            r"|does not have any mx)",
            "RFC 7505 section 4.2 / X.7.27 (sender address has null MX); maddy (Domain in MAIL "
            "FROM has null MX record / does not have any MX records)",
        ),
        Phrase(
            "not-allowed-to-use-sender-address",
            r"unauthori[sz]ed use of (?:the )?sender address"
            r"|not allowed to send from (?:this|that|the) address",
            "maddy (553 5.7.0 Unauthorized use of sender address); Stalwart (You are not "
            "allowed to send from this address)",
        ),
        Phrase(
            "spoofed-or-fake-sender",
            r"spoofed mail from|\bfake sender\b",
            "Haraka (550 Spoofed MAIL FROM); Coremail (Requested mail action not taken: Fake "
            "sender)",
        ),
        Phrase(
            "mail-from-domain-not-allowed-from-host",
            r"mail from domain .{1,255} is not allowed from your host",
            "Haraka host_list plugin: Mail from domain '<domain>' is not allowed from your host",
        ),
        Phrase(
            "sender-address-rejected",
            r"sender address rejected",
            "Postfix smtpd_check.c: every sender restriction answers \"Sender address rejected: "
            "<why>\"",
        ),
        Phrase(
            "sender-address-blocked-using",
            r"sender address \[[^\]\n]{1,320}\] blocked using",
            "Postfix smtpd_check.c reject_rhsbl_sender: Sender address [<addr>] blocked using "
            "<list>",
        ),
        Phrase(
            "sender-login-mismatch",
            r"sender is not (?:the )?same as (?:the )?smtp authenticated? user(?:name)?",
            "iRedAPD libs/__init__.py SMTP_ACTIONS['reject_sender_login_mismatch'], plugin "
            "reject_sender_login_mismatch: an authenticated client sends as an address it may "
            "not use (github.com/iredmail/iRedAPD, commit 60b2eed4)",
        ),
        Phrase(
            "forged-sender-domain",
            r"smtp auth is required for users under this sender domain",
            "iRedAPD libs/__init__.py SMTP_ACTIONS['reject_forged_sender']: an unauthenticated "
            "client sends as an address of a hosted domain, taken for forged "
            "(github.com/iredmail/iRedAPD, commit 60b2eed4)",
        ),
        Phrase(
            "null-sender-refused",
            r"rejection due to null sender",
            "iRedAPD libs/__init__.py SMTP_ACTIONS['reject_null_sender'], plugin "
            "reject_null_sender: Policy rejection due to null sender (github.com/iredmail/"
            "iRedAPD, commit 60b2eed4)",
        ),
        Phrase(
            "multi-recipient-bounce",
            r"multi-recipient bounce",
            "Postfix smtpd_check.c reject_multi_recipient_bounce: a null sender with many "
            "recipients",
        ),
        Phrase(
            "spam-abuse-detected",
            r"spam abuse detected",
            "Exchange Online NDR 5.7.501 (the sending account is banned for spam)",
        ),
        Phrase(
            "banned-sender",
            r"\bbanned sender\b(?! ?(?:ip|\[))",
            "Exchange Online NDR 5.7.502 / 5.7.503 (Access denied, banned sender)",
        ),
        Phrase(
            "tenant-exceeded-threshold",
            r"tenant has exceeded (?:its )?threshold",
            "Exchange Online NDR 5.7.705 (Access denied, tenant has exceeded threshold)",
        ),
        Phrase(
            "unregistered-domains",
            r"sending from unregistered domains?",
            "Exchange Online NDR 5.7.750 (Client blocked from sending from unregistered domains)",
        ),
    ),
    "hostunknown": (
        Phrase(
            "recipient-address-reserved-by-rfc-2606",
            r"recipient address reserved by rfc ?2606",
            "Exchange Server 5.1.4/5.1.5 \"Recipient address reserved by RFC 2606\" (a "
            "Receive connector refusing .test/.example/.invalid/.localhost and "
            "example.com/net/org recipients) (learn.microsoft.com, Exchange Server "
            "'Non-delivery reports and bounce messages', table of enhanced status codes; "
            "github.com/MicrosoftDocs/OfficeDocs-Exchange, commit 52e8b70f9)",
        ),
        Phrase(
            "single-label-domains-not-accepted",
            r"single label domains? not accepted",
            "Exchange Server 5.1.6 \"Recipient addresses in single label domains not "
            "accepted\" (learn.microsoft.com, Exchange Server 'Non-delivery reports and "
            "bounce messages', table of enhanced status codes; "
            "github.com/MicrosoftDocs/OfficeDocs-Exchange, commit 52e8b70f9)",
        ),
        Phrase(
            "illegal-host-domain",
            r"illegal host/domain",
            "PMDF and Sun Java System Messaging Server: 'illegal host/domain' errors, the MTA "
            "cannot deliver to the host named (PMDF System Manager's Guide, "
            "vsm.com.au/pmdf_root/doc/html/sysman/book_wd4.html; Messaging Server 6 2005Q4 "
            "Administration Guide, Illegal Host/Domain Errors, "
            "docs.oracle.com/cd/E19636-01/819-2650/bgbid/index.html)",
        ),
        Phrase(
            "host-unknown",
            r"host (?:is )?unknown",
            "Sendmail: 550 5.1.2 <address>... Host unknown (Name server: <host>: host not found)",
        ),
        Phrase(
            "unknown-host",
            r"unknown host",
            "Apache James server/mailet/mailets/src/main/java/org/apache/james/transport/mailets/"
            "remote/delivery/Bouncer.java explanationText(): \"Unknown host: <name>\" in the "
            "bounce for an UnknownHostException of remote delivery "
            "(github.com/apache/james-project, commit 20bf8083)",
        ),
        Phrase(
            "host-not-found",
            r"host (?:or domain name )?not found",
            "Postfix dns_lookup.c: Name service error for name=<name> type=<type>: Host not found",
        ),
        Phrase(
            "host-name-not-found",
            r"host [\w.\-]+ not found",
            "Exim src/src/route.c: addr->message = \"host %s not found when translating %s [%s]\" "
            "(ERRNO_UNKNOWNHOST) (github.com/Exim/exim, exim-4.99.1-148-g13835a3c1)",
        ),
        Phrase(
            "no-such-domain",
            r"no such (?:domain|host)",
            "Courier courier/module.esmtp/libesmtp.C: \"No such domain.\" for RFC1035_MX_HARDERR, "
            "a permanent error (github.com/svarshavchik/courier, commit fe506ccc) (catalogue "
            "courier-esmtp-no-such-domain); Haraka outbound/hmail.js get_mx_error(): \"No Such "
            "Domain: <domain>\" for NXDOMAIN, DSN.addr_bad_dest_system (github.com/haraka/Haraka, "
            "commit 0bf10cbb)",
        ),
        Phrase(
            "domain-does-not-exist",
            r"domain (?:name )?(?:does not|doesn't) exist",
            "OpenSMTPD usr.sbin/smtpd/mta.c: relay->failstr = \"Domain does not exist\" for "
            "DNS_ENONAME, a permanent failure (github.com/OpenSMTPD/OpenSMTPD, commit 3153385b) "
            "(catalogue opensmtpd-domain-does-not-exist)",
        ),
        Phrase(
            "unknown-domain",
            r"(?:unknown|invalid|nonexistent|non-existent|inexistent) domain",
            "OpenSMTPD usr.sbin/smtpd/mta.c: relay->failstr = \"Invalid domain name\" (DNS "
            "NXDOMAIN for the destination) (commit 3153385b) (catalogue opensmtpd-invalid-domain)",
        ),
        Phrase(
            "domain-invalid",
            r"domain (?:name )?(?:is )?(?:invalid|unknown|not found)",
            "Postfix smtpd_check.c reject_unknown_recipient_domain: Recipient address rejected: "
            "Domain not found",
        ),
        Phrase(
            "recipient-domain-not-found",
            r"recipient domain .{0,20}(?:not found|unknown|invalid|does not exist)",
            "Iridis mailRelay/mailFeed response codes (portal.iridis.uk knowledgebase 254): "
            "550 Recipient domain not found in DNS; RPT-VFY Recipient domain does not exist "
            "(catalogue iridis-550-recipient-domain-not-found-in-dns); XMail SMAILSvr.cpp: "
            "Recipient domain \"<domain>\" does not exist (or it has a misconfigured DNS) "
            "(github.com/davidel/xmail, commit 080faf00)",
        ),
        Phrase(
            "domain-then-does-not-exist",
            r"domain .{1,60} (?:does not|doesn't) exist",
            "XMail SMAILSvr.cpp: the bounce's \"Recipient domain \"<domain>\" does not exist (or "
            "it has a misconfigured DNS)\" for a fatal DNS error (github.com/davidel/xmail, "
            "commit 080faf00) (catalogue xmail-recipient-domain-does-not-exist)",
        ),
        Phrase(
            "name-or-service-not-known",
            r"name or service not known",
            "glibc gai_strerror(EAI_NONAME)",
        ),
        Phrase(
            "host-or-domain-name-not-found",
            r"host or domain name not found",
            "Postfix smtp(8): Host or domain name not found. Name service error",
        ),
        Phrase("domain-is-not-reachable", r"domain is not reachable", ""),
        Phrase(
            "unrouteable-domain",
            r"unrouteable (?:mail )?domain",
            "Exim's test suite configurations test/confs/0005, 0042, 0057 and others: a redirect "
            "router's \"data = :fail: unrouteable mail domain \\\"$domain\\\"\" "
            "(github.com/Exim/exim, exim-4.99.1-148-g13835a3c1)",
        ),
        Phrase(
            "couldnt-find-any-host-named",
            r"couldn't find any host named",
            "notqmail qmail-remote.c: Sorry, I couldn't find any host named <host>. (#5.1.2)",
        ),
        Phrase(
            "mx-records-point-to-non-existent-hosts",
            r"mx records? points? to non-?existent hosts?",
            "Exim: all relevant MX records point to non-existent hosts",
        ),
        Phrase(
            "no-ip-address-found-for-host",
            r"no ip address(?:es)? found for host",
            "Exim: no IP address found for host <name>",
        ),
        # Exchange 2000/2003's NDR for its 5.4.0: the destination's authoritative host is not
        # in DNS (not a lookup that may yet succeed).
        Phrase(
            "could-not-be-found-in-dns",
            r"could not be found in domain name service",
            "Microsoft TechNet, Exchange 6.5 MSExchangeTransport event 3018: an NDR of status "
            "5.4.0 \"indicates that an 'Authoritative Host was not found'\" (KB 284204); the "
            "NDR's sentence \"The destination server for this recipient could not be found in "
            "Domain Name Service (DNS)\" as snmail.co.uk/support/failure-dns.htm quotes it",
        ),
        Phrase(
            "invalid-host-or-domain-name",
            r"invalid host or domain name",
            "Postfix src/dns/dns_lookup.c: \"Name service error for %s: invalid host or "
            "domain name\" Postfix (github.com/vdukhovni/postfix, commit 17830e5c)",
        ),
    ),
    "spamdetected": (
        Phrase(
            "content-filter-agent-quarantined",
            r"content filter agent quarantined",
            "Exchange Server 5.2.1 \"Content Filter agent quarantined this message\" (the "
            "antispam Content Filter agent's SCL quarantine) (learn.microsoft.com, Exchange "
            "Server 'Non-delivery reports and bounce messages', table of enhanced status "
            "codes; github.com/MicrosoftDocs/OfficeDocs-Exchange, commit 52e8b70f9)",
        ),
        Phrase(
            "spam-detected",
            r"\bspam\b.{0,30}(?:detected|content|classification|filter|message|score|rejected|"
            r"suspected|probability|signature|abuse|blocked)",
            "https://guide.arubabusiness.it/email/configurazioni-email-arubabusiness/errori-comun"
            "i-invio-ricezione-posta (catalogue aruba-552-spam-detected)",
        ),
        Phrase(
            "as-spam",
            r"(?:as|likely|probably|suspected|identified as|classified as|considered|scored as)"
            r" (?:being )?(?:a )?spam\b",
            "https://www.bytecamp.net/de/faq/email/zustellen.html (bytecamp FAQ: Fehlermeldungen "
            "bei Zustellproblemen) (catalogue bytecamp-571-classified-as-spam)",
        ),
        Phrase(
            "rejected-due-to-spam",
            r"rejected (?:due to|as|for) spam",
            "Recipients' content filters' replies listed by Broadcom (Symantec Email "
            "Security.cloud) KB 169925 \"Common external Spam Filtering Error Codes\": 550 5.7.1 "
            "Message rejected as spam by Content Filtering; 554 Rejected due to spam content "
            "(catalogue symanteccloud-554-rejected-due-to-spam-content)",
        ),
        Phrase(
            "junk-mail",
            r"junk mail",
            "IndiMail qmail-smtpd(8): 554 SPAM or junk mail threshold exceeded (#5.7.1) "
            "(github.com/mbhangui/indimail-mta indimail-mta-x/qmail-smtpd.9, commit 364a4426) "
            "(catalogue indimail-554-spam-or-junk-mail-threshold)",
        ),
        Phrase(
            "ube",
            r"\bube\b",
            "amavisd-new 2.13.0 spam sender notification "
            "(/etc/amavis/en_US/template-spam-sender.txt and Amavis.pm's built-in copy): \"was "
            "considered unsolicited bulk e-mail (UBE).\" (Debian amavisd-new 1:2.13.0-3+deb12u1)",
        ),
        Phrase(
            "unsolicited-mail",
            r"unsolicited (?:bulk |commercial )?(?:mail|e-?mail|message)",
            "Gmail 550 5.7.1: Our system has detected that this message is likely unsolicited "
            "mail. To reduce the amount of spam sent to Gmail, this message has been blocked. "
            "(read in https://pastebin.com/zR4GN1WR, a third-party page quoting "
            "gmail-smtp-in.l.google.com's reply) (catalogue gmail-550-5.7.1-likely-unsolicited)",
        ),
        Phrase(
            "likely-unsolicited",
            r"likely unsolicited",
            "Google SMTP error reference 550 5.7.1 (Our system has detected that this message is "
            "likely unsolicited mail)",
        ),
        Phrase(
            "spamassassin",
            r"spamassassin",
            "Apache SpamAssassin (the filter names itself in its refusals)",
        ),
        Phrase(
            "bulk-mail",
            r"bulk (?:mail|e-?mail)",
            "amavisd-new 2.13.0 notifications (/etc/amavis/en_US/template-spam-sender.txt "
            "\"Subject: Considered UNSOLICITED BULK EMAIL, apparently from you\"; "
            "template-dsn.txt \", UNSOLICITED BULK EMAIL apparently from you\") (Debian "
            "amavisd-new 1:2.13.0-3+deb12u1)",
        ),
        Phrase(
            "spam-mail",
            r"spam(?:my)? (?:mail|email|message)",
            "Rspamd src/libserver/milter_internal.h RSPAMD_MILTER_RCODE_*, "
            "RSPAMD_MILTER_XCODE_*, RSPAMD_MILTER_*_MESSAGE (github.com/rspamd/rspamd, commit "
            "eaac8e91) (catalogue rspamd-milter-reject)",
        ),
        Phrase(
            "dash-spam",
            r"- spam\b",
            "amavisd-new 2.13.0 Amavis/Conf.pm %smtp_reason_by_ccat: CC_SPAM 'id=%n - spam', "
            "sent as \"554 5.7.0 Reject, id=<id> - spam\" (Amavis.pm) (Debian amavisd-new "
            "1:2.13.0-3+deb12u1) (catalogue amavis-reject-spam)",
        ),
        Phrase(
            "mail-rejete-mail-rejected",
            r"mail rejete\.? mail rejected",
            "Orange \"Mail rejete. Mail rejected\" (OFR 506)",
        ),
        Phrase(
            "spam-refused",
            r"\bspam (?:refused|not accepted)|suspicion of spam|no spam please",
            "Courier (550 Spam refused.); Yandex (Message rejected under suspicion of SPAM); "
            "Strato (Refused by local policy. No SPAM please!)",
        ),
        Phrase(
            "uribl",
            r"\buribl\b",
            "URIBL (uribl.com), a URI blocklist named in content filters' refusals",
        ),
        Phrase(
            "surbl",
            r"\bsurbl\b",
            "Haraka uribl plugin index.js do_reject(): \"<uri> blacklisted in multi.surbl.org\","
            " a URI domain of the message on SURBL (github.com/haraka/haraka-plugin-uribl, "
            "commit ff5a5379) (catalogue dnsbl-haraka-uribl-surbl-body)",
        ),
        Phrase(
            "mailchannels-cs-message-blocked",
            r"\[cs\] message blocked",
            "MailChannels Outbound Filtering: 550 5.7.1 [CS] Message blocked. If this is a false "
            "positive, ... (https://pastebin.com/BihkfJpV); MailChannels support: \"When the "
            "mail content shows any spam patterns, It will get blocked by our content filter "
            "with a CS error\" (github.com/jeremydumais/CPP-SMTPClient-library/issues/46) "
            "(catalogue mailchannels-550-cs-message-blocked)",
        ),
        Phrase(
            "listed-in-spamhaus-dbl",
            r"listed in dbl\.spamhaus\.org",
            "Haraka uribl plugin config/uribl.ini [dbl.spamhaus.org] custom_msg \"{uri} listed "
            "in {zone}; see http://www.spamhaus.org/query/dbl?domain={uri}\": a domain of the "
            "message's headers or body on the Spamhaus DBL (github.com/haraka/"
            "haraka-plugin-uribl, commit ff5a5379) (catalogue dnsbl-haraka-uribl-dbl-body)",
        ),
        Phrase(
            "mailscanner-classificato-come-spam",
            r"classificato\s+come\s+spam",
            "MailScanner common/usr/share/MailScanner/reports/it/sender.spam.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-it-spam)",
        ),
        Phrase(
            "mailscanner-oznacena-jako-spam",
            r"oznacena\s+jako\s+spam|zprava\s+je\s+pravdepodobne\s+spam",
            "MailScanner common/usr/share/MailScanner/reports/cz/sender.spam.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-cs-spam)",
        ),
        Phrase(
            "mailscanner-oznacena-ako-spam",
            r"oznacena\s+ako\s+spam",
            "MailScanner common/usr/share/MailScanner/reports/sk/sender.spam.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-sk-spam)",
        ),
        Phrase(
            "mailscanner-identificado-como-spam",
            r"identificado\s+como\s+spam|probablemente\s+es\s+spam",
            "MailScanner common/usr/share/MailScanner/reports/es/sender.spam.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-es-spam)",
        ),
        Phrase(
            "mailscanner-caracterizada-por-spam",
            r"caracterizada\s+por\s+spam|provavelmente\s+se\s+trata\s+de\s+spam",
            "MailScanner common/usr/share/MailScanner/reports/pt_br/sender.spam.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-pt-spam)",
        ),
        Phrase(
            "mailscanner-op-basis-van-de-inhoud",
            r"gereageerd\s+op\s+basis\s+van\s+de\s+inhoud",
            "MailScanner common/usr/share/MailScanner/reports/nl/sender.spam.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-nl-spam)",
        ),
        Phrase(
            "mailscanner-spam-nek-minosul",
            r"spam-nek\s+minosul",
            "MailScanner common/usr/share/MailScanner/reports/hu/sender.spam.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-hu-spam)",
        ),
    ),
    "speeding": (
        Phrase(
            "too-much-mail",
            r"(?:sending|received|receiving) too much (?:mail|e-?mail)|\bslow down\b",
            "Courier perlfilter-ratelimit.pl (<client> is sending too much mail, slow down); "
            "Rackspace G30 (Mailbox received too much email in a short period of time)",
        ),
        Phrase(
            "exceeded-transfer-quota",
            r"exceeded (?:the |its |your )?transfer quota",
            "Stalwart inbound/spawn.rs: Session exceeded transfer quota",
        ),
        Phrase("too-fast", r"too fast", ""),
        Phrase(
            "rate-limit",
            r"(?<!connection )rate limit(?:ed)?\b",
            "Stalwart crates/smtp/src/inbound/rcpt.rs (github.com/stalwartlabs/stalwart, commit "
            "d72608f3) (catalogue stalwart-rcpt-rate-limit)",
        ),
        Phrase(
            "receiving-mail-too-quickly",
            r"receiving mail (?:too quickly|at a rate)",
            "Google SMTP error reference 450 4.2.1 (receiving mail at a rate that prevents "
            "additional messages); Yahoo 421 4.7.0 (receiving mail too quickly)",
        ),
        Phrase(
            "throttled",
            r"throttl",
            "HostBuddy knowledge base a1533 "
            "(https://hostbuddy.com/support/kb/a1533/sender-is-throttled-error-message.aspx): "
            "\"Sender is throttled\" is returned by its SMTP server past a limit of 50 messages an "
            "hour",
        ),
        Phrase(
            "daily-limit-exceeded",
            r"(?:daily|hourly) .{0,30}(?:limit|quota) (?:exceeded|reached)",
            "Google SMTP error reference 550 5.4.5 (Daily user sending quota exceeded; Daily SMTP "
            "relay limit exceeded)",
        ),
        Phrase(
            "too-much-mail-from",
            r"too much mail from",
            "Postfix smtpd.c (smtpd_client_message_rate_limit): 450 4.7.1 Error: too much mail "
            "from <client>",
        ),
        Phrase(
            "due-to-excessive-volume",
            r"due to excessive volume",
            "https://smtp.codes/icloud (Apple iCloud Mail replies, with "
            "https://support.apple.com/en-us/HT204137) (catalogue icloud-421-excessive-volume)",
        ),
        Phrase(
            "too-many-recipients-from",
            r"too many recipients from",
            "Postfix smtpd.c (smtpd_client_recipient_rate_limit): 450 4.7.1 Error: too many "
            "recipients from <client>",
        ),
        Phrase(
            "too-many-messages-sent",
            r"too many (?:messages|mails|e-?mails) (?:sent|from)",
            "OpenSMTPD smtp_session.c: 452 4.5.3 Too many recipients: Too many messages sent",
        ),
        Phrase(
            "sending-too-much-mail",
            r"sending too much mail|too much e?mail in a short period",
            "Courier perlfilter example (<client> is sending too much mail, slow down); "
            "Rackspace G30 (Mailbox received too much email in a short period of time)",
        ),
        Phrase(
            "number-of-messages-exceeded",
            r"number of messages exceeded|exceeded transfer quota",
            "Courier ratefilter (Number of messages exceeded administrative limit); Stalwart "
            "(Session exceeded transfer quota)",
        ),
        Phrase(
            "submission-quota",
            r"submission quota",
            "Exchange Online NDR 5.2.2 (Submission quota exceeded); \"the sender's submission "
            "quota was exceeded\"",
        ),
        Phrase(
            "message-receive-limit",
            r"message receive limit",
            "Exchange Online NDR 5.2.121 / 5.2.122 (Recipient's per hour message receive limit "
            "exceeded)",
        ),
        Phrase(
            "daily-limit-for",
            r"(?:daily|hourly) (?:sending |message )?limit for",
            "Exchange Online NDR 5.1.90 (you've reached your daily limit for message recipients)",
        ),
        Phrase(
            "exceeded-permitted-limits",
            r"exceeded (?:the )?permitted limits?",
            "Exchange Online NDR 5.7.508 (has exceeded permitted limits within /64 range)",
        ),
        Phrase(
            "relay-limit-exceeded",
            r"relay limit exceeded",
            "Google SMTP error reference 450 4.2.1 (Peak SMTP relay limit exceeded for customer)",
        ),
        Phrase(
            "thread-limit-exceeded",
            r"thread limit exceeded",
            "Exchange Online NDR 4.3.2 (STOREDRV.Deliver; recipient thread limit exceeded)",
        ),
    ),
    "toomanyconn": (
        Phrase(
            "too-many-connections",
            r"too many (?:connections|sessions|concurrent|simultaneous|smtp)",
            "Postfix smtpd.c (smtpd_client_connection_count_limit): 421 4.7.0 Error: too many "
            "connections from <client>",
        ),
        Phrase(
            "connection-rate-limit",
            r"(?:connection|ip|domain|sender) (?:rate|frequency) (?:limit|limited|exceeded)",
            "Sendmail cf/m4/proto.m4 ruleset RateControl of FEATURE(`ratecontrol'): $#error $@ "
            "4.3.2 $: _RATE_CONTROL_REPLY Connection rate limit exceeded. (452, or 421 with "
            "`terminate', cf/feature/ratecontrol.m4) (github.com/deepin-community/sendmail, "
            "commit c7e7de44) (catalogue sendmail-connection-rate-limit)",
        ),
        Phrase(
            "connection-limit",
            r"connection limit",
            "Exim src/src/transports/smtp.c: \"connection limit reached for all hosts%s\" when "
            "every host is skipped for its serialize_hosts limit (another Exim process is "
            "connected to it) (github.com/Exim/exim, exim-4.99.1-148-g13835a3c1)",
        ),
        Phrase(
            "max-connections",
            r"max(?:imum)? (?:number of )?(?:connections|concurrent)",
            "Exchange Server Receive connector (MaxInboundConnectionPerSource): 421 4.3.2 The "
            "maximum number of concurrent server connections has exceeded a per-source limit, "
            "closing transmission channel (read in "
            "https://learn.microsoft.com/en-us/answers/questions/407670, a user's question "
            "quoting the reply, a third-party page) (catalogue "
            "microsoft-421-4.3.2-max-connections-per-source)",
        ),
        Phrase(
            "max-message-per-connection",
            r"max message per connection",
            "Yahoo SMTP error codes: 421 Max message per connection reached, closing transmission "
            "channel",
        ),
        Phrase(
            "all-ports-are-busy",
            r"all (?:server|screening) ports are busy",
            "Postfix src/postscreen/postscreen.c, postscreen_send.c: \"421 4.3.2 All server "
            "ports are busy\", \"421 4.3.2 All screening ports are busy\" (connection "
            "limits) Postfix (github.com/vdukhovni/postfix, commit 17830e5c)",
        ),
    ),
    "blocked": (
        Phrase(
            "unauthenticated-e-mail-from-is-restricted",
            r"unauthenticated e-mail from \S+ is restricted",
            "Apache James DNSRBLHandler.java: the client IP is on a DNS blocklist (catalogue "
            "james-dnsrbl-unauthenticated-restricted)",
        ),
        Phrase(
            "reconnect-to-fast",
            r"reconnect to fast",
            "Apache James AbstractGreylistHandler.java: retried inside the greylisting delay "
            "(catalogue james-greylist-reconnect-too-fast)",
        ),
        Phrase(
            "provided-ehlo-helo-can-not-resolved",
            r"provided ehlo/helo \S+ can not resolved",
            "Apache James ResolvableEhloHeloHandler.java: the client's HELO name does not resolve"
            " (catalogue james-ehlo-can-not-resolved)",
        ),
        # postscreen(8) answers these, and only these, to a client it judged by its IP
        # address: on its deny list or a DNSBL, or failing its pregreet and after-220 tests
        # (a bot's behaviour). RFC 3463 X.3.2 alone would read "not accepting messages".
        Phrase(
            "postscreen-service-currently-unavailable",
            r"[45]\.3\.2 service currently unavailable",
            "Postfix src/postscreen/postscreen.c (deny-listed client: 521/550 5.3.2) and "
            "postscreen_state.c (421 4.3.2; 450 4.3.2 before the tests pass) "
            "(github.com/vdukhovni/postfix, commit 17830e5c) "
            "(catalogue postfix-postscreen-denylist-enforce)",
        ),
        Phrase(
            "postscreen-protocol-error",
            r"5\.5\.1 protocol error",
            "Postfix src/postscreen/postscreen_early.c (PREGREET: 521/550 5.5.1 Protocol error) "
            "and postscreen_smtpd.c (pipelining, non-SMTP command, bare newline) "
            "(github.com/vdukhovni/postfix, commit 17830e5c) "
            "(catalogue postfix-postscreen-protocol-error)",
        ),
        Phrase(
            "excessive-unknown-recipients",
            r"excessive unknown recipients",
            "Yahoo help abuse-57: 451 VS1-IP / VS1-MF Excessive unknown recipients - possible Open "
            "Relay (the sending IP is blocked)",
        ),
        Phrase(
            "too-many-invalid-recipients",
            r"too many invalid recipients",
            "Cisco AsyncOS Directory Harvest Attack Prevention: the connection of a host past "
            "the threshold of invalid recipients per hour is dropped, 550 \"Too many invalid "
            "recipients.\" (AsyncOS 7.6 Advanced Configuration Guide p. 3-30, "
            "https://manualsbrain.com/pt/manuals/1716216/?page=164) "
            "(catalogue cisco-550-too-many-invalid-recipients)",
        ),
        Phrase(
            "connection-from-you-denied",
            r"connection from (?:you|your (?:host|ip|server)) (?:is )?(?:temporarily )?"
            r"(?:denied|refused|rejected)",
            "qpsmtpd lib/Qpsmtpd/SMTP.pm connect_respond(): Connection from you [temporarily] "
            "denied",
        ),
        Phrase(
            "not-welcome-here",
            r"not welcome here",
            "Haraka connection.js connect_respond(): a connect hook's DENY, Your mail is not "
            "welcome here",
        ),
        Phrase(
            "sender-ip-banned",
            r"(?:sender|client|host) \[?\d{1,3}(?:\.\d{1,3}){3}\]? (?:is banned|is blocked"
            r"|is blacklisted|has been banned|has been blocked|has been blacklisted)",
            "Baruwa: The sender <ip> is banned (the IP is on the banned senders list)",
        ),
        Phrase(
            "on-black-list",
            r"(?:on|in) (?:a |the |our |their |my )?(?:black|block) ?list",
            "Exim dnslists: rejected because <IP> is in a black list at <list>",
        ),
        Phrase(
            "blocked-using",
            r"blocked using",
            "Postfix smtpd(8) reject_rbl_client: blocked using <list>",
        ),
        Phrase(
            "listed-on-rbl",
            r"(?:listed|found) (?:on|in|at) .{0,60}(?:rbl|dnsbl|blocklist|spamhaus|sorbs|spamcop"
            r"|barracuda|dnsbls)",
            "maddy internal/check/dnsbl/dnsbl.go default message (github.com/foxcpp/maddy, "
            "commit 837b1b8a) (catalogue maddy-dnsbl-listed)",
        ),
        Phrase(
            "spamhaus",
            r"spamhaus",
            "Spamhaus DNSBL (zen.spamhaus.org), named by Postfix reject_rbl_client / Exim "
            "dnslists replies",
        ),
        Phrase("sorbs", r"\bsorbs\b", "SORBS DNSBL (dnsbl.sorbs.net), named by DNSBL refusals"),
        Phrase("spamcop", r"spamcop", "SpamCop DNSBL (bl.spamcop.net), named by DNSBL refusals"),
        Phrase(
            "proofpoint-ipcheck",
            r"ipcheck\.proofpoint\.com",
            "Proofpoint IP Check (ipcheck.proofpoint.com), the lookup Proofpoint's refusals of a "
            "sending IP its reputation service blocks point to (\"554 5.7.0 Blocked - see "
            "https://ipcheck.proofpoint.com/?ip=<ip>\")",
        ),
        Phrase(
            "nixspam",
            r"\bnixspam\b",
            "NiX Spam DNSBL (heise iX), named by DNSBL refusals: OpenBSD etc/mail/spamd.conf "
            "nixspam msg \"Your address %A is in the nixspam list\" (github.com/openbsd/src, "
            "commit 0eefc212) (catalogue spamd-nixspam)",
        ),
        Phrase(
            "has-mailed-to-spamtraps",
            r"\bhas mailed to spamtraps\b",
            "OpenBSD libexec/spamd/grey.c traplist_msg \"Your address %A has mailed to "
            "spamtraps here\", the client addresses that mailed a spamtrap address "
            "(github.com/openbsd/src, commit e52bebba) (catalogue spamd-greytrap)",
        ),
        Phrase(
            "has-sent-mail-to-a-spamtrap",
            r"\bhas sent mail to an? [\w.-]{1,64} spamtrap\b",
            "OpenBSD etc/mail/spamd.conf uatraps msg \"Your address %A has sent mail to a "
            "ualberta.ca spamtrap within the last 24 hours\" (github.com/openbsd/src, commit "
            "0eefc212) (catalogue spamd-uatraps)",
        ),
        Phrase(
            "your-address-appears-to-be-from",
            r"\byour address (?:\d{1,3}\.){3}\d{1,3} appears to be from\b",
            "OpenBSD etc/mail/spamd.conf china and korea msg \"SPAM. Your address %A appears "
            "to be from China\" (a list of the country's address blocks; %A the client's "
            "address) (github.com/openbsd/src, commit 0eefc212) (catalogue spamd-china)",
        ),
        Phrase(
            "dnsbl",
            r"\bdnsbl\b",
            "DNS blocklists (RFC 5782), named in the refusals of the MTAs that use them",
        ),
        Phrase(
            "rbl",
            r"\brbl\b",
            "DNS blocklists (RFC 5782), named in the refusals of the MTAs that use them",
        ),
        Phrase(
            "client-host-rejected",
            r"client host (?:\[?[\w.:]+\]? )?(?:rejected|blocked|refused)",
            "Postfix smtpd(8): Client host rejected",
        ),
        Phrase(
            "client-blocked",
            r"client (?:host )?(?:\[?[\w.:]+\]? )?blocked",
            "Postfix src/global/mail_params.h DEF_DEF_RBL_REPLY \"$rbl_code Service unavailable; "
            "$rbl_class [$rbl_what] blocked using $rbl_domain\" with $rbl_class \"Client host\" "
            "(postfix 20260821, commit 17830e5c) (catalogue postfix-rbl-default-reply)",
        ),
        Phrase(
            "ip-blocked",
            r"\bip(?: address)?(?: [\d.:]+)? (?:is |has been |was )?(?:blocked|blacklisted|banned|"
            r"listed|rejected|not allowed|temporarily blacklisted)",
            "https://www.icoremail.vip/support/index.php?cate_id=84&page=5&start=0 (Coremail "
            "support, 退信提示 list) (catalogue coremail-ip-is-rejected)",
        ),
        Phrase(
            "ip-black-list",
            r"(?:ip|host|client|server|address|network|relay|domain)\b.{0,40}"
            r"\b(?:black|block) ?list",
            "Outlook.com (hotmail.com): 550 5.7.1 ... part of their network is on our block list "
            "(S3140) (read in https://virtbiz.com/client/index.php?rp=%2Fknowledgebase%2F71%2F"
            "Outlook-or-Hotmail-or-Microsoft-has-blocked-my-email.html, a third-party collection) "
            "(catalogue microsoft-outlookcom-550-5.7.1-block-list)",
        ),
        Phrase(
            "server-banned",
            r"(?:server|host|network|ip) (?:is |has been )?(?:banned|blacklisted|blocked)",
            "Zimbra store/conf/attrs/zimbra-attrs.xml zimbraCBPolicydGreylistingBlacklistMsg: "
            "Greylisting in effect, sending server blacklisted (github.com/Zimbra/zm-mailbox, "
            "commit 2b7f9787) (catalogue zimbra-greylisting-sending-server-blacklisted)",
        ),
        Phrase(
            "your-ip",
            r"your (?:ip|host|server|network) ",
            "XMail SMTPSvr.cpp SMTPDoIPBasedInit: 550 Denied due inclusion of your IP inside "
            "(<map>) (github.com/davidel/xmail, commit 080faf00) (catalogue xmail-550-ip-in-map)",
        ),
        # The name the client gave with HELO/EHLO (RFC 5321 4.1.1.1: it identifies the
        # client) refused: the client's fault, whatever command the report names, if any.
        Phrase(
            "helo-name-refused",
            r"\b(?:helo|ehlo) (?:(?:domain|name|hostname) )?(?:\S+ )?"
            r"(?:denied|rejected|refused|does not exist|does not match|does not resolve)"
            r"|\b(?:invalid|unresolvable) (?:helo|ehlo) (?:domain|name|hostname)",
            "Courier submit.C BOFHCHECKHELO (\"HELO <name> does not exist.\", \"... does not "
            "match <ip>\"; github.com/svarshavchik/courier, commit fe506ccc); Haraka "
            "connection.js helo_respond()/ehlo_respond() DENY (\"HELO denied\", \"EHLO "
            "denied\"; github.com/haraka/Haraka, commit 0bf10cbb); mox smtpserver/server.go "
            "cmdHelo (\"your ehlo domain does not resolve to an IP address\"; "
            "github.com/mjl-/mox, commit 1c958766); Stalwart inbound/ehlo.rs (\"Invalid EHLO "
            "domain.\"; github.com/stalwartlabs/stalwart, commit d72608f3) (catalogue "
            "haraka-ehlo-denied)",
        ),
        Phrase(
            "helo-command-rejected",
            r"helo command rejected",
            "Postfix smtpd(8): Helo command rejected",
        ),
        Phrase(
            "not-accepting-connections",
            r"not accepting connections",
            "Postfix src/smtpd/smtpd.c smtpd_proto(): a milter's 5xx reject at CONNECT answers "
            "\"554 <myhostname> ESMTP not accepting connections\" (postfix 20260821, commit "
            "17830e5c)",
        ),
        Phrase(
            "dial-up",
            # Not a host name's label ("553 dialup.example.net config error: ..."): the
            # reply's words, not the name of the host that wrote it.
            r"(?<![\w.-])dial-?up(?![\w-]|\.[a-z0-9])",
            "T-Online: 554 Dialup/transient IP not allowed (read in "
            "https://help.creoline.com/en/doc/t-online-554-dialuptransient-ip-not-allowed-zVwMz4z866,"
            " a third-party collection) (catalogue tonline-554-dialup-transient-ip)",
        ),
        Phrase(
            "dynamic-ip",
            r"dynamic ip",
            "Windows Live Hotmail: 550 DY-001 ... We generally do not accept email from dynamic "
            "IP's (read in http://intranoggin.com/Blog/April-2008/"
            "HotMail-Delivery-Status-Notification-(Failure).aspx, a third-party collection) "
            "(catalogue microsoft-hotmail-550-dy-001-dynamic-ip)",
        ),
        Phrase(
            "residential",
            r"residential",
            "Windows Live Hotmail: 550 DY-001 ... maintains lists of dynamic and residential IP "
            "addresses (read in http://intranoggin.com/Blog/April-2008/"
            "HotMail-Delivery-Status-Notification-(Failure).aspx, a third-party collection) "
            "(catalogue microsoft-hotmail-550-dy-001-dynamic-ip)",
        ),
        Phrase(
            "use-smtp-server",
            r"use (?:the |your )?(?:isp'?s? )?smtp (?:server|relay)",
            "Gmail 550 5.7.1: The IP you're using to send mail is not authorized to send email "
            "directly to our servers. Please use the SMTP relay at your service provider "
            "instead. (catalogue gmail-550-5.7.1-ip-not-authorized)",
        ),
        Phrase(
            "messages-from-werent-sent",
            r"messages from .{1,60} weren't sent",
            "Outlook.com (hotmail.com) inbound reply \"Unfortunately, messages from [IP] weren't "
            "sent ... on our block list (S3140)\" (read in "
            "https://virtbiz.com/client/index.php?rp=%2Fknowledgebase%2F71%2FOutlook-or-Hotmail-or-Microsoft-has-blocked-my-email.html,"
            " a third-party collection) (catalogue microsoft-outlookcom-550-5.7.1-block-list)",
        ),
        Phrase(
            "banned-sending-ip",
            r"banned sending ip",
            "Exchange Online NDR 5.7.606-5.7.649 (Access denied, banned sending IP [<IP>])",
        ),
        # IndiMail's qmail-smtpd refuses a client its tcpserver rules mark OPENRELAY (an
        # open-relay DNSBL's verdict) at the greeting and at HELO/EHLO: "from an open relay".
        # The "is/as an open relay" order of the same verdict was not found in a server's own
        # source; it stays with the documented wording rather than as a phrase of its own.
        Phrase(
            "is-an-open-relay",
            r"(?:is|as|from) an open relay",
            "indimail-mta indimail-mta-x/smtpd.c smtp_relayreject(): 553 No mail accepted from "
            "an open relay (<IP>); check your server configs (#5.7.1) (github.com/mbhangui/"
            "indimail-mta, commit 364a4426) (catalogue indimail-553-open-relay)",
        ),
        Phrase(
            "invalid-ip",
            r"invalid (?:sending |client )?ip\b",
            "https://www.icoremail.vip/support/index.php?cate_id=84&page=5&start=0 (Coremail "
            "support, 退信提示 list) (catalogue coremail-invalid-ip)",
        ),
        Phrase(
            "greylist",
            r"greylist",
            "Postgrey: 450 4.2.0 Recipient address rejected: Greylisted",
        ),
        Phrase(
            "mimecast-internal-resource-temporarily-unavailable",
            r"internal resource is temporarily unavailable",
            "Mimecast's 451, its greylisting reply (community.mimecast.com DOC-1369 #451, "
            "read as quoted in dwlistore.dwli.org knowledgebase 444, a third-party collection) "
            "(catalogue mimecast-451-internal-resource-greylist)",
        ),
        Phrase("bad-helo", r"bad helo", "Exchange Online NDR 5.7.506 (Access Denied, Bad HELO)"),
        Phrase(
            "banned-sender-ip",
            r"banned sender ?\[[0-9a-f.:]{2,45}\]",
            "Exchange Online NDR 5.7.511 (Access denied, banned sender[<IP>])",
        ),
        Phrase(
            "access-denied-rejected-by-recipient",
            r"access denied, rejected by recipient",
            "Exchange Online NDR 5.7.507 (the sending IP is on the recipient's block list)",
        ),
        Phrase(
            "mail-over-ipv6",
            r"(?:accept|receive) (?:e-?mail|mail|messages) over ipv6",
            "Exchange Online NDR 5.7.510 (does not accept email over IPv6)",
        ),
        Phrase(
            "not-welcome-or-connection-denied",
            r"mail is not welcome here|connection from you (?:temporarily )?denied",
            "Haraka (554 Your mail is not welcome here); qpsmtpd (Connection from you denied, "
            "bye bye)",
        ),
        Phrase(
            "seem-to-reject-all-mails",
            r"seems? to reject all mails?",
            "OpenSMTPD mta.c: Destination seem to reject all mails",
        ),
        Phrase(
            "bogus-helo-name",
            r"bogus helo name",
            "Sendmail cf/m4/proto.m4 (FEATURE block_bad_helo): \"550 bogus HELO name used: "
            "\" $&s (github.com/deepin-community/sendmail, commit c7e7de44)",
        ),
        Phrase(
            "mailscanner-openbare-zwarte-lijst",
            r"openbare\s+zwarte\s+lijst",
            "MailScanner common/usr/share/MailScanner/reports/nl/sender.spam.rbl.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-nl-spam-rbl)",
        ),
        Phrase(
            "mailscanner-lista-negra",
            r"relacionado\s+em\s+uma\s+lista-negra",
            "MailScanner common/usr/share/MailScanner/reports/pt_br/sender.spam.rbl.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-pt-spam-rbl)",
        ),
        Phrase(
            "mailscanner-cernem-seznamu",
            r"verejnem\s+cernem\s+seznamu",
            "MailScanner common/usr/share/MailScanner/reports/cz/sender.spam.rbl.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-cs-spam-rbl)",
        ),
        Phrase(
            "mailscanner-ciernej-listine",
            r"verejnej\s+ciernej\s+listine",
            "MailScanner common/usr/share/MailScanner/reports/sk/sender.spam.rbl.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-sk-spam-rbl)",
        ),
        Phrase(
            "mailscanner-liste-pubbliche",
            r"presente\s+in\s+liste\s+pubbliche",
            "MailScanner common/usr/share/MailScanner/reports/it/sender.spam.rbl.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-it-spam-rbl)",
        ),
        Phrase(
            "mailscanner-nyilvanos-listajan",
            r"szerverek\s+nyilvanos\s+listajan",
            "MailScanner common/usr/share/MailScanner/reports/hu/sender.spam.rbl.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-hu-spam-rbl)",
        ),
    ),
    "virusdetected": (
        Phrase(
            "potential-security-issue",
            r"content presents a potential security issue",
            "Google SMTP error reference 552 5.7.0 (This message was blocked because its content "
            "presents a potential security issue); Gmail Help 'File types blocked in Gmail' "
            "(support.google.com/mail/answer/6590): Gmail blocks messages that may spread "
            "viruses, like messages with executable files or certain links",
        ),
        Phrase(
            "virus",
            # Not a scanner's clean verdict, which relays add to the mail they pass: the
            # signature of MailScanner ("This message has been scanned for viruses and
            # dangerous content by MailScanner, and is believed to be clean.", its
            # inline.sig.txt) and of Kaspersky's, AVG's "No virus found in this message",
            # Avast's "checked for viruses" and "Virus-free".
            r"(?<!scanned for )(?<!checked for )(?<!\bno )\bvirus(?!-free)",
            "Exim src/src/configure.default (github.com/Exim/exim, commit 13835a3c) (catalogue "
            "exim-malware)",
        ),
        Phrase(
            "infected",
            r"infected",
            "amavisd-new 2.13.0 Amavis/Conf.pm %smtp_reason_by_ccat: CC_VIRUS 'id=%n - INFECTED: "
            "%V', sent as \"554 5.7.0 Reject, id=<id> - INFECTED: <virus>\" (Amavis.pm) (Debian "
            "amavisd-new 1:2.13.0-3+deb12u1) (catalogue amavis-reject-infected)",
        ),
        Phrase(
            "mailscanner-ritenuta-infetta",
            r"ritenuta\s+infetta",
            "MailScanner common/usr/share/MailScanner/reports/it/sender.virus.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-it-virus)",
        ),
        Phrase(
            "mailscanner-infikovana-cast",
            r"infikovana\s+cast",
            "MailScanner common/usr/share/MailScanner/reports/cz/sender.virus.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-cs-virus)",
        ),
        Phrase(
            "mailscanner-estava-infectada",
            r"que\s+estava\s+infectada",
            "MailScanner common/usr/share/MailScanner/reports/pt_br/sender.virus.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-pt-virus)",
        ),
    ),
    "policyviolation": (
        Phrase(
            "policy-violation",
            r"policy violation",
            "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-rep"
            "orts-in-exchange-online/non-delivery-reports-in-exchange-online (source: "
            "OfficeDocs-Exchange non-delivery-reports-in-exchange-online.md, commit 040dec76) "
            "(catalogue microsoft-5.0.350-as345-nested-attachments)",
        ),
        Phrase(
            "for-policy-reasons",
            r"(?:for|due to) (?:local )?policy reasons",
            "Yahoo SMTP error codes: 554 5.7.9 Message not accepted for policy reasons",
        ),
        Phrase(
            "denied-by-policy",
            r"(?:denied|rejected|blocked|not allowed|prohibited) (?:by|due to) "
            r"(?:local |our )?polic",
            "https://smtp.codes/icloud (Apple iCloud Mail replies, with "
            "https://support.apple.com/en-us/HT204137) (catalogue icloud-550-cs01-local-policy)",
        ),
        Phrase(
            "violates-policy",
            r"violates [\w.\-]+ email policy",
            "Google SMTP error reference (support.google.com/a/answer/3726730): 550 5.7.1 This "
            "message violates example.com email policy. - gcdp <sessionid> - gsmtp, a Google "
            "Workspace administrator's rule (catalogue gmail-550-5.7.1-gcdp-policy)",
        ),
        Phrase(
            "local-policy",
            r"local policy",
            "https://smtp.codes/icloud (Apple iCloud Mail replies, with "
            "https://support.apple.com/en-us/HT204137) (catalogue icloud-550-cs01-local-policy)",
        ),
        Phrase(
            "prohibited-attachment",
            r"(?:prohibited|illegal|forbidden|banned) attachment",
            "Google SMTP error reference 552 5.7.0 (Our system detected an illegal attachment on "
            "your message)",
        ),
        Phrase("header-error", r"header error", "Sendmail milters' header checks"),
        Phrase(
            "closed-mailing-list",
            r"closed mailing list",
            "Exim specification doc/doc-docbook/spec.xfpt, section \"Closed mailing lists\": "
            "\"data = :fail: $local_part@lists.example is a closed mailing list\" "
            "(github.com/Exim/exim, exim-4.99.1-148-g13835a3c1)",
        ),
        Phrase(
            "mail-to-file-is-restricted",
            r"mail to (?:file|command) is restricted",
            "Postfix local(8) allow_mail_to_files / allow_mail_to_commands: mail to file is "
            "restricted",
        ),
        Phrase(
            "no-permission-to-post",
            r"(?:do not|don't) have permission to post",
            "Cyrus lmtpd LMTP_NOT_AUTHORIZED_LONG (You do not have permission to post a message "
            "to this mailbox)",
        ),
        Phrase(
            "administrative-prohibition",
            r"administrative prohibition",
            "Exim specification, access control lists: the default message of a deny is "
            "\"administrative prohibition\"",
        ),
        Phrase(
            "sender-not-authenticated",
            r"sender (?:was )?not authenticated",
            "Exchange Online NDR 5.7.12, 5.7.133-5.7.136 (the recipient accepts only senders "
            "of its organization)",
        ),
        Phrase(
            "not-in-allowed-senders-list",
            r"not in (?:the )?allowed[- ]senders? list",
            "Exchange Online NDR 5.7.124 (Sender not in allowed-senders list)",
        ),
        Phrase(
            "violates-email-policy",
            r"violates? [\w.\-]{1,100} (?:e-?mail |mail |messaging )?polic(?:y|ies)",
            "Google SMTP error reference 550 5.7.1 (This message violates <domain> email policy)",
        ),
        Phrase(
            "mailscanner-allegati-non-accettabili",
            r"allegati\s+risultano\s+non\s+accettabili",
            "MailScanner common/usr/share/MailScanner/reports/it/sender.filename.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-it-filename)",
        ),
        Phrase(
            "mailscanner-arquivo-proibidos",
            r"tipos\s+de\s+arquivo\s+pro[ií]bidos",
            "MailScanner common/usr/share/MailScanner/reports/pt_br/sender.filename.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-pt-filename)",
        ),
        Phrase(
            "mailscanner-nepovolenych-priloh",
            r"(?:seznamu|zozname)\s+nepovolenych\s+priloh",
            "MailScanner common/usr/share/MailScanner/reports/cz/sender.filename.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-cs-filename)",
        ),
        Phrase(
            "mailscanner-onaanvaardbare-bijlagen",
            r"lijst\s+met\s+onaanvaardbare\s+bijlagen",
            "MailScanner common/usr/share/MailScanner/reports/nl/sender.filename.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-nl-filename)",
        ),
        Phrase(
            "mailscanner-archivos-no-aceptados",
            r"lista\s+de\s+archivos\s+no\s+aceptados",
            "MailScanner common/usr/share/MailScanner/reports/es/sender.filename.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-es-filename)",
        ),
        Phrase(
            "mailscanner-elfogadhatatlan-kiterjesztesu",
            r"elfogadhatatlan\s+kiterjesztesu",
            "MailScanner common/usr/share/MailScanner/reports/hu/sender.filename.report.txt "
            "(github.com/MailScanner/v5, commit 76589ee) (catalogue mailscanner-hu-filename)",
        ),
    ),
    "systemerror": (
        Phrase(
            "transaction-timeout",
            r"error: transaction timeout",
            "Go-Guerrilla response/enhanced.go FailBackendTimeout: 554 5.5.0 Error: "
            "transaction timeout (the backend did not save the message in time) "
            "(catalogue go-guerrilla-backend-timeout)",
        ),
        Phrase(
            "resource-unavailable",
            r"\bresource unavailable",
            "OpenDKIM opendkim.c dkimf_libstatus(): DKIM_STAT_NORESOURCE, \"451 4.7.0 resource "
            "unavailable\" (the filter ran out of a resource) "
            "(catalogue opendkim-resource-unavailable)",
        ),
        Phrase(
            "search-on-ldap-server-timeout",
            r"timeout while performing search on ldap server",
            "qmail-ldap qmail-lspawn.c: \"Timeout while performing search on LDAP server. "
            "(#4.4.3)\" (the directory lookup, not the queue's lifetime) "
            "(github.com/qmail-ldap/qmail-ldap, commit 33d8d0d)",
        ),
        Phrase(
            "automatic-homedir-creation",
            r"automatic homedir creat(?:or|ion)",
            "qmail-ldap qmail-lspawn.c: \"Automatic homedir creator crashed (#4.3.0)\", "
            "\"Temporary error in automatic homedir creation. (#4.3.0)\", \"Permanent error "
            "in automatic homedir creation. (#5.3.0)\" (github.com/qmail-ldap/qmail-ldap, "
            "commit 33d8d0d)",
        ),
        Phrase(
            "timeout-while-waiting-for-lock",
            r"timeout while waiting for lock",
            "Dovecot src/lib-storage/mail-error.h MAIL_ERRSTR_LOCK_TIMEOUT \"Timeout while "
            "waiting for lock\": the mailbox lock, a temporary failure of the store (LMTP "
            "451 4.2.0), not the queue's lifetime (github.com/dovecot/core, commit "
            "f28b5a92)",
        ),
        Phrase(
            "creation-of-maildir-failed",
            r"creation of maildir failed",
            "vpopmail vdelivermail.c checkuser(): \"Auto creation of maildir failed. "
            "(#5.9.8)\", \"Auto re-creation of maildir failed. (#5.9.9)\" "
            "(github.com/brunonymous/vpopmail, commit 3ac73c4c)",
        ),
        Phrase(
            "received-but-could-not-be-saved",
            r"message was received but it could not be saved",
            "hMailServer source/Server/SMTP/SMTPConnection.cpp: \"554 Your message was "
            "received but it could not be saved. Please retry later.\" "
            "(github.com/hmailserver/hmailserver, commit 4d11f81d)",
        ),
        Phrase(
            "unable-to-scan",
            r"unable to scan",
            "qpsmtpd plugins/virus/clamdscan: 452 Unable to scan for viruses (the scanner failed: "
            "DENYSOFT)",
        ),
        # The receiving system's checker failed, which it answers as a temporary error of its
        # own (as unable-to-scan): MIMEDefang's virus scanner, Cisco AsyncOS's DMARC check.
        Phrase(
            "problem-running-virus-scanner",
            r"problem running virus.?scanner",
            "MIMEDefang examples/suggested-minimum-filter-for-windows-clients filter_begin(): "
            "action_tempfail(\"Problem running virus-scanner\") when the scanner could not run "
            "(catalogue mimedefang-virus-scanner-problem)",
        ),
        Phrase(
            "unable-to-perform-verification",
            r"unable to perform (?:dmarc|spf|dkim) verification",
            "Cisco AsyncOS 9.1.2 User Guide: DMARC temporary failure reply \"451 #4.7.1 Unable "
            "to perform DMARC verification\" (catalogue cisco-451-dmarc-unable-to-verify)",
        ),
        Phrase(
            "filters-temporarily-unavailable",
            r"(?:filters?|scanners?) (?:are |is )?temporarily unavailable",
            "Courier cdfilters.C FILTER_ERROR: Mail filters temporarily unavailable",
        ),
        Phrase(
            "temporary-domain-failure",
            r"temporary domain failure",
            "Yahoo: 452 temporary domain failure",
        ),
        Phrase(
            "server-temporarily-unavailable",
            r"server (?:was |is )?temporarily unavailable",
            "Rackspace G6: The recipient's server was temporarily unavailable to accept your "
            "message",
        ),
        Phrase(
            "internal-error",
            r"internal (?:server |system )?error",
            "Dovecot src/lmtp/lmtp-local.c several failure paths: 451 4.3.0 \"Temporary internal "
            "error\" (github.com/dovecot/core, commit f28b5a92) (catalogue "
            "dovecot-lmtp-temporary-internal-error)",
        ),
        Phrase(
            "system-error",
            # (Sendmail's EX_OSERR, "operating system error", is the mailer's)
            r"(?<!operating )system error",
            "https://smtp.codes/zoho (catalogue zoho-452-temporary-system-error)",
        ),
        Phrase(
            "temporary-problem",
            r"temporary (?:local )?(?:problem|error)",
            "chasquid internal/smtpsrv/conn.go (github.com/albertito/chasquid, commit ca2538b9) "
            "(catalogue chasquid-rcpt-temp-check)",
        ),
        Phrase(
            "server-busy",
            r"server (?:is )?(?:too )?busy",
            "Google SMTP error reference 421 4.4.5 (Server busy, try again later)",
        ),
        Phrase(
            "mail-transport-unavailable",
            r"mail transport unavailable",
            "Postfix qmgr(8): mail transport unavailable",
        ),
        Phrase(
            "service-unavailable",
            r"service (?:is )?(?:currently |temporarily )?(?:unavailable|not available)",
            "RFC 5321 4.2.2 (421 reply text)",
        ),
        Phrase(
            "local-error",
            r"local error",
            "RFC 5321 4.2.2 (451 Requested action aborted: local error in processing)",
        ),
        Phrase(
            "server-error",
            r"server error",
            "maddy internal/storage/imapsql/delivery.go (github.com/foxcpp/maddy, commit "
            "837b1b8a) (catalogue maddy-storage-internal)",
        ),
        Phrase(
            "system-failure",
            r"system (?:failure|problem)",
            "https://support.google.com/a/answer/3726730 (Gmail SMTP errors and codes) "
            "(catalogue gmail-421-4.3.0-temporary-system-problem)",
        ),
        Phrase(
            "unable-to-process",
            r"unable to (?:process|write)",
            "https://mimecastsupport.zendesk.com/hc/en-us/articles/34000709564691-Policies-Mimeca"
            "st-SMTP-Error-Codes (4xx table read in "
            "https://electronicaportatil.com/smtp-error-codes/, a copy of the article) "
            "(catalogue mimecast-421-unable-to-process)",
        ),
        Phrase(
            "internal-dkim-error",
            r"internal dkim error",
            "OpenDKIM opendkim/opendkim.c dkimf_libstatus(): \"internal DKIM error\" "
            "(DKIM_STAT_INTERNAL; On-InternalError tempfail by default) "
            "(github.com/trusteddomainproject/OpenDKIM, commit 5c539587) (catalogue "
            "opendkim-internal-error)",
        ),
        Phrase(
            "backend-not-running",
            r"backend not running",
            "Go-Guerrilla response/enhanced.go Canned.FailBackendNotRunning: \"Transaction "
            "failed - backend not running\" (github.com/flashmob/go-guerrilla, commit 858ac36f) "
            "(catalogue go-guerrilla-backend-not-running)",
        ),
        Phrase(
            "failed-to-process-recipient-or-queue-message",
            r"failed to (?:process recipient|queue message)",
            "haraka-plugin-wildduck index.js: \"Failed to process recipient, try again "
            "[ERRC01]\" (the recipient lookup failed), \"Failed to queue message [ERRQ05]\" "
            "(storing the message failed) (github.com/nodemailer/haraka-plugin-wildduck, commit "
            "39d65697) (catalogue wildduck-failed-to-process-recipient) (catalogue "
            "wildduck-failed-to-queue)",
        ),
        Phrase(
            "resources-temporarily-unavailable",
            r"resources temporarily unavailable",
            "notqmail qmail-remote.c / qmail-local.c: System resources temporarily unavailable. "
            "(#4.3.0)",
        ),
        Phrase(
            "out-of-memory",
            r"out of memory",
            "notqmail qmail-remote.c / qmail-local.c temp_nomem(): \"Out of memory. (#4.3.0)\" "
            "(github.com/notqmail/notqmail, commit a7012e4f) (catalogue "
            "qmail-remote-out-of-memory); Courier module.local/local.C: 450 Out of memory.",
        ),
        Phrase(
            "configuration-error",
            r"configuration error",
            "Postfix src/smtpd/smtpd_check.c: an unknown restriction or a failing table "
            "(github.com/vdukhovni/postfix, commit 17830e5c) (catalogue "
            "postfix-server-configuration-error)",
        ),
        Phrase(
            "too-busy",
            r"\btoo busy\b|load too high",
            "Haraka (421 Too busy; please try again later); qpsmtpd loadcheck (Server load too "
            "high, please try again later)",
        ),
        Phrase(
            "write-error",
            r"queue file write error|error while writing spool|\bi/o error|queue is full"
            r"|filters? temporarily unavailable",
            "Postfix cleanup(8) (Error: queue file write error); Exim (Error while writing "
            "spool file); Cyrus lmtpd (System I/O error); chasquid (queue is full); Courier "
            "(Mail filters temporarily unavailable)",
        ),
        Phrase(
            "unable-to-read-controls",
            r"unable to read controls",
            "notqmail qmail-smtpd.c: 421 unable to read controls (#4.3.0)",
        ),
        Phrase(
            "table-lookup-failure",
            r"table lookup failure|address resolver failure",
            "Postfix local(8) / trivial-rewrite: table lookup failure, address resolver failure",
        ),
        Phrase(
            "qq-trouble",
            r"\bqq (?:trouble|internal bug|crashed|read error)",
            "notqmail qmail.c qmail_close(): qq trouble in home directory / creating files in "
            "queue, qq internal bug, qq crashed, qq read error (#4.3.0)",
        ),
        Phrase(
            "alias-database-unavailable",
            r"alias database unavailable",
            "Postfix src/local/alias.c: dsb_simple(..., \"4.3.0\", \"alias database "
            "unavailable\") Postfix (github.com/vdukhovni/postfix, commit 17830e5c)",
        ),
        Phrase(
            "user-lookup-error",
            r"user lookup error",
            "Postfix src/local/recipient.c, mailbox.c: dsb_simple(..., \"4.0.0\", \"user "
            "lookup error\") (getpwnam failed) Postfix (github.com/vdukhovni/postfix, "
            "commit 17830e5c)",
        ),
        Phrase(
            "cannot-access-home-directory",
            r"cannot access home directory",
            "Postfix src/local/recipient.c: \"cannot access home directory %s: %m\" Postfix "
            "(github.com/vdukhovni/postfix, commit 17830e5c)",
        ),
        Phrase(
            "destination-not-owned-by-recipient",
            r"is not owned by recipient",
            "Postfix src/local/mailbox.c, src/virtual/mailbox.c: \"destination %s is not "
            "owned by recipient\" Postfix (github.com/vdukhovni/postfix, commit 17830e5c)",
        ),
        Phrase(
            "failed-to-lock-mailbox",
            r"failed to lock mailbox",
            "Exim src/src/transports/appendfile.c: \"failed to lock mailbox %s (lock "
            "file)\" / \"(fcntl/flock)\" (github.com/Exim/exim, commit 13835a3c)",
        ),
        Phrase(
            "user-database-error",
            r"user database error",
            "Sendmail sendmail/recipient.c: q_message = \"Deferred: user database error\" "
            "(github.com/deepin-community/sendmail, commit c7e7de44)",
        ),
        Phrase(
            "too-much-load",
            r"too much load",
            "Exim src/src/daemon.c: \"421 Too much load; please try again later.\" "
            "(smtp_load_reserve) (github.com/Exim/exim, commit 13835a3c)",
        ),
    ),
    "networkerror": (
        Phrase(
            "dns-operation-timed-out",
            r"the dns operation timed out",
            "dnspython dns/exception.py Timeout: \"The DNS operation timed out\", which pyspf "
            "passes on as \"SPF Temporary Error: DNS The DNS operation timed out\" "
            "(catalogue policyd-spf-temperror-deferred)",
        ),
        Phrase(
            "dkim-key-retrieval-failed",
            r"dkim key retrieval failed",
            "OpenDKIM opendkim.c dkimf_libstatus(): DKIM_STAT_KEYFAIL, \"451 4.7.5 DKIM key "
            "retrieval failed\" (the key's DNS query failed; RFC 6376 6.1.2) "
            "(catalogue opendkim-key-retrieval-dns-error)",
        ),
        Phrase(
            "mail-is-looping",
            r"\bmail is looping",
            "vpopmail vdelivermail.c: \"mail is looping\" (exit 100: the Delivered-To loop "
            "check; github.com/brunonymous/vpopmail, commit 3ac73c4c)",
        ),
        Phrase(
            "problem-on-spf-lookup",
            r"problem on spf lookup",
            "Apache James SPFHandler.java: the SPF DNS lookup failed (catalogue "
            "james-spf-lookup-problem)",
        ),
        Phrase(
            "temporary-dns-lookup-failure",
            r"(?:temporary dns |temporary dmarc dns |temporary spf dns |temporary dkim dns )"
            r"(?:lookup )?(?:failure|error)",
            "RFC 7208 2.6.6 / RFC 7489 6.6.3 (a check that could not finish for a DNS error is a "
            "temporary error); Rackspace G1E: Temporary DMARC DNS lookup failure",
        ),
        Phrase(
            "dns-lookup-failed",
            # "try again": a soft DNS error; "DNS lookup failure: host <name> not found" is the
            # answer that the name does not exist (hostunknown).
            r"dns lookup (?:(?:on|of|for) \S+(?: \S+)? )?(?:failure|failed)\b.{0,80}\btry again",
            "Courier submit.C (BOFHCHECKDNS / BOFHCHECKHELO, soft errors): 417 DNS lookup "
            "failure: <domain>. Try again later. / 417 DNS lookup on HELO <name> failed. Try "
            "again later.",
        ),
        Phrase(
            "forwarding-loop",
            r"forwarding loop|proxying (?:appears to be )?looping|loops to itself",
            "RFC 3463 3.5 (X.4.6 routing loop detected); Dovecot lmtp-proxy.c, maddy "
            "endpoint/smtp/session.go",
        ),
        Phrase(
            "host-unreachable",
            r"(?:host|network|destination) (?:is )?unreachable",
            "strerror(EHOSTUNREACH / ENETUNREACH): No route to host / Network is unreachable",
        ),
        Phrase("no-route-to-host", r"no route to host", "strerror(EHOSTUNREACH)"),
        Phrase(
            "lost-connection",
            r"lost connection",
            "Postfix smtp(8): lost connection with <host> while <state>",
        ),
        Phrase(
            "too-many-hops",
            r"too many hops",
            "Sendmail: 554 5.4.6 Too many hops <n> (<max> max)",
        ),
        Phrase(
            "hop-count-exceeded",
            r"hop count exceeded",
            "Exchange Online NDR 5.4.14 (Hop count exceeded - possible mail loop)",
        ),
        Phrase("routing-loop", r"routing loop", "RFC 3463 X.4.6 (Routing loop detected)"),
        Phrase(
            "mail-loop",
            r"mail (?:forwarding )?loop",
            "Postfix local(8): mail forwarding loop for <address>",
        ),
        Phrase(
            "dns-error",
            r"dns (?:error|query failed|lookup failed|failure|problem|timeout)",
            "maddy internal/check/dns/dns.go: \"DNS error during policy check\" (450/550 x.7.25) "
            "(github.com/foxcpp/maddy, commit 837b1b8a)",
        ),
        Phrase(
            "malformed-or-unexpected-name-server-reply",
            r"malformed or unexpected name server reply",
            "Postfix dns_lookup.c",
        ),
        Phrase(
            "temporary-dns-failure",
            # Sendmail's DNSBL lookup "of <address> at <list>"; Postfix's own "<address>:
            # Temporary lookup failure" is a table of the receiving server (catalogue
            # postfix-dict-retry), not the network.
            r"temporary (?:dns|name service) failure|temporary lookup failure of",
            "Sendmail cf/feature/dnsbl.m4 _DNSBL_MSG_TMP_: \"451 Temporary lookup failure of "
            "<address> at <list>\" (4.4.3) (github.com/deepin-community/sendmail, commit "
            "c7e7de44)",
        ),
        Phrase(
            "lookup-failed",
            r"(?:lookup|resolution) (?:of .{1,60})?failed",
            "notqmail qmail-remote.c: \"CNAME lookup failed temporarily. (#4.4.3)\" (commit "
            "a7012e4f) (catalogue qmail-remote-cname)",
        ),
        Phrase(
            "connection-reset",
            r"connection (?:was )?reset",
            "strerror(ECONNRESET): Connection reset by peer",
        ),
        Phrase(
            "network-error",
            r"network error",
            "OpenSMTPD usr.sbin/smtpd/mta.c: relay->failstr = \"Network error on destination MXs\" "
            "(commit 3153385b) (catalogue opensmtpd-network-error-mx)",
        ),
        Phrase("could-not-find-a-gateway", r"could not find a (?:gateway|route)", ""),
        Phrase(
            "host-not-found-try-again",
            r"host not found, try again",
            "Postfix: the resolver's TRY_AGAIN",
        ),
        Phrase("host-name-lookup-failure", r"host name lookup failure", "Sendmail"),
        Phrase(
            "name-server-failure",
            r"name server\b.{0,60}(?:failure|error|timeout|timed out)",
            "Sendmail sendmail/err.c errstring(): \"Name server: <host>: host name lookup "
            "failure\" (TRY_AGAIN); sendmail/daemon.c: \"851 <name>: Name server timeout\" "
            "(github.com/deepin-community/sendmail, commit c7e7de44) (catalogue "
            "sendmail-name-server-lookup-failure)",
        ),
        Phrase(
            "unable-to-establish-connection",
            r"(?:unable|wasn't able|not able|could not|couldn't) to (?:establish|open) an? "
            r"(?:smtp )?connection",
            "notqmail qmail-remote.c: Sorry, I wasn't able to establish an SMTP connection. "
            "(#4.4.1)",
        ),
        Phrase("broken-pipe", r"broken pipe", "strerror(EPIPE)"),
        # An SMTP session that timed out is a network failure; the MTA's giving up after
        # retrying is the expiry (parsing/expiry.py), and "retry timeout exceeded" is Exim's.
        Phrase(
            "timeout-exceeded",
            r"timeout exceeded(?<!retry timeout exceeded)",
            "Postfix smtpd.c: 421 4.4.2 <host> Error: timeout exceeded",
        ),
        Phrase(
            "timed-out-while",
            r"timed out while",
            "Postfix smtp_chat.c: conversation with <host> timed out while <state>",
        ),
        Phrase(
            "timeout-closing-connection",
            r"timeout - closing connection",
            "Google SMTP error reference 451 4.4.2 (Timeout - closing connection)",
        ),
        Phrase("qmail-smtpd-timeout", r"\btimeout \(#4\.4\.2\)",
               "notqmail qmail-smtpd.c: 451 timeout (#4.4.2)"),
        Phrase(
            "connection-to-mail-server-timed-out",
            r"connection to mail server timed out",
            "notqmail qmail.c qmail_close(): connection to mail server timed out (#4.4.1)",
        ),
        Phrase(
            "loops-back-to-myself",
            r"loops back to myself",
            "Postfix smtp(8): mail for <domain> loops back to myself (5.4.6, RFC 3463 X.4.6 "
            "routing loop detected)",
        ),
        Phrase(
            "mx-points-to-local-host",
            r"mx record points to local host",
            "Exim: lowest numbered MX record points to local host",
        ),
        Phrase(
            "lookup-did-not-complete",
            r"lookup did not complete",
            "Exim: host lookup did not complete",
        ),
        Phrase(
            "remote-host-closed-connection",
            r"remote host closed (?:the )?connection",
            "Exim transports/smtp.c: Remote host closed connection in response to <command>",
        ),
        Phrase("loop-detected", r"\bloop detected", "OpenSMTPD mda: Loop detected; RFC 3463 X.4.6"),
        Phrase(
            "delivery-loop-was-detected",
            r"\bdelivery loop was detected\b",
            "ZoneMTA plugins/core/delivery-loop.js: \"A delivery loop was detected which causes "
            "this email which caused the email to be undeliverable\", more Received: headers "
            "than maxHops (github.com/zone-eu/zone-mta, commit cf94b992) (catalogue "
            "zonemta-delivery-loop)",
        ),
        Phrase(
            "message-is-looping",
            r"message is looping",
            "notqmail qmail-local.c: This message is looping: it already has my Delivered-To "
            "line. (#5.4.6)",
        ),
        Phrase(
            "temporary-failure-in-lookup",
            r"temporary failure in (?:mx |dns |name )?(?:lookup|resolution)",
            "OpenSMTPD mta.c: Temporary failure in MX lookup; glibc gai_strerror(EAI_AGAIN)",
        ),
        Phrase(
            "alias-database-loop",
            r"alias database loop for",
            "Postfix src/local/alias.c deliver_alias(): dsb_simple(..., \"5.4.6\", \"alias "
            "database loop for %s\") Postfix (github.com/vdukhovni/postfix, commit "
            "17830e5c)",
        ),
        Phrase(
            "remote-host-is-the-local-host",
            r"remote host address is the local host",
            "Exim src/src/routers/rf_lookup_hostlist.c: \"remote host address is the local "
            "host\" (the route points back at this host) (github.com/Exim/exim, commit "
            "13835a3c)",
        ),
        # hMailServer's report of an error before any reply ("Error Type: SMTP / Connection to
        # recipients server failed. / Error: ..."), a refused or timed-out connection or its
        # own loop guard ("Could not connect to <ip> on port 25 since this would mean
        # connecting to myself", TCPConnection.cpp).
        Phrase(
            "connection-to-recipients-server-failed",
            r"connection to recipients server failed",
            "hMailServer hmailserver/source/Server/SMTP/SMTPClientConnection.cpp, the error "
            "message of a pre-connect error: \"Connection to recipients server failed.\" "
            "(github.com/hmailserver/hmailserver, commit 4d11f81d)",
        ),
        Phrase(
            "no-valid-route-to",
            r"no valid route to (?:remote mx|destination)",
            "OpenSMTPD usr.sbin/smtpd/mta.c: relay->failstr = \"No valid route to remote "
            "MX\" / \"No valid route to destination\" (github.com/OpenSMTPD/OpenSMTPD, "
            "commit 3153385b)",
        ),
        Phrase(
            "address-family-mismatch-on-destination",
            r"address family mismatch on destination mxs",
            "OpenSMTPD usr.sbin/smtpd/mta.c: relay->failstr = \"Address family mismatch on "
            "destination MXs\" (github.com/OpenSMTPD/OpenSMTPD, commit 3153385b)",
        ),
    ),
    "systemfull": (
        Phrase(
            "mail-system-full",
            r"mail system (?:is )?full",
            "RFC 3463 X.3.1 (Mail system full)",
        ),
        Phrase(
            "disk-full",
            r"(?:disk|file ?system|spool) (?:is )?full",
            "notqmail qmail.c/qmail-qmqpc: \"qq write error or disk full (#4.3.0)\" (commit "
            "a7012e4f) (catalogue qmail-qq-disk-full)",
        ),
        Phrase(
            "insufficient-system-storage",
            r"insufficient system (?:storage|resources)",
            "RFC 5321 4.2.2 (452 reply text)",
        ),
        Phrase("no-space-left-on-device", r"no space left on device", "strerror(ENOSPC)"),
        Phrase(
            "insufficient-disk-space",
            r"insufficient (?:disk|storage) space",
            "Sendmail srvrsmtp.c: 452 4.4.5 Insufficient disk space; try again later (its queue "
            "file system)",
        ),
    ),
    "notaccept": (
        Phrase("null-mx", r"null mx", "RFC 7505"),
        Phrase(
            "does-not-accept-mail",
            r"(?:does not|doesn't|do not|will not|won't) accept (?:any )?(?:e-?)?mail",
            "RFC 7504 (521 <host> does not accept mail); RFC 7505 (null MX)",
        ),
        Phrase(
            "no-mx-for",
            r"no mx (?:record )?(?:found )?for",
            "OpenSMTPD usr.sbin/smtpd/mta.c: relay->failstr = \"No MX found for domain\" / \"No MX "
            "found for destination\" (github.com/OpenSMTPD/OpenSMTPD, commit 3153385b)",
        ),
        Phrase(
            "indicated-no-smtp-service",
            r"indicated no smtp service",
            "Exim src/src/routers/dnslookup.c: \"an MX or SRV record indicated no SMTP service\" "
            "(RFC 7505 null MX) (exim-4.99.1-148-g13835a3c1) (catalogue exim-null-mx)",
        ),
        Phrase(
            "no-smtp-service",
            r"no smtp service",
            "RFC 5321 3.1 (554 No SMTP service here); RFC 7504 (521)",
        ),
    ),
    "expired": (
        # A certificate that expired is a TLS failure (Exchange Online NDR 5.7.322
        # certificate-expired), not the queue's lifetime; nor is a password that expired
        # (iRedAPD's CHANGE_PASSWORD_MESSAGE "Password expired or never changed, please change
        # your password in webmail before sending email", libs/default_settings.py,
        # github.com/iredmail/iRedAPD commit 60b2eed4; catalogue iredapd-change-password).
        Phrase("expired", r"\bexpired\b(?<!certificate-expired)(?<!certificate is expired)"
               r"(?<!certificate has expired)(?<!password expired)",
               "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-"
               "reports-in-exchange-online/non-delivery-reports-in-exchange-online (source: "
               "OfficeDocs-Exchange non-delivery-reports-in-exchange-online.md, commit 040dec76) "
               "(catalogue microsoft-4.4.7-message-expired-4.4.7)"),
        Phrase(
            "retry-time-exceeded",
            r"retry time(?:out)? (?:exceeded|reached)",
            "Exim: retry timeout exceeded",
        ),
        Phrase(
            "too-long-in-queue",
            r"(?:too long|too many retries) in (?:the )?queue",
            "notqmail qmail-send.c: this message has been in the queue too long",
        ),
        Phrase(
            "in-the-queue-too-long",
            r"in the queue too long",
            "notqmail qmail-send.c: I'm not going to try again; this message has been in the "
            "queue too long",
        ),
        Phrase(
            "delivery-time-expired",
            r"delivery time (?:has )?expired",
            "RFC 3463 X.4.7 (Delivery time expired)",
        ),
        Phrase(
            "message-expired",
            r"message (?:has )?expired",
            "Exchange Online NDR 4.4.7 (Message expired)",
        ),
        Phrase(
            "timed-out",
            r"timed? ?out",
            "Exim src/src/retry.c: US\"retry timeout exceeded\" (exim-4.99.1-148-g13835a3c1) "
            "(catalogue exim-retry-timeout)",
        ),
        Phrase(
            "all-hosts-have-been-failing",
            r"all hosts have been failing",
            "Exim: all hosts for <domain> have been failing for a long time",
        ),
        Phrase(
            "retry-time-not-reached-after-a-long-failure-period",
            r"not reached for any host after a long failure period",
            "Exim src/src/transports/smtp.c: US\"retry time not reached for any host after a "
            "long failure period\" (an address failed when every host is past its retry "
            "cutoff)",
        ),
        Phrase(
            "cannot-send-message-for",
            r"cannot send message for \d",
            "Sendmail sendmail/queue.c: \"Cannot send message for %s\" (the queue return "
            "timeout, TimeOuts.to_q_return)",
        ),
        Phrase(
            "delivery-attempts-will-continue",
            r"delivery attempts? (?:will continue|failed)",
            "Exim src/src/deliver.c delay warning: \"No action is required on your part. Delivery "
            "attempts will continue for some time\" (github.com/Exim/exim, commit 13835a3c)",
        ),
        Phrase(
            "giving-up",
            # Not qmail-remote's "Giving up on <ip>.", the end of a permanent failure's report
            # (notqmail qmail-remote.c: quit("DGiving up on ", ""), "D" for permanent).
            r"seconds\. giving up",
            "dma dma.c deliver(): \"Could not deliver for the last %d seconds. Giving up.\" "
            "(github.com/corecode/dma, commit 7f88bbe7) (catalogue dma-max-timeout)",
        ),
        Phrase(
            "deferred-connection-refused",
            r"deferred: connection (?:refused|timed out|reset)",
            "Sendmail, final after retries",
        ),
        Phrase(
            "could-not-deliver-for-the-last",
            r"could not deliver for the last",
            "dma dma.c deliver(): \"Could not deliver for the last %d seconds. Giving up.\" "
            "(github.com/corecode/dma, commit 7f88bbe7) (catalogue dma-max-timeout)",
        ),
        Phrase(
            "did-not-accept-our-requests-to-connect",
            r"did not accept our requests to connect",
            "Gmail, after its retries",
        ),
        Phrase("failed-n-attempts", r"failed (?:after )?\d+ (?:delivery )?attempts", ""),
        Phrase(
            "failing-for-a-long-time",
            r"have been failing for a long time",
            "Exim src/src/transports/smtp.c: \"all hosts%s have been failing for a long "
            "time %s\" (past the retry rule's cutoff) (github.com/Exim/exim, commit "
            "13835a3c)",
        ),
    ),
    "failedstarttls": (
        Phrase(
            "accepts-messages-only-on-tls",
            r"accepts messages only on tls connection",
            "Zimbra store/src/java/com/zimbra/cs/lmtpserver/LmtpReply.java TLS_REQUIRED: "
            "\"451 4.2.2 Server accepts messages only on TLS connection\" "
            "(github.com/Zimbra/zm-mailbox, commit 2b7f9787c6)",
        ),
        Phrase(
            "tls-conversation-required",
            r"tls conversation required|refused due to lack of security",
            "maddy (550 5.7.1 TLS conversation required); qpsmtpd tls plugin (Command refused "
            "due to lack of security); RFC 3207",
        ),
        Phrase(
            "starttls",
            r"starttls",
            "RFC 3207 (530 Must issue a STARTTLS command first; 454 TLS not available)",
        ),
        Phrase(
            "tls-required",
            r"tls (?:is )?required",
            "Courier courier/courier/module.esmtp/courieresmtpd.C: ESMTP_TLS_REQUIRED before "
            "STARTTLS (github.com/svarshavchik/courier, commit fe506ccc) (catalogue "
            "courier-starttls-required-first)",
        ),
        Phrase(
            "requires-tls",
            r"requires? (?:tls|encryption)",
            "OpenSMTPD usr.sbin/smtpd/smtp_client.c: smtp_client_cancel(proto, FAIL_IMPL, "
            "\"Authentication requires TLS\") for a relay whose AUTH needs TLS it does not have "
            "(github.com/OpenSMTPD/OpenSMTPD, commit 3153385b)",
        ),
        Phrase(
            "tls-negotiation-failed",
            r"(?:tls|ssl) (?:negotiation|handshake) failed",
            "Sendmail cf/m4/proto.m4 STLS_connection: SW_MSG \"TLS handshake failed.\" (454 4.7.0) "
            "(github.com/deepin-community/sendmail, commit c7e7de44) (catalogue "
            "sendmail-tls-handshake-failed)",
        ),
        Phrase(
            "encryption-required",
            r"encryption (?:is )?(?:required|needed)",
            "RFC 4954 section 6 (538 5.7.11 Encryption required for requested authentication "
            "mechanism)",
        ),
        Phrase(
            "does-not-support-tls",
            r"(?:does not|doesn't) support (?:tls|starttls|ssl)",
            "Sendmail cf/m4/proto.m4 TLS checks: \"other side does not support STARTTLS\" (403 "
            "4.7.0) (github.com/deepin-community/sendmail, commit c7e7de44) (catalogue "
            "sendmail-tls-other-side-no-starttls)",
        ),
        Phrase(
            "tls-not-available",
            r"tls (?:is )?not (?:available|supported|offered)",
            "RFC 3207 section 4 (454 TLS not available due to temporary reason)",
        ),
    ),
    "securityerror": (
        Phrase(
            "incorrect-authentication-for-specified-email-address",
            r"incorrect authentication for specified email address",
            "Apache James AbstractSenderAuthIdentifyVerificationHook.java: the MAIL FROM address "
            "is not the authenticated user's (catalogue "
            "james-incorrect-authentication-for-address)",
        ),
        Phrase(
            "too-many-authentication-errors",
            r"too many authentication|too many failed authentication"
            r"|too much fail authentication|too much failed authentication",
            "Stalwart inbound/auth.rs (Too many authentication errors); NetEase (too much fail "
            "authentication)",
        ),
        Phrase(
            "must-authenticate",
            r"must authenticate|authentication errors",
            "RFC 4954 section 6 (530 5.7.0 Authentication required); Stalwart (You must "
            "authenticate first; Too many authentication errors)",
        ),
        Phrase(
            "authentication-required",
            r"authentication (?:is )?required",
            "RFC 4954 section 6 (530 5.7.0 Authentication required)",
        ),
        Phrase(
            "authentication-failed",
            r"authentication (?:failed|failure)",
            "Postfix smtpd SASL: 535 5.7.8 Error: authentication failed",
        ),
        Phrase(
            "unauthenticated-senders",
            r"unauthenticated (?:senders?|users?|relay)",
            "SendGrid SMTP Errors and Troubleshooting: 550 Unauthenticated senders not allowed "
            "(catalogue sendgrid-550-unauthenticated-senders); Twisted Mail smtp.py, the same "
            "words to MAIL (catalogue twisted-550-unauthenticated-senders)",
        ),
        Phrase(
            "smtp-auth",
            r"smtp auth(?:entication)?",
            "Stalwart crates/smtp/src/outbound/error.rs ClientError::InvalidChallenge: \"SMTP "
            "authentication error: Invalid challenge\" (github.com/stalwartlabs/stalwart, commit "
            "d72608f3)",
        ),
        Phrase(
            "not-authenticated",
            r"not authenticated",
            "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-rep"
            "orts-in-exchange-online/non-delivery-reports-in-exchange-online (source: "
            "OfficeDocs-Exchange non-delivery-reports-in-exchange-online.md, commit 040dec76) "
            "(catalogue microsoft-5.7.1-client-not-authenticated)",
        ),
        Phrase(
            "insecure",
            r"insecure",
            "OpenSMTPD usr.sbin/smtpd/mta_session.c: mta_error(s, \"Refuse to AUTH over insecure "
            "channel\") for a relay with credentials on a session without TLS "
            "(github.com/OpenSMTPD/OpenSMTPD, commit 3153385b)",
        ),
        Phrase(
            "certificate",
            r"certificate",
            "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-rep"
            "orts-in-exchange-online/non-delivery-reports-in-exchange-online (source: "
            "OfficeDocs-Exchange non-delivery-reports-in-exchange-online.md, commit 040dec76) "
            "(catalogue microsoft-5.7.322-certificate-expired)",
        ),
        Phrase(
            "password",
            r"password",
            "chasquid internal/smtpsrv/conn.go (github.com/albertito/chasquid, commit ca2538b9) "
            "(catalogue chasquid-auth-incorrect)",
        ),
        Phrase(
            "access-denied",
            r"access denied",
            "Dovecot src/submission/submission-commands.c (github.com/dovecot/core, commit "
            "f28b5a92) (catalogue dovecot-submission-anonymous-denied)",
        ),
    ),
    "suppressed": (
        Phrase(
            "suppression-list",
            r"suppression list",
            "https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html#bounce-types "
            "(Amazon SES bounce types Suppressed: on the Amazon SES suppression list; "
            "OnAccountSuppressionList: on the account-level suppression list) (read in "
            "github.com/mozilla/ecosystem-platform docs/reference/emails.md, commit 522e8e3a, a "
            "third-party copy of the table)",
        ),
        Phrase(
            "suppressed",
            r"\bsuppressed\b",
            "https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html#bounce-types "
            "(Amazon SES bounce type OnAccountSuppressionList: Amazon SES has suppressed sending "
            "to this address) (read in github.com/mozilla/ecosystem-platform "
            "docs/reference/emails.md, commit 522e8e3a, a third-party copy of the table)",
        ),
    ),
    "mailererror": (
        Phrase(
            "procmail",
            r"procmail",
            "Sendmail cf/feature/local_procmail.m4: procmail as the local mailer "
            "(LOCAL_MAILER_PATH /usr/local/bin/procmail, LOCAL_MAILER_ARGS procmail -Y -a $h -d "
            "$u), so a failing delivery names it (github.com/deepin-community/sendmail, commit "
            "c7e7de44)",
        ),
        Phrase(
            "command-failed",
            r"command (?:failed|died)",
            "Postfix pipe(8)/local(8): Command died with status <n> / command failed",
        ),
        Phrase(
            "mailer-error",
            r"mailer (?:error|failed)",
            "Sendmail sendmail/deliver.c giveresponse(): \"554 5.3.0 unknown mailer error %d\" "
            "for a local mailer's exit status that sysexits.h does not name "
            "(github.com/deepin-community/sendmail, commit c7e7de44)",
        ),
        Phrase(
            "pipe-to",
            r"pipe to \|",
            "Exim src/src/deliver.c print_address_information(): \"%s to %s%sgenerated by \" with "
            "\"pipe\" for an address of the form |command, so a bounce names it \"pipe to |/path\" "
            "(github.com/Exim/exim, commit 13835a3c)",
        ),
        Phrase(
            "x-unix",
            r"x-unix",
            "RFC 3464 2.3.6 diagnostic-type X-Unix (a local program's exit)",
        ),
        Phrase(
            "local-delivery-failed",
            r"local delivery failed",
            "Exim src/src/transports/pipe.c pipe_transport_entry(): addr->user_message = "
            "US\"local delivery failed\" (exim-4.99.1-148-g13835a3c1) (catalogue "
            "exim-pipe-local-delivery-failed)",
        ),
        Phrase(
            "unknown-mailer-error",
            r"unknown mailer error",
            "Sendmail: unknown mailer error <n>",
        ),
        Phrase("failed-to-read-response-template", r"failed to read response template", ""),
        Phrase(
            "mailer-died-with-signal",
            r"mailer \S+ died with signal",
            "Sendmail sendmail/deliver.c: \"451 4.3.0 mailer %s died with signal %d%s\" "
            "(github.com/deepin-community/sendmail, commit c7e7de44)",
        ),
    ),
    "syntaxerror": (
        Phrase(
            "address-syntax",
            r"address syntax",
            "RFC 3463 3.2 (X.1.3 Bad destination mailbox address syntax, X.1.7 Bad sender's "
            "mailbox address syntax); Stalwart session.rs; QQ Mail (501 Bad address syntax)",
        ),
        Phrase(
            "address-malformed",
            r"address malformed|address is malformed",
            "chasquid smtpsrv/conn.go: 501 5.1.7 Sender address malformed",
        ),
        Phrase(
            "address-required",
            r"(?:user address|domain name) required",
            "Sendmail cf/m4/proto.m4 check_mail: 553 User address required / Domain name required",
        ),
        Phrase(
            "empty-path-not-allowed",
            r"empty (?:reverse-|forward-)?path not allowed",
            "Dovecot lmtp-commands.c cmd_rcpt(): Unacceptable TO: Empty path not allowed",
        ),
        Phrase(
            "bad-command",
            r"\bbad command\b",
            "Sendmail cf/feature/check_other.m4: 421 4.7.0 bad command",
        ),
        Phrase("syntax-error", r"syntax error", "RFC 5321 4.2.2 (500/501 reply text)"),
        Phrase("command-unrecognized", r"command unrecognized", "RFC 5321 4.2.2 (500 reply text)"),
        Phrase(
            "unrecognized-command",
            r"unrecognized command",
            "Haraka connection.js unrecognized_command_respond(): 500 Unrecognized command "
            "(github.com/haraka/Haraka, commit 0bf10cbb) (catalogue "
            "haraka-unrecognized-command); Exchange Server NDR 5.3.3 `Unrecognized command` "
            "(OfficeDocs-Exchange non-delivery-reports-and-bounce-messages.md, commit 52e8b70f)",
        ),
        Phrase(
            "bad-sequence-of-commands",
            r"bad sequence of commands",
            "RFC 5321 4.2.2 (503 reply text)",
        ),
        Phrase(
            "command-not-implemented",
            r"command not implemented",
            "RFC 5321 4.2.2 (502 reply text)",
        ),
        Phrase(
            "parameter-not-implemented",
            r"parameter not implemented",
            "RFC 5321 4.2.2 (504 reply text)",
        ),
        Phrase(
            "malformed-address",
            r"malformed address",
            "maddy internal/check/spf/spf.go prepareMailFrom(): 550 5.1.7 Malformed address "
            "(github.com/foxcpp/maddy, commit 837b1b8a)",
        ),
        Phrase(
            "line-too-long",
            r"line too long",
            "Haraka connection.js: a command line beyond the limit (github.com/haraka/Haraka, "
            "commit 0bf10cbb) (catalogue haraka-line-too-long)",
        ),
        Phrase(
            "synchronization-error",
            r"synchroni[sz]ation error",
            "Exim smtp_in.c: 554 SMTP synchronization error",
        ),
        Phrase(
            "protocol-synchronization",
            r"protocol synchroni[sz]ation",
            "Postfix smtpd.c: 554 5.5.0 Error: SMTP protocol synchronization",
        ),
        Phrase(
            "too-many-errors",
            r"too many errors",
            "Postfix smtpd.c (smtpd_hard_error_limit): 421 4.7.0 <host> Error: too many errors; "
            "the client's protocol errors",
        ),
        Phrase(
            "say-helo-first",
            r"say (?:helo|ehlo) first",
            "Sendmail srvrsmtp.c: 503 5.0.0 Polite people say HELO first (RFC 5321 4.1.4 "
            "command order)",
        ),
        Phrase(
            "smtp-protocol-violation",
            r"(?:smtp )?protocol violation",
            "Google SMTP error reference 451 4.5.0 / 454 4.5.0 (SMTP protocol violation, see "
            "RFC 2821 / RFC 3207); the client broke the protocol, RFC 3463 X.5.0 (other or "
            "undefined protocol status)",
        ),
        Phrase(
            "too-many-syntax-or-protocol-errors",
            r"too many syntax or protocol errors",
            "Exim src/src/smtp_in.c: \"Too many syntax or protocol errors\" "
            "(smtp_max_synprot_errors) (github.com/Exim/exim, commit 13835a3c)",
        ),
    ),
    "vacation": (
        Phrase(
            "i-am-away",
            r"i am (?:currently )?away",
            "Stalwart crates/jmap/src/vacation/set.rs: the vacation response's default text \"I "
            "am away.\" (github.com/stalwartlabs/stalwart, commit d72608f3)",
        ),
        Phrase(
            "i-will-be-out",
            r"i will be away",
            "PostfixAdmin languages/en.lang pUsersVacation_body_text, the default body of its "
            "vacation auto-reply (public/vacation.php): \"I will be away from <%From_Date> until "
            "<%Until_Date>.\" (github.com/postfixadmin/postfixadmin, commit 65b10f72)",
        ),
        Phrase(
            "out-of-office",
            r"out of (?:the )?office",
            "SpamAssassin rules/20_vbounce.cf out-of-office rules: __BOUNCE_OOO_S3 Subject /^Out "
            "Of Office/, __BOUNCE_OOO_CB1 /out of (?:the )?office/ "
            "(github.com/apache/spamassassin, commit f7fe7b82)",
        ),
        Phrase(
            "on-vacation",
            r"on vacation",
            "Sendmail vacation(1) vacation/vacation.0: \"Subject: I am on vacation\"; Exim "
            "src/src/miscmods/exim_filter.c vacation command: default subject \"On vacation\" "
            "(github.com/deepin-community/sendmail, commit c7e7de44; github.com/Exim/exim, "
            "commit 13835a3c)",
        ),
        Phrase(
            "away-from-my-office",
            r"away from (?:my|the) (?:office|desk|email)",
            "SpamAssassin rules/20_vbounce.cf __BOUNCE_OOO_S2: Subject / \\(away from the "
            "office\\)$/ (github.com/apache/spamassassin, commit f7fe7b82)",
        ),
        Phrase(
            "currently-out",
            r"currently out",
            "SpamAssassin rules/20_vbounce.cf __BOUNCE_OOO_B2: /I am currently out of the "
            "office/ (github.com/apache/spamassassin, commit f7fe7b82)",
        ),
        Phrase(
            "returning-to-the-office",
            r"return(?:ing)? to (?:the )?office",
            "SpamAssassin rules/20_vbounce.cf __BOUNCE_OOO_CB4: /return to (?:the )?office/ "
            "(github.com/apache/spamassassin, commit f7fe7b82)",
        ),
    ),
}
