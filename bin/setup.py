#!/usr/bin/env python3
"""Set up Tristero's Python environment: .venv beside tristero.py, with the
dependencies of pyproject.toml (and, with --test, the test tools).

Usage: python3 bin/setup.py [--test]
Needs only python3 (with its standard venv module). Safe to run again: it
installs only when pyproject.toml's dependencies changed.
"""

import hashlib
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, ".venv")
PYTHON = os.path.join(VENV, "bin", "python")


def requirements(test=False):
    """The dependency strings of pyproject.toml (project, and optionally test)."""
    with open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    try:
        import tomllib
        data = tomllib.loads(text)
        reqs = list(data["project"]["dependencies"])
        if test:
            reqs += data["project"]["optional-dependencies"]["test"]
        return reqs
    except ImportError:
        # Python before 3.11: the two arrays are simple enough to read directly.
        def array(name):
            m = re.search(r"^%s\s*=\s*\[(.*?)\]" % name, text, re.S | re.M)
            return re.findall(r'"([^"]+)"', m.group(1)) if m else []
        return array("dependencies") + (array("test") if test else [])


def ensure(test=False, quiet=False):
    """Create .venv if needed and install what is missing; returns its python."""
    reqs = requirements(test)
    stamp = os.path.join(VENV, ".tristero-requirements")
    digest = hashlib.sha256("\n".join(reqs).encode()).hexdigest()
    if os.path.exists(PYTHON) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == digest:
                return PYTHON
    if not os.path.exists(PYTHON):
        if not quiet:
            print("setup: creating %s" % VENV)
        try:
            subprocess.check_call([sys.executable, "-m", "venv", VENV])
        except subprocess.CalledProcessError:
            sys.exit("setup: 'python3 -m venv' failed; on Debian/Ubuntu install python3-venv first")
    if not quiet:
        print("setup: installing %s" % ", ".join(reqs))
    subprocess.check_call([PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + reqs)
    with open(stamp, "w") as f:
        f.write(digest + "\n")
    return PYTHON


if __name__ == "__main__":
    ensure(test="--test" in sys.argv[1:])
    print("setup: ready; run Tristero with: python3 tristero.py --help")
