"""KILL list file ...: remove files from a folder (the list's owner, a PostMaster, the SuperUser)."""

import os
import stat

from tristero.commands.grammar import Folder, Words
from tristero.commands.registry import Audience, Command, register
from tristero.services import repository


@register
class Kill(Command):
    names = ("KILL",)
    order = 170
    usage = "KILL list file ..."
    help = "Remove files from a list's folder."
    audience = Audience.OWNER
    right = "delete"
    grammar = (Folder(1), Words("names", least=1, problem="kill.usage"))
    texts = {
        "kill.usage": "usage: KILL list file",
        "kill.not-file": "{name} is {kind}: KILL removes files",
        "kill.hard-links": "{name} has other names (hard links): it is left to the site's administrator",
        "kill.missing": "there is no file {name}",
        "kill.done": "{count} file(s) removed from {list}",
        "kill.done-files": "{count} file(s) removed from {list}: {files}",
    }

    def run(self, s, args):
        listname, root = args.list, args.folder
        done, failed, notes = [], [], []
        for name in args.names[:repository.MAX_PER_COMMAND]:
            name = repository.asked(name)
            try:
                path = repository.resolve(root, name)
                state = repository.staged_state(s.ctx, path)
                if state is not None and not state[0]:
                    raise FileNotFoundError(path)
                # A file this run stored and nothing on the disk yet: removed with it.
                if state is None or os.path.lexists(path):
                    st = os.lstat(path)
                    if not stat.S_ISREG(st.st_mode):
                        raise repository.Refused(s.text("kill.not-file", name=name,
                                                        kind=repository.kind_of(st.st_mode)))
                    if st.st_nlink > 1:
                        raise repository.Refused(s.text("kill.hard-links", name=name))
            except FileNotFoundError:
                e = repository.Missing(s.text("kill.missing", name=name))
                failed.append(e)
                notes.append((name, e))
                continue
            except repository.Refused as e:
                failed.append(e)
                notes.append((name, e))
                continue
            s.ctx.delete(path)
            done.append(name)
        label = repository.named(s, listname)
        repository.report(s, done, failed, s.text("kill.done-files", count=len(done), list=label,
                                                  files=", ".join(done))
                          if done else s.text("kill.done", count=0, list=label))
        for name, e in notes:
            repository.refused_name(s, listname, "KILL", name, e)
        if done:
            s.ctx.act("KILL %s in %s by %s" % (", ".join(done), repository.label(listname), s.sender), "KILL")
