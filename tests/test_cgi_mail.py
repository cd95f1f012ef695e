"""Web forms by mail (README "Web forms by mail"): the manual's CGI command address
(cgi?action=subscribe&list=...) and a first body line of CGI parameters (a browser's
mailto: POST), with the synonyms 1 2 3 4, made one command line; logged and counted."""

import os

import pytest

from conftest import BASE_INI, NEWS_LIST, mail
from tristero.mail import webform


def build(site):
    site.write_ini(BASE_INI + "\n" + NEWS_LIST)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\n")


def members(site):
    with open(site.path("lists", "00000001.ini")) as f:
        return sorted(line.split("=")[0].strip() for line in f if "@" in line.split("=")[0])


def said(site, address):
    return "\n".join(m.get_body().get_content() for m in site.messages_to(address))


@pytest.mark.parametrize("query, line", [
    ("action=Subscribe&List=sales-west", "Subscribe sales-west"),
    ("1=Subscribe&2=sales-west", "Subscribe sales-west"),
    ("action=SET&List=sales-west&option=NOMAIL", "SET sales-west NOMAIL"),
    ("action=ADD&List=news-l&Address=New+User+At+Sales&Option=Hide", "ADD news-l New User At Sales Hide"),
    ("1=ADD&2=news-l&3=New+User+At+Sales&4=Hide", "ADD news-l New User At Sales Hide"),
    ("1=SET&2=news-l&4=DIGEST+DAILY", "SET news-l DIGEST DAILY"),
    ("4=HIDE&3=ann%40example.net&2=news&1=ADD", "ADD news ann@example.net HIDE"),
    ("list=news", None),
    ("action=x y", None),
])
def test_the_manuals_parameters_make_one_command_line(query, line):
    assert webform.command_line(query) == line


def test_a_line_feed_in_a_value_stays_one_command_line():
    assert webform.command_line("1=SUBSCRIBE&2=news%0AUNSUBSCRIBE+news") == "SUBSCRIBE news UNSUBSCRIBE news"


def test_the_cgi_command_address_subscribes_the_sender(site):
    build(site)
    site.drop(mail(frm="dave@example.net", to="cgi?action=subscribe&list=news@example.org",
                   headers="X-Original-To: cgi?action=subscribe&list=news@example.org\n"))
    site.run()
    assert members(site) == ["carol@example.com", "dave@example.net"]
    assert "> subscribe news" in said(site, "dave@example.net")
    assert "web form by mail: SUBSCRIBE;" in site.log()
    assert "1 message(s): 1 done, 0 dropped, 0 failed, 1 web form(s) by mail;" in site.log()


def test_a_first_body_line_of_parameters_is_one_command_and_the_rest_is_not_read(site):
    build(site)
    site.drop(mail(frm="dave@example.net", body="1=SUBSCRIBE&2=news\nUNSUBSCRIBE news\nLISTS\n"))
    site.run()
    assert members(site) == ["carol@example.com", "dave@example.net"]
    text = said(site, "dave@example.net")
    assert "1 command(s)" in text and "LISTS" not in text


def test_a_form_with_no_action_is_answered_with_no_command(site):
    build(site)
    site.drop(mail(frm="dave@example.net", to="cgi?list=news@example.org",
                   headers="X-Original-To: cgi?list=news@example.org\n", body="SUBSCRIBE news\n"))
    site.run()
    assert members(site) == ["carol@example.com"]
    assert "0 command(s)" in said(site, "dave@example.net")
