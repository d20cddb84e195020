import pytest

from services.common.errors import InvalidArgument
from services.common.ssrf import SsrfPolicy, check_url

STRICT = SsrfPolicy()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://192.168.1.20/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
        ("https://[fd00::1]/hook", "private"),
        ("https://2130706433/hook", "loopback"),  # decimal 127.0.0.1
        ("https://0x7f.1/hook", "loopback"),
        ("https://localhost/hook", "loopback"),  # a name that resolves to loopback
        ("https://100.64.1.1/hook", "CGNAT"),
        ("https://0.0.0.0/hook", "unspecified"),
    ],
)
async def test_non_public_targets_are_refused_with_the_reason(url, reason):
    with pytest.raises(InvalidArgument) as err:
        await check_url(url, STRICT)
    [violation] = err.value.violations
    assert violation.field == "url"
    assert reason in violation.description


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("ftp://93.184.215.14/", "https"),
        ("https://user:pw@93.184.215.14/", "credentials"),
        ("https:///nohost", "no host"),
        ("https://no-such-host.invalid/", "does not resolve"),
    ],
)
async def test_malformed_or_insecure_urls_are_refused(url, reason):
    with pytest.raises(InvalidArgument) as err:
        await check_url(url, STRICT)
    assert reason in err.value.message


async def test_public_address_passes_and_allowlist_is_exact():
    assert await check_url("https://93.184.215.14/hook", STRICT) == "https://93.184.215.14/hook"
    local = SsrfPolicy(allow_http=True, allowed_targets=frozenset({"127.0.0.1:8081"}))
    assert await check_url("http://127.0.0.1:8081/x", local)
    with pytest.raises(InvalidArgument):
        await check_url("http://127.0.0.1:8082/x", local)
