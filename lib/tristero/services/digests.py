"""Digests: a list's posts of a day, a week or a month in one message, topics du jour first.

A member who takes digests has the option ``DIGEST frequency style format
last`` in the member file, e.g. ``DIGEST WEEKLY SUMMARY MIME 2026-11-15``:
frequency DAILY, WEEKLY (sent on Mondays) or MONTHLY (on the 1st); style
SUMMARY (tally and topics du jour, then the posts), NOSUMMARY (the posts) or
SUMMARYONLY (tally, topics and a ready-made START / GET ... / STOP block);
format MIME (RFC 2046 multipart/digest) or PLAIN (RFC 1153); last, the last
day whose posts were sent. The first batch of a day sends every digest that
is due, covering the days after last up to yesterday, and moves last on;
members with the same choice and days get one message. Only lists with an
archive have digests: their posts are read back from the archive's day files.
"""

import datetime
import email.utils
import functools
import os
import re
from email.message import MIMEPart

from tristero.core import messages
from tristero.model import lists, members
from tristero.policy import bounces
from tristero.services import archive, headers, repository

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY")
STYLES = ("SUMMARY", "NOSUMMARY", "SUMMARYONLY")
FORMATS = ("MIME", "PLAIN")
BIG_DAY = 20 * 1024          # a day's posts larger than this go as a file (manual: "20K")
MAX_DAYS = 366               # the most days one digest covers
_ONE = datetime.timedelta(days=1)


class Choice:
    """A member's digest option."""

    def __init__(self, frequency="DAILY", style="SUMMARY", form="MIME", last=None):
        self.frequency, self.style, self.form, self.last = frequency, style, form, last

    @classmethod
    def parse(cls, option):
        """The Choice of a member's DIGEST option (words in any order; unknown ones ignored)."""
        c = cls()
        for word in option.split()[1:]:
            if not c.take(word):
                try:
                    c.last = datetime.date.fromisoformat(word)
                except ValueError:
                    pass
        return c

    def take(self, word):
        """Apply one word of a choice (DAILY, SUMMARY, MIME ...); False when it is none."""
        w = word.upper()
        for attr, words in (("frequency", FREQUENCIES), ("style", STYLES), ("form", FORMATS)):
            if w in words:
                setattr(self, attr, w)
                return True
        return False

    def value(self):
        """The option's words after DIGEST, as stored."""
        words = [self.frequency, self.style, self.form]
        if self.last:
            words.append(self.last.isoformat())
        return " ".join(words)


def choice_of(options):
    """The member's Choice, or None when the member takes no digest."""
    if not options or "DIGEST" not in options.upper():
        return None
    word = members.option_word(options, "DIGEST")
    return Choice.parse(word) if word else None


def _anchor(frequency, today):
    """The day the current digest period began: today, this Monday, the 1st."""
    if frequency == "WEEKLY":
        return today - datetime.timedelta(days=today.weekday())
    if frequency == "MONTHLY":
        return today.replace(day=1)
    return today


def _period(frequency):
    return {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31}[frequency]


def last_day(choice, today):
    """The member's last day sent; a DIGEST option without one (written by hand) starts
    one period back."""
    return choice.last or today - _ONE - datetime.timedelta(days=_period(choice.frequency))


# --- topics du jour ----------------------------------------------------------------

# Reply and forward marks of many mailers: Re:, Re[3]:, Re [3]:, Re(2):, RE^2:, AW:, SV:, Fwd:, WG:, TR:
_MARK = re.compile(r"^\s*(?:re|aw|sv|antw|odp|fwd?|wg|tr|rif|vs)\s*(?:\[\s*\d+\s*\]|\(\s*\d+\s*\)|\^\s*\d+)?\s*:\s*",
                   re.IGNORECASE)


def topic(subject, prefix="", empty="(no subject)"):
    """A subject without its reply and forward marks and the list's ForwardPrefix (empty
    when nothing is left: the digest's text digest.no-subject)."""
    s = " ".join((subject or "").split())
    while True:
        before = s
        if prefix and s.lower().startswith(prefix.lower()):
            s = s[len(prefix):].strip()
        s = _MARK.sub("", s, count=1).strip()
        if s == before:
            return s or empty


