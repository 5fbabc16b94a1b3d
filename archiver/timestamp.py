"""Trusted timestamps (RFC 3161) of the capture chain head: proof, from a third party, that
the archive held a given capture chain no later than a given moment.

What is timestamped is the head capture's record hash, which is itself the SHA-256 of that
capture's canonical sealed record (see archiver.chain): the token's message imprint is that
record hash, as a SHA-256 imprint. Because every record hash covers the previous one, one
token vouches for every capture up to the head. Rewriting history after a timestamp,
even by recomputing the whole chain, changes the timestamped capture's record hash, and
`archiver verify` reports it.

Off by default: set `tsa_url` in the [integrity] section of config.toml to an RFC 3161
timestamp authority, then run `archiver timestamp` (by hand or after nightly runs).
Tokens are kept in the chain_heads table (rows after row 1) and checked by `verify`:
the imprint must match, and the token's signature must verify with the certificate it
carries, which must be a timestamping certificate. Whether that certificate belongs to
an authority you trust is a separate question: the token can be checked against the
authority's CA certificate with `openssl ts -verify` (see docs/integrity.md).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from asn1crypto import cms, core, tsp, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from sqlalchemy.orm import Session

from archiver import TOOL_NAME, __version__
from archiver.models import ChainHead, utcnow

HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
          "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class _TimeStampResp(core.Sequence):
    """TimeStampResp with the token optional, as RFC 3161 has it: a refusal carries only a status."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", core.Any, {"optional": True})]


class TimestampError(Exception):
    """A timestamp could not be obtained, or a stored token does not hold up."""


@dataclass
class TokenInfo:
    """What a valid token says: when, by whom (the signing certificate's subject), its serial and policy."""

    gen_time: datetime
    authority: str
    serial_number: int
    policy: str
    nonce: int | None

    def as_json(self) -> dict:
        return {"time": self.gen_time.isoformat(), "authority": self.authority,
                "serial_number": str(self.serial_number), "policy": self.policy}


def build_request(record_hash: str, nonce: int) -> bytes:
    """A DER TimeStampReq for the record hash (a SHA-256 imprint), asking for the certificate."""
    return tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": bytes.fromhex(record_hash)},
        "nonce": nonce,
        "cert_req": True,
    }).dump()


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if cert.issuer == wanted["issuer"] and cert.serial_number == wanted["serial_number"].native:
                return cert
        elif sid.name == "subject_key_identifier" and cert.key_identifier == sid.chosen.native:
            return cert
    raise TimestampError("the token does not carry the certificate that signed it")


def _check_signature(cert: x509.Certificate, signer: cms.SignerInfo, signed_bytes: bytes) -> None:
    public_key = cx509.load_der_x509_certificate(cert.dump()).public_key()
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in HASHES:
        raise TimestampError(f"the token uses an unsupported digest algorithm ({digest_name})")
    algorithm = HASHES[digest_name]()
    signature = signer["signature"].native
    scheme = signer["signature_algorithm"].signature_algo
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            if scheme == "rsassa_pss":
                params = signer["signature_algorithm"]["parameters"]
                pad = padding.PSS(mgf=padding.MGF1(HASHES[params["mask_gen_algorithm"]["parameters"]["algorithm"].native]()),
                                  salt_length=params["salt_length"].native)
                public_key.verify(signature, signed_bytes, pad, algorithm)
            else:
                public_key.verify(signature, signed_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed_bytes, ec.ECDSA(algorithm))
        else:
            raise TimestampError(f"the token is signed with an unsupported key type ({type(public_key).__name__})")
    except InvalidSignature:
        raise TimestampError("its signature does not verify: the token was altered or is not genuine") from None


