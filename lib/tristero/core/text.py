"""Every text a person reads, by key: the catalogs of templates, one set per language.

A catalog is a file of entries, lib/tristero/templates/LANG/*.txt:

    # a comment (only before the first entry: inside one, every line is its text)
    [subscribe.done]
    You are now a member of {list}.

An entry runs from its [key] line to the next [key] line; its blank lines at the
start and end are dropped (the blanks that begin its first line are kept) and no
line break ends it (the code adds the ones it needs). {name} is a field the code
fills in, with Python's format specifications ({name:<20}, {name!r}); {{ and }}
are braces. A field is a plain name: no attribute or index.

An administrator rewords any text without touching code: an entry in
SITE/templates/LANG/*.txt replaces the built-in entry of that key. A text is
looked up in the reader's language, then in English; a site's entry that names a
field the code does not give, or a site's file that does not read, is not used
(the built-in text is), and 'tristero.py check' reports it.

Code that has no reader at hand (a reason raised or returned from below the
Context) makes a Text: the key and its fields, put in words where it is shown
(Texts.get and Context.text take one for a key); str() of it is the built-in
English, for the log.
"""

import errno
import os
import re
import stat
import string

BUILTIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
DEFAULT = "en"
_KEY = re.compile(r"^\[([a-z0-9][a-z0-9_.-]*)\]\s*$", re.I)
LANGUAGE = re.compile(r"^[a-z]{2}$")
# What a text may ask of a format specification, so that no text, a site's least of all,
# can make a run build a string of a gigabyte ({name:>999999999}): a width or precision
# of at most MAX_WIDTH, and no field inside a specification ({name:{other}}), whose
# value, written by a sender, would be read as a specification.
MAX_WIDTH = 300
MAX_USES = 4                # times one field may be used in a text (so a long value is not
                            # repeated thousands of times: {lines}{lines}...)
MAX_FILE = 256 << 10        # bytes of one catalog file of a site
MAX_FILES = 100             # catalog files of a site read, in all its languages
_NUMBER = re.compile(r"\d+")


class TemplateError(ValueError):
    """A catalog that does not read, or an entry that does not fill in."""


class Text:
    """A text by key and its fields, not yet in a reader's language (see the module's
    docstring); a field may itself be a Text."""

    def __init__(self, key, **fields):
        self.key, self.fields = key.lower(), fields

    def __str__(self):
        return english(self.key, **self.fields)

    def __repr__(self):
        return "Text(%r, %r)" % (self.key, self.fields)


def uses_problem(names):
    """Why a text whose fields are names (one per use) may not be used, or None."""
    for name in set(names):
        if names.count(name) > MAX_USES:
            return "{%s} used %d times: at most %d" % (name, names.count(name), MAX_USES)
    return None


def spec_problem(spec):
    """Why a format specification may not be used in a text (see MAX_WIDTH), or None."""
    if "{" in spec or "}" in spec:
        return "%r: a field inside a format specification" % spec
    if any(int(n) > MAX_WIDTH for n in _NUMBER.findall(spec)):
        return "%r: a width or precision above %d" % (spec, MAX_WIDTH)
    return None


class _Formatter(string.Formatter):
    """str.format for plain field names only: a template never reaches an object's
    attributes, and its format specifications are bounded (spec_problem)."""

    def parse(self, format_string):
        uses = {}
        for literal, name, spec, conversion in super().parse(format_string):
            why = spec_problem(spec) if spec else None
            if name is not None:
                uses[name] = uses.get(name, 0) + 1
                if uses[name] > MAX_USES:
                    why = uses_problem([name] * uses[name])
            if why:
                raise TemplateError(why)
            yield literal, name, spec, conversion

    def get_field(self, field_name, args, kwargs):
        if not field_name.isidentifier():
            raise TemplateError("{%s} is not a plain field name" % field_name)
        return self.get_value(field_name, args, kwargs), field_name

    def get_value(self, key, args, kwargs):
        if isinstance(key, int) or key not in kwargs:
            raise TemplateError("the field {%s} is not one this text has" % key)
        return kwargs[key]


_FORMAT = _Formatter()


def fill(template, fields):
    """template with its {fields} filled in (TemplateError when one is not given)."""
    try:
        return _FORMAT.vformat(template, (), fields)
    except (ValueError, IndexError, KeyError, TypeError, ArithmeticError) as e:
        raise TemplateError(str(e)) from None


def parse(data, path):
    """{key: template} of a catalog file's text; TemplateError (path:line) when it does not read."""
    return {key: template for key, (template, _) in parse_lines(data, path).items()}


