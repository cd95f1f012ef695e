from test_attack_16 import *


def test_x(psite):
    cmds = "\n".join(["DISTRIBUTE POST TO news PRE-APPROVED=YES PW=" + PW] * 30)
    psite.drop(email_job("boss@example.org", cmds, data=BOSS_DATA))
    psite.run()
    print(replies(psite, "boss@example.org")[0][-600:])
    print(len(posts(psite)))
    assert 0
