"""One-click links (model/oneclick): bound to list, address and expiry; nothing stored."""

import datetime

from tristero.model import oneclick

KEY = b"k" * 32
TODAY = datetime.date(2026, 11, 28)


def test_link_round_trip_and_binding():
    url = oneclick.link("https://lists.example.org/unsubscribe", KEY, "news-l", "Ann+x@example.com", TODAY)
    query = url.split("?", 1)[1]
    assert oneclick.check(KEY, query, TODAY) == ("news-l", "Ann+x@example.com")
    assert oneclick.check(KEY, query.replace("news-l", "other-l"), TODAY) is None
    assert oneclick.check(KEY, query.replace("Ann", "Bob"), TODAY) is None
    assert oneclick.check(b"x" * 32, query, TODAY) is None
    assert oneclick.check(KEY, query, TODAY + datetime.timedelta(days=oneclick.DAYS + 1)) is None
    assert oneclick.check(KEY, query + "&list=other-l", TODAY) is None
    assert oneclick.check(KEY, "garbage", TODAY) is None


def test_link_keeps_an_existing_query():
    url = oneclick.link("https://example.org/u?site=1", KEY, "a-l", "a@example.com", TODAY)
    assert url.startswith("https://example.org/u?site=1&list=a-l&address=a%40example.com&token=")
