import pytest

from archiver.urls import InvalidURL, normalise_url


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("HTTP://Example.COM:80/a#frag", "http://example.com/a"),
        ("https://www.GOV.cn:443", "https://www.gov.cn/"),
        ("https://www.gov.cn:8443/x", "https://www.gov.cn:8443/x"),
        ("  http://example.com/path with space  ", "http://example.com/path%20with%20space"),
        ("http://example.com/%7euser", "http://example.com/~user"),
        ("http://example.com/a?b=2&a=1", "http://example.com/a?b=2&a=1"),
        ("http://www.xinhuanet.com/新闻/2019.htm", "http://www.xinhuanet.com/%E6%96%B0%E9%97%BB/2019.htm"),
        ("http://example.com/search?q=%c4%e3%ba%c3", "http://example.com/search?q=%C4%E3%BA%C3"),
        ("http://中国政府网.中国/", "http://xn--fiqs8sirgfmhq98a.xn--fiqs8s/"),
        ("http://example.com.", "http://example.com/"),
    ],
)
def test_normalise(raw, expected):
    assert normalise_url(raw) == expected


def test_same_page_same_key():
    assert normalise_url("http://EXAMPLE.com:80/x#top") == normalise_url("http://example.com/x")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", "empty"),
        ("example.com/page", "missing scheme"),
        ("ftp://example.com/file", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("http://", "missing host"),
        ("http://example.com:99999/", "invalid port"),
        ("http://user:pw@example.com/", "user name or password"),
    ],
)
def test_refused(raw, message):
    with pytest.raises(InvalidURL, match=message):
        normalise_url(raw)
