"""`archiver demo`: the whole story on a bundled demo site, offline, in a few seconds.

A small web site (evidence/demo_site/site: English and Chinese pages of a fictional
newspaper and police bureau, one of them GBK-encoded) is served on 127.0.0.1. The demo imports
its bibliography (demo_site/bibliography.csv: claims, a data point, quotes), captures every
page, then changes the site the way real sites change: a number inside a quoted sentence is
edited, one page is deleted (404), one is replaced by a Chinese "page not found" notice served
with status 200, one now redirects to the home page, and a view counter ticks (noise, not
change). It captures again and prints the status table and a citation report.

A second small site (demo_site/portal: a procurement portal whose notice only appears once its
JavaScript runs) shows rendered capture: its plain fetch is an empty shell, so the pass renders
it with Chromium (archiver.rendering) and the quote is found in the rendered text; the demo then
takes its full-page screenshot (`archiver screenshot URL`) and links it.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path

import click

from archiver.capture import run_pass
from archiver.config import load_config
from archiver.db import DatabaseError, open_database
from archiver.screenshots import Screenshot
from evidence import render
from evidence.csvio import import_rows, parse_csv
from evidence.report import all_reports, claim_report

DELETED = ("/en/lab-opening.html",)
REDIRECTED = {"/en/partnership.html": "/"}
REPORTED_CLAIM = "northgate-camera-contract"


def demo_root() -> Path:
    """The bundled demo site folder (pages, changed pages, bibliography)."""
    return Path(str(files("evidence") / "demo_site"))


def _pages(folder: Path) -> dict[str, bytes]:
    return {"/" + p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.html"))}


PORTAL_PAGE = "/award.html"


@dataclass
class DemoSite:
    """A demo site on loopback: pages from demo_site/<folder> ("site", changed by `change()`, or "portal")."""

    pages: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    folder: str = "site"

    def start(self) -> DemoSite:
        self.pages = _pages(demo_root() / self.folder)
        self.pages["/"] = self.pages.get("/index.html", b"<html><body><p>Demo portal</p></body></html>")
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                if path in site.redirects:
                    self.send_response(301)
                    self.send_header("Location", site.base + site.redirects[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = site.pages.get(path)
                status = 200 if body is not None else 404
                if body is None:
                    body = b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def change(self) -> None:
        """Alter, delete, replace and redirect pages as described in the module notes."""
        self.pages.update(_pages(demo_root() / "changed"))
        for path in DELETED:
            self.pages.pop(path, None)
        for path, target in REDIRECTED.items():
            self.pages.pop(path, None)
            self.redirects[path] = target

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def demo_app(config_path: Path):
    """The CLI's App on the demo's own settings; environment variables such as
    ARCHIVER_DATABASE_URL are ignored, so the demo never writes to the user's database."""
    from archiver.cli.app import App

    app = App(str(config_path))
    app.config = load_config(config_path, env={})
    return app


def demo_config_text(db_url: str) -> str:
    """Settings for the demo: loopback pages allowed, no politeness delay, Wayback off."""
    return (
        f'[database]\nurl = "{db_url}"\n\n'
        "[fetch]\nallow_private_addresses = true\nper_host_delay = 0.0\ntimeout = 10.0\ntotal_timeout = 20.0\n\n"
        "[capture]\nextract_workers = 1\n\n"
        "[wayback]\nenabled = false\n\n"
        "# Screenshots of every new and changed page would cost the demo a browser visit each: it takes one on purpose.\n"
        "[browser]\nscreenshots = false\n"
    )


@dataclass
class DemoResult:
    """Where the demo kept its data, and what it found."""

    config_path: Path
    db_url: str
    site_base: str
    runs: list = field(default_factory=list)
    portal_url: str | None = None
    screenshot: Screenshot | None = None  # of the rendered portal page
    screenshot_error: str | None = None


def run_demo(db_path: Path, config_path: Path, echo=lambda text: None, site: DemoSite | None = None) -> DemoResult:
    """Serve the demo site, import its bibliography into the SQLite file db_path, capture, change
    the site, capture again. The demo's settings are written to config_path.

    The site is stopped at the end unless it was passed in.
    """
    db_url = f"sqlite:///{db_path}"
    config_path.write_text(demo_config_text(db_url), encoding="utf-8")
    config = load_config(config_path, env={})
    own_site = site is None
    site = site or DemoSite().start()
    portal = DemoSite(folder="portal").start()
    result = DemoResult(config_path, db_url, site.base, portal_url=portal.base + PORTAL_PAGE)
    try:
        sessions = open_database(config.database.url)
        template = (demo_root() / "bibliography.csv").read_text(encoding="utf-8")
        parsed = parse_csv(template.replace("{site}", site.base).replace("{portal}", portal.base))
        with sessions.begin() as session:
            summary = import_rows(session, parsed.rows)
        echo(f"Demo site at {site.base}: imported {summary.new_sources} sources, {summary.new_claims} claims, "
             f"{summary.new_datapoints} data points, {summary.new_citations} citations.")
        first = run_pass(config, sessions, everything=True, trigger="demo")
        result.runs.append(first)
        echo(f"First capture pass: {_counts(first)}.")
        site.change()
        echo("The site changes: a number in a quoted sentence is edited, a page is deleted (404), a Chinese page "
             "is replaced by 「页面不存在」, a page now redirects to the home page, a view counter ticks.")
        second = run_pass(config, sessions, everything=True, trigger="demo")
        result.runs.append(second)
        echo(f"Second capture pass: {_counts(second)}.")
        _screenshot(config, sessions, result, echo)
        sessions.kw["bind"].dispose()
    finally:
        portal.stop()
        if own_site:
            site.stop()
    return result


