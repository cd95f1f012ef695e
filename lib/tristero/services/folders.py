"""Folder members (the manual's "Folder-based conferencing", for today's mail): a list's
member may be a maildir folder under the site's [Globals] Folders root
(ADD list +folder:boards/announce), kept in the list's FolderMembers. Each post is
written into each such maildir's new/ by the run's journal, so it lands atomically
(a rename) and exactly once (a run killed before its commit writes nothing; one killed
after writes the same file name again), and an IMAP server (Dovecot) shows the list as
a shared folder. A folder is never outside the root: its path is relative, of plain
names (no "..", no name starting with "."), and no part of it may be a link (checked
here when written, and again by the journal when applied).
"""

import os
import re
import stat

from tristero.core.text import Text
from tristero.model import lists
from tristero.policy import rights

PREFIX = "+folder:"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,+=-]{0,63}")
MAX_DEPTH = 8


def is_folder(word: str) -> bool:
    """Does word name a folder member (+folder:PATH)?"""
    return word[:len(PREFIX)].lower() == PREFIX


def path_of(word: str) -> str:
    return word[len(PREFIX):].rstrip("/")


def members(config, listname: str) -> list[str]:
    """The folders (paths under the root) that are members of listname."""
    return list(config.list_value(listname, "FolderMembers"))


def root(ctx) -> str:
    """The Folders root, an absolute path ("" when none is set)."""
    value = ctx.config.globals("Folders")
    return os.path.join(ctx.site.home, value) if value else ""


def problem(ctx, rel: str):
    """Why rel cannot be a folder member (a Text), or None."""
    if not root(ctx):
        return Text("folders.no-root")
    parts = rel.split("/")
    if not rel or len(parts) > MAX_DEPTH or not all(_NAME.fullmatch(p) for p in parts):
        return Text("folders.bad-path", path=rel[:100])
    return link_problem(ctx, rel)


def taken(s, listname: str, rel: str):
    """A Text when rel is a folder member or a fed folder of another list on which the
    sender is not privileged (its posts would be fed into listname, or listname's into
    its folder); None when it is not."""
    cfg = s.ctx.config
    for other in cfg.list_names():
        if other != listname and rel in members(cfg, other) + feeds(cfg, other) \
                and not rights.privileged(s.ctx, s.sender, other):
            return Text("attackmerge.folder-taken", list=other)
    return None


def link_problem(ctx, rel: str):
    """A Text when a part of root/rel (the root's own path in the site included) is a
    link or not a folder; None when every existing part is a plain folder."""
    home = ctx.site.home
    path = home
    for part in os.path.relpath(os.path.join(root(ctx), rel), home).split(os.sep):
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            return Text("folders.unusable", path=rel[:100])
    return None


def deliver(ctx, listname: str, data: bytes) -> int:
    """Write data (a post as members get it) into each folder member's maildir (new/),
    through the run's journal; returns how many. A folder that became a link or a
    file is passed over, logged."""
    written = 0
    for rel in members(ctx.config, listname):
        why = problem(ctx, rel)
        if why is not None:
            ctx.act("post to %s not written into the folder %s: %s" % (listname, rel, why), "Folders")
            continue
        folder = os.path.join(root(ctx), rel)
        for sub in ("tmp", "cur", "new"):
            ctx.mkdir(os.path.join(folder, sub))
        ctx.write(os.path.join(folder, "new", ctx.ids.file_name(ctx.ids.next())), data)
        written += 1
    return written


def extension(ctx, listname: str):
    """CopyMethod F (the manual's Folder copy method): a function giving the address a
    member gets the list's posts at, local+PREFIXlistSUFFIX@domain for the site's own
    members (the manual: "Internet users automatically have this feature disabled"),
    whose Sieve rules can file it; None when the list is not F."""
    cfg = ctx.config
    if "F" not in cfg.list_value(listname, "CopyMethod"):
        return None
    tag = "+%s%s%s" % (cfg.list_value(listname, "FolderPrefix"), lists.local_part(listname),
                       cfg.list_value(listname, "FolderSuffix"))

    def deliver_to(address):
        local, _, domain = address.rpartition("@")
        if "+" in local or len(local) + len(tag) > 64 or not ctx.ours(address):
            return address
        return local + tag + "@" + domain
    return deliver_to


