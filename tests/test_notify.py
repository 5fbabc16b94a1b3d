"""The digest after a pass: which cited sources changed, which claims are at risk, and its delivery
to a real loopback webhook and a real SMTP server, including channels that fail."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from archiver import notify
from archiver.capture import run_pass
from archiver.cli import main
from archiver.db import open_database
from archiver.models import Run
from archiver.sources import add_source
from evidence.models import Citation, Claim, DataPoint
from tests.receivers import MailServer, Webhook

PAGE = """<html><head><meta charset="utf-8"><title>{title}</title></head><body>
<div class="nav">Home | News | About</div>
<article><h1>{title}</h1>
<p>{first}</p>
<p>The project covers surveillance cameras, data centres and a command platform for the city police.</p>
<p>Critics said the contract lacked any public tender and raised human rights concerns in the region.</p>
</article><footer>Copyright 2019 Example News</footer></body></html>"""

ZH_PAGE = """<html><head><meta charset="gbk"><title>{title}</title></head><body>
<div class="nav">首页 | 新闻 | 政务</div>
<div class="article"><h1>{title}</h1>
<p>{first}</p>
<p>根据协议，云从科技将为津巴布韦的机场、火车站和汽车站提供人脸识别技术，并建立国家人脸数据库。</p>
<p>该项目是中国“一带一路”倡议下的重要合作项目之一，得到了两国政府的大力支持。</p>
</div><div class="footer">版权所有 2018 示例新闻网</div></body></html>"""

IJOP_QUOTE = "Hikvision won contracts worth 1.2 billion yuan in 2017"
CLAIMS = {
    "hikvision-xinjiang-ijop": "Hikvision built camera networks for the Integrated Joint Operations Platform in Xinjiang.",
    "cloudwalk-zimbabwe": "云从科技向津巴布韦政府提供人脸识别技术并建立国家人脸数据库。",
    "dahua-uyghur-alerts": "Dahua software offered alerts for Uyghur faces.",
    "huawei-safe-city-belgrade": "Huawei supplied the Safe City cameras in Belgrade.",
}


def en(title: str, first: str) -> bytes:
    return PAGE.format(title=title, first=first).encode("utf-8")


def zh(title: str, first: str) -> bytes:
    return ZH_PAGE.format(title=title, first=first).encode("gbk")


class World:
    """Six tracked pages on a loopback site, four claims citing five of them, one pass done."""

    def __init__(self, site, config) -> None:
        self.site, self.config = site, config
        self.sessions = open_database(config.database.url)
        self.urls = {
            "ijop": site.set("/xj/ijop.html", en("Police cloud contracts", IJOP_QUOTE + ", filings show.")),
            "zimbabwe": site.set("/zw/cloudwalk.html", zh("云从科技签约津巴布韦", "2018年3月，云从科技与津巴布韦政府在广州签署战略合作框架协议。"),
                                 content_type="text/html"),
            "belgrade": site.set("/rs/belgrade.html", en("Safe City Belgrade", "Huawei installed 1,000 cameras across Belgrade.")),
            "alerts": site.set("/dh/alerts.html", en("Dahua alerts", "The software flagged people by ethnicity, the manual said.")),
            "uncited": site.set("/misc/weather.html", en("Weather", "Rain is expected in the capital on Tuesday afternoon.")),
            "flaky": site.set("/misc/flaky.html", en("Flaky", "The ministry published the list of approved vendors.")),
        }
        with self.sessions.begin() as session:
            ids = {key: add_source(session, url)[0].id for key, url in self.urls.items()}
            session.flush()
            for claim_id, text in CLAIMS.items():
                session.add(Claim(id=claim_id, text=text, tags=[]))
            session.add(DataPoint(id="huawei-belgrade-2019", entity="Huawei", country="Serbia", place="Belgrade",
                                  claim_id="huawei-safe-city-belgrade"))
            session.flush()
            session.add_all([
                Citation(claim_id="hikvision-xinjiang-ijop", source_id=ids["ijop"], quote=IJOP_QUOTE),
                Citation(claim_id="cloudwalk-zimbabwe", source_id=ids["zimbabwe"], quote="建立国家人脸数据库"),
                Citation(datapoint_id="huawei-belgrade-2019", source_id=ids["belgrade"]),
                Citation(claim_id="hikvision-xinjiang-ijop", source_id=ids["belgrade"], note="same vendor list"),
                Citation(claim_id="dahua-uyghur-alerts", source_id=ids["alerts"], quote="flagged people by ethnicity"),
                Citation(claim_id="cloudwalk-zimbabwe", source_id=ids["flaky"]),
            ])
        self.ids = ids
        self.first = self.capture()

    def capture(self) -> int:
        return run_pass(self.config, self.sessions, everything=True).run_id

    def change_three_cited_pages(self) -> None:
        site = self.site
        site.set("/xj/ijop.html", en("Police cloud contracts", "Hikvision won contracts worth 2.4 billion yuan in 2017, filings show."))
        site.set("/zw/cloudwalk.html", "<html><body><h1>404 页面不存在</h1></body></html>", status=404)
        body = site.pages["/rs/belgrade.html"].body
        site.set("/rs/new/belgrade.html", body)
        site.redirect("/rs/belgrade.html", "/rs/new/belgrade.html", 301)
        site.set("/misc/weather.html", en("Weather", "Snow is expected in the capital on Wednesday morning."))
        site.set("/misc/flaky.html", "busy", status=503, content_type="text/plain")


@pytest.fixture
def world(site, config):
    config.notify.retries = 2
    config.notify.retry_delay = 0.05
    config.notify.timeout = 5.0
    return World(site, config)


@pytest.fixture
def webhook():
    hook = Webhook().start()
    yield hook
    hook.stop()


@pytest.fixture
def mail():
    server = MailServer().start()
    yield server
    server.stop()


def use_channels(config, webhook=None, mail=None) -> None:
    if webhook:
        config.notify.webhook_url = webhook.url
    if mail:
        config.notify.smtp_host, config.notify.smtp_port = "127.0.0.1", mail.port
        config.notify.mail_from = "archiver@example.org"
        config.notify.mail_to = ["desk@example.org", "研究组@example.org"]


def test_three_changed_cited_pages_send_one_digest_naming_their_claims(world, webhook, mail):
    use_channels(world.config, webhook, mail)
    assert notify.after_pass(world.config.notify, world.sessions, world.first) == [], "first captures are not news"
    world.change_three_cited_pages()
    run_id = world.capture()

    deliveries = notify.after_pass(world.config.notify, world.sessions, run_id)

    assert [(d.channel, d.ok) for d in deliveries] == [("webhook", True), ("email", True)]
    assert len(webhook.posts) == 1 and len(mail.messages) == 1
    post = webhook.posts[0]
    assert post["run_id"] == run_id
    states = {s["url"]: s["state"] for s in post["sources"]}
    assert states == {world.urls["ijop"]: "altered", world.urls["zimbabwe"]: "deleted", world.urls["belgrade"]: "moved"}
    claims = {c["id"]: c for c in post["claims"]}
    assert set(claims) == {"hikvision-xinjiang-ijop", "cloudwalk-zimbabwe", "huawei-safe-city-belgrade"}
    assert [s["datapoint"] for s in claims["huawei-safe-city-belgrade"]["sources"]] == ["huawei-belgrade-2019"]
    assert claims["cloudwalk-zimbabwe"]["text"] == CLAIMS["cloudwalk-zimbabwe"]
    assert {s["url"] for s in claims["hikvision-xinjiang-ijop"]["sources"]} == {world.urls["ijop"], world.urls["belgrade"]}
    ijop = next(s for s in claims["hikvision-xinjiang-ijop"]["sources"] if s["url"] == world.urls["ijop"])
    assert ijop["quote_status"] == "missing" and ijop["quote"] == IJOP_QUOTE
    moved = next(s for s in post["sources"] if s["state"] == "moved")
    assert moved["final_url"].endswith("/rs/new/belgrade.html")

    text = post["text"]
    assert "3 cited sources changed, 3 claims at risk" in text
    for claim_id in ("hikvision-xinjiang-ijop", "cloudwalk-zimbabwe", "huawei-safe-city-belgrade", "huawei-belgrade-2019"):
        assert claim_id in text
    assert CLAIMS["cloudwalk-zimbabwe"] in text
    assert "quote missing" in text and IJOP_QUOTE in text
    for quiet in ("uncited", "alerts", "flaky"):
        assert world.urls[quiet] not in text, f"{quiet} must not be in the digest"

    sender, recipients, message = mail.messages[0]
    assert sender == "archiver@example.org"
    assert recipients == ["desk@example.org", "研究组@example.org"]
    assert "3 cited sources changed" in message["Subject"]
    body = message.get_content()
    assert body.strip() == text.strip()
    assert "云从科技向津巴布韦政府" in body


def test_nothing_changed_and_a_page_still_deleted_send_nothing(world, webhook):
    use_channels(world.config, webhook)
    unchanged = world.capture()
    assert notify.after_pass(world.config.notify, world.sessions, unchanged) == []
    world.site.set("/zw/cloudwalk.html", "<html><body>gone</body></html>", status=410)
    assert len(notify.after_pass(world.config.notify, world.sessions, world.capture())) == 1
    assert notify.after_pass(world.config.notify, world.sessions, world.capture()) == [], "still deleted is not news"
    assert len(webhook.posts) == 1
    assert [s["state"] for s in webhook.posts[0]["sources"]] == ["deleted"]


def test_a_quote_gone_from_an_otherwise_quiet_page_is_reported(world, webhook):
    use_channels(world.config, webhook)
    world.site.set("/dh/alerts.html", en("Dahua alerts", "The software flagged people by age, the manual said."))
    run_id = world.capture()
    notify.after_pass(world.config.notify, world.sessions, run_id)
    (post,) = webhook.posts
    assert [c["id"] for c in post["claims"]] == ["dahua-uyghur-alerts"]
    assert post["sources"][0]["quotes_missing"][0]["quote"] == "flagged people by ethnicity"
    assert "flagged people by ethnicity" in post["text"]
    assert notify.after_pass(world.config.notify, world.sessions, world.capture()) == [], "still missing is not news"


def test_failing_channels_are_retried_and_recorded_but_never_fail_the_pass(world):
    failing = Webhook(statuses=[500] * 10).start()
    try:
        world.config.notify.webhook_url = failing.url
        world.config.notify.smtp_host, world.config.notify.smtp_port = "127.0.0.1", 9
        world.config.notify.mail_to = ["desk@example.org"]
        world.change_three_cited_pages()
        run_id = world.capture()
        started = time.monotonic()
        deliveries = notify.after_pass(world.config.notify, world.sessions, run_id)
        assert time.monotonic() - started < 20, "retries back off briefly; a dead channel does not hold the pass"
    finally:
        failing.stop()
    assert [(d.channel, d.ok, d.attempts) for d in deliveries] == [("webhook", False, 3), ("email", False, 3)]
    assert len(failing.posts) == 3
    assert "HTTP 500" in deliveries[0].error
    with world.sessions() as session:
        run = session.get(Run, run_id)
    assert run.status == "finished"
    assert "digest not delivered by webhook after 3 attempts" in run.error
    assert "digest not delivered by email" in run.error


def test_a_webhook_that_recovers_gets_the_digest_once(world):
    flaky = Webhook(statuses=[502, 500]).start()
    try:
        world.config.notify.webhook_url = flaky.url
        world.change_three_cited_pages()
        run_id = world.capture()
        (delivery,) = notify.after_pass(world.config.notify, world.sessions, run_id)
    finally:
        flaky.stop()
    assert delivery.ok and delivery.attempts == 3
    assert len(flaky.posts) == 3 and flaky.posts[0] == flaky.posts[2]
    with world.sessions() as session:
        assert session.get(Run, run_id).error is None


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_is_used_when_configured():
    server = MailServer(login=("archiver", "s3cret")).start()
    try:
        config = notify.NotifyConfig(smtp_host="127.0.0.1", smtp_port=server.port, smtp_user="archiver",
                                     smtp_password="s3cret", mail_to=["desk@example.org"], retries=0, timeout=5.0)
        assert [d.ok for d in notify.send_test(config)] == [True]
        config.smtp_password = "wrong"
        (refused,) = notify.send_test(config)
    finally:
        server.stop()
    assert not refused.ok and "refused the login" in refused.error
    assert len(server.messages) == 1


def test_without_a_citation_plugin_every_changed_source_counts(world, webhook, monkeypatch):
    use_channels(world.config, webhook)
    monkeypatch.setattr(notify.plugins, "claims_for_sources", lambda session, ids: None)
    monkeypatch.setattr(notify.plugins, "findings", lambda session, run_id: [])
    world.change_three_cited_pages()
    notify.after_pass(world.config.notify, world.sessions, world.capture())
    (post,) = webhook.posts
    assert world.urls["uncited"] in {s["url"] for s in post["sources"]}
    assert post["claims"] == []
    assert "Sources:" in post["text"]


def cli_config(tmp_path, config, **notify_keys) -> str:
    lines = [f'[database]\nurl = "{config.database.url}"\n[notify]']
    for key, value in notify_keys.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    path = tmp_path / "notify.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_notify_test_command(tmp_path, config, webhook, monkeypatch):
    monkeypatch.delenv("ARCHIVER_WEBHOOK_URL", raising=False)
    runner = CliRunner()
    sent = runner.invoke(main, ["--config", cli_config(tmp_path, config, webhook_url=webhook.url), "notify", "--test"])
    assert sent.exit_code == 0, sent.output
    assert "webhook: sent" in sent.output
    assert webhook.posts[0]["test"] is True and "test message" in webhook.posts[0]["text"]

    nothing = runner.invoke(main, ["--config", cli_config(tmp_path, config), "notify", "--test"])
    assert nothing.exit_code == 1
    assert "no notification channel is configured" in nothing.output

    refused = runner.invoke(main, ["--config", cli_config(tmp_path, config, smtp_host="127.0.0.1", smtp_port=9,
                                                          mail_to=["a@example.org"], retries=0), "notify", "--test"])
    assert refused.exit_code == 1
    assert "email: not sent" in refused.output


def test_notify_run_prints_and_resends_a_digest(world, webhook, tmp_path):
    world.change_three_cited_pages()
    run_id = world.capture()
    runner = CliRunner()
    path = cli_config(tmp_path, world.config, webhook_url=webhook.url)
    shown = runner.invoke(main, ["--config", path, "notify", "--run", str(run_id), "--print"])
    assert shown.exit_code == 0
    assert "cloudwalk-zimbabwe" in shown.output and webhook.posts == []
    resent = runner.invoke(main, ["--config", path, "notify", "--run", str(run_id)])
    assert resent.exit_code == 0 and len(webhook.posts) == 1
    missing = runner.invoke(main, ["--config", path, "notify", "--run", "999"])
    assert missing.exit_code == 1 and "no run 999" in missing.output


def test_archiver_run_sends_the_digest_unless_told_not_to(world, webhook, tmp_path):
    path = cli_config(tmp_path, world.config, webhook_url=webhook.url)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("[fetch]\nallow_private_addresses = true\nper_host_delay = 0.0\n[wayback]\nenabled = false\n")
    world.change_three_cited_pages()
    runner = CliRunner()
    quiet = runner.invoke(main, ["--config", path, "run", "--all", "--no-notify", "--json"])
    assert quiet.exit_code == 0 and webhook.posts == []
    world.site.set("/xj/ijop.html", en("Police cloud contracts", "The contracts were cancelled in 2018, filings show."))
    loud = runner.invoke(main, ["--config", path, "run", "--all", "--json"])
    assert loud.exit_code == 0
    assert json.loads(loud.output)["notified"] == [{"channel": "webhook", "ok": True, "error": None}]
    (post,) = webhook.posts
    assert [c["id"] for c in post["claims"]] == ["hikvision-xinjiang-ijop"]
