"""The state's change records (model.state): each change made and then undone gives
back the state as it was; the changes of a run are made again on a file a person
saved during it (replay), and can still be undone after that."""

import datetime

import pytest

from conftest import NEWS_LIST
from tristero.model import access as accessmod
from tristero.model import config as configmod
from tristero.model import journal, lockouts, pending, quotas, state
from tristero.model.site import Site

NEWS = "00000001"
T0 = datetime.datetime(2026, 11, 21, 9, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def st(site):
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n" + NEWS_LIST + "\n[Kill Subjects]\nold\n")
    home = Site(site.home)
    home.ensure()
    with open(home.member_file(NEWS), "w") as f:
        f.write("; the news\n[Members]\nalice@example.net =\nbob@example.com = NOMAIL\n")
    with open(home.access, "w") as f:
        f.write("user,status,list,language,encrypted_password,flag\ncarol@example.net,Poster,news,,,\n")
    s = state.State(home, configmod.load(site.home))
    s.set_lockout("dave@example.net", lockouts.Entry([T0]))
    s.set_quota("erin@example.net", quotas.Entry("2026-11-21", 100, 1))
    commit(s)
    s.members(NEWS)           # loaded, as a run that works on the list has it
    return s


def commit(s):
    txn = journal.Transaction(s.site.home, 1)
    s.stage(txn)
    txn.commit()
    s.committed()


def snapshot(s):
    """Everything the state holds, as plain values."""
    return {
        "lists": {n: (dict(ml.members), list(ml.header)) for n, ml in s._lists.items()},
        "dropped": set(s._dropped),
        "access": [r.fields() for r in s.access()],
        "lockouts": {u: (e.failures, e.until) for u, e in s.lockouts().items()},
        "quotas": {u: (e.day, e.sent, e.replies) for u, e in s.quotas().items()},
        "pending": {u: (e.action, e.hash, e.until) for u, e in s.pending().items()},
        "config": s.config.render(),
        "patterns": {k: list(v) for k, v in s.config.patterns.items()},
    }


CHANGES = {
    "add a member": lambda s: s.add_member(NEWS, "frank@example.org"),
    "change a member's options": lambda s: s.set_options(NEWS, "alice@example.net", "DIGEST"),
    "remove a member": lambda s: s.remove_member(NEWS, "bob@example.com"),
    "empty a list": lambda s: s.clear_list(NEWS),
    "create a list": lambda s: s.clear_list("00000002"),
    "destroy a list": lambda s: s.drop_list(NEWS),
    "add a rule": lambda s: s.set_rule("gina@example.org", "news", status="Poster"),
    "change a rule": lambda s: s.set_rule("carol@example.net", "news", status="Member"),
    "remove a rule": lambda s: s.set_rule("carol@example.net", "news", status=""),
    "count a wrong password": lambda s: s.set_lockout("dave@example.net", lockouts.Entry([T0, T0], T0)),
    "lock a new user": lambda s: s.set_lockout("hal@example.net", lockouts.Entry([T0])),
    "count a sender's bytes": lambda s: s.set_quota("erin@example.net", quotas.Entry("2026-11-21", 900, 2)),
    "count a new sender": lambda s: s.set_quota("ivy@example.net", quotas.Entry("2026-11-21", 5, 0)),
    "set a new key": lambda s: s.set_config("Globals", "LogDays", "9"),
    "change a key": lambda s: s.set_config("LIST news", "Description", "Old news"),
    "set a key in a new section": lambda s: s.set_config("Delivery", "RetryDays", "2"),
    "add a section": lambda s: s.add_section("LIST made", {"Type": "Open", "MemberFile": "00000007"}),
    "remove a section": lambda s: s.del_section("LIST news"),
    "replace pattern entries": lambda s: s.set_patterns("Kill Subjects", ["new", "newer"]),
    "import members in bulk": lambda s: s.add_members(NEWS, {"x@example.org": ("X@example.org", "NAME X"),
                                                             "y@example.org": ("y@example.org", "")}),
    "delete members in bulk": lambda s: s.remove_members(NEWS, ["alice@example.net", "bob@example.com", "z@x.org"]),
    "ask for a password change": lambda s: s.set_pending("Jo@example.net", pending.Entry(
        "ADD", "scrypt$1$1$1$a$b", datetime.date(2026, 12, 5))),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_rolled_back_gives_back_the_state_as_it_was(st, change):
    before = snapshot(st)
    point = st.savepoint()
    CHANGES[change](st)
    assert st.savepoint() > point
    assert snapshot(st) != before
    st.rollback(point)
    assert snapshot(st) == before
    assert st.savepoint() == point


def test_many_changes_rolled_back_together_give_back_the_state_newest_first(st):
    before = snapshot(st)
    for name in sorted(CHANGES):
        CHANGES[name](st)
    st.rollback(0)
    assert snapshot(st) == before


def test_a_record_applied_then_undone_gives_back_the_state(st):
    before = snapshot(st)
    records = [
        state.PutMember(NEWS, "frank@example.org", "frank@example.org", "", None),
        state.RemoveMember(NEWS, "alice@example.net", ("alice@example.net", "")),
        state.SetRule("carol@example.net", "news", {"status": "Member"}, st.access()[0]),
        state.SetLockout("dave@example.net", lockouts.Entry([T0], T0), st.lockouts()["dave@example.net"]),
        state.SetQuota("ivy@example.net", quotas.Entry("2026-11-21", 1, 1), None),
        state.SetValue("Globals", "LogDays", "9", None, True),
        state.AddSection("LIST made", {"Type": "Open"}),
        state.SetPatterns("Kill Subjects", ["x"], ["old"]),
    ]
    for record in records:
        record.apply(st)
    assert snapshot(st) != before
    for record in reversed(records):
        record.undo(st)
    assert snapshot(st) == before


def test_a_change_that_cannot_be_written_is_not_made_nor_journalled(st):
    before = snapshot(st)
    with pytest.raises(ValueError):
        st.set_config("Globals", "LogDays", "many")
    with pytest.raises(ValueError):
        st.add_member(NEWS, "frank@example.org\nbob@example.com")
    assert st.savepoint() == 0
    assert snapshot(st) == before


def test_member_changes_are_made_again_on_a_member_file_saved_during_the_run(st):
    st.add_member(NEWS, "frank@example.org", "NOMAIL")
    st.remove_member(NEWS, "bob@example.com")
    # Meanwhile a person adds a member by hand (and a note above them).
    with open(st.site.member_file(NEWS), "w") as f:
        f.write("; edited\n[Members]\nalice@example.net =\nbob@example.com = NOMAIL\ngus@example.net =\n")
    commit(st)
    with open(st.site.member_file(NEWS)) as f:
        text = f.read()
    assert text.startswith("; edited\n")
    assert "gus@example.net" in text and "frank@example.org = NOMAIL" in text
    assert "bob@example.com" not in text
    assert set(st.members(NEWS).members) == {"alice@example.net", "gus@example.net", "frank@example.org"}


def test_rule_lockout_and_quota_changes_are_made_again_on_files_saved_during_the_run(st):
    st.set_rule("gina@example.org", "news", status="Poster")
    st.set_lockout("hal@example.net", lockouts.Entry([T0]))
    st.set_quota("erin@example.net", quotas.Entry("2026-11-21", 900, 2))
    with open(st.site.access, "a") as f:
        f.write("kim@example.net,Member,news,,,\n")
    with open(lockouts.path(st.site), "wb") as f:
        f.write(lockouts.render({}))          # a person lifted dave's lock
    with open(quotas.path(st.site), "wb") as f:
        f.write(quotas.render({"lee@example.net": quotas.Entry("2026-11-21", 7, 0)}))
    commit(st)
    assert [r.user for r in accessmod.load(st.site.access)[0]] == [
        "carol@example.net", "kim@example.net", "gina@example.org"]
    assert sorted(lockouts.load(lockouts.path(st.site))) == ["hal@example.net"]
    table = quotas.load(quotas.path(st.site))
    assert sorted(table) == ["erin@example.net", "lee@example.net"]
    assert table["erin@example.net"].sent == 900


def test_config_changes_are_made_again_on_the_same_config_a_person_saved_during_the_run(st):
    cfg = st.config                # as the Context and the Batch hold it
    st.set_config("Globals", "LogDays", "9")
    st.add_section("LIST made", {"Type": "Open", "MemberFile": "00000007"})
    with open(cfg.path, "a") as f:
        f.write("\n[Delivery]\nRetryDays = 2\n")
    point = st.savepoint()
    txn = journal.Transaction(st.site.home, 1)
    st.stage(txn)
    assert st.config is cfg
    # The person's edit is seen by whoever holds the config, the run's changes on top.
    assert cfg.get("Delivery", "RetryDays") == 2
    assert cfg.globals("LogDays") == 9 and "made" in cfg.list_names()
    # Undone after the replay (a commit that fails is redone message by message):
    # the run's changes go, the person's edit stays.
    st.rollback(0)
    assert point == 2
    assert cfg.get("Delivery", "RetryDays") == 2
    assert cfg.raw("Globals", "LogDays") is None and "made" not in cfg.list_names()
    txn.discard()


def test_a_config_saved_broken_during_the_run_leaves_the_config_in_memory_as_it_was(st):
    cfg = st.config
    st.set_config("Globals", "LogDays", "9")
    before = cfg.render()
    with open(cfg.path, "a") as f:
        f.write("\n[Security]\nhalf written line\n")
    txn = journal.Transaction(st.site.home, 1)
    with pytest.raises(configmod.ConfigError):
        st.stage(txn)
    txn.discard()
    assert cfg.render() == before
    st.rollback(0)
    assert cfg.raw("Globals", "LogDays") is None


def test_a_list_emptied_then_destroyed_and_rolled_back_keeps_its_header(st):
    """DESTROY of a list already empty works on the list as loaded: rolled back, the
    file's header (and any line kept as written) is still there to be written."""
    before = snapshot(st)
    st.clear_list(NEWS)
    st.drop_list(NEWS)
    st.rollback(0)
    assert snapshot(st) == before
    assert st.members(NEWS).header == ["; the news"]