def topics(subjects, prefix="", empty="(no subject)"):
    """[(topic, count)] in order of first appearance (manual: "topics du jour")."""
    counts, shown = {}, {}
    for subject in subjects:
        t = topic(subject, prefix, empty)
        key = t.casefold()
        if key not in counts:
            counts[key] = 0
            shown[key] = t
        counts[key] += 1
    return [(shown[k], counts[k]) for k in counts]


# --- building ---------------------------------------------------------------------------

class Day:
    """One day of the archive: its file's bytes and, read when needed, its posts."""

    def __init__(self, date, data):
        self.date, self.data = date, data
        self._posts = None

    @property
    def posts(self):
        if self._posts is None:
            self._posts = archive.posts(self.date, self.data)
        return self._posts


def _span(start, end):
    """The days a digest covers, for the log."""
    if start == end:
        return start.isoformat()
    return "%s to %s" % (start.isoformat(), end.isoformat())


def _span_text(ctx, listname, start, end):
    if start == end:
        return start.isoformat()
    return ctx.list_text(listname, "digest.span", start=start.isoformat(), end=end.isoformat())


def build(ctx, listname, days, style, form, start, end):
    """The digest of days ([Day] between start and end) as bytes, ready to send."""
    cfg = ctx.config
    say = functools.partial(ctx.list_text, listname)    # to the members: the list's Language
    local = lists.local_part(listname)
    prefix = cfg.list_value(listname, "ForwardPrefix")
    count = sum(len(d.posts) for d in days)
    subjects = [p.subject() for d in days for p in d.posts]
    found = topics(subjects, prefix, say("digest.no-subject")) if style != "NOSUMMARY" else []
    volume, issue = end.year, end.timetuple().tm_yday
    span = _span_text(ctx, listname, start, end)
    if form == "PLAIN":
        # RFC 1153's subject, read by programs.
        subject = "%s Digest V%d #%d" % (listname, volume, issue)
    else:
        subject = say("digest.subject-one" if count == 1 else "digest.subject", list=listname, span=span,
                      count=count)
    head = [say("digest.title", list=listname, span=span)]
    if style != "NOSUMMARY":
        head.append(say("digest.tally", count=count, subjects=len(found)))
    left = repository.max_reply(ctx)
    inline, files, over = [], [], []
    if style != "SUMMARYONLY":
        for d in days:
            if len(d.data) > left:
                over.append(d)
            elif len(d.data) <= BIG_DAY:
                inline.append(d)
                left -= len(d.data)
            else:
                files.append((d, "%s-%s" % (local, archive.day_name(d.date))))
                left -= len(d.data)
    extras, extra_over = ([], []) if style == "SUMMARYONLY" else _post_files(ctx, listname, days, left)
    notes = []
    for d, name in files:
        notes.append(say("digest.day-attached", count=len(d.posts), day=d.date.isoformat(),
                         size=repository.size_text(len(d.data)), name=name))
    for d in over:
        notes.append(say("digest.day-too-big", day=d.date.isoformat(), size=repository.size_text(len(d.data)),
                         quoted=_quoted(listname), file=archive.day_name(d.date)))
    if extras:
        notes.append(say("digest.files-added", count=len(extras)))
    notes += [say("digest.file-left-out", name=name) for name in extra_over]
    robot = ctx.robot_address()
    if style == "SUMMARYONLY":
        # The commands a reply sends back (see robot.parse: "---", then START).
        notes += [say("digest.get-posts", robot=robot), "", "---", "START"]
        notes += ["GET %s %s" % (_quoted(listname), archive.day_name(d.date)) for d in days]
        notes += ["STOP"]
    foot = [say("digest.foot", quoted=_quoted(listname), robot=robot)]
    if form == "PLAIN" and style != "SUMMARYONLY":
        text = _rfc1153(ctx, listname, head, found, notes + ([""] if notes else []) + foot, inline, volume, issue,
                        end)
    else:
        lines = head + [""]
        if found:
            lines += [say("digest.topics")] + [say("digest.topic-count", topic=t, count=n) if n > 1 else
                                               say("digest.topic", topic=t) for t, n in found] + [""]
        lines += notes + ([""] if notes else []) + foot
        text = "\n".join(lines) + "\n"
    reply_to = "%s-request@%s" % (local, ctx.domain) if style == "SUMMARYONLY" else lists.address(cfg, listname)
    msg = messages.new_message(
        email.utils.formataddr((say("digest.from", list=listname), "%s-request@%s" % (local, ctx.domain))),
        lists.address(cfg, listname), subject, text, ctx.now, ctx.ids.message_id(ctx.ids.next()),
        [("Reply-To", reply_to)])
    if form == "MIME" and inline:
        msg.make_mixed()
        for d in inline:
            msg.attach(_digest_part(ctx, listname, d))
    messages.attach(msg, [(name, d.data) for d, name in files] + extras)
    messages.fix_boundaries(msg)
    head_bytes, body = messages.split_raw(messages.serialize(msg))
    fields = headers.list_fields(ctx, listname) + headers.unsubscribe_fields(ctx, listname, None)
    return head_bytes + fields + b"\n" + body


