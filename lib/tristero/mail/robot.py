"""The list robot: reads commands from a message, runs them, answers once.

Commands are in the body, one per line, any case; leading blanks and blank
lines are ignored; quote characters (QuoteChars) at the start of a line are
stripped; a signature line ("-- ") or END, EXIT, QUIT or STOP ends them; a
body that starts with "---" is skipped up to a START line. With no command
in the body the subject is read as one. "approve PASSWORD" and "password
PASSWORD" prefixes (Majordomo) and a PW=PASSWORD argument (Listserv) are
taken off a command and kept with it; the echo shows ******** for them.
"""

import json

from tristero.commands import registry
from tristero.core import messages, redact
from tristero.mail import webform
from tristero.model import logbook
from tristero.policy import rights
from tristero.services import datasets, jobs, nesting
from tristero.services.session import Command, Record, Session

ENDINGS = ("END", "EXIT", "QUIT", "STOP")
# After this many lines that are not commands, the rest of a message is not read.
MAX_UNKNOWN = 3
# Command lines read from one message at the most, whoever sent it: MaxCommands
# limits those without privilege; this bounds the work of the privileged too.
MAX_LINES = 10000
# The characters of each echo to a stranger (context.Context.stranger; how many of
# a stranger's commands run is MaxStrangerCommands): a forged From reflects little.
STRANGER_ECHO = 80


def tokenize(line):
    """Words of a command line; "double quotes" keep spaces inside one word."""
    words, word, quoted, started = [], [], False, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
            started = True
        elif ch.isspace() and not quoted:
            if started:
                words.append("".join(word))
                word, started = [], False
        else:
            word.append(ch)
            started = True
    if started:
        words.append("".join(word))
    return words


def _unquote(line, quote_chars):
    """The line without reply-quote prefixes such as '> > '."""
    s = line.strip()
    while s and quote_chars and s[0] in quote_chars:
        s = s[1:].lstrip()
    return s


def parse(text, subject, quote_chars, limit):
    """(commands, lines beyond the limit) from a body and subject.

    A line quoted from another message (it starts with one of quote_chars) is
    a command only inside a START block, the manual's prebuilt commands that a
    reply quotes back; elsewhere a quoted line is the text being answered (the
    robot's own echo of earlier commands, say), never run again.
    """
    found = []
    extra = 0
    lines = text.splitlines()
    # "---" then, further on, START: only what follows START is read.
    skipping = _has_block(lines, quote_chars)
    in_block = False
    # The lines of //name DD * data sets (services.datasets) are data, never commands.
    data = set()
    if "//" in text:
        for _, first, end in datasets.blocks(lines):
            data.update(range(first - 1, end + 1))
    text_until = -1
    for i, raw in enumerate(lines):
        if i <= text_until or i in data:
            continue
        if raw.rstrip("\r\n") in ("-- ", "--") and not in_block:
            # A signature ends the commands, unless a block follows (a reply
            # that quotes one below the writer's signature).
            if _start_follows(lines[i + 1:], quote_chars):
                skipping = True
                continue
            break
        line = _unquote(raw, quote_chars)
        if not line:
            continue
        words = tokenize(line)
        if not words:
            continue
        verb = words[0].upper()
        if verb == "START":
            skipping, in_block = False, True
            continue
        if skipping:
            continue
        if verb in ENDINGS:
            break
        if not in_block and line != raw.strip():
            continue
        if len(found) >= limit:
            extra += 1
            continue
        cmd = _with_password(Command(line, words))
        found.append(cmd)
        command = registry.lookup(cmd.verb) if registry.known(cmd.verb) else None
        if command is not None and takes_text(command, words):
            # Majordomo: the text follows the command line, up to a line EOF.
            end = next((j for j in range(i + 1, len(lines)) if _unquote(lines[j], quote_chars) == "EOF"), None)
            if end is not None:
                cmd.text = [_unquote(l, quote_chars) if in_block else l.rstrip("\r") for l in lines[i + 1:end]]
                text_until = end
    if not found and not skipping:
        found = subject_command(subject, quote_chars)
    return found, extra


