"""SET list MAIL|NOMAIL|DIGEST ...: how a member receives a list; owners: SET list OPTION
value (a list's setting), SET * ... (every list)."""

import datetime

from tristero.commands.grammar import AtLeast, ListOrAll, Rest
from tristero.commands.registry import Command, register
from tristero.core import messages, text
from tristero.model import config, lists, members
from tristero.services import digests, folders, membership, session

_ONE = datetime.timedelta(days=1)
# The text of each language's name (templates/*/languages.txt), in the reader's words.
LANGUAGE_NAMES = {"en": "language.en", "de": "language.de", "es": "language.es"}

# LISTSERV's member options: the option word kept in the member file, and whether the
# option sets it (True) or takes it away (False). REPRO is the default: a member gets
# their own posts unless NOREPRO; MSGACK is ACK (a mail, there being no other way).
MEMBER_OPTIONS = {"ACK": ("ACK", True), "MSGACK": ("ACK", True), "NOACK": ("ACK", False),
                  "REPRO": ("NOREPRO", False), "NOREPRO": ("NOREPRO", True),
                  "CONCEAL": ("CONCEAL", True), "NOCONCEAL": ("CONCEAL", False)}
# Every option word SET takes among several, and LISTSERV's shortest abbreviation of it
# (its capitals: DIGests, INDex, REPro, MSGack ...).
_SHORTEST = {"MAIL": 4, "NOMAIL": 6, "DIGEST": 3, "DIGESTS": 3, "INDEX": 3, "NODIGESTS": 5, "ACK": 3,
             "NOACK": 5, "MSGACK": 3, "REPRO": 3, "NOREPRO": 5, "CONCEAL": 7, "NOCONCEAL": 9}


def member_option(word):
    """The member option word names (MAIL, NOMAIL, DIGEST, INDEX, NODIGESTS, ACK, NOACK,
    REPRO, NOREPRO, CONCEAL, NOCONCEAL; DIGESTS is DIGEST), abbreviated as LISTSERV
    allows, or None."""
    w = word.upper()
    for full, least in _SHORTEST.items():
        if len(w) >= least and full.startswith(w):
            return "DIGEST" if full == "DIGESTS" else full
    return None