def parse_lines(data, path):
    """{key: (template, the line of its [key])} of a catalog file's text (see parse)."""
    entries, key, lines, at = {}, None, [], 0
    for n, line in enumerate(data.splitlines(), 1):
        found = _KEY.match(line)
        if found:
            if key is not None:
                entries[key] = (_entry(lines), at)
            key, lines, at = found.group(1).lower(), [], n
            if key in entries:
                raise TemplateError("%s:%d: [%s] is there twice" % (path, n, key))
        elif key is not None:
            lines.append(line)
        elif line.strip() and not line.startswith("#"):
            raise TemplateError("%s:%d: text before the first [key] line" % (path, n))
    if key is not None:
        entries[key] = (_entry(lines), at)
    return entries


def _entry(lines):
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def _catalog_files(folder):
    """[(language, path of a catalog file)] of a templates folder, in order (absent: [])."""
    found = []
    try:
        languages = sorted(os.listdir(folder))
    except OSError:
        return found
    for lang in languages:
        sub = os.path.join(folder, lang)
        if LANGUAGE.match(lang) and os.path.isdir(sub):
            try:
                names = sorted(os.listdir(sub))
            except OSError:
                continue
            found += [(lang, os.path.join(sub, name)) for name in names if name.endswith(".txt")]
    return found


