"""Executable lists (manual: "Files on Demand"): a message to such a list is answered
with the files of its FILELIST.TXT and the commands of its LISTBOT.TXT."""

import os
import re

from tristero.core import messages
from tristero.mail import robot
from tristero.model import lists
from tristero.services import repository


def executable(ctx, m, listname, rule):
    """Answer a message to an Executable list: the files of its FILELIST.TXT, attached to
    one reply, and the commands of its LISTBOT.TXT, run as if the author had sent them.

    FILELIST.TXT holds one file a line (";" or "#" starts a comment): a name is
    a file of the list's folder ("forms/leave.pdf" one of its subfolders); a
    name whose first part is a list number ("00000000/policy.pdf") is a file of
    that folder of archive/. Nothing outside archive/ is ever sent: the manual's
    "full paths" become paths inside the site's archive, and only a PostMaster
    or the SuperUser may write FILELIST.TXT and LISTBOT.TXT by mail.
    """
    root = repository.folder(ctx, listname)
    filelist = repository.find(root, "filelist.txt", ctx)
    listbot = repository.find(root, "listbot.txt", ctx)
    if filelist is None and listbot is None:
        ctx.act("Executable list %s has no FILELIST.TXT or LISTBOT.TXT" % listname, rule)
        ctx.reply(m, ctx.text("listbot.not-set-up", m.author, list=listname,
                              owner="%s-owner@%s" % (lists.local_part(listname), ctx.domain)) + "\n",
                  subject="Re: " + (m.subject() or listname))
        return
    if filelist is not None:
        _send_filelist(ctx, m, listname, root, filelist, rule)
    if listbot is not None:
        try:
            text = repository.read(listbot, 1 << 20, ctx=ctx).decode("utf-8", "replace")
        except repository.Refused as e:
            ctx.act("LISTBOT.TXT of %s not run: %s" % (listname, e), rule)
            return
        ctx.act("LISTBOT.TXT of %s run for %s" % (listname, m.author), rule)
        robot.answer(ctx, m, None, text=text)


def _send_filelist(ctx, m, listname, root, path, rule):
    try:
        text = repository.read(path, 1 << 20, ctx=ctx).decode("utf-8", "replace")
    except repository.Refused as e:
        ctx.act("FILELIST.TXT of %s not read: %s" % (listname, e), rule)
        return
    files, lines, left = [], [], repository.max_reply(ctx)
    for line in text.splitlines():
        name = line.strip()
        if not name or name.startswith((";", "#")):
            continue
        try:
            parts = repository.check_name(name)
            if len(parts) > 1 and re.fullmatch(r"\d{8}", parts[0]):
                file_path = repository.resolve(ctx.site.archive, name)
            else:
                file_path = repository.resolve(root, name)
            data = repository.read(file_path, left, name, ctx)
        except repository.Refused as e:
            lines.append(ctx.text("listbot.not-sent", m.author, name=messages.clean(name, 80),
                                  why=e.text(ctx, m.author)))
            ctx.act("FILELIST.TXT of %s: %s not sent: %s" % (listname, messages.clean(name, 80), e), rule)
            continue
        files.append((os.path.basename(file_path), data))
        lines.append(ctx.text("listbot.file", m.author, name=os.path.basename(file_path),
                              size=repository.size_text(len(data))))
        left -= len(data)
    ctx.reply(m, ctx.text("listbot.files", m.author, list=listname,
                          files="\n".join(lines) or ctx.text("listbot.no-files", m.author)) + "\n",
              subject="Re: " + (m.subject() or listname), attachments=files)
    ctx.act("%d file(s) of %s sent to %s" % (len(files), listname, m.author), rule)
