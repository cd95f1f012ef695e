"""Per-delivery reports of mailings (services/mailings.py): for each delivery, the
recipients attempted, delivered, deferred and failed, in mailings/NAME/report-K.csv,
and a short mail to the mailing's sender once the delivery is settled.

deliver is a separate process that knows nothing of mailings, so what it did is read
from what it leaves:

* each copy of delivery K goes out with a return path of its own,
  ROBOT-probe+local=domain+TAG@Domain (the form of DISTRIBUTE's PROBE envelopes, RFC
  5321's 64 octets kept; else the mailing's Bounce address), TAG a keyed code (HMAC
  under the site's key) of the mailing, K and the recipient: nobody without
  tristero.key can make one, and a report to it names the recipient;
* sent-K.txt, written with the delivery, lists the recipients attempted;
* a recipient whose file is still in spool/out/new is deferred; one whose file left
  it is delivered, unless a delivery report (deliver's own RFC 3464 report or a remote
  bounce, both arriving at the return path) came back for it: failures-K.txt, a line a
  failure (recipient, kind, reason), makes it failed. Such a report charges no list
  member's bounce score: it never reaches a list's bounce reader.

A delivery is settled when nothing of it is deferred, or RetryDays ([Delivery]) after
it was made: then its sender is told, once (the report's last row says so, written in
the same unit of work as the mail). The CSV is brought up to date in every run for
REPORT_DAYS after the delivery (a bounce may come late). Open and click tracking is not
offered: it needs a web server and costs the recipients their privacy.
"""

import csv
import datetime
import hmac
import io
import os

from tristero.core import messages
from tristero.policy import bounces
from tristero.services import mailings

REPORT_DAYS = 60
LINE = 1024             # octets of an envelope line read


def _file(mailing, kind, k):
    return mailings.delivery_file(mailing, kind, k)


def _recent(ctx, mailing):
    """[(k, sent time)] of mailing's deliveries of the last REPORT_DAYS."""
    now = ctx.now.replace(tzinfo=None)
    out = []
    for row in mailing.deliveries():
        try:
            k, sent = int(row[0]), mailings.parse_time(row[2])
        except (ValueError, IndexError, mailings.MailingError):
            continue
        if now - sent <= datetime.timedelta(days=REPORT_DAYS):
            out.append((k, sent))
    return out


def find(ctx, address):
    """(mailing name, delivery k, recipient) that a return path names, or None."""
    parts = bounces.verp_parts(address)
    if not parts or parts[1] is None:
        return None
    recipient, code = parts
    for name in mailings.names(ctx.site):
        try:
            mailing = mailings.Mailing(ctx.site, name, ctx)
        except mailings.MailingError:
            continue
        for k, _ in _recent(ctx, mailing):
            if hmac.compare_digest(code.lower(), bounces.mailing_tag(ctx, name, k, recipient)):
                return name, k, recipient
    return None


def handle(ctx, m, address):
    """A report to a return path of a mailing's delivery: its failure noted for the
    recipient (failures-K.txt). False when the address is no mailing's."""
    found = find(ctx, address)
    if found is None:
        return False
    name, k, recipient = found
    rule = "mailing %s, delivery %d" % (name, k)
    if not bounces.null_sender(m):
        ctx.act("dropped: not a delivery report (a sender, at %s)" % address.lower(), rule)
        return True
    failure = bounces.read(m.msg, m.raw).verdict()
    if failure is None:
        kind = bounces.classify_text(m.text())
        failure = kind and bounces.Failure(recipient, kind, "report not in a known format; the return path names "
                                                              "the recipient")
    if failure is None:
        ctx.act("delivery report for %s noted: no failure in it" % recipient, rule)
        return True
    note(ctx, name, k, recipient, failure, rule)
    return True


def note(ctx, name, k, recipient, failure, rule):
    """recipient's failure noted in delivery k of mailing name (failures-K.txt); a mailing
    that is gone (its folder removed by hand) notes nothing."""
    try:
        mailing = mailings.Mailing(ctx.site, name, ctx)
    except mailings.MailingError as e:
        ctx.act("failure of %s not noted: %s" % (recipient, e), rule)
        return
    reason = messages.clean(failure.reason, 300).replace("\t", " ")
    ctx.append(_file(mailing, "failures", k), ("%s\t%s\t%s\n" % (recipient, failure.kind, reason)).encode("utf-8"))
    ctx.act("mailing report: %s failed (%s, %s)" % (recipient, failure.kind, reason), rule)