def _quoted(name):
    return '"%s"' % name if " " in name else name


def _digest_part(ctx, listname, day):
    """A day's posts as multipart/digest (RFC 2046): one message/rfc822 part each."""
    part = MIMEPart(policy=messages.POLICY)
    part["Content-Type"] = "multipart/digest"
    part["Content-Description"] = ctx.list_text(listname, "digest.part", list=listname, day=day.date.isoformat(),
                                           count=len(day.posts))
    for p in day.posts:
        inner = MIMEPart(policy=messages.POLICY)
        post = messages.parse(p.raw)
        # Posts are archived without them (redact.public); a day file kept from before
        # may hold one, and a password never goes out in a digest.
        del post["Approved"], post["Approve"]
        inner.set_content(post)
        part.attach(inner)
    return part


def _post_files(ctx, listname, days, left):
    """([(name, bytes)] attached to the posts, [names left out]) for COMPLETE and FILEONLY."""
    mode = ctx.config.list_value(listname, "Archive")
    found = []
    if mode == "COMPLETE":
        for d in days:
            for p in d.posts:
                msg = messages.parse(p.raw)
                for n, part in enumerate(archive.attachments(msg)):
                    try:
                        name = repository.readable_name(part.get_filename())
                        data = part.get_payload(decode=True) or b""
                    except Exception:
                        continue
                    found.append((repository.safe_name(name, "attachment-%d" % (n + 1)), data))
    elif mode == "FILEONLY":
        root = repository.folder(ctx, listname)
        for d in days:
            sub = "%s/%s" % (archive.FILES, d.date.strftime("%Y%m%d"))
            for name, data in repository.folder_files(ctx, root, sub):
                found.append((name.split("-", 1)[-1], data))
    kept, over = [], []
    for name, data in found:
        if len(data) > left:
            over.append(name)
            continue
        kept.append((name, data))
        left -= len(data)
    return kept, over


def _rfc1153(ctx, listname, head, found, notes, inline, volume, issue, end):
    """The digest as RFC 1153 text: heading, topics, the posts between dashed lines, trailer
    (the heading, "Today's Topics:" and the trailer are the format's own words)."""
    title = "%s Digest" % listname
    out = ["%-30s%s   Volume %d : Issue %d" % (title, end.strftime("%a, %d %b %Y"), volume, issue), ""]
    out += head
    if found:
        out += ["", "Today's Topics:", ""]
        out += [ctx.list_text(listname, "digest.rfc1153-topic-count", topic=t, count=n) if n > 1 else
                ctx.list_text(listname, "digest.rfc1153-topic", topic=t) for t, n in found]
    out += [""] + notes + ["", "-" * 70, ""]
    for d in inline:
        for p in d.posts:
            msg = messages.parse(p.raw)
            for name in ("Date", "From", "Subject", "Message-ID"):
                value = messages.header(msg, name)
                if value:
                    out.append("%s: %s" % (name, value))
            out.append("")
            for line in messages.body_text(msg).rstrip("\n").split("\n"):
                # RFC 1153: a line of exactly 30 dashes in a post would end it.
                out.append(" " + line if line.rstrip() == "-" * 30 else line.rstrip("\r"))
            out += ["", "-" * 30, ""]
    end_line = "End of %s Digest V%d Issue #%d" % (listname, volume, issue)
    out += [end_line, "*" * len(end_line), ""]
    return "\n".join(out)


