"""Recipient CSVs: good rows become messages, bad rows problems with their line numbers."""

from __future__ import annotations

import pytest

from bounceloop.recipients import Problem, RecipientsError, read
from bounceloop.storage.messages import NewMessage


def _read(text: str) -> tuple[list[NewMessage], list[Problem]]:
    return read(text.encode())


def test_minimal_file() -> None:
    messages, problems = _read("email\njane@example.org\njohn@example.org\n")
    assert messages == [NewMessage("jane@example.org"), NewMessage("john@example.org")]
    assert problems == []


@pytest.mark.parametrize("header", ["email", "EMAIL", "Email", " eMail ", "email "])
def test_email_header_in_any_case(header: str) -> None:
    messages, problems = _read(f"{header}\njane@example.org\n")
    assert [m.recipient for m in messages] == ["jane@example.org"] and problems == []


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    text = newline.join(["email,name", "jane@example.org,Jane", "john@example.org,John", ""])
    messages, problems = _read(text)
    assert [(m.recipient, m.fields) for m in messages] == [
        ("jane@example.org", {"name": "Jane"}), ("john@example.org", {"name": "John"})]
    assert problems == []


def test_byte_order_mark_is_ignored() -> None:
    messages, problems = read(b"\xef\xbb\xbfemail,name\njane@example.org,Jane\n")
    assert messages == [NewMessage("jane@example.org", (), {"name": "Jane"})]
    assert problems == []


def test_no_final_newline() -> None:
    messages, _ = _read("email\njane@example.org")
    assert [m.recipient for m in messages] == ["jane@example.org"]


def test_tags_are_split_on_semicolons_and_trimmed() -> None:
    messages, problems = _read(
        "email,Tags\n"
        "a@example.org, news ; promo;;vip \n"
        "b@example.org,\n"
        "c@example.org,single\n")
    assert problems == []
    assert [(m.recipient, m.tags, m.fields) for m in messages] == [
        ("a@example.org", ("news", "promo", "vip"), {}),
        ("b@example.org", (), {}),
        ("c@example.org", ("single",), {}),
    ]


def test_other_columns_are_fields_with_their_header_names() -> None:
    messages, problems = _read(
        "First Name,email,tags,City\n"
        "Jane,jane@example.org,news,\"Paris, France\"\n")
    assert problems == []
    assert messages == [NewMessage("jane@example.org", ("news",),
                                   {"First Name": "Jane", "City": "Paris, France"})]


def test_field_values_are_kept_as_written() -> None:
    messages, _ = _read('email,note\njane@example.org,"  two\nlines ""quoted"" "\n')
    assert messages[0].fields == {"note": '  two\nlines "quoted" '}


def test_address_is_normalised() -> None:
    messages, problems = _read("email\n<Jane@EXAMPLE.org>\n  john@Bücher.example \n")
    assert [m.recipient for m in messages] == ["Jane@example.org",
                                               "john@xn--bcher-kva.example"]
    assert problems == []


def test_blank_lines_are_skipped_and_lines_still_counted() -> None:
    messages, problems = _read(
        "email,name\n"          # 1
        "\n"                    # 2
        "a@example.org,A\n"     # 3
        "   ,  \n"              # 4: only blanks
        ",\n"                   # 5: empty cells
        "bad,B\n"               # 6
        "\n"                    # 7
        "b@example.org,B\n")    # 8
    assert [m.recipient for m in messages] == ["a@example.org", "b@example.org"]
    assert [p.line for p in problems] == [6]


def test_bad_rows_are_reported_with_their_lines_and_skipped() -> None:
    messages, problems = _read(
        "email,name\n"                       # 1
        "jane@example.org,Jane\n"            # 2
        "not-an-address,Nobody\n"            # 3
        "john@example.org\n"                 # 4: too few columns
        "joe@example.org,Joe,extra\n"        # 5: too many columns
        "JANE@Example.ORG,Jane again\n"      # 6: duplicate of line 2
        ",No address\n"                      # 7
        "ja..ne@example.org,Dots\n"          # 8
        "jäne@example.org,Umlaut\n"          # 9
        "ann@example.org,Ann\n")             # 10
    assert [m.recipient for m in messages] == ["jane@example.org", "ann@example.org"]
    assert [p.line for p in problems] == [3, 4, 5, 6, 7, 8, 9]
    by_line = {p.line: p.message for p in problems}
    assert by_line[3] == "not an address: 'not-an-address'"
    assert by_line[4] == "1 columns where the header has 2"
    assert by_line[5] == "3 columns where the header has 2"
    assert by_line[6] == "JANE@example.org is already on line 2"
    assert by_line[7] == "empty address"
    assert "invalid local part" in by_line[8]
    assert "SMTPUTF8" in by_line[9]