def _read_catalog(path):
    """{key: (template, line)} of one catalog file; TemplateError when it does not read:
    a link, anything but a regular file (a pipe would never end) and a file of more
    than MAX_FILE bytes are not read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise TemplateError("%s: a symbolic link (not followed)" % path) from None
        raise TemplateError("%s: cannot be read: %s" % (path, e.strerror or e)) from None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise TemplateError("%s: not a regular file" % path)
            raw = f.read(MAX_FILE + 1)
    except OSError as e:
        raise TemplateError("%s: cannot be read: %s" % (path, e.strerror or e)) from None
    if len(raw) > MAX_FILE:
        raise TemplateError("%s: more than %d bytes" % (path, MAX_FILE))
    try:
        data = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TemplateError("%s: not UTF-8 text (%s)" % (path, e.reason)) from None
    return parse_lines(data, path)


def load_folder(folder, problems=None):
    """{language: {key: template}} of a templates folder (absent: {}).

    A file that does not read raises TemplateError; with problems (a list), it is
    noted there instead and left out, and so is a key another file of its
    language has already."""
    catalogs = {}
    for n, (lang, path) in enumerate(_catalog_files(folder)):
        catalog = catalogs.setdefault(lang, {})
        if n == MAX_FILES and folder != BUILTIN:
            why = "%s: more than %d catalog files: this one and those after it are not read" % (path, MAX_FILES)
            if problems is None:
                raise TemplateError(why)
            problems.append(why)
            break
        try:
            entries = _read_catalog(path)
        except TemplateError as e:
            if problems is None:
                raise
            problems.append(str(e))
            continue
        for key, (template, line) in entries.items():
            if key in catalog:
                why = "%s:%d: [%s] is also in another file of %s" % (path, line, key, os.path.dirname(path))
                if problems is None:
                    raise TemplateError(why)
                problems.append(why)
                continue
            catalog[key] = template
    return catalogs


_builtin = None


def builtin():
    """The catalogs shipped with Tristero (read once)."""
    global _builtin
    if _builtin is None:
        _builtin = load_folder(BUILTIN)
    return _builtin


def add_builtin(lang, entries):
    """Add entries to a built-in catalog (the commands' own texts); a key already
    there is a mistake."""
    catalog = builtin().setdefault(lang, {})
    for key, template in entries.items():
        key = key.lower()
        if key in catalog and catalog[key] != template:
            raise TemplateError("the text [%s] is defined twice" % key)
        catalog[key] = template


# The names a person may write for a language instead of its code (access.ini's language
# field as the manual writes it: English, German), in the languages Tristero speaks.
NAMES = {
    "en": ("english", "englisch", "inglés", "ingles"),
    "de": ("german", "deutsch", "alemán", "aleman"),
    "es": ("spanish", "spanisch", "español", "espanol", "castellano"),
}


def language_code(word):
    """The code of the language of Tristero's texts word names (a code, or a name of
    NAMES, any case), or None."""
    w = (word or "").strip().lower()
    if w in builtin():
        return w
    return next((code for code, names in NAMES.items() if w in names and code in builtin()), None)


def english(key, **fields):
    """The built-in English text key, its fields filled in (for the log, and str(Text))."""
    template = builtin().get(DEFAULT, {}).get(key.lower())
    if template is None:
        raise KeyError("no text [%s]" % key)
    return fill(template, _words(fields, english_text))


def english_text(t):
    return english(t.key, **t.fields)


def _words(fields, say):
    """fields with each Text among them put in words by say."""
    if not any(isinstance(v, Text) for v in fields.values()):
        return fields
    return {k: say(v) if isinstance(v, Text) else v for k, v in fields.items()}


class Texts:
    """The texts of one site: its own templates folder over the built-in catalogs."""

    def __init__(self, site_folder=None):
        self.site_folder = site_folder
        self._site = None
        self.problems = []          # (key, language, why) of site entries not used, each once

    def _site_catalogs(self):
        if self._site is None:
            found = []
            self._site = load_folder(self.site_folder, found) if self.site_folder else {}
            for why in found:
                self._problem("*", "*", why)
        return self._site

    def _problem(self, key, lang, why):
        if (key, lang, why) not in self.problems:
            self.problems.append((key, lang, why))

    def get(self, key, lang=DEFAULT, **fields):
        """The text key (or a Text, its fields then filled in too) in lang (else English),
        its fields filled in; a field that is a Text is put in words in lang as well."""
        if isinstance(key, Text):
            key, fields = key.key, dict(key.fields, **fields)
        key = key.lower()
        fields = _words(fields, lambda t: self.get(t, lang))
        for language in ((lang, DEFAULT) if lang != DEFAULT else (DEFAULT,)):
            own = self._site_catalogs().get(language, {}).get(key)
            if own is not None:
                try:
                    return fill(own, fields)
                except TemplateError as e:
                    self._problem(key, language, str(e))
            template = builtin().get(language, {}).get(key)
            if template is not None:
                return fill(template, fields)
        raise KeyError("no text [%s]" % key)

    def check(self):
        """Problems of the site's templates, as (path, line or None, why): files that do
        not read, folders that are no language of Tristero, keys that are no text of
        Tristero, fields the built-in text does not have."""
        problems = []
        if not self.site_folder:
            return problems
        try:
            names = sorted(os.listdir(self.site_folder))
        except OSError:
            return problems
        for name in names:
            if name not in builtin():
                problems.append((os.path.join(self.site_folder, name), None,
                                 "not a language of Tristero's texts (%s): not read"
                                 % ", ".join(sorted(builtin()))))
        english = builtin().get(DEFAULT, {})
        seen = {}
        for n, (lang, path) in enumerate(_catalog_files(self.site_folder)):
            if n == MAX_FILES:
                problems.append((path, None, "more than %d catalog files: this one and those after it are "
                                             "not read" % MAX_FILES))
                break
            if lang not in builtin():
                continue
            try:
                entries = _read_catalog(path)
            except TemplateError as e:
                where, line, why = _where(str(e), path)
                problems.append((path, line, why + " (the file is not used)"))
                continue
            for key, (template, line) in sorted(entries.items(), key=lambda e: e[1][1]):
                if (lang, key) in seen:
                    problems.append((path, line, "[%s] is also in %s (this one is not used)" % (key, seen[lang, key])))
                    continue
                seen[lang, key] = path
                if key not in english:
                    problems.append((path, line, "[%s] is no text of Tristero: not used" % key))
                    continue
                broken = _unreadable(template)
                if broken:
                    problems.append((path, line, "[%s] does not read: %s (the built-in text is used)" % (key, broken)))
                    continue
                known = set(fields_of(english[key]))
                unknown = ["{%s}" % f for f in fields_of(template) if f not in known]
                if unknown:
                    problems.append((path, line, "[%s] names %s, not a field of this text (a field is a plain "
                                     "name; it has: %s): the built-in text is used"
                                     % (key, ", ".join(unknown), ", ".join(sorted(known)) or "none")))
        return problems


def _where(message, path):
    """(path, line, why) of a TemplateError's message "path:line: why" (or "path: why")."""
    rest = message[len(path) + 1:] if message.startswith(path + ":") else message
    found = re.match(r"(\d+): (.*)", rest, re.S)
    if found:
        return path, int(found.group(1)), found.group(2)
    return path, None, rest.lstrip()


def _unreadable(template):
    """Why template is no format string (a lone brace), or None."""
    try:
        why = uses_problem(fields_of(template, strict=True))
        if why:
            return why
        for _, _, spec, _ in string.Formatter().parse(template):
            why = spec_problem(spec) if spec else None
            if why:
                return why
    except ValueError as e:
        return str(e)
    return None


def fields_of(template, strict=False):
    """The field names a template uses (those inside a format specification too; "" for
    a field with no name). strict: a template that does not read raises ValueError."""
    found = []
    try:
        for _, name, spec, _ in string.Formatter().parse(template):
            if name is not None:
                found.append(name)
            if spec and "{" in spec:
                found += fields_of(spec, strict)
    except ValueError:
        if strict:
            raise
        return found + ["(unbalanced braces)"]
    return found
