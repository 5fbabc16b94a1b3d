"""Who may use the web interface and what its pages may do: loopback by default, a password or
token required anywhere else, signed Secure/HttpOnly/SameSite cookies, CSRF on every form, the
Host header checked on loopback, a Content-Security-Policy with no script on every page."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from archiver.config import Config
from archiver.web.app import LOOPBACK_NAMES, create_app
from archiver.web.security import InsecureBinding, check_binding
from tests.conftest import make_cli
from tests.webserver import Served


@pytest.fixture
def web_config(sqlite_url):
    config = Config()
    config.database.url = sqlite_url
    return config


def client(config, **kwargs) -> TestClient:
    return TestClient(create_app(config, **kwargs), base_url="https://127.0.0.1", follow_redirects=False)


def csrf_of(response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', response.text).group(1)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::", "example.org"])
def test_serving_beyond_loopback_needs_a_password_or_token(host, tmp_path, monkeypatch):
    result = make_cli(tmp_path, monkeypatch)("serve", "--host", host, "--port", "1")
    assert result.exit_code == 1
    assert "refusing to listen on" in result.output and "[web] password" in result.output
    with pytest.raises(InsecureBinding):
        check_binding(host, Config().web)
    web = Config().web
    web.token = "t0ken"
    check_binding(host, web)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_nothing(host):
    check_binding(host, Config().web)


def test_pages_carry_a_policy_without_script_and_an_escaped_session_cookie(web_config):
    with client(web_config) as http:
        response = http.get("/")
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "<script" not in response.text


def test_a_password_is_asked_for_and_the_cookie_is_secure(web_config):
    web_config.web.password = "correct horse"
    with client(web_config) as http:
        response = http.get("/?since=2026-01-01")
        assert response.status_code == 303 and response.headers["location"] == "/login?next=%2F"
        form = http.get("/login")
        cookie = form.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
        wrong = http.post("/login", data={"csrf": csrf_of(form), "password": "wrong", "next": "/"})
        assert wrong.status_code == 401 and "That is not the password." in wrong.text
        assert http.get("/").status_code == 303
        right = http.post("/login", data={"csrf": csrf_of(form), "password": "correct horse", "next": "/"})
        assert right.status_code == 303 and right.headers["location"] == "/"
        assert http.get("/").status_code == 200
        assert http.post("/logout", data={"csrf": csrf_of(form)}).status_code == 303
        assert http.get("/").status_code == 303


def test_a_token_in_a_link_signs_in_and_leaves_the_address(web_config):
    web_config.web.token = "s3cret-token"
    with client(web_config) as http:
        assert http.get("/?token=wrong").status_code == 303
        assert http.get("/").headers["location"].startswith("/login")
        response = http.get("/?since=2026-01-01&token=s3cret-token")
        assert response.status_code == 303 and response.headers["location"] == "/?since=2026-01-01"
        assert http.get("/").status_code == 200


def test_a_form_without_this_session_s_token_or_from_another_site_is_refused(web_config):
    web_config.web.password = "pw"
    with client(web_config) as http:
        form = http.get("/login")
        token = csrf_of(form)
        assert http.post("/login", data={"password": "pw"}).status_code == 403
        assert http.post("/login", data={"password": "pw", "csrf": "forged"}).status_code == 403
        assert http.post("/login", data={"password": "pw", "csrf": token},
                         headers={"origin": "https://evil.example"}).status_code == 403
        assert http.post("/login", data={"password": "pw", "csrf": token},
                         headers={"origin": "https://127.0.0.1"}).status_code == 303
    with client(web_config) as other:
        other.get("/login")
        assert other.post("/login", data={"password": "pw", "csrf": token}).status_code == 403


def test_on_loopback_another_host_name_is_refused(web_config):
    with client(web_config, allowed_hosts=LOOPBACK_NAMES) as http:
        assert http.get("/").status_code == 200
        for host in ("localhost:8000", "[::1]:8000", "LOCALHOST"):
            assert http.get("/", headers={"host": host}).status_code == 200, host
        for host in ("rebound.example", "rebound.example:8000", "127.0.0.1.rebound.example", "[::1", ""):
            assert http.get("/", headers={"host": host}).status_code == 400, host


def test_signing_in_works_in_chromium_over_loopback(chromium_browser, web_config):
    web_config.web.password = "pass phrase"
    server = Served(web_config).start()
    try:
        context = chromium_browser.new_context(base_url=server.url)
        page = context.new_page()
        page.goto("/")
        assert page.url.endswith("/login?next=%2F")
        page.fill("input[name=password]", "pass phrase")
        page.click("button:has-text('Sign in')")
        page.wait_for_url(server.url + "/")
        assert page.locator("h1").inner_text() == "Dashboard"
        [cookie] = context.cookies()
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
        page.click("button:has-text('Sign out')")
        page.wait_for_url("**/login")
        context.close()
    finally:
        server.stop()


def _post_paths(app) -> list[str]:
    """Every POST route of the application (the plugins' included), with its parameters filled in."""
    from starlette.routing import Route

    paths = []
    for route in app.routes:
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            paths.append(route.path.replace("{source_id:int}", "1").replace("{claim_id:str}", "cams")
                         .replace("{citation_id:int}", "1"))
    return paths


def test_every_form_of_the_app_and_its_plugins_needs_the_csrf_token(archive):
    app = create_app(archive.config, sessions=archive.sessions)
    paths = _post_paths(app)
    assert {"/add", "/claims", "/claims/cams/cite", "/import", "/source/1/capture", "/logout"} <= set(paths)
    with TestClient(app, base_url="https://127.0.0.1", follow_redirects=False) as http:
        token = csrf_of(http.get("/add"))
        for path in paths:
            response = http.post(path, data={"url": "https://example.org/", "text": "x", "csrf": "forged"})
            assert response.status_code == 403, path
        assert http.post("/claims", data={"text": "A new claim", "csrf": token}).status_code == 303
    with archive.sessions() as session:
        from evidence.models import Claim

        assert session.get(Claim, "a-new-claim") is not None


def test_hostile_titles_claims_and_quotes_stay_text_on_every_page(page, archive, site):
    """Page titles, claim texts, quotes and reasons come from hostile pages and people: shown, never run."""
    from archiver.sources import add_source
    from evidence.claims import Target, add_claim, cite

    attack = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"\'>'
    with archive.sessions.begin() as session:
        source, _ = add_source(session, site.url("/hostile-title.html"), title=attack, lang=attack)
        add_claim(session, attack, claim_id="attack", tags=[attack])
        cite(session, Target(claim_id="attack"), archive.en_url, quote=attack, note=attack)
        source_id = source.id
    for path in ("/", "/sources", f"/sources?q={attack}", f"/source/{source_id}", f"/source/{archive.en_id}",
                 "/claims", "/claims/attack", f"/claims?q={attack}"):
        page.goto(path)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("main script, main img[src=x]").count() == 0, path
    page.goto("/claims/attack")
    assert attack in page.locator("#report").inner_text()
    assert page.left == []