# --- the day's digests (runtime.housekeeping sends them) ------------------------------------

def list_digests(ctx, listname, today, now=False):
    """Send the digests of listname due today (now: every digest member's, due or not, up
    to yesterday: Majordomo's MKDIGEST); the number of members sent one."""
    cfg = ctx.config
    number = lists.number(cfg, listname)
    if not ctx.state.holds_option(number, "digest"):
        return 0    # no member takes digests (a large list is not loaded to learn it)
    roster = ctx.state.members(number)
    takers = [(address, options, c) for address, options in roster.items()
              for c in [choice_of(options)] if c is not None]
    if not takers:
        return 0
    if not cfg.list_value(listname, "Archive"):
        archive_off(ctx, listname, "Archive = N in tristero.ini")
        return 0
    groups = {}
    for address, options, c in takers:
        if members.option_word(options, "NOMAIL") is not None:
            continue
        last = last_day(c, today)
        if last >= (today if now else _anchor(c.frequency, today)) - _ONE:
            continue
        start = max(last + _ONE, today - datetime.timedelta(days=MAX_DAYS))
        groups.setdefault((c.style, c.form, start, today - _ONE), []).append((address, options, c))
    root = repository.folder(ctx, listname)
    cache = {}
    sender = "owner-%s@%s" % (lists.local_part(listname), ctx.domain)
    sent = 0
    for (style, form, start, end), group in sorted(groups.items()):
        days = [d for d in (_day(cache, root, start + datetime.timedelta(days=i))
                            for i in range((end - start).days + 1)) if d is not None and d.posts]
        if days:
            ctx.ids.start("digest:%s:%s:%s:%s:%s:%s" % (number, today, style, form, start, end))
            data = build(ctx, listname, days, style, form, start, end)
            ctx.send(sender, [a for a, _, _ in group], data)
            sent += len(group)
            bounces.record_sent(ctx, listname, data, "digest")
            ctx.act("digest of %s (%s, %s %s, %d post(s)) to %d member(s)" % (
                listname, _span(start, end), style, form, sum(len(d.posts) for d in days), len(group)), "DIGEST")
        for address, options, c in group:
            c.last = end
            ctx.state.set_options(number, address, members.with_option(options, "DIGEST", c.value()))
    return sent


def _day(cache, root, date):
    if date not in cache:
        try:
            data = repository.read(os.path.join(root, archive.day_name(date)), archive.MAX_DAY_FILE)
            cache[date] = Day(date, data)
        except repository.Refused:
            cache[date] = None
    return cache[date]


def archive_off(ctx, listname, why):
    """Archiving is off: every digest member of listname goes back to each post by mail, told."""
    number = lists.number(ctx.config, listname)
    moved = []
    for address, options in list(ctx.state.members(number).items()):
        if choice_of(options) is not None:
            ctx.state.set_options(number, address, members.with_option(options, "DIGEST"))
            moved.append(address)
    if not moved:
        return 0
    text = ctx.list_text(listname, "digest.ended", list=listname, quoted=_quoted(listname),
                         robot=ctx.robot_address()) + "\n"
    msg = ctx.message(lists.address(ctx.config, listname),
                      ctx.list_text(listname, "digest.ended.subject", list=listname), text,
                      kind="auto-generated")
    ctx.send_message(msg, moved)
    ctx.act("%d digest member(s) of %s moved back to mail" % (len(moved), listname), why)
    return len(moved)

