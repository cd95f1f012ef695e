"""The command job parser (services/jobs.py): a job read whole, or refused whole with
the line that is wrong."""

import pytest

from tristero.services import jobs

SEED_JOB = """\
//send JOB Echo=No
DISTRIBUTE MAIL DD=DATA TO DD=TO PW=secret123
//TO DD *
janecustomer@abc.com
jacktechie@def.edu Jack Techie
johndoe@ghi.org BSMTP
joe@example.com PROBE
sue@example.edu Sue User BSMTP
petergunn@example.edu Pete Gunn PROBE
/*
//FROM DD "JPB@example.org John P. Brown"
//DATA DD *,EOF
From: jpb@example.org
To:
Subject: news

a line
/*
//not a card, data
EOF
"""


def test_the_seeds_job_is_read_whole():
    job = jobs.parse(SEED_JOB)
    assert job.name == "send" and not job.echo
    assert job.commands == [(2, "DISTRIBUTE MAIL DD=DATA TO DD=TO PW=secret123")]
    assert job.dataset("to")[3] == "joe@example.com PROBE" and len(job.dataset("TO")) == 6
    assert job.dataset("FROM") == ["JPB@example.org John P. Brown"]
    assert job.dataset("DATA")[-2:] == ["/*", "//not a card, data"]
    assert jobs.is_job("\n\n" + SEED_JOB) and not jobs.is_job("DISTRIBUTE\n//x JOB")


def test_continuation_cards_join_their_lines():
    job = jobs.parse("// JOB Echo=No,\n// Reply-via=Mail\nDISTRIBUTE MAIL TO a@example.net,\n b@example.net\n")
    assert job.name == "" and not job.echo
    assert job.commands == [(3, "DISTRIBUTE MAIL TO a@example.net b@example.net")]


def test_a_dd_star_ends_at_the_next_card_or_the_end():
    job = jobs.parse("//j JOB\nX\n//A DD *\n1\n2\n//B DD *\n3\n\n")
    assert job.dataset("A") == ["1", "2"] and job.dataset("B") == ["3"] and job.echo


def test_eoj_ends_the_job():
    job = jobs.parse("//j JOB\nA\n// EOJ\nB\n")
    assert job.commands == [(2, "A")]


@pytest.mark.parametrize("text,number,why", [
    ("DISTRIBUTE MAIL\n", 1, "JOB card"),
    ("\n//j JOB Echo=Maybe\n", 2, "ECHO is one of"),
    ("//j JOB Colour=Red\n", 1, "the JOB card takes"),
    ("//j JOB\nA\n//DATA DD *,EOF\nFrom: x\n", 3, "no EOF line"),
    ("//j JOB\n//A DD *\n1\n/*\n//A DD \"2\"\n", 5, "there twice"),
    ("//j JOB\nA\n/*\n", 3, "no data set is open"),
    ("//j JOB\n//A EXEC PGM=X\n", 2, "not a card"),
    ("//j JOB\n//A DD SYSOUT=*\n", 2, "a DD card is"),
    ("//j JOB\n//waytoolongname DD *\n", 2, "name is 1 to 8"),
    ("//j JOB\n//j JOB\n", 2, "one JOB card"),
    ("//j JOB Echo=No,\nReply-via=Mail\n", 2, "goes on with a // card"),
])
def test_an_error_anywhere_refuses_the_whole_job_with_its_line(text, number, why):
    with pytest.raises(jobs.JobError) as e:
        jobs.parse(text)
    assert e.value.number == number and why in e.value.why


def test_a_job_of_endless_commands_is_bounded():
    with pytest.raises(jobs.JobError) as e:
        jobs.parse("//j JOB\n" + "LISTS\n" * (jobs.MAX_COMMANDS + 1))
    assert "at the most" in e.value.why
