"""CONFIG: the SuperUser's commands on the site, each a subcommand of its own
(config_security.py, config_killadd.py ...; see registry: a subcommand's name is
"CONFIG WORD"). This command is their group: HELP shows its usage, made of theirs,
and its right is theirs, checked before their words are read."""

from tristero.commands.registry import Audience, Command, group_usage, register


@register
class Config(Command):
    names = ("CONFIG",)
    order = 330
    help = ("Report the security settings; set the confirmation policy; add to and list the kill "
            "subjects; send a file of the site (attached, or as a message of its own); store the "
            "attached files under archive/.")
    audience = Audience.SUPERUSER
    right = "superuser"
    list_form = "MAJORDOMO CONFIG"     # CONFIG list password: Majordomo's

    @property
    def usage(self):
        return group_usage(self.name)
