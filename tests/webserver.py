"""The web interface under test: a real archive made by real capture passes of loopback pages,
served by uvicorn on a free loopback port, and the system Chromium driven by Playwright."""

from __future__ import annotations

import concurrent.futures
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from archiver.capture import run_pass
from archiver.db import open_database
from archiver.sources import add_source
from archiver.web.app import LOOPBACK_NAMES, create_app
from evidence.claims import Target, add_claim, cite

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

EN_OLD = ("<html><head><title>Ministry signs camera deal</title></head><body><article>"
          "<h1>Ministry signs camera deal</h1><p>The ministry of public security signed an agreement with the "
          "company on 3 May 2019 to install 1,200 cameras in the city centre, officials said on Tuesday.</p>"
          "<p>The project is part of the smart city programme announced last year by the provincial government, "
          "which plans similar contracts in four other cities before the end of the decade.</p></article></body></html>")
EN_NEW = EN_OLD.replace("1,200 cameras", "800 cameras").replace("officials said on Tuesday", "a spokesman said")
ZH_OLD = ("<html><head><meta charset='utf-8'><title>关于智慧城市视频监控平台建设的通知</title></head><body><article>"
          "<h1>关于智慧城市视频监控平台建设的通知</h1><p>市公安局与海康威视签署合作协议，在城区建设视频监控平台，"
          "项目总投资三千万元，计划于年底前完成全部安装工作。</p><p>该项目是省政府去年公布的智慧城市建设计划的一部分，"
          "今后还将在其他四个城市推进同类项目。</p></article></body></html>")
ZH_NEW = ZH_OLD.replace("海康威视", "大华股份").replace("三千万元", "五千万元")


@dataclass
class Archive:
    """A store made by two real passes: an English and a Chinese page, each edited between them,
    one claim citing both with quotes."""

    config: object
    sessions: object
    en_url: str
    zh_url: str
    en_id: int
    zh_id: int


def capture_all(config, sessions) -> None:
    """A capture pass over every source, in a thread of its own: Playwright's sync API keeps an
    event loop running in the test's thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(run_pass, config, sessions, everything=True).result()


def make_archive(site, config) -> Archive:
    """Two passes over two loopback pages, edited between the passes, cited by claim `cams`."""
    sessions = open_database(config.database.url)
    en_url = site.set("/en/deal.html", EN_OLD)
    zh_url = site.set("/zh/notice.html", ZH_OLD.encode("utf-8"))
    with sessions.begin() as session:
        en, _ = add_source(session, en_url, lang="en", title="Ministry signs camera deal")
        zh, _ = add_source(session, zh_url, lang="zh")
        add_claim(session, "The ministry bought 1,200 cameras from Hikvision", claim_id="cams", tags=["hikvision"])
        cite(session, Target(claim_id="cams"), en_url, quote="install 1,200 cameras in the city centre")
        cite(session, Target(claim_id="cams"), zh_url, quote="市公安局与海康威视签署合作协议")
        en_id, zh_id = en.id, zh.id
    capture_all(config, sessions)
    site.set("/en/deal.html", EN_NEW)
    site.set("/zh/notice.html", ZH_NEW.encode("utf-8"))
    capture_all(config, sessions)
    return Archive(config, sessions, en_url, zh_url, en_id, zh_id)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """The web interface of `config` under uvicorn on 127.0.0.1, in a thread."""

    def __init__(self, config, sessions=None) -> None:
        self.app = create_app(config, sessions=sessions, allowed_hosts=LOOPBACK_NAMES)
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web interface did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def chromium_or_skip() -> None:
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip("headless Chromium not installed: apt-get install -y chromium (CI installs it)")
