import Foundation
import Logging
import StrataStore

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

    /// Creates or replaces the role of `arn` and returns it as written. A role of a new ARN gets a new id; one that
    /// replaces another keeps that role's id, so its sessions live on under the new grants (as in AWS). An `id` in
    /// `role` must be that id: the server assigns them, so that a deleted role's sessions cannot be revived.
    func putRole(_ role: [String: Any], arn: String) throws -> [String: Any] {
        var written = role
        try updateRoles { roles, current in
            // The id sessions are checked against; from the raw role when the file does not parse as it is.
            let raw = roles.first { $0["arn"] as? String == arn }
            let existing = current?.role(arn: arn)?.id ?? (raw?["id"] as? String)
            if let given = role["id"], existing == nil || given as? String != existing {
                throw STSConfiguration.Invalid(
                    description: "role \(arn): id is assigned by the server; leave it out\(existing.map { " or send the role's id \($0)" } ?? "")"
                )
            }
            written["id"] = existing ?? STSConfiguration.Role.newID()
            roles.removeAll { $0["arn"] as? String == arn }
            roles.append(written)
        }
        return written
    }

    /// Removes the role of `arn`; false when there is none.
    func deleteRole(arn: String) throws -> Bool {
        var found = false
        try updateRoles { roles, _ in
            found = roles.contains { $0["arn"] as? String == arn }
            roles.removeAll { $0["arn"] as? String == arn }
        }
        return found
    }

    /// Rewrites the file with `change` applied to its roles (given the file's configuration as it is, nil when it does
    /// not parse), checking the result parses before it replaces the file (atomically; every server on the root sees
    /// it at its next request).
    private func updateRoles(_ change: (inout [[String: Any]], STSConfiguration?) throws -> Void) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard var root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw STSConfiguration.Invalid(description: "\(path) is not a JSON object; fix it by hand")
        }
        // Roles that are not a list of objects would otherwise be read as none and lost in the rewrite.
        guard var roles = root["roles"] == nil ? [] : root["roles"] as? [[String: Any]] else {
            throw STSConfiguration.Invalid(description: "the roles of \(path) are not a list of objects; fix it by hand")
        }
        try change(&roles, try? STSConfiguration.parse(data))
        root["roles"] = roles
        let updated = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
        _ = try STSConfiguration.parse(updated)
        try DurableFile.replace(path, contents: Array(updated), mode: 0o600)
        file.invalidate()
    }
}
