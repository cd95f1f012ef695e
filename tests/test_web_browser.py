"""The web endpoint in a real headless Chromium (Debian's chromium and chromium-driver,
through Selenium; nothing downloaded): subscribe through the form, confirm by the mailed
cookie, receive a post, leave by the post's one-click link."""

import datetime
import os
import threading

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import BASE_INI, mail, server_program
from tristero.model import cookies, oneclick
from tristero.model.site import Site
from tristero.runtime import web

NOW = datetime.datetime(2026, 11, 21, 9, 30, tzinfo=datetime.timezone.utc)

LIST = """\
UnsubscribeURL = {base}/unsubscribe

[LIST news]
Type = Open
Owner = editor@example.org
Description = News of the site
MemberFile = 00000001
"""


@pytest.fixture
def browser(tmp_path):
    chromium = server_program("/usr/bin/chromium", "chromium")
    driver = server_program("/usr/bin/chromedriver", "chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--user-data-dir=%s" % (tmp_path / "chromium")):
        options.add_argument(flag)
    # The driver's path is given: Selenium Manager has nothing to look for (or download).
    b = webdriver.Chrome(service=Service(executable_path=driver, log_output=os.devnull), options=options)
    b.set_page_load_timeout(30)
    try:
        yield b
    finally:
        b.quit()


@pytest.fixture
def endpoint(site):
    server = web.make_server(Site(site.home), "127.0.0.1", 0, now=lambda: NOW)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def member_file(site):
    try:
        with open(site.path("lists", "00000001.ini")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def shows(b, words):
    # The page a click leads to replaces the body being read: a stale body is read again.
    WebDriverWait(b, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: words in d.find_element(By.TAG_NAME, "body").text)


def test_subscribe_confirm_receive_and_leave_by_one_click_in_a_real_browser(site, endpoint, browser):
    site.write_ini(BASE_INI + LIST.format(base=endpoint))
    # Subscribe through the form.
    browser.get(endpoint + "/")
    browser.find_element(By.NAME, "address").send_keys("ann@example.com")
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    shows(browser, "A confirmation was mailed to ann@example.com")
    site.run()
    assert "ann@example.com" not in member_file(site)
    # Confirm by the mailed cookie.
    [confirm] = [m for m in site.messages_to("ann@example.com") if "COOKIE" in m.get_content()]
    site.drop(mail(frm="ann@example.com", subject="Re: confirm", body="---\n" + confirm.get_content().split(
        "---\n", 1)[1]))
    site.run()
    assert "ann@example.com" in member_file(site)
    # Receive a post.
    site.drop(mail(frm="bob@example.net", to="news@example.org", subject="Hello members", body="Hi.\n"))
    site.run()
    assert [m["Subject"] for m in site.messages_to("ann@example.com") if "Hello members" in m["Subject"]]
    # Leave by its one-click link: the GET shows a button; its POST unsubscribes.
    url = oneclick.link(endpoint + "/unsubscribe", cookies.key(Site(site.home)), "news", "ann@example.com",
                        NOW.date())
    browser.get(url)
    shows(browser, "take ann@example.com off the list news")
    assert os.listdir(site.path("spool", "in", "new")) == []       # a GET writes nothing
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    shows(browser, "ann@example.com leaves news")
    site.run()
    assert "ann@example.com" not in member_file(site)