@register
class Set(Command):
    names = ("SET",)
    order = 80
    usage = ("SET list MAIL|NOMAIL|DIGEST [DAILY|WEEKLY|MONTHLY] [SUMMARY|NOSUMMARY|SUMMARYONLY] "
             "[MIME|PLAIN] | SET list|* LANGUAGE en|de|es | "
             "SET list INDEX|NODIGESTS|ACK|NOACK|REPRO|NOREPRO|CONCEAL|NOCONCEAL ...")
    help = ("Receive a list's posts one by one (MAIL), not at all (NOMAIL) or in digests (DIGEST); "
            "SET list LANGUAGE de: your texts from the list in German (en, de, es). Owners: "
            "SET list REPLY|TYPE|FORWARDPREFIX|FORCEPRIORITY|ARCHIVE|ARCHIVEDAYS value; SET * ... for every list.")
    membership = True
    grammar = (AtLeast(2), ListOrAll(), Rest("value"))
    texts = {
        "set.not-member": "you are not a member of {list}",
        "set.mail": "{list}: {option} for {address}",
        "set.unknown-option": "unknown option {option} (MAIL, NOMAIL, DIGEST, {options})",
        "set.no-archive": "{list} keeps no archive (Archive = N), so it sends no digests",
        "set.not-digest-option": "{word} is not a digest option ({frequencies}; {styles}; {formats})",
        "set.digest": "{list}: {frequency} {style} {form} digest for {address}, from the posts of {day} on",
        "set.language": "{list}: the texts to {address} are now in {language}",
        "set.unknown-language": "{language} is not a language of this site's texts ({languages})",
        "set.wildcard-address": "{address} holds a '*', which access.ini reads as a wildcard (every address "
                                "it matches): no language is kept for it",
    }

    def run(self, s, args):
        # The option is the second word and its value the words after it, also where
        # the list may be left out (at LIST-request@) and the first word names none.
        option, words = args.words[1].upper(), args.words[2:]
        value = " ".join(words)
        if option in ("LANGUAGE", "LANG"):
            self.set_language(s, args.list, value)
            return
        reply = {kind.upper(): kind for kind in config.REPLY_TYPES}.get(option)
        if reply and not words:
            # The manual's "SET africa-list PosterPlus": a reply type alone is SET list REPLY type.
            option, value = "REPLY", reply
        if args.list == "*":
            membership.set_global(s, option, value)
            return
        listname = args.list
        flags = [member_option(w) for w in args.words[1:]]
        if all(f in MEMBER_OPTIONS or f in ("MAIL", "NOMAIL", "NODIGESTS") for f in flags) and \
                flags not in (["MAIL"], ["NOMAIL"]):
            self.set_flags(s, listname, flags)
            return
        option = member_option(option) if member_option(option) in ("DIGEST", "INDEX") else option
        if option == "INDEX":
            self.set_digest(s, listname, ["SUMMARYONLY"] + words)
            return
        if option in ("MAIL", "NOMAIL"):
            entry = session.members_of(s, listname).get(s.sender)
            if entry is None:
                s.result("error", s.text("set.not-member", list=listname))
                return
            if not session.allowed(s, "options", listname, "SET " + option):
                return
            s.ctx.state.set_options(lists.number(s.ctx.config, listname), s.sender,
                                    membership.mail_options(entry[1], option))
            s.result("ok", s.text("set.mail", list=listname, option=option, address=s.sender))
            return
        if option == "DIGEST":
            self.set_digest(s, listname, words)
            return
        key = membership.LIST_OPTIONS.get(option)
        if key is None:
            s.result("error", s.text("set.unknown-option", option=option,
                                     options=", ".join(membership.LIST_OPTIONS)))
            return
        if not session.allowed(s, "postmaster" if key == "Type" else "manage", listname, "SET " + option):
            return
        if key == "Proxy" and "@" in value and s.ctx.ours(value.strip()):
            # As CREATECLIENT: PROXY would send commands from the list's address to this site's robot.
            s.result("error", s.text("nesting.client-of-ours", address=messages.clean(value, 100)))
            return
        if key == "CopyMethod":
            value = folders.copy_method(s.ctx.config.list_value(listname, key), value)
        if membership.set_value(s, lists.section(listname), key, value, listname) and key == "Archive":
            membership.archive_changed(s, [listname])

    def set_language(self, s, listname, value):
        """SET list LANGUAGE xx (LISTSERV): the language of the sender's replies and notices
        from listname (*: from every list), kept in the sender's access.ini rule."""
        language = text.language_code(value)
        if language is None:
            s.result("error", s.text("set.unknown-language", language=messages.clean(value, 20),
                                     languages=", ".join(sorted(text.builtin()))))
            return
        if listname != "*":
            if session.members_of(s, listname).get(s.sender) is None:
                s.result("error", s.text("set.not-member", list=listname))
                return
            if not session.allowed(s, "options", listname, "SET LANGUAGE"):
                return
        if "*" in s.sender:
            # A rule for it would set the language of every address it matches.
            s.result("error", s.text("set.wildcard-address", address=s.sender))
            return
        try:
            s.ctx.state.set_rule(s.sender, "" if listname == "*" else listname, language=language)
        except ValueError as e:
            s.result("error", messages.clean(str(e), 200))
            return
        s.ctx.act("%s reads %s in %s" % (s.sender, listname, language), "SET LANGUAGE")
        named = text.Text(LANGUAGE_NAMES[language]) if language in LANGUAGE_NAMES else language
        s.result("ok", s.text("set.language", list=listname, address=s.sender, language=named))

    def set_flags(self, s, listname, flags):
        """LISTSERV's SET list option... (MEMBER_OPTIONS), any number of them at once."""
        entry = session.members_of(s, listname).get(s.sender)
        if entry is None:
            s.result("error", s.text("set.not-member", list=listname))
            return
        if not session.allowed(s, "options", listname, "SET " + " ".join(flags)):
            return
        options = entry[1]
        for flag in flags:
            if flag in ("MAIL", "NOMAIL", "NODIGESTS"):
                options = membership.mail_options(options, "NOMAIL" if flag == "NOMAIL" else "MAIL")
                continue
            word, on = MEMBER_OPTIONS[flag]
            options = members.with_option(options, word, "" if on else None)
        s.ctx.state.set_options(lists.number(s.ctx.config, listname), s.sender, options)
        s.result("ok", s.text("set.mail", list=listname, option=" ".join(flags), address=s.sender))

    def set_digest(self, s, listname, words):
        """SET list DIGEST [DAILY|WEEKLY|MONTHLY] [SUMMARY|NOSUMMARY|SUMMARYONLY] [MIME|PLAIN]."""
        ctx = s.ctx
        entry = session.members_of(s, listname).get(s.sender)
        if entry is None:
            s.result("error", s.text("set.not-member", list=listname))
            return
        if not ctx.config.list_value(listname, "Archive"):
            s.result("refused", s.text("set.no-archive", list=listname))
            return
        c = digests.choice_of(entry[1]) or digests.Choice(last=ctx.now.date() - _ONE)
        for word in words:
            if not c.take(word):
                s.result("error", s.text("set.not-digest-option", word=messages.clean(word, 40),
                                         frequencies="|".join(digests.FREQUENCIES), styles="|".join(digests.STYLES),
                                         formats="|".join(digests.FORMATS)))
                return
        if not session.allowed(s, "options", listname, "SET DIGEST"):
            return
        options = members.with_option(members.with_option(entry[1], "NOMAIL"), "DIGEST", c.value())
        ctx.state.set_options(lists.number(ctx.config, listname), s.sender, options)
        s.result("ok", s.text("set.digest", list=listname, frequency=c.frequency, style=c.style, form=c.form,
                              address=s.sender, day=(c.last + _ONE).isoformat()))
