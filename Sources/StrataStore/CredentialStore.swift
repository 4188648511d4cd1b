import Foundation
import Glibc
import Logging

/// What a credential may do to one bucket.
public enum BucketGrant: String, Codable, Sendable, Comparable {
    case read
    case write
    case owner

    var rank: Int {
        switch self {
        case .read: 0
        case .write: 1
        case .owner: 2
        }
    }

    public static func < (a: BucketGrant, b: BucketGrant) -> Bool { a.rank < b.rank }
}

/// An access key, its secret, the user it acts as and, when scoped, the only buckets it may touch.
public struct Credential: Codable, Sendable, Equatable {
    public var accessKey: String
    public var secretKey: String
    public var user: String
    /// nil: the credential acts as its user everywhere (its own buckets). Otherwise only these buckets.
    public var buckets: [String: BucketGrant]?
    /// When the key was made (seconds since 1970); nil for keys from before it was recorded.
    public var createdAt: Int64?
    /// The role of a temporary credential (AssumeRoleWithWebIdentity); never stored.
    public var sessionRole: String?

    public init(accessKey: String, secretKey: String, user: String, buckets: [String: BucketGrant]? = nil, createdAt: Int64? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.user = user
        self.buckets = buckets
        self.createdAt = createdAt
    }

    /// A new key pair: a 20-character access key id and a 40-character secret from the system's secure generator.
    public static func generate(user: String, buckets: [String: BucketGrant]?) -> Credential {
        Credential(
            accessKey: keyID(prefix: "SK"),
            secretKey: random(40, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
            user: user,
            buckets: buckets,
            createdAt: Int64(Date().timeIntervalSince1970)
        )
    }

    /// A 20-character access key id in AWS's shape: `prefix` then upper-case letters and digits 2 to 7.
    public static func keyID(prefix: String) -> String { prefix + random(20 - prefix.count, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") }

    package static func random(_ count: Int, from alphabet: String) -> String {
        let characters = Array(alphabet)
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in characters.randomElement(using: &generator)! })
    }
}

/// Credentials kept in `ROOT/.strata/credentials.json` (mode 0600), written atomically. A running server
/// re-reads the file when it changes, so `strata credentials ...` takes effect without a restart.
public final class CredentialStore: Sendable {
    public let path: String
    let file: WatchedFile<[String: Credential]>

    public init(root: String, logger: Logger? = nil) {
        path = (root.hasSuffix("/") ? root : root + "/") + ".strata/credentials.json"
        // A removed file means no keys; one that stops parsing keeps the keys it last held.
        file = WatchedFile(path: path, initial: [:], whenMissing: [:], logger: logger) { data in
            Dictionary(try Self.decode(data).map { ($0.accessKey, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    private struct FileFormat: Codable {
        var version = 1
        var credentials: [Credential]
    }

    private static func decode(_ data: Data) throws -> [Credential] {
        try JSONDecoder().decode(FileFormat.self, from: data).credentials
    }

    /// The credential for an access key, re-reading the file at most every 200 ms when it changed.
    public func lookup(_ accessKey: String) -> Credential? {
        file.current[accessKey]
    }

    private func load() throws -> [Credential] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try Self.decode(Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public func all() throws -> [Credential] { try load().sorted { $0.accessKey < $1.accessKey } }

    public struct StoreError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Adds or replaces a credential. Serialised across processes with a lock file.
    public func upsert(_ credential: Credential) throws {
        try modify { list in
            list.removeAll { $0.accessKey == credential.accessKey }
            list.append(credential)
        }
    }

    /// Removes every credential `remove` selects and returns them, in one locked step.
    @discardableResult
    public func removeAll(where remove: (Credential) -> Bool) throws -> [Credential] {
        var removed: [Credential] = []
        try modify { list in
            removed = list.filter(remove)
            list.removeAll(where: remove)
        }
        return removed
    }

    /// Replaces the credentials `remove` selects with `added`, in one locked step (a key rotation); returns the removed.
    public func replace(where remove: (Credential) -> Bool, with added: Credential) throws -> [Credential] {
        var removed: [Credential] = []
        try modify { list in
            removed = list.filter(remove)
            list.removeAll(where: remove)
            list.append(added)
        }
        return removed
    }

    /// Removes a credential; false when it did not exist.
    @discardableResult
    public func remove(accessKey: String) throws -> Bool {
        var removed = false
        try modify { list in
            let before = list.count
            list.removeAll { $0.accessKey == accessKey }
            removed = list.count != before
        }
        return removed
    }

    private func modify(_ change: (inout [Credential]) -> Void) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock: FileLock?
        do { lock = try FileLock.acquire(in: AT_FDCWD, directory + "/credentials.lock", exclusive: true) } catch {
            throw StoreError(description: "cannot lock the credential store (\(directory)/credentials.lock): \(error)")
        }
        defer { withExtendedLifetime(lock) {} }
        var list = try load()
        change(&list)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(FileFormat(credentials: list.sorted { $0.accessKey < $1.accessKey }))
        try DurableFile.replace(path, contents: Array(data), mode: 0o600)
        // This process sees its own change at once: a removed key must not sign for another 200 ms.
        file.invalidate()
    }
}
