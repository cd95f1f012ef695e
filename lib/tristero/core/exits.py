"""Exit statuses of the command line from sysexits.h."""

EX_OK = 0
EX_DATAERR = 65    # what was asked cannot be done as the data stands (tristero.py mailing)
EX_SOFTWARE = 70   # an unexpected internal error
EX_IOERR = 74      # the site's disk failed (full, read-only): nothing lost, try again
EX_TEMPFAIL = 75   # another run holds the lock: nothing done
EX_CONFIG = 78     # the configuration is invalid: nothing done