def _screenshot(config, sessions, result: DemoResult, echo) -> None:
    """Take the rendered portal page's screenshot now (as `archiver screenshot URL` does)."""
    from sqlalchemy import select

    from archiver.models import Capture, Source
    from archiver.screenshots import screenshots_for

    with sessions() as session:
        source = session.scalars(select(Source).where(Source.url == result.portal_url)).one()
    run = run_pass(config, sessions, everything=True, source_ids=[source.id], trigger="demo", screenshot=True)
    with sessions() as session:
        capture = session.scalars(select(Capture).where(Capture.run_id == run.run_id)).one()
        shots = screenshots_for(session, capture.id)
        rendered = capture.rendered_sha256 is not None
    if shots:
        result.screenshot = shots[-1]
        echo(f"The procurement portal writes its notice with JavaScript: captured with a browser "
             f"({'rendered' if rendered else 'plain'}), screenshot {shots[-1].width}x{shots[-1].height} px, "
             f"sha256 {shots[-1].sha256[:16]}… (archiver screenshot URL).")
    else:
        result.screenshot_error = capture.error or "the browser could not show the page"
        echo(f"No screenshot of the procurement portal: {result.screenshot_error}")


def _counts(summary) -> str:
    return ", ".join(f"{n} {state}" for state, n in sorted(summary.counts.items())) or "nothing captured"


@click.command("demo")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Keep the demo database in this new SQLite "
              "file, with its settings and an HTML report next to it (default: a temporary folder, removed at the end).")
@click.option("--keep", is_flag=True, help="Keep the temporary folder with the database, settings and HTML report.")
@click.pass_context
def demo_command(ctx: click.Context, db_path: str | None, keep: bool) -> None:
    """Run the whole story offline on a bundled demo site, in a few seconds.

    Serves English and Chinese pages (one GBK-encoded) on 127.0.0.1, tracks them with claims
    and quotes, captures them, changes and deletes some, captures again, then prints the status
    table and a citation report. Never touches your own database.
    """
    from archiver.cli.app import console, fail
    from archiver.cli.sources import status

    workdir = None
    if db_path:
        db = Path(db_path).resolve()
        if db.exists():
            fail(f"{db_path} already exists; give a new file name for the demo database", code=2)
        if not db.parent.is_dir():
            fail(f"folder {db.parent} does not exist", code=2)
        config_path, html_path = db.with_name(db.stem + "-config.toml"), db.with_name(db.stem + "-report.html")
    else:
        workdir = Path(tempfile.mkdtemp(prefix="archiver-demo-"))
        db, config_path, html_path = workdir / "demo.db", workdir / "demo-config.toml", workdir / "report.html"
    try:
        result = run_demo(db, config_path, echo=click.echo)
        app = demo_app(result.config_path)
        ctx.obj = app
        console.rule("Status of every tracked page")
        ctx.invoke(status, state=None, as_json=False, limit=None)
        with app.reader() as reader:
            report = claim_report(reader, REPORTED_CLAIM)
            overview = all_reports(reader)
        console.rule(f"Citation report for claim {REPORTED_CLAIM} (archiver report {REPORTED_CLAIM})")
        click.echo(render.report_md(report))
        console.rule("Every claim, those at risk first (archiver report --all)")
        for item in overview:
            click.echo(f"  {item.verdict.level:<10} {item.id}: {item.verdict.summary}")
        if keep or db_path:
            from evidence.cli import write_report_screenshots

            html_path.write_text(render.reports_html(overview, report.generated_at), encoding="utf-8")
            write_report_screenshots(app, overview, html_path.parent)
            click.echo(f"\nDatabase: {db}\nSettings: {config_path}\nHTML report: {html_path}")
            if result.screenshot is not None:
                click.echo(f"Screenshot of the rendered portal page: "
                           f"{html_path.parent / render.screenshot_path(result.screenshot.sha256)}")
            click.echo(f"Look further with: archiver --config {config_path} report --all")
    except DatabaseError as exc:
        fail(str(exc))
    finally:
        if workdir is not None and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
