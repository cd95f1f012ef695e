"""What the commands share about lists and their members: a list's name as a command
word, the AnnounceList, and who outranks a user. Shared by several commands
(ANNOUNCE, CREATE, DESTROY, GRANT, REVOKE, INDEX, SEARCH ...).
"""

from tristero.core import messages
from tristero.model import access, lists, members
from tristero.policy.bounces import record_sent
from tristero.services import session


def quoted(name):
    """A list's name as a command word: in double quotes when it holds a space."""
    return '"%s"' % name if " " in name else name


# --- the AnnounceList ---------------------------------------------------------------------

def announce(s, subject, text, exclude=None):
    """Tell the members of the AnnounceList, if one is set."""
    cfg = s.ctx.config
    name = cfg.globals("AnnounceList")
    listname = lists.find(cfg, name) if name else None
    if listname is None or listname == exclude:
        return
    ctx = s.ctx
    msg = ctx.message(lists.address(cfg, listname), subject, text, kind="auto-generated")
    data = messages.serialize(msg)
    ctx.send("owner-%s@%s" % (lists.local_part(listname), ctx.domain),
             members.recipients(session.members_of(s, listname)), data)
    record_sent(ctx, listname, data, "announcement")
    ctx.act("announced to %s" % listname, "AnnounceList")


# --- rank ----------------------------------------------------------------------------------------

def outranks_or_is(s, pattern):
    """The SuperUser, or a user (address or pattern) access.ini makes PostMaster or
    SuperUser, that pattern could cover (access.patterns_overlap); None when none."""
    cfg = s.ctx.config
    superuser = cfg.globals("SuperUser")
    if superuser and access.user_matches(pattern, superuser):
        return superuser
    for r in s.ctx.state.access():
        if r.granted & {"P", "S"} and access.patterns_overlap(pattern, r.user):
            return r.user
    return None
