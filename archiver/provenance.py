"""The provenance record of a capture: how it was collected, hop by hop.

Investigators are asked to show how a page was collected, not only what came back (the
Berkeley Protocol's "collection record"). Every live capture, plain or rendered, carries one:
for each request of its redirect chain the address it was sent to, the resolved IP address,
the request and response headers, the protocol, and for https the TLS version, cipher and the
server's certificate chain (fingerprint, subject, issuer, validity); then the user agent and
the versions of the software that made it (the archiver, httpx, Python, OpenSSL, and Chromium
for a rendered capture).

The record is a small dataclass stored as JSON on the capture (`captures.provenance`, sealed
into the hash chain). It is meant to grow: `extra` holds any further facts (a vantage point,
a proxy), and readers keep keys they do not know. Certificates are stored once each as blobs
of their DER bytes, named by their SHA-256, which is also their fingerprint: the record names
them, `certificate_pems` reads them back as PEM.
"""

from __future__ import annotations

import platform
import ssl
from dataclasses import asdict, dataclass, field
from datetime import datetime

import httpx
from cryptography import x509

from archiver import __version__
from archiver.blobs import sha256_hex

PROVENANCE_VERSION = 1
_ENCODING_DER = 2  # _ssl.ENCODING_DER: what _ssl.Certificate.public_bytes(2) writes (1 is PEM)
_EXCHANGE_KEYS = frozenset(("url", "status", "server_ip", "http_version", "request_headers", "response_headers",
                            "tls", "started_at", "client"))


@dataclass
class Certificate:
    """One certificate of a server's chain, as recorded (its DER bytes are the blob `sha256`)."""

    sha256: str
    subject: str
    issuer: str
    not_before: str
    not_after: str
    serial: str


@dataclass
class Tls:
    """The secure connection a response came over: protocol version, cipher, the server's chain
    (leaf first). `der` holds the certificates' bytes until they are stored; it is not part of
    the record."""

    version: str | None
    cipher: str | None
    chain: list[Certificate] = field(default_factory=list)
    # What a browser reports of the certificate when the chain itself is not available to it.
    details: dict | None = None
    der: list[bytes] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Exchange:
    """One request and its response: a hop of the redirect chain, or the page itself."""

    url: str
    status: int | None
    server_ip: str | None
    http_version: str | None
    request_headers: list[list[str]]
    response_headers: list[list[str]]
    tls: Tls | None = None
    started_at: str | None = None
    client: str = "httpx"  # what sent the request: "httpx" (a plain fetch) or "chromium"


@dataclass
class Provenance:
    """How one capture was collected. `agent` is "httpx" for a plain fetch, "chromium" for a
    rendered one; `browser` says how the browser was set up; `extra` is for facts added later."""

    agent: str
    user_agent: str | None
    software: dict[str, str]
    exchanges: list[Exchange] = field(default_factory=list)
    browser: dict | None = None
    extra: dict = field(default_factory=dict)
    version: int = PROVENANCE_VERSION

    def to_dict(self) -> dict:
        """The record as stored: plain JSON data, certificate bytes left out."""
        data = asdict(self)
        for exchange in data["exchanges"]:
            if exchange["tls"]:
                exchange["tls"].pop("der", None)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Provenance:
        """Read a stored record back; keys this version does not know go to `extra`."""
        known = {"agent", "user_agent", "software", "exchanges", "browser", "extra", "version"}
        exchanges = []
        for item in data.get("exchanges") or []:
            tls = item.get("tls")
            if tls:
                tls = Tls(tls.get("version"), tls.get("cipher"),
                          [Certificate(**{k: v for k, v in c.items() if k != "pem"}) for c in tls.get("chain") or []],
                          tls.get("details"))
            exchanges.append(Exchange(**{**{k: v for k, v in item.items() if k in _EXCHANGE_KEYS}, "tls": tls}))
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in known})
        return cls(agent=data.get("agent", "httpx"), user_agent=data.get("user_agent"),
                   software=dict(data.get("software") or {}), exchanges=exchanges, browser=data.get("browser"),
                   extra=extra, version=data.get("version", PROVENANCE_VERSION))

    def certificates(self) -> dict[str, bytes]:
        """The DER bytes of every certificate still held, by SHA-256: the blobs to store."""
        found = {}
        for exchange in self.exchanges:
            if exchange.tls:
                for cert, der in zip(exchange.tls.chain, exchange.tls.der):
                    found[cert.sha256] = der
        return found


def software_versions(**more: str) -> dict[str, str]:
    """The versions of the software a capture was made with."""
    return {"archiver": __version__, "httpx": httpx.__version__, "python": platform.python_version(),
            "openssl": ssl.OPENSSL_VERSION, **more}


def _certificate(der: bytes) -> Certificate:
    cert = x509.load_der_x509_certificate(der)
    return Certificate(
        sha256=sha256_hex(der),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        serial=format(cert.serial_number, "x"),
    )


