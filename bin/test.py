#!/usr/bin/env python3
"""Set up the environment with the test tools and run the whole test suite.

Usage: python3 bin/test.py [pytest arguments]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import setup  # noqa: E402  (bin/setup.py)

python = setup.ensure(test=True, quiet=True)
os.chdir(setup.REPO)
os.execv(python, [python, "-m", "pytest"] + sys.argv[1:])
