#!/usr/bin/env python3
"""Tristero, a batch mailing-list manager: see README.md, or run with --help."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))


def _dependencies_missing():
    try:
        import chardet, configobj, filelock, flufl.bounce, watchdog  # noqa: F401
    except ImportError as e:
        return e
    return None


if __name__ == "__main__":
    missing = _dependencies_missing()
    if missing:
        # bin/setup.py installs the dependencies into .venv beside this file.
        venv = os.path.join(HERE, ".venv")
        venv_python = os.path.join(venv, "bin", "python")
        if os.path.exists(venv_python) and os.path.realpath(sys.prefix) != os.path.realpath(venv):
            os.execv(venv_python, [venv_python] + sys.argv)
        sys.stderr.write("tristero: %s; run 'python3 bin/setup.py' first\n" % missing)
        sys.exit(69)
    from tristero.cli import main
    sys.exit(main(sys.argv[1:]))