def takes_text(command, words):
    """Whether the lines after a command line of these words are its text (up to EOF)."""
    wanted = command.takes_text
    return wanted is True or bool(wanted) and len(words) > 1 and words[1].upper() in wanted


def subject_command(subject, quote_chars):
    """The subject as a command ([] when it is a reply's or holds none)."""
    s = _unquote(subject or "", quote_chars)
    words = tokenize(s)
    if words and words[0].upper() not in ENDINGS and not s.lower().startswith(("re:", "aw:", "fwd:", "re ")):
        return [_with_password(Command(s, words))]
    return []


def _start_follows(lines, quote_chars):
    return any(_unquote(l, quote_chars).upper() == "START" for l in lines)


# The words of each command that are secrets: a password, or a one-click token
# (Majordomo's PASSWD list old new; CONFIG list passwd ...).
_SECRET_AT = {"PASSWORD": (1,), "SETPASS": (1,), "PASSWD": (1, 2, 3), "ONECLICK": (3,), "CONFIG": (2,),
              "NEWCONFIG": (2,), "WRITECONFIG": (2,), "NEWINFO": (2,), "NEWINTRO": (2,), "MKDIGEST": (2,),
              "PW": (2,), "PWC": (3,)}
# The commands whose words hold another command line (where "approve pw" may stand anywhere).
_CARRIERS = ("PROXY", "AUTH")


def echo(cmd):
    """The command as the reply shows it: passwords replaced by stars."""
    words = list(cmd.words)
    command = registry.lookup(cmd.verb)      # a synonym, a word of another language, an abbreviation
    verb = command.name if command else cmd.verb
    subcommand = verb == "CONFIG" and len(words) > 1 and registry.lookup("CONFIG " + words[1])
    for at in () if subcommand else _SECRET_AT.get(verb, ()):
        if len(words) > at:
            words[at] = "********"
    prefix = "approve ******** " if cmd.password else ""
    shown = ['"%s"' % w if " " in w else w for w in words]
    if command is None or verb in _CARRIERS:
        # Its words are not known (or hold another command line): any secret's form is starred.
        return redact.subject(prefix + " ".join(shown))
    # A known command's secrets are where _SECRET_AT says (and any PW=): a word of its own
    # that is no password (MAILING APPROVE name) is shown as written.
    return redact.subject(prefix) + " ".join(redact.subject(w) for w in shown)


def _has_block(lines, quote_chars):
    """True when a "---" line opens the body, or stands anywhere before a START line."""
    dashes = first = False
    for raw in lines:
        line = _unquote(raw, quote_chars)
        if not line:
            continue
        if line == "---":
            if not dashes and not first:
                return True
            dashes = True
        elif dashes and line.upper() == "START":
            return True
        first = True
    return False


def _decision(words):
    """True for a moderator's APPROVE 1 3 5 [ALWAYS] (numbers: no password prefix)."""
    return words[0].upper() == "APPROVE" and all(w.isdigit() or w.upper() == "ALWAYS" for w in words[1:])


def _with_password(cmd):
    """Take Majordomo's "approve PW command" and "password PW command" prefixes off, and
    Listserv's PW=password argument (the password of the command, like approve's)."""
    w = cmd.words
    if len(w) >= 3 and w[0].upper() in ("APPROVE", "PASSWORD") and not _decision(w):
        cmd.password = w[1]
        cmd.words = w[2:]
    # PROXY's PW= is the remote list's, part of the line it sends (services.proxy).
    given = [x for x in cmd.words[1:] if x[:3].upper() == "PW=" and len(x) > 3] \
        if cmd.words[0].upper() != "PROXY" else []
    if given:
        cmd.password = cmd.password or given[0][3:]
        cmd.words = cmd.words[:1] + [x for x in cmd.words[1:] if x not in given]
    return cmd


