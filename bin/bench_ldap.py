#!/usr/bin/env python3
"""Benchmark of the live LDAP source: reading N people from a private slapd. Prints figures.

Usage: python3 bin/bench_ldap.py [N ...]   (default: 2000 20000; runs under .venv's python)

For each N a slapd of tests/slapd.py is started in a temporary folder with N people
in 20 departments, and ``ldapsource.people`` reads them all (paged, 500 a page, as
the reader account): the best of three reads, wall and CPU time of this process
(slapd's work shows in the wall time only), and the Python memory the read held at
its peak (tracemalloc: what the Persons and pages cost, not the interpreter). Then
``write_groups`` fills the 20 department groups from empty (one member each) and
runs again with nothing to change. Nothing is asserted: the tests check the results.
"""

import os
import sys
import tempfile
import time
import tracemalloc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, ".venv")
if __name__ == "__main__" and os.path.realpath(sys.prefix) != os.path.realpath(VENV):
    # ldap3 is in .venv: run there.
    PYTHON = os.path.join(VENV, "bin", "python")
    if not os.path.exists(PYTHON):
        sys.exit("bench_ldap: no .venv yet: run python3 bin/setup.py --test first")
    os.execv(PYTHON, [PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
sys.path[:0] = [os.path.join(REPO, "lib"), os.path.join(REPO, "tests")]

from slapd import GROUPS, PEOPLE, READER, READER_PASSWORD, Slapd, directory  # noqa: E402
from tristero.model.ldapsource import Settings, people, write_groups  # noqa: E402


def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def bench(n):
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with Slapd(folder, directory(n, 20), size_limit=500) as server:
            print("%7d people: slapd loaded and started in %.2f s" % (n, time.perf_counter() - start))
            settings = Settings(uri=server.uri, base_dn=PEOPLE, bind_dn=READER, bind_password=READER_PASSWORD,
                                page_size=500)
            runs = [timed(lambda: sum(1 for _ in people(settings))) for _ in range(3)]
            count, wall, cpu = min(runs, key=lambda r: r[1])
            assert count == n
            tracemalloc.start()
            found = list(people(settings))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            del found
            print("%7d people: read in %.3f s wall, %.3f s CPU (best of 3); %.1f MB Python memory at the peak "
                  "of a read kept whole as a list" % (n, wall, cpu, peak / 1e6))
            conn = server.connection()
            groups = {}
            for dept in range(20):
                dn = "cn=department-%02d,%s" % (dept, GROUPS)
                first = dept or 20
                conn.add(dn, "groupOfNames", {"cn": "department-%02d" % dept,
                                              "member": "uid=p%05d,%s" % (first, PEOPLE)})
                groups[dn] = ["p%05d@example.com" % k for k in range(first, n + 1, 20)]
            conn.unbind()
            root = Settings(uri=server.uri, base_dn=PEOPLE, bind_dn=server.root_dn,
                            bind_password=server.root_password, page_size=500)
            result, wall, cpu = timed(lambda: write_groups(root, groups))
            added = sum(c.added for c in result.changes)
            print("%7d people: write-back of 20 department groups (%d members added) in %.3f s wall, %.3f s CPU"
                  % (n, added, wall, cpu))
            result, wall, cpu = timed(lambda: write_groups(root, groups))
            print("%7d people: the same write-back again (nothing to change) in %.3f s wall, %.3f s CPU"
                  % (n, wall, cpu))
            assert not result.problems and not any(c.added or c.removed for c in result.changes)


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [2000, 20000]:
        bench(size)
