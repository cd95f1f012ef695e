"""core.personalise: one message made into a template, personal copies rendered from it."""

import base64
import email
import email.policy

from tristero.core.personalise import Template

MULTI = b"""From: owner@example.org
To: list@example.org
Subject: Hello %%N
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe, %%N!
--b2
Content-Type: text/html; charset=us-ascii
Content-Transfer-Encoding: base64

""" + base64.encodebytes(b"<p>Dear %%N</p>\n") + b"""
--b2--

--b1
Content-Type: text/plain; charset=us-ascii
Content-Disposition: attachment; filename="keep.txt"

%%N stays in an attachment
--b1
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAw==
--b1--
"""


def parts(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg, [p for p in msg.walk() if not p.is_multipart()]


def test_place_holders_in_every_encoding_are_replaced_and_attachments_kept():
    t = Template(MULTI, wanted=lambda text: "%%" in text, fields=("To", "Subject"))
    def edit(text, subtype):
        return text.replace("%%N", "J\u00f6rg &amp; \u0416" if subtype == "html" else "J\u00f6rg \u0416")
    copy = t.render(edit, {"To": "J\u00f6rg <jorg@example.net>", "Subject": "Hello J\u00f6rg"})
    msg, leaves = parts(copy)
    assert msg["To"] == "J\u00f6rg <jorg@example.net>"
    assert msg["Subject"] == "Hello J\u00f6rg"
    assert copy.isascii()
    assert leaves[0].get_content() == "Gr\u00fc\u00dfe, J\u00f6rg \u0416!"
    assert leaves[1].get_content() == "<p>Dear J\u00f6rg &amp; \u0416</p>\n"
    assert leaves[2].get_content() == "%%N stays in an attachment"
    assert leaves[3].get_payload(decode=True) == b"\x00\x01\x02\x03"


def test_copies_differ_only_where_they_are_personal():
    t = Template(MULTI, wanted=lambda text: "%%" in text, fields=("To",))
    a = t.render(lambda text, _: text.replace("%%N", "a"), {"To": "a@example.net"})
    b = t.render(lambda text, _: text.replace("%%N", "b"), {"To": "b@example.net"})
    assert a != b and len(a) == len(b)
    assert t.render(lambda text, _: text.replace("%%N", "a"), {"To": "a@example.net"}) == a


def test_a_field_left_out_is_not_written_and_unwanted_parts_are_as_they_came():
    raw = b"From: a@example.org\nTo: x@example.org\nSubject: s\n\nno place-holder here\n"
    t = Template(raw, wanted=lambda text: "%%" in text, fields=("To",))
    assert t.texts == []
    out = t.render()
    assert b"To:" not in out and out.endswith(b"\n\nno place-holder here\n")


def test_a_value_cannot_add_a_header_line():
    raw = b"From: a@example.org\nSubject: s\n\nHi\n"
    out = Template(raw, fields=("Subject",)).render(None, {"Subject": "x\nBcc: victim@example.net"})
    head = out.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in head
