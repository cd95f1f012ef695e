"""Every text a person reads, by key: the catalogs of templates, one set per language.

A catalog is a file of entries, lib/tristero/templates/LANG/*.txt:

    # a comment (only before the first entry, or a line of its own starting "# ")
    [subscribe.done]
    You are now a member of {list}.

An entry runs from its [key] line to the next [key] line; its blank lines at the
start and end are dropped and no line break ends it (the code adds the ones it
needs). {name} is a field the code fills in, with Python's format specifications
({name:<20}); {{ and }} are braces. A field is a plain name: no attribute or index.

An administrator rewords any text without touching code: an entry in
SITE/templates/LANG/*.txt replaces the built-in entry of that key. A text is
looked up in the reader's language, then in English; a site's entry that names a
field the code does not give is not used (the built-in one is), and 'tristero.py
check' reports it.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping

BUILTIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
DEFAULT = "en"
_KEY = re.compile(r"^\[([a-z0-9][a-z0-9_.-]*)\]\s*$", re.I)
LANGUAGE = re.compile(r"^[a-z]{2}$")


class TemplateError(ValueError):
    """A catalog that does not read, or an entry that does not fill in."""


class _Formatter(string.Formatter):
    """str.format for plain field names only: a template never reaches an object's attributes."""

    def get_field(self, field_name, args, kwargs):
        if not field_name.isidentifier():
            raise TemplateError("{%s} is not a plain field name" % field_name)
        return self.get_value(field_name, args, kwargs), field_name

    def get_value(self, key, args, kwargs):
        if isinstance(key, int) or key not in kwargs:
            raise TemplateError("the field {%s} is not one this text has" % key)
        return kwargs[key]


_FORMAT = _Formatter()


def fill(template: str, fields: Mapping[str, object]) -> str:
    """template with its {fields} filled in (TemplateError when one is not given)."""
    try:
        return _FORMAT.vformat(template, (), fields)
    except (ValueError, IndexError, KeyError) as e:
        raise TemplateError(str(e)) from None


def parse(data: str, path: str) -> dict[str, str]:
    """{key: template} of a catalog file's text; TemplateError (path:line) when it does not read."""
    entries, key, lines = {}, None, []
    for n, line in enumerate(data.splitlines(), 1):
        found = _KEY.match(line)
        if found:
            if key is not None:
                entries[key] = _entry(lines)
            key, lines = found.group(1).lower(), []
            if key in entries:
                raise TemplateError("%s:%d: [%s] is there twice" % (path, n, key))
        elif key is not None:
            lines.append(line)
        elif line.strip() and not line.startswith("#"):
            raise TemplateError("%s:%d: text before the first [key] line" % (path, n))
    if key is not None:
        entries[key] = _entry(lines)
    return entries


def _entry(lines):
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def load_folder(folder: str) -> dict[str, dict[str, str]]:
    """{language: {key: template}} of a templates folder (absent: {})."""
    catalogs = {}
    try:
        languages = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return catalogs
    for lang in languages:
        sub = os.path.join(folder, lang)
        if not LANGUAGE.match(lang) or not os.path.isdir(sub):
            continue
        catalog = catalogs.setdefault(lang, {})
        for name in sorted(os.listdir(sub)):
            if not name.endswith(".txt"):
                continue
            path = os.path.join(sub, name)
            with open(path, encoding="utf-8") as f:
                for key, template in parse(f.read(), path).items():
                    if key in catalog:
                        raise TemplateError("%s: [%s] is also in another file of %s" % (path, key, sub))
                    catalog[key] = template
    return catalogs


_builtin = None


def builtin() -> dict[str, dict[str, str]]:
    """The catalogs shipped with Tristero (read once)."""
    global _builtin
    if _builtin is None:
        _builtin = load_folder(BUILTIN)
    return _builtin


def add_builtin(lang: str, entries: Mapping[str, str]) -> None:
    """Add entries to a built-in catalog (the commands' own texts); a key already
    there is a mistake."""
    catalog = builtin().setdefault(lang, {})
    for key, template in entries.items():
        key = key.lower()
        if key in catalog and catalog[key] != template:
            raise TemplateError("the text [%s] is defined twice" % key)
        catalog[key] = template


class Texts:
    """The texts of one site: its own templates folder over the built-in catalogs."""

    def __init__(self, site_folder: str | None = None) -> None:
        self.site_folder = site_folder
        self._site = None
        self.problems = []          # (key, language, why) of site entries not used

    def _site_catalogs(self):
        if self._site is None:
            try:
                self._site = load_folder(self.site_folder) if self.site_folder else {}
            except (TemplateError, OSError, UnicodeDecodeError) as e:
                self.problems.append(("*", "*", str(e)))
                self._site = {}
        return self._site

    def get(self, key: str, lang: str = DEFAULT, **fields: object) -> str:
        """The text key in lang (else English), its fields filled in."""
        key = key.lower()
        for language in ((lang, DEFAULT) if lang != DEFAULT else (DEFAULT,)):
            own = self._site_catalogs().get(language, {}).get(key)
            if own is not None:
                try:
                    return fill(own, fields)
                except TemplateError as e:
                    self.problems.append((key, language, str(e)))
            template = builtin().get(language, {}).get(key)
            if template is not None:
                return fill(template, fields)
        raise KeyError("no text [%s]" % key)

    def check(self) -> list[str]:
        """Problems of the site's templates: entries that do not read, keys that are no
        text of Tristero, fields the built-in text does not have."""
        problems = []
        try:
            catalogs = load_folder(self.site_folder) if self.site_folder else {}
        except (TemplateError, OSError, UnicodeDecodeError) as e:
            return [str(e)]
        english = builtin().get(DEFAULT, {})
        for lang, catalog in sorted(catalogs.items()):
            for key, template in sorted(catalog.items()):
                if key not in english:
                    problems.append("templates/%s: [%s] is no text of Tristero" % (lang, key))
                    continue
                known = set(fields_of(english[key]))
                unknown = [f for f in fields_of(template) if f not in known]
                if unknown:
                    problems.append("templates/%s: [%s] names field(s) the text does not have: %s; "
                                    "it has: %s" % (lang, key, ", ".join(unknown), ", ".join(sorted(known)) or "none"))
        return problems


def fields_of(template: str) -> list[str]:
    """The field names a template uses."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError:
        return ["(unbalanced braces)"]
