"""A real OpenID Connect provider on loopback for the STS tests: RS256 and ES256 keys (cryptography), tokens signed
with PyJWT, the discovery document and key set served over HTTP, key rotation on demand."""
import base64
import http.server
import json
import socketserver
import threading
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def _b64(number, length=None):
    raw = number.to_bytes(length or (number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OIDCProvider:
    def __init__(self):
        self.keys = {}
        self.add_key("rsa-1", "RS256")
        self.add_key("ec-1", "ES256")
        self.requests = 0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                provider.requests += 1
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": provider.issuer + "/jwks", "id_token_signing_alg_values_supported": ["RS256", "ES256"]}
                elif self.path == "/jwks":
                    body = provider.jwks()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add_key(self, kid, alg):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg.startswith("RS") else ec.generate_private_key(ec.SECP256R1())
        self.keys[kid] = (alg, key)

    def jwks(self):
        out = []
        for kid, (alg, key) in self.keys.items():
            public = key.public_key().public_numbers()
            if alg.startswith("RS"):
                out.append({"kty": "RSA", "kid": kid, "alg": alg, "use": "sig", "n": _b64(public.n), "e": _b64(public.e)})
            else:
                out.append({"kty": "EC", "kid": kid, "alg": alg, "use": "sig", "crv": "P-256", "x": _b64(public.x, 32), "y": _b64(public.y, 32)})
        return {"keys": out}

    def token(self, kid="rsa-1", lifetime=300, **claims):
        alg, key = self.keys[kid]
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": "strata", "sub": "job-42", "iat": now, "nbf": now, "exp": now + lifetime, **claims}
        return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