def tls_of(ssl_object) -> Tls | None:
    """What an open TLS connection says about itself: version, cipher, and the verified chain
    (the unverified one when verification was off), leaf first."""
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    chain_of = getattr(ssl_object, "get_verified_chain", None)  # public from Python 3.13
    inner = getattr(ssl_object, "_sslobj", None)
    if chain_of is None and inner is not None:
        chain_of = getattr(inner, "get_verified_chain", None)
    ders: list[bytes] = []
    try:
        certs = chain_of() if chain_of else None
        if certs:
            ders = [c if isinstance(c, bytes) else c.public_bytes(_ENCODING_DER) for c in certs]
        else:
            leaf = ssl_object.getpeercert(binary_form=True)
            ders = [leaf] if leaf else []
    except (ssl.SSLError, ValueError, AttributeError):
        ders = []
    chain = []
    for der in ders:
        try:
            chain.append(_certificate(der))
        except ValueError:
            continue
    kept = {c.sha256 for c in chain}
    return Tls(version=ssl_object.version(), cipher=cipher[0] if cipher else None, chain=chain,
               der=[d for d in ders if sha256_hex(d) in kept])


def exchange(url: str, status: int | None, server_ip: str | None, http_version: str | None,
             request_headers: dict[str, str], response_headers: list[tuple[str, str]], tls: Tls | None,
             started_at: datetime | None) -> Exchange:
    """One hop as recorded."""
    return Exchange(url=url, status=status, server_ip=server_ip, http_version=http_version,
                    request_headers=[[k, v] for k, v in request_headers.items()],
                    response_headers=[[k, v] for k, v in response_headers], tls=tls,
                    started_at=started_at.isoformat() if started_at else None)


def plain_provenance(exchanges: list[Exchange], user_agent: str) -> Provenance:
    """The record of a plain (httpx) capture."""
    return Provenance(agent="httpx", user_agent=user_agent, software=software_versions(), exchanges=list(exchanges))


def certificate_pems(session, record: dict | None) -> dict[str, str]:
    """The PEM text of every certificate a stored record names, by fingerprint (missing blobs left out)."""
    from archiver.store import MissingBlob, get_blob

    pems = {}
    for item in (record or {}).get("exchanges") or []:
        for cert in ((item.get("tls") or {}).get("chain") or []):
            key = cert.get("sha256")
            if key and key not in pems:
                try:
                    pems[key] = ssl.DER_cert_to_PEM_cert(get_blob(session, key))
                except MissingBlob:
                    continue
    return pems


def with_pems(session, record: dict | None) -> dict | None:
    """A stored record with each certificate's PEM text filled in: what an export carries."""
    if record is None:
        return None
    pems = certificate_pems(session, record)
    data = Provenance.from_dict(record).to_dict()
    for item in data["exchanges"]:
        for cert in ((item.get("tls") or {}).get("chain") or []):
            cert["pem"] = pems.get(cert["sha256"])
    return data


def describe(record: dict | None, pems: dict[str, str] | None = None) -> list[str]:
    """A stored record as lines of text for a reader (`archiver show URL --provenance`, reports);
    with `pems`, each certificate's PEM text follows it."""
    if not record:
        return ["no provenance record (a capture made before provenance was recorded, or not fetched live)"]
    prov = Provenance.from_dict(record)
    lines = [f"collected by: {prov.agent}", f"user agent: {prov.user_agent or '-'}",
             "software: " + ", ".join(f"{k} {v}" for k, v in sorted(prov.software.items()))]
    if prov.browser:
        lines.append("browser: " + ", ".join(f"{k} {v}" for k, v in sorted(prov.browser.items())))
    lines += [f"{key}: {value}" for key, value in sorted(prov.extra.items())]
    for number, item in enumerate(prov.exchanges, 1):
        by = "" if item.client == "httpx" else f" (by {item.client})"
        lines.append(f"request {number}{by}: GET {item.url}")
        lines.append(f"  sent {item.started_at or '-'} to {item.server_ip or 'an unknown address'}; "
                     f"answer {item.status if item.status is not None else '-'} over {item.http_version or '-'}")
        lines += [f"  > {name}: {value}" for name, value in item.request_headers]
        lines += [f"  < {name}: {value}" for name, value in item.response_headers]
        if item.tls:
            lines.append(f"  TLS: {item.tls.version or '-'}, cipher {item.tls.cipher or '-'}")
            if item.tls.details:
                lines.append("  certificate as the browser reports it: "
                             + "; ".join(f"{k} {v}" for k, v in sorted(item.tls.details.items())))
            for depth, cert in enumerate(item.tls.chain):
                lines.append(f"  certificate {depth}: subject {cert.subject}")
                lines.append(f"    issuer {cert.issuer}")
                lines.append(f"    valid {cert.not_before} to {cert.not_after}; serial {cert.serial}")
                lines.append(f"    SHA-256 fingerprint {cert.sha256}")
                if pems and pems.get(cert.sha256):
                    lines += ["    " + line for line in pems[cert.sha256].strip().splitlines()]
    if not prov.exchanges:
        lines.append("no request got an answer")
    return lines
