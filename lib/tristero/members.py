"""Member files: lists/NNNNNNNN.ini, one member per line, read and written fast.

The file is an INI file with one section, ``[Members]``; each line is
``address = options``. The options are comma-separated words (``NOMAIL``,
``NAME Joe Bloggs``); they never contain ``=``, so a line splits at its last
``=``, and an address such as ``a=b@example.org`` needs no quoting. A line
with no ``=`` is a member with default options. Lines above ``[Members]``
(comments) are kept; the members are written back sorted by domain, which
keeps the recipients of each outbound envelope bunched by mail server.
Addresses are stored as given and compared without regard to case.
"""

import io

from . import fields

HEADER = "[Members]"


def address_key(address):
    """What two spellings of one address have in common: case ignored.

    The domain's case never matters; the local part's may, by the letter of
    RFC 5321, but no mail service a list reaches treats Alice@ and alice@ as
    two people, and telling them apart would send two copies to one mailbox
    and let an unsubscription in the other case fail.
    """
    low = address.lower()
    # The address itself when already in lower case: one string per member, not two.
    return address if low == address else low


def domain_order(key):
    """Sort key of a member: by domain (CONTRACT §4: recipients sorted by domain),
    then by the whole key."""
    return (key.rpartition("@")[2], key)


def sorted_keys(keys):
    """keys in domain_order, without a key tuple per member: grouped by domain,
    the domains sorted, each group sorted as plain strings."""
    groups = {}
    for key in keys:
        groups.setdefault(key.rpartition("@")[2], []).append(key)
    out = []
    for domain in sorted(groups):
        group = groups.pop(domain)
        group.sort()
        out.extend(group)
    return out


def clean_options(words):
    """Options as stored: comma-separated, with no '=' or line breaks in them."""
    out = []
    for w in words:
        w = " ".join(w.replace("=", " ").replace(",", " ").split())
        if w:
            out.append(w)
    return ", ".join(out)


def entry_problem(address, options):
    """Why a member (address, options) cannot be written as a line of a member file, or None."""
    if not address or address != address.strip().strip('"') or address[0] in "[;#":
        return "%r cannot stand first on a member line" % address
    if "=" in options:
        return "options may not contain '='"
    why = fields.problem(address) or fields.problem(options)
    return why and "%s: %s" % (address, why)


def options_list(options):
    return [o.strip() for o in options.split(",") if o.strip()]


def option_word(options, word):
    """The option starting with word (case ignored), e.g. 'NAME Joe', or None."""
    word = word.upper()
    for o in options_list(options):
        head = o.split(None, 1)[0].upper()
        if head == word:
            return o
    return None


def receives_posts(options):
    """True when a member with these options gets each post by mail (neither NOMAIL nor DIGEST)."""
    return not options or (option_word(options, "NOMAIL") is None and option_word(options, "DIGEST") is None)


def with_option(options, word, value=None):
    """options with the option word set (value after it) or removed (value None)."""
    kept = [o for o in options_list(options) if o.split(None, 1)[0].upper() != word.upper()]
    if value is not None:
        kept.append((word + " " + value).strip())
    return clean_options(kept)


class MemberList:
    """The members of one list: key -> (address as given, options)."""

    def __init__(self, number):
        self.number = number
        self.header = ["; Members: one per line, \"address = options\" (see README)."]
        self.members = {}

    def __len__(self):
        return len(self.members)

    def __contains__(self, address):
        return address_key(address) in self.members

    def get(self, address):
        """(address, options) of a member, or None."""
        return self.members.get(address_key(address))

    def items(self):
        """(address, options) of every member, in file order."""
        return self.members.values()

    def parse(self, lines):
        """Read the file's lines (any iterable of str, so a file streams).

        The members are kept in domain order (see write); a file a person
        edited out of order is put in order once, here.
        """
        header = []
        members = self.members
        seen_header = False
        in_order = True
        last = last_domain = None
        for line in lines:
            s = line.strip()
            if not seen_header:
                if s.lower() == HEADER.lower():
                    seen_header = True
                elif s:
                    header.append(line.rstrip("\n"))
                continue
            if not s or s[0] in ";#":
                continue
            if s[0] == "[":
                break
            address, eq, options = s.rpartition("=")
            if not eq:
                address, options = s, ""
            address = address.strip().strip('"').strip()
            if address:
                key = address_key(address)
                members[key] = (address, options.strip())
                if in_order:
                    domain = key.rpartition("@")[2]
                    in_order = last is None or (domain, key) >= (last_domain, last)
                    last, last_domain = key, domain
        if not in_order:
            self.members = {k: members[k] for k in sorted_keys(members)}
        if header:
            self.header = header
        return self

    def write(self, f):
        """Write the file to the binary file f, streaming (a list may be large).

        Members are written sorted by domain, and the list in memory takes the
        same order: a post fans out in member order, so a run redone after a
        crash (which reads the file back) sends exactly the same envelopes as
        one that was never cut.
        """
        out = io.TextIOWrapper(f, encoding="utf-8", newline="\n", write_through=False)
        for line in self.header:
            out.write(line + "\n")
        out.write(HEADER + "\n")
        members = self.members
        order = sorted_keys(members)
        for key in order:
            address, options = members[key]
            out.write("%s = %s\n" % (address, options) if options else "%s =\n" % address)
        out.flush()
        out.detach()
        self.members = {key: members[key] for key in order}


def load(number, path):
    """The member list stored at path (empty if there is no file)."""
    ml = MemberList(number)
    try:
        f = open(path, encoding="utf-8", errors="replace", newline=None)
    except FileNotFoundError:
        return ml
    with f:
        return ml.parse(f)
