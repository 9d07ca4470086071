"""A software FIDO2 authenticator for server-side tests: a real P-256 key pair, real
signatures and CBOR, "none" attestation, as a security key answers the browser. Nothing of the
server is replaced; what the tests change is what a key or an attacker could send."""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40
AAGUID = bytes(range(16))


@dataclass
class Authenticator:
    rp_id: str = "testserver"
    origin: str = "http://testserver"
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sign_count: int = 0
    counts: bool = True  # False: a key that keeps no counter (it always says 0), as many passkeys

    def copy(self) -> Authenticator:
        """A clone: the same key and credential, its counter where the original's was."""
        return Authenticator(self.rp_id, self.origin, self.key, self.credential_id, self.sign_count,
                             self.counts)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(
            ">I", self.sign_count) + attested

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}).encode()

    def create(self, options_json: str, *, origin: str | None = None) -> str:
        """The answer to navigator.credentials.create() with these options (JSON)."""
        options: dict[str, Any] = json.loads(options_json)
        client_data = self._client_data("webauthn.create", options["challenge"], origin or self.origin)
        attested = AAGUID + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {},
                                   "authData": self._auth_data(UP | UV | AT, attested)})
        return json.dumps({
            "id": bytes_to_base64url(self.credential_id), "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key", "clientExtensionResults": {},
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "attestationObject": bytes_to_base64url(attestation), "transports": ["usb"]},
        })

    def get(self, options_json: str, *, origin: str | None = None, challenge: str | None = None) -> str:
        """The answer to navigator.credentials.get(): the counter goes up, the challenge and
        the origin are signed."""
        options: dict[str, Any] = json.loads(options_json)
        self.sign_count += 1 if self.counts else 0
        client_data = self._client_data("webauthn.get", challenge or options["challenge"],
                                        origin or self.origin)
        auth_data = self._auth_data(UP | UV)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": bytes_to_base64url(self.credential_id), "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key", "clientExtensionResults": {},
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "authenticatorData": bytes_to_base64url(auth_data),
                         "signature": bytes_to_base64url(signature)},
        })


def tamper_client_data(answer: str, **changes: Any) -> str:
    """The same answer (same signature) with fields of its client data changed."""
    data = json.loads(answer)
    client = json.loads(base64url_to_bytes(data["response"]["clientDataJSON"]))
    client.update(changes)
    data["response"]["clientDataJSON"] = bytes_to_base64url(json.dumps(client).encode())
    return json.dumps(data)
