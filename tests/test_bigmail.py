"""Big mail and raw 8-bit headers (issue 11, items 8 and 9): a 50 MB post is sent on in
bounded memory or refused by MaxMessageSize; every header Tristero writes is ASCII."""

import base64
import email
import os
import random
import sys
from email import policy

from conftest import TRISTERO, peak_memory
from test_posting import archive_file, build, posts

MB = 1 << 20


def big_post(size):
    """A post of about size bytes: a line of text and a base64 attachment."""
    b64 = base64.encodebytes(random.Random(1).randbytes(size * 3 // 4))
    return (b"From: Gina <gina@example.net>\nTo: news@example.org\nSubject: big\n"
            b"Message-ID: <big@example.net>\nDate: Sat, 21 Nov 2026 09:00:00 +0000\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: text/plain\n\nHello.\n"
            b"--BB\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=big.bin\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64 + b"--BB--\n")


def run_measured(site):
    """Run the batch as a process; its peak memory (ru_maxrss) in MB, read from the OS."""
    status, peak = peak_memory([sys.executable, TRISTERO, "run", "--home", site.home, "--now", "2026-11-21T10:00:00"])
    assert status == 0
    return peak / 1024


def test_a_50_mb_post_goes_out_and_to_the_archive_whole_in_under_300_mb(site):
    build(site, options="Archive = COMPLETE\n", members=["carol@example.com", "dave@example.net"])
    raw = big_post(50 * MB)
    site.drop(raw)
    del raw
    assert run_measured(site) < 300
    [out] = posts(site)
    sent = email.message_from_bytes(out.data, policy=policy.default)
    want = random.Random(1).randbytes(50 * MB * 3 // 4)
    assert [p.get_payload(decode=True) for p in sent.iter_attachments()] == [want]
    archived = email.message_from_bytes(archive_file(site).split(b"\n", 1)[1], policy=policy.default)
    assert [p.get_payload(decode=True) for p in archived.iter_attachments()] == [want]


def test_a_big_posts_attachment_is_named_with_its_size_in_a_text_archive(site):
    build(site, members=["carol@example.com"])
    site.drop(big_post(6 * MB))
    site.run()
    assert b"[Attachment big.bin (application/octet-stream, 4608.0 KB) not kept in the archive]" \
        in archive_file(site)
    assert len(archive_file(site)) < 10000


def test_a_post_over_max_message_size_is_refused_back_to_its_author(site):
    build(site, options="MaxMessageSize = 1000000\n", members=["carol@example.com"])
    site.drop(big_post(2 * MB))
    site.run()
    assert posts(site) == []
    [reply] = site.messages_to("gina@example.net")
    assert "MaxMessageSize" in reply.get_body().get_content()
    assert not os.path.exists(site.path("archive", "00000001", "20261121.txt"))


RAW_8BIT = ("From: Gina Müller <gina@example.net>\nTo: Jürgen's news <news@example.org>\n"
            "Subject: Grüße aus Köln\nMessage-ID: <g8@example.net>\nDate: Sat, 21 Nov 2026 09:00:00 +0000\n"
            "\nHallo.\n")


def _ascii_header(data):
    head = data.split(b"\n\n", 1)[0]
    assert head.isascii(), [l for l in head.split(b"\n") if not l.isascii()]
    return email.message_from_bytes(data, policy=policy.default)


def test_raw_utf8_header_fields_go_out_and_into_the_archive_in_ascii(site):
    build(site, members=["carol@example.com"])
    site.drop(RAW_8BIT.encode("utf-8"))
    site.run()
    [out] = posts(site)
    for data in (out.data, archive_file(site).split(b"\n", 1)[1]):
        msg = _ascii_header(data)
        assert msg["From"].addresses[0].display_name == "Gina Müller"
        assert msg["Subject"] == "Grüße aus Köln"
        assert msg["To"].addresses[0].display_name == "Jürgen's news"


def test_raw_latin1_header_fields_are_decoded_by_their_guessed_charset(site):
    build(site, members=["carol@example.com"])
    site.drop(RAW_8BIT.encode("latin-1"))
    site.run()
    [out] = posts(site)
    msg = _ascii_header(out.data)
    assert msg["From"].addresses[0].display_name == "Gina Müller"
    assert msg["Subject"] == "Grüße aus Köln"
