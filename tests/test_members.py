"""Member files: the hand-editable format, read and written back."""

import io

from tristero.model import members


def parse(text):
    return members.MemberList("00000001").parse(io.StringIO(text))


def render(ml):
    buf = io.BytesIO()
    ml.write(buf)
    return buf.getvalue().decode()


def test_a_line_is_address_equals_options_and_a_bare_address_is_a_member():
    ml = parse("[Members]\nalice@example.org =\nbob@example.net = NOMAIL\ncarol@example.com\n")
    assert ml.get("alice@example.org") == ("alice@example.org", "")
    assert ml.get("bob@example.net") == ("bob@example.net", "NOMAIL")
    assert ml.get("carol@example.com") == ("carol@example.com", "")


def test_an_address_with_equals_signs_splits_at_the_last_one():
    ml = parse("[Members]\nbounce+x=y.org@example.org = NOMAIL\nsrs=a=b@example.net\n")
    assert ml.get("bounce+x=y.org@example.org") == ("bounce+x=y.org@example.org", "NOMAIL")
    assert ml.get("srs=a=b@example.net") == ("srs=a=b@example.net", "")
    assert len(ml) == 2


def test_case_is_ignored_and_the_address_kept_as_written():
    ml = parse("[Members]\nAlice@Example.ORG =\n")
    assert "Alice@example.org" in ml
    assert "alice@example.org" in ml          # one mailbox, not two members
    assert ml.get("ALICE@EXAMPLE.org")[0] == "Alice@Example.ORG"


def test_comments_above_the_section_survive_a_rewrite_and_members_sort_by_domain():
    ml = parse("; my list\n; edited by hand\n[Members]\nz@b.example.com =\na@c.example.org = NOMAIL\n"
               "y@a.example.com =\n; a comment among members\n")
    assert render(ml) == ("; my list\n; edited by hand\n[Members]\ny@a.example.com =\nz@b.example.com =\n"
                          "a@c.example.org = NOMAIL\n")


def test_options_never_hold_equals_or_commas_in_a_word():
    assert members.clean_options(["NAME A=B, C", "NOMAIL"]) == "NAME A B C, NOMAIL"


def test_option_words():
    opts = members.with_option("NAME Joe Bloggs", "NOMAIL", "")
    assert opts == "NAME Joe Bloggs, NOMAIL"
    assert members.option_word(opts, "nomail") == "NOMAIL"
    assert members.with_option(opts, "NOMAIL") == "NAME Joe Bloggs"


def test_a_large_list_round_trips(tmp_path):
    path = tmp_path / "00000001.ini"
    with open(path, "w") as f:
        f.write("[Members]\n")
        for i in range(100000):
            f.write("user%d@d%d.example =\n" % (i, i % 997))
    ml = members.load("00000001", str(path))
    assert len(ml) == 100000
    again = parse(render(ml))
    assert len(again) == 100000 and "user99999@d99999.example".replace("d99999", "d%d" % (99999 % 997)) in again


def test_mentions_and_holds_option_read_in_pieces_cut_at_line_ends(tmp_path, monkeypatch):
    from tristero.model import members as m
    monkeypatch.setattr(m, "_READ", 40)        # pieces of 40 characters: lines cross them
    path = tmp_path / "list.ini"
    path.write_text("[Members]\nalice@example.com =\nBob.Long@Example.NET = NAME Bob, ACK\ncarol@x.org =\n")
    assert m.mentions(str(path), "bob.long@example.net") and m.mentions(str(path), "carol@x.org")
    assert not m.mentions(str(path), "dave@example.net")
    assert m.holds_option(str(path), "ack") and not m.holds_option(str(path), "digest")
    assert not m.mentions(str(tmp_path / "none.ini"), "alice") and not m.holds_option(str(tmp_path / "none"), "ack")
    # A line longer than a piece cannot be searched in pieces: "maybe" (the caller reads it).
    path.write_text("[Members]\n" + "x" * 80 + "@example.com =\n")
    assert m.mentions(str(path), "dave@example.net") and m.holds_option(str(path), "ack")