def test_duplicates_refer_to_the_first_line() -> None:
    _, problems = _read("email\na@example.org\nb@example.org\nA@example.org\na@EXAMPLE.ORG\n")
    assert problems == [Problem(4, "A@example.org is already on line 2"),
                        Problem(5, "a@example.org is already on line 2")]


def test_a_refused_row_does_not_count_as_seen() -> None:
    # Line 2 is refused (wrong column count): line 3 with the same address is the first.
    messages, problems = _read("email,name\na@example.org\na@example.org,A\n")
    assert [m.recipient for m in messages] == ["a@example.org"]
    assert [p.line for p in problems] == [2]


def test_line_numbers_count_physical_lines_of_multi_line_fields() -> None:
    messages, problems = _read(
        "email,note\n"               # 1
        'a@example.org,"one\n'       # 2
        'two"\n'                     # 3
        "bad,x\n"                    # 4
        'b@example.org,"x\n'         # 5
        'y"\n'                       # 6
        'bad2,"p\n'                  # 7: a bad row is named by its first line
        'q"\n'                       # 8
        "a@example.org,again\n")     # 9
    assert [m.recipient for m in messages] == ["a@example.org", "b@example.org"]
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [
        (4, "not an address"), (7, "not an address"), (9, "a@example.org is already on line 2")]


def test_unterminated_quote_is_reported_not_swallowed() -> None:
    messages, problems = _read(
        "email,name\n"
        "a@example.org,A\n"
        'b@example.org,"unterminated\n'
        "c@example.org,C\n")
    assert [m.recipient for m in messages] == ["a@example.org"]
    assert len(problems) == 1
    assert problems[0].line == 3
    assert problems[0].message.startswith("unreadable row: ")


def test_bad_quoting_is_reported_and_the_next_row_read() -> None:
    messages, problems = _read('email,name\na@example.org,"x"y\nb@example.org,B\n')
    assert [m.recipient for m in messages] == ["b@example.org"]
    assert [p.line for p in problems] == [2]
    assert problems[0].message.startswith("unreadable row: ")


def test_oversized_field_is_an_unreadable_row() -> None:
    big = "z" * 200_000
    messages, problems = _read(f'email,name\na@example.org,"{big}"\nb@example.org,B\n')
    assert [m.recipient for m in messages] == ["b@example.org"]
    assert [p.line for p in problems] == [2]
    assert "field larger than field limit" in problems[0].message


def test_header_only_gives_nothing_and_no_problems() -> None:
    assert _read("email,name\n") == ([], [])


# ------------------------------------------------------------------------------------------
# The file as a whole.
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty file: a header row with an 'email' column is needed"),
    (b"\xef\xbb\xbf", "empty file: a header row with an 'email' column is needed"),
    (b"name,tags\nJane,news\n", "no 'email' column in the header row (columns: name, tags)"),
    (b"jane@example.org\n", "no 'email' column in the header row (columns: jane@example.org)"),
    (b"\nemail\na@example.org\n", "no 'email' column in the header row (columns: none)"),
    (b"e-mail\na@example.org\n", "no 'email' column in the header row (columns: e-mail)"),
    (b"email,name\njane@example.org,Ren\xe9\n", "not UTF-8 text (byte 31)"),  # 0-based
    (b"\xff\xfee\x00m\x00", "not UTF-8 text (byte 0)"),  # UTF-16
    (b'"email\n', "line 1: unexpected end of data"),
])
def test_whole_file_errors(data: bytes, message: str) -> None:
    with pytest.raises(RecipientsError) as info:
        read(data)
    assert str(info.value) == message


def test_recipients_error_is_a_value_error() -> None:
    assert issubclass(RecipientsError, ValueError)
