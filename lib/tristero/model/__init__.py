"""Model: the site on disk and in memory: its configuration, lists, members, access
rules, state, the journal that commits it, the spools, logs, audit trails and locks."""