def _unlimited(session):
    """May the sender run more than MaxCommands commands? A PostMaster, the SuperUser or
    a list's owner may, with the password the commands gave once one is set."""
    ctx, who = session.ctx, session.sender
    cfg = ctx.config
    if rights.unproven(ctx, who):
        return False
    if not (rights.privileged(ctx, who) or any(rights.is_owner(cfg, who, n) for n in cfg.list_names())):
        return False
    return rights.password_refusal(ctx, who, session.password_now()) is None


def _fill(record, session):
    """The list and address the command named (the sender when it named none)."""
    args = session.args
    for attr in ("list", "address"):
        value = getattr(args, attr, None)
        if isinstance(value, str) and value:
            setattr(record, attr, redact.subject(messages.clean(value, 200)))
    record.address = record.address or session.sender


def results_json(session):
    """The JSON part's bytes: a list of one object per command run, in order."""
    return (json.dumps([r.as_json() for r in session.records], indent=1, ensure_ascii=True) + "\n").encode()




def spoken(m, found):
    """{the author: the language of the first of the commands found written in a word of
    a language (commands.words)}, or {}."""
    for cmd in found:
        language = registry.language_of(cmd.verb)
        if language:
            return {m.author.lower(): language}
    return {}


def answer(ctx, m, default_list, text=None, form=None):
    """Run the commands of m (default_list from a list-request address) and reply.

    text: commands to run instead of the message's own (an Executable list's
    LISTBOT.TXT), as if its author had sent them. form: the command line of a web
    form's CGI address (mail.webform; "" when it names no action); a body whose first
    line is a form's parameters is read as that one line too.
    """
    cfg = ctx.config
    if m.automatic:
        # An auto-reply or a bounce may quote commands; acting on them would let
        # any mail that bounces subscribe or unsubscribe people.
        ctx.act("automatic mail: no command read", m.automatic)
        return
    if nesting.sub_list(ctx, m.author):
        # A list of the site sends no commands (PROXY sends to remote robots only): mail
        # from its address is forged, and would take a sub-list out of the list above it.
        ctx.act("mail from %s, a list of this site: no command read" % m.author, "lists within lists")
        return
    if "C" not in rights.flags(ctx, m.author, default_list):
        ctx.act("no answer: %s is barred" % m.author, "access.ini")
        return
    quote_chars = cfg.globals("QuoteChars")
    session = Session(ctx, m, default_list)
    limit = cfg.globals("MaxCommands")
    line = form if form is not None else webform.from_body(m.text()) if text is None else None
    secret = False      # a web form holding a password: its command is not run
    if line is not None:
        # A web form by mail: its parameters make one command line, and nothing else is read.
        found, extra = parse(line, "", "", 1)
        ctx.act("%s: %s" % (webform.RULE, found[0].verb if found else "no action"), webform.RULE)
        secret = webform.with_secret(line)
        if secret:
            m.hidden += webform.queries(m)
            ctx.act("web form with a password: not run", webform.RULE)
    elif text is None and jobs.is_job(m.text()):
        # A command job (LISTSERV's CJLI): read whole; an error anywhere runs none of it.
        try:
            session.job = jobs.parse(m.text())
        except jobs.JobError as e:
            line = echo(_with_password(Command(e.line, tokenize(e.line) or [""])))
            ctx.act("command job refused: line %d: %s" % (e.number, e.why), "job")
            ctx.reply(m, session.text("robot.head", robot=ctx.robot_address(),
                                      server=ctx.config.globals("ServerName")) + "\n\n"
                      + session.text("distribute.job-refused", number=e.number, why=e.why,
                                     line=messages.clean(line, 200)) + "\n")
            return
        found = [_with_password(Command(line, tokenize(line))) for _, line in session.job.commands]
        extra = 0
    elif text is None:
        found, extra = parse(m.text(), m.subject(), quote_chars, MAX_LINES)
        if found and not any(registry.known(c.verb) for c in found):
            from_subject = subject_command(m.subject(), quote_chars)
            if from_subject and registry.known(from_subject[0].verb):
                # A one-click unsubscription from a mail client, or a command
                # sent to a list: the body is prose, the subject the command.
                found, extra = from_subject, 0
                ctx.spoken = spoken(m, found)
                session.say(session.text("robot.subject-read"))
                session.say()
    else:
        found, extra = parse(text, "", "", MAX_LINES)
    # The reply is in the language of the command words used (AYUDA, HILFE ...) unless
    # the sender chose one (SET list LANGUAGE).
    ctx.spoken = spoken(m, found)
    ctx.answering = (m.author.lower(), default_list) if default_list else None
    if not found:
        session.say(session.text("robot.no-command"))
        session.say()
        session.unknown = 1
    # A subject read as a command may hold a password (approve ...): it is not
    # repeated in the reply's subject.
    from_subject = subject_command(m.subject(), quote_chars)
    read_subject = found and from_subject and found[0].line == from_subject[0].line
    subject = session.text("robot.subject") if read_subject else None
    unread = 0
    stranger = text is None and ctx.stranger(m.author)
    for i, cmd in enumerate(found):
        if i == limit and not _unlimited(session):
            extra += len(found) - i
            found = found[:i]
            break
        # A stranger's (context.Context.stranger) commands beyond the first few are not run
        # (one may have made them a member); LISTBOT.TXT (text) is the site's own.
        if session.unknown >= MAX_UNKNOWN:
            # Prose or spam, not commands: echoing it back would amplify it.
            session.say(session.text("robot.rest-not-read", lines=MAX_UNKNOWN))
            session.say()
            break
        if i == cfg.globals("MaxStrangerCommands"):
            stranger = stranger and ctx.stranger(m.author)
            if stranger:
                unread = len(found) - i + extra
                break
        known = registry.known(cmd.verb)
        if session.job is None or session.job.echo:
            session.say("> " + (messages.clean(echo(cmd), STRANGER_ECHO if stranger else 200) if known
                                else redact.subject(messages.clean(cmd.words[0], 40))))
        record = Record(registry.lookup(cmd.verb).name if known
                        else redact.subject(messages.clean(cmd.words[0], 40)))
        session.records.append(record)
        if secret:
            session.result("refused", session.text("attackmerge.form-password"))
        else:
            registry.run(session, cmd)
        _fill(record, session)
        session.say()
    if session.unknown:
        session.say(session.text("robot.short-help", robot=ctx.robot_address()))
        session.say()
    if unread:
        session.say(session.text("robot.stranger-limit", count=unread, limit=cfg.globals("MaxStrangerCommands")))
        session.say()
    elif extra:
        session.say(session.text("robot.command-limit", count=extra, limit=limit, privileged=MAX_LINES))
        session.say()
    c = session.counts
    summary = "%d command(s): %d ok, %d held, %d refused, %d error(s)" % (
        len(found), c["ok"], c["held"], c["refused"], c["error"])
    session.say(session.text("robot.summary", commands=len(found), ok=c["ok"], held=c["held"],
                             refused=c["refused"], errors=c["error"]))
    ctx.act("robot: " + summary, "robot" + (" for %s" % default_list if default_list else ""))
    ctx.log.log(logbook.DEBUG, "  robot reply has %d line(s)" % len(session.out))
    head = session.text("robot.head", robot=ctx.robot_address(), server=ctx.config.globals("ServerName")) + "\n\n"
    if session.answered and len(found) == 1:
        # The one command mailed its own answer (WEBSUBSCRIBE's confirmation): no second mail.
        ctx.act("no reply: the command's own mail answers", "robot")
    else:
        ctx.reply(m, head + "\n".join(session.out) + "\n", subject=subject,
                  attachments=session.attachments, results=results_json(session))
    ctx.spoken, ctx.answering = {}, None
    if session.refused_privileged:
        superuser = cfg.globals("SuperUser")
        ctx.notify(ctx.text("robot.refused-privileged.subject", superuser, author=m.author),
                   ctx.text("robot.refused-privileged", superuser, author=m.author, message=m.id,
                            refusals="\n".join("  " + r for r in session.refused_privileged)) + "\n")