def cell(text):
    """text as a cell of a report read in a spreadsheet: one that starts as a formula
    would (=, +, -, @; a remote server's reason, an address =cmd@...) is taken as text
    (a leading ')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def queued(site):
    """[(envelope sender, (VERP recipient, tag) or None, [recipients])] of the files
    waiting in spool/out/new (their envelope lines only are read)."""
    out = []
    new = os.path.join(site.outbox, "new")
    try:
        names = sorted(os.listdir(new))
    except FileNotFoundError:
        return out
    for name in names:
        sender, recipients = None, []
        try:
            with open(os.path.join(new, name), "rb") as f:
                for line in f:
                    text = line[:LINE].decode("utf-8", "replace").strip()
                    upper = text.upper()
                    if upper.startswith("MAIL FROM:"):
                        sender = text[10:].strip().strip("<>").lower()
                    elif upper.startswith("RCPT TO:"):
                        recipients.append(text[8:].strip().strip("<>").lower())
                    else:
                        break
        except (FileNotFoundError, IsADirectoryError):
            continue
        if sender is not None:
            parts = bounces.verp_parts(sender)
            out.append((sender, parts if parts and parts[1] else None, recipients))
    return out


def _final(mailing, k):
    """Is delivery k's report settled with nothing deferred, and no failure noted since
    it was written? (Then nothing can change it but a failure to come: not read again.)"""
    try:
        report = os.stat(_file(mailing, "report", k))
    except FileNotFoundError:
        return False
    try:
        if os.stat(_file(mailing, "failures", k)).st_mtime_ns >= report.st_mtime_ns:
            return False
    except FileNotFoundError:
        pass
    with open(_file(mailing, "report", k), "rb") as f:
        f.seek(max(0, report.st_size - 200))
        lines = f.read().decode("utf-8", "replace").rstrip("\n").split("\n")
    return "deferred,0" in lines and lines[-1].startswith("settled,") and lines[-1] != "settled,no"


def tally(ctx, name, waiting=None):
    """Bring mailing name's reports up to date (in the caller's unit of work); tell the
    sender of each delivery newly settled."""
    mailing = mailings.Mailing(ctx.site, name, ctx)
    waiting = queued(ctx.site) if waiting is None else waiting
    bounce = mailing.envelope_sender().lower()
    job = mailings.address_of(mailing.get("From")) if mailing.get("MadeBy") == "DISTRIBUTE" else None
    retry = datetime.timedelta(days=ctx.config.get("Delivery", "RetryDays"))
    now = ctx.now.replace(tzinfo=None)
    for k, sent in _recent(ctx, mailing):
        if _final(mailing, k):
            continue
        attempted = _read(_file(mailing, "sent", k))
        if attempted is None:
            continue
        attempted = [a for a in attempted.split("\n") if a]
        wanted = {a.lower() for a in attempted}
        deferred = set()
        for sender, parts, recipients in waiting:
            if sender == bounce:
                deferred |= wanted & set(recipients)
            elif parts and parts[0] in wanted \
                    and (hmac.compare_digest(parts[1], bounces.mailing_tag(ctx, name, k, parts[0]))
                         or job and hmac.compare_digest(parts[1], bounces.probe_tag(ctx, job, parts[0]))):
                deferred.add(parts[0])      # its own copy, or a DISTRIBUTE job's PROBE
        failed = {}
        for line in (_read(_file(mailing, "failures", k)) or "").split("\n"):
            fields = line.split("\t")
            if len(fields) == 3 and fields[0].lower() in wanted:
                failed[fields[0].lower()] = fields[1:]
        counts = {"delivered": 0, "deferred": 0, "failed": 0}
        rows = []
        for address in attempted:
            key = address.lower()
            if key in failed:
                status, reason = "failed", "%s: %s" % tuple(failed[key])
            elif key in deferred:
                status, reason = "deferred", ""
            else:
                status, reason = "delivered", ""
            counts[status] += 1
            rows.append([cell(address), status, cell(reason)])
        path = _file(mailing, "report", k)
        old = _read(path) or ""
        told = old.rstrip("\n").rpartition("\n")[2]
        was_settled = told.startswith("settled,") and told != "settled,no"
        settled = was_settled or not counts["deferred"] or now - sent > retry
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["address", "status", "reason"])
        writer.writerows(rows)
        writer.writerow([])
        writer.writerow(["attempted", len(attempted)])
        for status in ("delivered", "deferred", "failed"):
            writer.writerow([status, counts[status]])
        writer.writerow(["settled", told[8:] if was_settled else now.isoformat() if settled else "no"])
        text = out.getvalue()
        if text != old:
            ctx.write(path, text.encode("utf-8"))
        if settled and not was_settled:
            to = mailings.address_of(mailing.get("From"))
            if to:
                fields = dict(mailing=name, delivery=k, attempted=len(attempted),
                              report=os.path.relpath(path, ctx.site.home), **counts)
                msg = ctx.message(to, ctx.text("reports.settled.subject", to, **fields),
                                  ctx.text("reports.settled", to, **fields) + "\n", kind="auto-generated")
                ctx.send_message(msg, [to])
            ctx.act("mailing %s, delivery %d settled: %d delivered, %d deferred, %d failed"
                    % (name, k, counts["delivered"], counts["deferred"], counts["failed"]), "mailings/%s" % name)
