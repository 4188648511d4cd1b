import Foundation
import Logging
import StrataStore

/// Trusted identity providers and the roles their tokens may assume (`strata.sts.config.file`), re-read when the
/// file changes so that a removed role stops its sessions at once.
struct STSConfiguration: Sendable, Equatable {
    struct Provider: Sendable, Equatable {
        var issuer: String
        var audiences: [String]
        /// A local JWKS file for air-gapped sites; nil: OpenID discovery at the issuer.
        var jwksFile: String?
    }

    struct Role: Sendable, Equatable {
        var arn: String
        var issuer: String
        /// Claim name to a pattern (`*` matches any run of characters); a list claim matches when one element does.
        var conditions: [String: String]
        var grants: [String: BucketGrant]
        var maxSessionSeconds: Int

        /// The last part of the ARN (`analytics` of `arn:aws:iam::0:role/analytics`).
        var name: String { arn.split(separator: "/").last.map(String.init) ?? arn }
    }

    var providers: [Provider]
    var roles: [Role]

    func provider(issuer: String) -> Provider? { providers.first { $0.issuer == issuer } }
    func role(arn: String) -> Role? { roles.first { $0.arn == arn } }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ data: Data) throws -> STSConfiguration {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw Invalid(description: "not a JSON object") }
        var providers: [Provider] = []
        for (index, item) in (root["providers"] as? [[String: Any]] ?? []).enumerated() {
            guard let issuer = item["issuer"] as? String, !issuer.isEmpty else { throw Invalid(description: "providers[\(index)] needs an issuer") }
            let audiences = item["audiences"] as? [String] ?? []
            guard !audiences.isEmpty else { throw Invalid(description: "providers[\(index)] needs at least one audience") }
            providers.append(Provider(issuer: issuer, audiences: audiences, jwksFile: item["jwks_file"] as? String))
        }
        var roles: [Role] = []
        for (index, item) in (root["roles"] as? [[String: Any]] ?? []).enumerated() {
            guard let arn = item["arn"] as? String, let issuer = item["issuer"] as? String else {
                throw Invalid(description: "roles[\(index)] needs an arn and an issuer")
            }
            var grants: [String: BucketGrant] = [:]
            for (bucket, grant) in item["grants"] as? [String: String] ?? [:] {
                guard let parsed = BucketGrant(rawValue: grant) else {
                    throw Invalid(description: "roles[\(index)]: grant \(grant) is not read, write or owner")
                }
                grants[bucket] = parsed
            }
            let conditions = (item["conditions"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
            let maxSeconds = item["max_session_seconds"] as? Int ?? 3600
            guard (900...43_200).contains(maxSeconds) else { throw Invalid(description: "roles[\(index)]: max_session_seconds must be 900 to 43200") }
            roles.append(Role(arn: arn, issuer: issuer, conditions: conditions, grants: grants, maxSessionSeconds: maxSeconds))
        }
        return STSConfiguration(providers: providers, roles: roles)
    }
}

/// The configuration file, re-read (at most every 200 ms) when it changes (`WatchedFile`). A file that stops
/// parsing keeps the last good configuration and is reported once; one that is removed keeps it too.
final class STSConfigurationFile: Sendable {
    let path: String
    fileprivate let file: WatchedFile<STSConfiguration>

    /// Refuses a file that cannot be read or parsed now: the server does not start on it.
    init(path: String, logger: Logger? = nil) throws {
        self.path = path
        file = try WatchedFile(loading: path, whenMissing: nil, logger: logger, parse: STSConfiguration.parse)
    }

    var current: STSConfiguration { file.current }
}

extension STSConfigurationFile {
    /// The roles as the file spells them (for the admin API).
    func rolesDocument() throws -> [[String: Any]] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
        return root["roles"] as? [[String: Any]] ?? []
    }

    /// Rewrites the file with `change` applied to its roles, checking the result parses before it replaces the file
    /// (atomically; every server on the root sees it at its next request).
    func updateRoles(_ change: (inout [[String: Any]]) throws -> Void) throws {
        var root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
        var roles = root["roles"] as? [[String: Any]] ?? []
        try change(&roles)
        root["roles"] = roles
        let data = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
        _ = try STSConfiguration.parse(data)
        try DurableFile.replace(path, contents: Array(data), mode: 0o600)
        file.invalidate()
    }
}
