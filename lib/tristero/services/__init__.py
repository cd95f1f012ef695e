"""Services: what the commands and the mail handlers work with: the Context and its
Outcome, the command Session, the file repository, the archive, the digests, the
fields of list mail."""
