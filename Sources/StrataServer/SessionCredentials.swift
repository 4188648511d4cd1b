import Crypto
import Foundation
import Glibc
import S3Protocol
import StrataStore

/// Temporary credentials, verifiable without any stored state: the session token carries the access key id, role
/// (its ARN and id), subject and expiry, sealed with a key kept under the root (`.strata/sts.key`, mode 0600, made at first start), so
/// every process on the root accepts them, across restarts. The secret is derived from the sealed token, never stored.
struct SessionSealer: Sendable {
    let key: SymmetricKey

    struct Session: Sendable, Equatable {
        var accessKey: String
        var role: String
        /// The id of the role the session was issued under; nil in tokens made before roles had ids.
        var roleID: String?
        var subject: String
        var sessionName: String
        var expires: Int64
    }

    /// Reads the root's session key, making it on first use (O_EXCL, so concurrent first starts agree on one key).
    static func load(root: String) throws -> SessionSealer {
        let directory = (root.hasSuffix("/") ? root : root + "/") + ".strata"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory + "/sts.key"
        if !FileManager.default.fileExists(atPath: path) {
            var bytes = [UInt8](repeating: 0, count: 32)
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = generator.next() }
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                fsync(fd)
                close(fd)
                guard written == 32 else { throw SessionError(description: "cannot write \(path)") }
            }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count == 32 else { throw SessionError(description: "\(path) is not a 32-byte key") }
        return SessionSealer(key: SymmetricKey(data: data))
    }

    struct SessionError: Error, CustomStringConvertible {
        let description: String
    }

    /// A new session: access key id, secret and the token that proves both.
    func issue(
        role: String,
        roleID: String,
        subject: String,
        sessionName: String,
        expires: Int64
    ) -> (accessKey: String, secret: String, token: String) {
        let accessKey = Credential.keyID(prefix: "ASIA")
        let payload: [String: Any] = ["v": 2, "ak": accessKey, "role": role, "rid": roleID, "sub": subject, "name": sessionName, "exp": expires]
        let json = (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data()
        let body = Self.base64URL(json)
        let token = body + "." + Self.base64URL(Data(HMAC<SHA256>.authenticationCode(for: Array(("token|" + body).utf8), using: key)))
        return (accessKey, secret(forTokenBody: body), token)
    }

    private func secret(forTokenBody body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(("secret|" + body).utf8), using: key)
        return String(Data(mac).base64EncodedString().prefix(40))
    }

    /// The session a token proves for `accessKey`, with its secret; InvalidToken for anything forged or mismatched.
    func open(token: String, accessKey: String) throws(S3Error) -> (Session, secret: String) {
        let invalid = S3Error(.invalidToken)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 8192, parts.count == 2 else { throw invalid }
        let body = String(parts[0])
        let expected = Self.base64URL(Data(HMAC<SHA256>.authenticationCode(for: Array(("token|" + body).utf8), using: key)))
        guard SigV4.constantTimeEquals(expected, String(parts[1])), let data = Self.fromBase64URL(body),
            let payload = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], payload["ak"] as? String == accessKey,
            let role = payload["role"] as? String, let expires = (payload["exp"] as? NSNumber)?.int64Value
        else { throw invalid }
        let session = Session(
            accessKey: accessKey,
            role: role,
            roleID: payload["rid"] as? String,
            subject: payload["sub"] as? String ?? "",
            sessionName: payload["name"] as? String ?? "",
            expires: expires
        )
        return (session, secret(forTokenBody: body))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func fromBase64URL(_ text: String) -> Data? { CompactJWT.base64URLDecode(Substring(text)) }
}
