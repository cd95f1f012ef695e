"""Rights: may this address do this to this list? One function answers, everything asks.

This is the manual's implicit model: SuperUser from tristero.ini, ListOwner
from a list's Owner, membership, and each list type's subscription and
posting columns (manual: "Moderated Lists", the list type table).
"""

from . import lists
from .members import address_key

# Type: (who may subscribe, who may post, who may review the members).
# "open" anyone; "members" members only; "closed" nobody but the privileged.
TYPES = {
    "Open":         ("open", "open", "open"),
    "Free":         ("open", "open", "open"),
    "Internal":     ("open", "open", "open"),
    "Closed":       ("closed", "members", "members"),
    "Moderated":    ("open", "approval", "open"),
    "Subscription": ("open", "members", "members"),
    "Approval":     ("closed", "open", "members"),
    "Distribution": ("closed", "open", "open"),
    "Executable":   ("closed", "members", "members"),
    "Passive":      ("closed", "closed", "closed"),
    "Broadcast":    ("open", "closed", "open"),
    "Hidden":       ("closed", "members", "members"),
}

_COLUMN = {"subscribe": 0, "post": 1, "review": 2}


def is_superuser(config, who):
    su = config.globals("SuperUser")
    return bool(su) and address_key(su) == address_key(who)


def is_owner(config, who, listname):
    owner = config.raw(lists.section(listname), "Owner") or ""
    return bool(owner) and address_key(owner) == address_key(who)


def is_member(state, config, who, listname):
    return who in state.members(lists.number(config, listname))


def privileged(ctx, who, listname=None):
    """SuperUser anywhere, or the owner of listname."""
    return is_superuser(ctx.config, who) or (listname is not None and is_owner(ctx.config, who, listname))


def may(ctx, who, action, listname=None):
    """(allowed, reason) for who doing action (to listname).

    Actions: subscribe, post, review (MEMBERS), create, destroy, manage (ADD,
    REMOVE, CHANGE, SET of list options), settype, global (SET *), others
    (asking about another address).
    """
    cfg = ctx.config
    if is_superuser(cfg, who):
        return True, "SuperUser"
    if action in ("create",):
        if cfg.globals("OpenCreation"):
            return True, "OpenCreation"
        return False, "only the SuperUser or a PostMaster may create lists"
    if action in ("global", "settype", "others"):
        return False, "only the SuperUser may do this"
    if listname is None:
        return False, "no list named"
    if is_owner(cfg, who, listname):
        return True, "ListOwner"
    if action in ("destroy", "manage"):
        return False, "only the list's owner, a PostMaster or the SuperUser may do this"
    kind = cfg.list_value(listname, "Type")
    rule = TYPES[kind][_COLUMN[action]]
    if rule == "open":
        return True, "Type=%s" % kind
    member = is_member(ctx.state, cfg, who, listname)
    if rule == "members" and member:
        return True, "member, Type=%s" % kind
    if rule == "approval":
        approval = lists.find(cfg, listname + "-approval")
        if approval and is_member(ctx.state, cfg, who, approval):
            return True, "member of %s, Type=%s" % (approval, kind)
        return False, "%s is moderated: posts come from its moderators" % listname
    if rule == "members":
        return False, "%s is a %s list: members only" % (listname, kind)
    return False, "%s is a %s list: closed" % (listname, kind)