def copy_method(current: str, word: str) -> str:
    """SET list COPYMETHOD word: FOLDER adds the F, INBOX takes it away, P, M or
    STANDARD set the letter and keep it."""
    word = word.strip().upper()
    folder = "F" if "F" in current else ""
    if word == "FOLDER":
        return current.replace("F", "") + "F"
    if word == "INBOX":
        return current.replace("F", "")
    if word in ("P", "M"):
        return word + folder
    if word in ("STANDARD", ""):
        return folder
    return word


def _set(s, listname, paths):
    s.ctx.state.set_config(lists.section(listname), "FolderMembers", ", ".join(paths))


def add(s, listname: str, rel: str) -> None:
    """ADD list +folder:PATH: the folder becomes a member (made when the first post comes)."""
    why = problem(s.ctx, rel) or taken(s, listname, rel)
    if why is not None:
        s.result("refused", s.text("folders.refused", path=rel[:100], why=why))
        return
    have = members(s.ctx.config, listname)
    if rel in have:
        s.result("ok", s.text("folders.already", path=rel, list=listname))
        return
    _set(s, listname, have + [rel])
    s.result("ok", s.text("folders.added", path=rel, list=listname))
    s.ctx.act("folder %s added to %s by %s" % (rel, listname, s.sender), "ADD")


def remove(s, listname: str, rel: str) -> None:
    """REMOVE list +folder:PATH: the folder gets no more posts (its mail stays)."""
    have = members(s.ctx.config, listname)
    if rel not in have:
        s.result("error", s.text("folders.not-member", path=rel[:100], list=listname))
        return
    _set(s, listname, [p for p in have if p != rel])
    s.result("ok", s.text("folders.removed", path=rel, list=listname))
    s.ctx.act("folder %s removed from %s by %s" % (rel, listname, s.sender), "REMOVE")


# --- PROXYBBS list SUB folder: a folder's new mail fed into the list ---------------------

MAX_FEED = 1000     # messages taken from one folder in one run (the rest: the next run)


def feeds(config, listname: str) -> list[str]:
    """The folders (under the root) whose new mail is posted to listname."""
    return list(config.list_value(listname, "FeedFolders"))


def feed_files(ctx, listname: str) -> list[tuple[str, str]]:
    """(path, name) of the regular files in the new/ of each folder fed into listname,
    oldest first, at most MAX_FEED per folder; a folder that is a link or is outside
    the root, or whose new/ or cur/ is a link or a file, is passed over, logged (read
    through a link, new/ would post another folder's files, the site's own; with cur/
    unusable, each message would be posted again at every run)."""
    out = []
    for rel in feeds(ctx.config, listname):
        why = problem(ctx, rel) or link_problem(ctx, rel + "/new") or link_problem(ctx, rel + "/cur")
        if why is not None:
            ctx.act("folder %s not fed into %s: %s" % (rel, listname, why), "FeedFolders")
            continue
        new = os.path.join(root(ctx), rel, "new")
        try:
            entries = [(e.stat(follow_symlinks=False).st_mtime, e.name) for e in os.scandir(new)
                       if not e.name.startswith(".") and e.is_file(follow_symlinks=False)]
        except (FileNotFoundError, NotADirectoryError):
            continue
        out += [(os.path.join(new, name), name) for _, name in sorted(entries)[:MAX_FEED]]
    return out


def feed(s, listname: str, word: str, rel: str) -> None:
    """PROXYBBS list SUB|UNSUB folder."""
    have = feeds(s.ctx.config, listname)
    if word == "SUB":
        why = problem(s.ctx, rel) or taken(s, listname, rel)
        if why is not None:
            s.result("refused", s.text("folders.refused", path=rel[:100], why=why))
            return
        if rel not in have:
            s.ctx.state.set_config(lists.section(listname), "FeedFolders", ", ".join(have + [rel]))
        s.result("ok", s.text("folders.fed", path=rel, list=listname))
    else:
        if rel not in have:
            s.result("error", s.text("folders.not-fed", path=rel[:100], list=listname))
            return
        s.ctx.state.set_config(lists.section(listname), "FeedFolders", ", ".join(p for p in have if p != rel))
        s.result("ok", s.text("folders.unfed", path=rel, list=listname))
    s.ctx.act("folder %s %s %s by %s" % (rel, "fed into" if word == "SUB" else "no longer fed into", listname,
                                         s.sender), "PROXYBBS")
