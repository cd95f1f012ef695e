"""A post never goes out in a form a standard MTA refuses (issue 12, part 4, outbound):
lines over 998 octets re-encoded, 8-bit data known as such (declared by delivery: BODY=8BITMIME),
MTA trace fields dropped, and the outbound lint gate: duplicate single fields, broken
encoded words, 8-bit text labelled us-ascii. Each test is the hostile post itself."""

import email
import os
from email import policy

import pytest

from conftest import BASE_INI, NEWS_LIST
from tristero.core import outbound

MEMBERS = "[Members]\ncarol@example.com =\ndave@example.net =\n"


@pytest.fixture
def news(site):
    site.write_ini(BASE_INI + NEWS_LIST)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write(MEMBERS)
    return site


def post(site, head, body):
    """Drop the post (head: its fields after From and To, as text; body: bytes) and run."""
    site.drop(("From: alice@example.net\nTo: news@example.org\nDate: Sat, 21 Nov 2026 09:00:00 +0000\n"
               + head + "\n").encode() + body)
    site.run()


def raw_posts(site):
    """The raw BSMTP files of the post, as written."""
    out = []
    for name in site.listdir("spool", "out", "new"):
        with open(site.path("spool", "out", "new", name), "rb") as f:
            data = f.read()
        if data.startswith(b"MAIL FROM:<owner-news@"):
            out.append(data)
    return out


def copy_of(site):
    [b] = [b for b in site.outbound() if "carol@example.com" in b.recipients]
    return b


def archive(site):
    with open(site.path("archive", "00000001", "20261121.txt"), "rb") as f:
        return f.read()


def longest_line(data):
    return max(len(line) for line in data.replace(b"\r", b"\n").split(b"\n"))


def test_a_line_over_998_octets_is_re_encoded_in_quoted_printable(news):
    line = ("word " * 600).strip()
    post(news, "Subject: long\nMessage-ID: <long@example.net>\n", ("Hello.\n%s\nBye.\n" % line).encode())
    b = copy_of(news)
    assert longest_line(b.data) <= 998
    msg = email.message_from_bytes(b.data, policy=policy.default)
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content() == "Hello.\n%s\nBye.\n" % line
    assert not b.eight_bit
    assert "outbound lint: line over 998 octets" in news.log()


def test_an_attachment_with_a_line_over_998_octets_is_re_encoded_in_base64(news):
    blob = b"x" * 3000 + b"\n"
    body = (b"--b\nContent-Type: text/plain\n\nSee the file.\n--b\nContent-Type: application/octet-stream\n"
            b"Content-Transfer-Encoding: 8bit\n\n" + blob + b"--b--\n")
    post(news, 'Subject: file\nMessage-ID: <f@example.net>\nMIME-Version: 1.0\n'
               'Content-Type: multipart/mixed; boundary="b"\n', body)
    b = copy_of(news)
    assert longest_line(b.data) <= 998
    msg = email.message_from_bytes(b.data, policy=policy.default)
    text, attachment = list(msg.iter_parts())
    assert text.get_content() == "See the file."        # the line end before a boundary is the boundary's
    assert attachment["Content-Transfer-Encoding"] == "base64"
    assert attachment.get_content() == blob[:-1]


def test_8bit_text_labelled_us_ascii_is_re_encoded_and_labelled(news):
    post(news, "Subject: greetings\nMessage-ID: <g@example.net>\nMIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=us-ascii\n", "Grüße aus Köln.\n".encode("utf-8"))
    b = copy_of(news)
    assert b.data.isascii() and not b.eight_bit
    assert not raw_posts(news)[0].split(b"\n", 1)[0].endswith(b"BODY=8BITMIME")
    msg = email.message_from_bytes(b.data, policy=policy.default)
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content() == "Grüße aus Köln.\n"
    assert "outbound lint: 8-bit body labelled us-ascii" in news.log()


def test_an_8bit_post_is_known_8bit_and_its_files_carry_no_mail_parameter(news):
    """Delivery declares 8-bit data over SMTP (BODY=8BITMIME); the BSMTP file itself
    carries no MAIL parameter, which exim -bS would refuse (see test_exim)."""
    body = "Grüße aus Köln.\n".encode("utf-8")
    post(news, "Subject: greetings\nMessage-ID: <h@example.net>\nMIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n", body)
    files = raw_posts(news)
    assert files and all(f.split(b"\n", 1)[0] == b"MAIL FROM:<owner-news@example.org>" for f in files)
    b = copy_of(news)
    assert b.eight_bit and b.sender == "owner-news@example.org" and b.data.endswith(body)


