"""ANNOUNCE list [recipient] [NEW-LIST]: a list announced, with its readme.txt and the files
of readme/, to the AnnounceList, another list or an address."""

from tristero.commands.grammar import ListName, Trailing, Words
from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.model import lists, members
from tristero.policy.bounces import record_sent
from tristero.services import membership, repository, session


@register
class Announce(Command):
    names = ("ANNOUNCE",)
    order = 180
    usage = "ANNOUNCE list [recipient] [NEW-LIST]"
    help = ("Announce a list, with its readme, to the AnnounceList or a list or address "
            "(NEW-LIST: in the NEW-LIST format).")
    audience = Audience.OWNER
    right = "manage"
    grammar = (ListName(), Trailing("NEW-LIST"), Words("recipient", most=1))
    texts = {
        "announce.no-target": "name a list or an address: no AnnounceList is set",
        "announce.bad-target": "{target} is neither a list here nor a mail address outside the robot's",
        "announce.told-list": "the {count} member(s) of {list}",
        "announce.done": "{list} announced to {told}",
        "announce.done-files": "{list} announced to {told} ({count} file(s) attached)",
        "announce.subject": "The list {list}",
        "announce.text": "The list {list} ({address}){description}.\n{readme}\n"
                         "To join, send SUBSCRIBE {quoted} to {robot}.\nIts owner: {owner}",
        "announce.description": ": {description}",
        "announce.new-list.subject": "NEW: {address}",
        "announce.new-list.subject-described": "NEW: {address} - {description}",
        "announce.new-list.head": "{address} on {server}",
        "announce.new-list": "{head}\n{description}\n{readme}\n"
                             "To subscribe, send the following command in the body of a message to\n{robot}:\n\n"
                             "     SUBSCRIBE {quoted} Firstname Lastname\n\nOwner: {owner}",
        "announce.archives": "Archives: {url}",
    }

    def run(self, s, args):
        listname = args.list
        ctx, cfg = s.ctx, s.ctx.config
        target = args.recipient[0] if args.recipient else cfg.globals("AnnounceList")
        if not target:
            s.result("error", s.text("announce.no-target"))
            return
        to_list = session.find_list(s, target)
        if to_list is None and (not messages.is_address(target) or session.address_problem(s, target)):
            s.result("error", s.text("announce.bad-target", target=messages.clean(target, 80)))
            return
        if to_list is not None and not session.allowed(s, "post", to_list, "ANNOUNCE to %s" % to_list):
            return
        root = repository.folder(ctx, listname)
        subject, text = self.announcement(s, listname, repository.text_file(root, "readme.txt", ctx=ctx),
                                          args.new_list, None if to_list else target)
        msg = ctx.message(lists.address(cfg, to_list) if to_list else target, subject, text, kind="auto-generated")
        files = repository.folder_files(ctx, root, "readme")
        if files:
            messages.attach(msg, files)
        if to_list is not None:
            data = messages.serialize(msg)
            ctx.send("owner-%s@%s" % (lists.local_part(to_list), ctx.domain),
                     members.recipients(session.members_of(s, to_list)), data)
            record_sent(ctx, to_list, data, "announcement")
            told = s.text("announce.told-list", list=to_list,
                          count=sum(1 for _ in members.recipients(session.members_of(s, to_list))))
        else:
            ctx.send_message(msg, [target])
            told = target
        if files:
            s.result("ok", s.text("announce.done-files", list=listname, told=told, count=len(files)))
        else:
            s.result("ok", s.text("announce.done", list=listname, told=told))
        ctx.act("%s announced to %s by %s" % (listname, told, s.sender), "ANNOUNCE")

    @staticmethod
    def announcement(s, listname, readme, new_list, reader):
        """(subject, text) of an announcement read by reader (None: a list's members);
        new_list: the NEW-LIST mailing list's format."""
        ctx, cfg = s.ctx, s.ctx.config
        sec = lists.section(listname)
        address = lists.address(cfg, listname)
        description = cfg.raw(sec, "Description") or ""
        owner = lists.owner(cfg, listname)
        robot = ctx.robot_address()
        readme = ("\n" + readme.strip("\n") + "\n") if readme else ""
        quoted = membership.quoted(listname)
        if new_list:
            head = ctx.text("announce.new-list.head", reader, address=address, server=cfg.globals("ServerName"))
            text = ctx.text("announce.new-list", reader, head=head.center(72).rstrip(),
                            description=description.center(72).rstrip(), readme=readme, robot=robot,
                            quoted=quoted, owner=owner) + "\n"
            if cfg.globals("ArchiveURL"):
                text += ctx.text("announce.archives", reader,
                                 url=cfg.globals("ArchiveURL").replace("{list}", lists.local_part(listname))) + "\n"
            if description:
                return ctx.text("announce.new-list.subject-described", reader, address=address,
                                description=description), text
            return ctx.text("announce.new-list.subject", reader, address=address), text
        text = ctx.text("announce.text", reader, list=listname, address=address, readme=readme, quoted=quoted,
                        robot=robot, owner=owner, description=ctx.text("announce.description", reader,
                                                                       description=description)
                        if description else "") + "\n"
        return ctx.text("announce.subject", reader, list=listname), text
