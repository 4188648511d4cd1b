import Crypto
import Foundation
import Glibc
import S3Protocol
import StrataStore
import Synchronization

/// Strata as an OpenID Connect issuer: its discovery document and key set on the S3 listener, and ES256 tokens it
/// signs for itself (to authenticate to an upstream's STS). The signing keys live under the root's private state
/// (`.strata/oidc-keys.json`, mode 0600), made at first start; a rotation keeps the old key in the key set until the
/// tokens it signed have expired.
final class OIDCIssuer: Sendable {
    let issuer: String
    let path: String
    /// Tokens live at most this long, so a retired key is published this long after its retirement.
    static let maxTokenSeconds: Int64 = 3600

    struct Key: Codable, Sendable {
        var kid: String
        /// The P-256 private key's raw representation, base64.
        var privateKey: String
        var created: Int64
        var retired: Int64?

        var signingKey: P256.Signing.PrivateKey? {
            Data(base64Encoded: privateKey).flatMap { try? P256.Signing.PrivateKey(rawRepresentation: $0) }
        }
    }
    private let keys: Mutex<[Key]>

    init(issuer: String, root: String) throws {
        self.issuer = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        let directory = (root.hasSuffix("/") ? root : root + "/") + ".strata"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        path = directory + "/oidc-keys.json"
        var loaded = (try? JSONDecoder().decode([Key].self, from: Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
        if loaded.first(where: { $0.retired == nil }) == nil {
            loaded.append(Self.newKey())
            try Self.save(loaded, to: path)
        }
        keys = Mutex(loaded)
    }

    static func newKey() -> Key {
        let key = P256.Signing.PrivateKey()
        let kid = String(SigV4.hex(SHA256.hash(data: key.publicKey.rawRepresentation)).prefix(16))
        return Key(kid: kid, privateKey: key.rawRepresentation.base64EncodedString(), created: Int64(Date().timeIntervalSince1970), retired: nil)
    }

    static func save(_ keys: [Key], to path: String) throws {
        let data = try JSONEncoder().encode(keys)
        try DurableFile.replace(path, contents: Array(data), mode: 0o600)
    }

    /// Makes a new signing key; the old one stays in the key set until its tokens have expired. Returns the new kid.
    func rotate() throws -> String {
        try keys.withLock { keys in
            let now = Int64(Date().timeIntervalSince1970)
            var updated = keys.filter { $0.retired.map { now - $0 < Self.maxTokenSeconds } ?? true }
            for index in updated.indices where updated[index].retired == nil { updated[index].retired = now }
            let fresh = Self.newKey()
            updated.append(fresh)
            try Self.save(updated, to: path)
            keys = updated
            return fresh.kid
        }
    }

    var discoveryDocument: [String: Any] {
        [
            "issuer": issuer, "jwks_uri": issuer + "/.well-known/jwks.json", "id_token_signing_alg_values_supported": ["ES256"],
            "response_types_supported": ["id_token"], "subject_types_supported": ["public"], "claims_supported": ["sub", "aud", "iss", "exp", "iat"],
        ]
    }

    /// The public keys: the active one and those retired less than a token lifetime ago.
    var keySet: [String: Any] {
        let now = Int64(Date().timeIntervalSince1970)
        let published = keys.withLock { $0 }.filter { $0.retired.map { now - $0 < Self.maxTokenSeconds } ?? true }
        return [
            "keys": published.compactMap { key -> [String: Any]? in
                guard let signing = key.signingKey else { return nil }
                let point = signing.publicKey.rawRepresentation  // X and Y, 32 bytes each
                return [
                    "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": key.kid,
                    "x": SessionSealer.base64URL(point.prefix(32)), "y": SessionSealer.base64URL(point.suffix(32)),
                ]
            }
        ]
    }

    /// An ES256 token from this issuer for `audience`, signed with the active key.
    func token(subject: String, audience: String, lifetime: Int64 = 900) throws -> String {
        guard let active = keys.withLock({ $0.last(where: { $0.retired == nil }) }), let signing = active.signingKey else {
            throw SessionSealer.SessionError(description: "no active OIDC signing key")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let header: [String: Any] = ["alg": "ES256", "typ": "JWT", "kid": active.kid]
        let payload: [String: Any] = [
            "iss": issuer, "sub": subject, "aud": audience, "iat": now, "nbf": now, "exp": now + min(lifetime, Self.maxTokenSeconds),
        ]
        let input =
            SessionSealer.base64URL(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) + "."
            + SessionSealer.base64URL(try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]))
        let signature = try signing.signature(for: Array(input.utf8))
        return input + "." + SessionSealer.base64URL(signature.rawRepresentation)
    }
}