def test_an_ascii_post_is_not_declared_8bit(news):
    post(news, "Subject: plain\nMessage-ID: <p@example.net>\n", b"Hello.\n")
    assert all(f.split(b"\n", 1)[0] == b"MAIL FROM:<owner-news@example.org>" for f in raw_posts(news))


@pytest.mark.parametrize("name", ["Subject", "Message-ID"])
def test_a_second_single_field_is_dropped_and_the_first_kept(news, name):
    first, second = ("one", "two") if name == "Subject" else ("<one@example.net>", "<two@example.net>")
    other = "Message-ID: <d@example.net>\n" if name == "Subject" else "Subject: twice\n"
    post(news, "%s%s: %s\n%s: %s\n" % (other, name, first, name, second), b"Hello.\n")
    b = copy_of(news)
    head = b.data.split(b"\n\n", 1)[0].decode()
    lines = [l for l in head.split("\n") if l.lower().startswith(name.lower() + ":")]
    assert len(lines) == 1 and first in lines[0] and second not in head
    assert "outbound lint: duplicate field" in news.log()


@pytest.mark.parametrize("subject", ["=?utf-8?b?////?=", "=?no-such-charset?q?abc?=", "=?utf-8?x?abc?=",
                                     "=?utf-8?q?caf=E9?="])
def test_a_post_with_a_broken_encoded_word_is_refused_to_its_author(news, subject):
    post(news, "Subject: %s\nMessage-ID: <e@example.net>\n" % subject, b"Hello.\n")
    assert raw_posts(news) == []
    [reply] = news.messages_to("alice@example.net")
    text = reply.get_content()
    assert "was not sent to the list" in text and "broken encoded word" in text
    assert "outbound lint: broken encoded word" in news.log()


def test_mta_trace_fields_reach_neither_members_nor_the_archive(news):
    trace = ("Return-Path: <alice@example.net>\nDelivered-To: news@example.org\nX-Original-To: news@example.org\n"
             "Envelope-to: news@example.org\nDelivery-date: Sat, 21 Nov 2026 09:00:01 +0000\n")
    post(news, trace + "Subject: traced\nMessage-ID: <t@example.net>\n", b"Hello.\n")
    head = copy_of(news).data.split(b"\n\n", 1)[0].lower()
    kept = archive(news).split(b"\n\n", 1)[0].lower()
    for name in (b"return-path:", b"delivered-to:", b"x-original-to:", b"envelope-to:", b"delivery-date:"):
        assert name not in head and name not in kept


def test_the_gate_reads_a_clean_message_once_and_changes_nothing():
    head = b"From: a@example.net\nSubject: =?utf-8?q?caf=C3=A9?=\nMessage-ID: <x@example.net>\n"
    body = memoryview(b"Hello.\n" * 1000)
    v = outbound.lint(head, body)
    assert v.head is head and v.body is body and not v.repairs and v.refusal is None and not v.eight_bit


def test_a_verp_local_part_over_64_octets_never_goes_out():
    assert outbound.verp_problem("owner-news+%s=example.com+abc@example.org" % ("x" * 60))
    assert outbound.verp_problem("owner-news+bob=example.com+abc@example.org") is None
    assert outbound.verp_problem("") is None


def test_mail_forwarded_to_an_owner_with_a_raw_8bit_subject_goes_out_in_encoded_words(news):
    news.drop("From: alice@example.net\nTo: news-owner@example.org\nSubject: Grüße\n"
              "Message-ID: <o@example.net>\n\nHello.\n".encode("utf-8"))
    news.run()
    [b] = news.outbound()
    assert b.recipients == ["editor@example.org"]
    head = b.data.split(b"\n\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head.lower()
    msg = email.message_from_bytes(b.data, policy=policy.default)
    assert msg["Subject"] == "Grüße"
    assert "outbound lint (8-bit header)" in news.log()


def test_a_post_with_a_header_line_over_998_octets_is_refused_to_its_author(news):
    post(news, "Subject: long field\nMessage-ID: <lf@example.net>\nX-Long: %s\n" % ("y" * 1200), b"Hello.\n")
    assert raw_posts(news) == []
    [reply] = news.messages_to("alice@example.net")
    assert "longer than 998 octets" in reply.get_content()
    assert "outbound lint: header line over 998 octets" in news.log()
