"""Bounces: every report of flufl.bounce's own test data is read as flufl.bounce reads it.

The samples (tests/data/flufl-bounce/, see SOURCE there) are the reports of
two decades of mail servers that flufl.bounce's detectors were written for.
Tristero reads RFC 3464 fields itself and hands everything else to
flufl.bounce; a report whose status part names no failed recipient must
still be read (issue 11).
"""

import email
import os

import flufl.bounce
import pytest

from conftest import REPO
from tristero.core import messages
from tristero.policy import bounces

DATA = os.path.join(REPO, "tests", "data", "flufl-bounce")
SAMPLES = sorted(n for n in os.listdir(DATA) if n.endswith(".txt"))
P, POLICY, T = bounces.PERMANENT, bounces.POLICY, bounces.TEMPORARY


def sample(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def read(raw):
    return {f.address.lower(): f.kind for f in bounces.read(messages.parse(raw), raw).failures}


def test_the_samples_are_all_there():
    assert len(SAMPLES) == 117


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_names_the_failed_addresses_flufl_bounce_finds(name):
    raw = sample(name)
    temporary, permanent = flufl.bounce.all_failures(email.message_from_bytes(raw))
    found = read(raw)
    assert set(found) == {a.decode("ascii").lower() for a in temporary | permanent}
    # A failure flufl.bounce calls temporary is never charged to the member, and
    # one it calls permanent is charged to the member or to the post.
    assert all(found[a.decode("ascii").lower()] == T for a in temporary)
    assert all(found[a.decode("ascii").lower()] in (P, POLICY) for a in permanent)


@pytest.mark.parametrize("name, expected", [
    # message/delivery-status parts with no recipient fields ("Message removed").
    ("simple_13.txt", {"userx@example.fr": P}),
    ("simple_31.txt", {"userx@example.fr": P}),
    # "Action: failure" and a size refusal: the post's fault, not the member's.
    ("dsn_03.txt", {"userx@example.be": POLICY}),
    # Netscape: a status part with nothing but Reporting-MTA, "not delivered within 2 days".
    ("netscape_01.txt", {"aaaaa@corel.com": P, "bbbbb@corel.com": P}),
    # A status part with nothing but Reporting-MTA.
    ("caiwireless_01.txt", {"userx@example.com": P}),
    # "(#4.4.1) I'm not going to try again": the server gave up.
    ("yahoo_01.txt", {"userx@example.com": P}),
])
def test_degenerate_delivery_status_parts_are_read_for_their_failures(name, expected):
    assert read(sample(name)) == expected


SUCCESS = b"""\
From: MAILER-DAEMON@mx.example.com
To: owner-news@example.org
Subject: Delivery Status Notification (Success)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message was delivered to bob@example.com. Earlier tries failed:
bob@example.com: 550 user unknown (the alias has since been fixed)

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; bob@example.com
Action: delivered
Status: 2.0.0

--B--
"""


def test_a_report_of_success_is_not_read_for_failures_in_its_text():
    assert read(SUCCESS) == {}