def verify_token(token: bytes, record_hash: str) -> TokenInfo:
    """Check a stored TimeStampToken against the record hash it should cover; return what it says.

    Raises TimestampError naming what is wrong.
    """
    try:
        info = cms.ContentInfo.load(token)
        if info["content_type"].native != "signed_data":
            raise TimestampError("the token is not CMS signed data")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("the token does not hold timestamp information (TSTInfo)")
        tst_bytes = encap["content"].contents
        tst = tsp.TSTInfo.load(tst_bytes)
        imprint = tst["message_imprint"]
        signers = list(signed["signer_infos"])
        if len(signers) != 1:
            raise TimestampError(f"the token has {len(signers)} signers instead of one")
        signer = signers[0]
        signed_attrs = signer["signed_attrs"]
        if not signed_attrs:
            raise TimestampError("the token's signature covers no signed attributes")
        attrs = {attr["type"].native: attr["values"][0] for attr in signed_attrs}
        digest_name = signer["digest_algorithm"]["algorithm"].native
        if digest_name not in HASHES:
            raise TimestampError(f"the token uses an unsupported digest algorithm ({digest_name})")
        if attrs.get("content_type") is None or attrs["content_type"].native != "tst_info":
            raise TimestampError("the token's signed content type is not TSTInfo")
        if attrs.get("message_digest") is None or attrs["message_digest"].native != hashlib.new(digest_name, tst_bytes).digest():
            raise TimestampError("the timestamp information was altered after it was signed")
        cert = _signer_certificate(signed, signer)
        _check_signature(cert, signer, b"\x31" + signed_attrs.dump()[1:])
        usages = cert.extended_key_usage_value
        if usages is None or "time_stamping" not in usages.native:
            raise TimestampError("the signing certificate is not a timestamping certificate")
        if imprint["hash_algorithm"]["algorithm"].native != "sha256" or \
                imprint["hashed_message"].native != bytes.fromhex(record_hash or ""):
            raise TimestampError(f"it covers {imprint['hashed_message'].native.hex()}, not record hash {record_hash}")
        return TokenInfo(
            gen_time=tst["gen_time"].native,
            authority=cert.subject.human_friendly,
            serial_number=tst["serial_number"].native,
            policy=tst["policy"].dotted,
            nonce=tst["nonce"].native,
        )
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TimestampError(f"the token cannot be read ({exc})") from None


def request_timestamp(record_hash: str, tsa_url: str, *, timeout: float = 30.0) -> tuple[bytes, TokenInfo]:
    """Ask the authority at `tsa_url` to timestamp `record_hash`; return the checked token and what it says."""
    nonce = secrets.randbits(63)
    try:
        response = httpx.post(
            tsa_url, content=build_request(record_hash, nonce), timeout=timeout,
            headers={"Content-Type": "application/timestamp-query", "User-Agent": f"{TOOL_NAME}/{__version__}"},
        )
    except httpx.HTTPError as exc:
        raise TimestampError(f"cannot reach the timestamp authority {tsa_url}: {exc}") from None
    if response.status_code != 200:
        raise TimestampError(f"the timestamp authority {tsa_url} answered HTTP {response.status_code}")
    try:
        answer = _TimeStampResp.load(response.content)
        status = answer["status"]["status"].native
        texts = answer["status"]["status_string"].native or []
        token = None if isinstance(answer["time_stamp_token"], core.Void) else answer["time_stamp_token"].dump()
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"the timestamp authority {tsa_url} sent something that is not a timestamp "
                             f"response ({exc})") from None
    if status not in ("granted", "granted_with_mods"):
        detail = f": {'; '.join(texts)}" if texts else ""
        raise TimestampError(f"the timestamp authority {tsa_url} refused the request ({status}{detail})")
    if token is None:
        raise TimestampError(f"the timestamp authority {tsa_url} granted the request but sent no token")
    info = verify_token(token, record_hash)
    if info.nonce != nonce:
        raise TimestampError(f"the timestamp authority {tsa_url} answered a different request (nonce mismatch)")
    return token, info


def timestamp_chain_head(session: Session, tsa_url: str, *, timeout: float = 30.0) -> tuple[ChainHead, TokenInfo]:
    """Timestamp the current chain head and keep the token (a new chain_heads row), in the caller's transaction."""
    if not tsa_url:
        raise TimestampError("no timestamp authority configured: set tsa_url in the [integrity] section of "
                             "config.toml to an RFC 3161 timestamp authority's URL")
    head = session.get(ChainHead, 1)
    if head is None or head.capture_id is None or not head.record_hash:
        raise TimestampError("there is nothing to timestamp yet: the archive holds no captures")
    token, info = request_timestamp(head.record_hash, tsa_url, timeout=timeout)
    row = ChainHead(capture_id=head.capture_id, event_id=head.event_id, record_hash=head.record_hash,
                    tsa_url=tsa_url, tsa_token=token, created_at=utcnow())
    session.add(row)
    session.flush()
    return row, info
