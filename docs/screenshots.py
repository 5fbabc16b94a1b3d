"""Take the screenshots of the web interface shown in docs/web.md, so that they stay current.

    python docs/screenshots.py            # writes docs/screenshots/*.png

It runs the demo (`archiver demo`: the bundled English and Chinese pages on loopback, captured,
changed, captured again) into a temporary folder, serves `archiver serve`'s application on a
free loopback port, and photographs the main pages in the system Chromium (/usr/bin/chromium,
driven by Playwright). Nothing leaves this machine.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))

import uvicorn  # noqa: E402

from archiver.config import load_config  # noqa: E402
from archiver.readdb import connect  # noqa: E402
from archiver.web.app import LOOPBACK_NAMES, create_app  # noqa: E402
from evidence.demo import run_demo  # noqa: E402

OUT = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def subjects(db_path: Path) -> dict[str, str]:
    """The pages to photograph, with ids read from the demo archive."""
    with connect(str(db_path)) as db:
        [(altered,)] = db.rows("SELECT id FROM sources WHERE state = 'altered' ORDER BY id LIMIT 1")
        [(chinese,)] = db.rows("SELECT s.id FROM sources s JOIN captures c ON c.source_id = s.id"
                               " WHERE s.lang LIKE 'zh%' AND c.text_sha256 IS NOT NULL GROUP BY s.id"
                               " HAVING count(DISTINCT c.text_sha256) > 1 ORDER BY s.id LIMIT 1") or [(altered,)]
        [(capture,)] = db.rows("SELECT min(id) FROM captures WHERE source_id = ? AND body_sha256 IS NOT NULL", [altered])
        [(claim,)] = db.rows("SELECT claim_id FROM citations WHERE source_id = ? AND claim_id IS NOT NULL LIMIT 1",
                             [altered])
    return {
        "dashboard": "/", "sources": "/sources", "source": f"/source/{altered}",
        "compare": f"/source/{altered}/compare", "compare-chinese": f"/source/{chinese}/compare",
        "archived-page": f"/capture/{capture}/view", "claims": "/claims", "claim-report": f"/claims/{claim}",
        "add": "/add", "search": "/search?q=Example%20Vision",
    }


def serve(config) -> tuple[uvicorn.Server, str]:
    server = uvicorn.Server(uvicorn.Config(create_app(config, allowed_hosts=LOOPBACK_NAMES), host="127.0.0.1",
                                           port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def photograph(base: str, pages: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width, height, suffix in ((1280, 900, ""), (390, 844, "-phone")):
            page = browser.new_page(viewport={"width": width, "height": height}, base_url=base)
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                       else route.abort())
            for name, address in pages.items():
                if suffix and name not in ("dashboard", "compare"):
                    continue
                page.goto(address)
                page.screenshot(path=str(OUT / f"{name}{suffix}.png"), full_page=False)
                print(f"docs/screenshots/{name}{suffix}.png  {address}")
            page.close()
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db_path, config_path = Path(folder) / "demo.db", Path(folder) / "config.toml"
        run_demo(db_path, config_path)
        server, base = serve(load_config(config_path, env={}))
        try:
            photograph(base, subjects(db_path))
        finally:
            server.should_exit = True


if __name__ == "__main__":
    main()
