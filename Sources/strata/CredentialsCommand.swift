import ArgumentParser
import Foundation
import StrataStore

/// `strata credentials add|list|remove`: manages the credential store offline; a running server picks up changes.
struct Credentials: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage SigV4 credentials in the root's credential store.",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or replace a credential.")

        @Option(help: "Root directory (its .strata/credentials.json holds the store).") var root = "./data"
        @Option(help: "User the credential acts as (owner of the buckets it creates).") var user: String
        @Option(name: .customLong("access-key")) var accessKey: String
        @Option(name: .customLong("secret-key"), help: "The secret (visible in the process list: prefer --secret-key-stdin or --secret-key-env).")
        var secretKeyArgument: String?
        @Flag(name: .customLong("secret-key-stdin"), help: "Read the secret from the first line of standard input.") var secretFromStdin = false
        @Option(name: .customLong("secret-key-env"), help: "Read the secret from this environment variable.")
        var secretEnvironmentVariable: String?

        /// Exactly one source of the secret.
        func secret() throws -> String {
            let sources = [secretKeyArgument != nil, secretFromStdin, secretEnvironmentVariable != nil].filter { $0 }.count
            guard sources == 1 else {
                throw ValidationError("give the secret with exactly one of --secret-key, --secret-key-stdin, --secret-key-env")
            }
            if let secretKeyArgument { return secretKeyArgument }
            if let name = secretEnvironmentVariable {
                guard let value = ProcessInfo.processInfo.environment[name] else { throw ValidationError("environment variable \(name) is not set") }
                return value
            }
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("no secret on standard input") }
            return line.hasSuffix("\r") ? String(line.dropLast()) : line
        }
        @Option(
            name: .customLong("bucket"),
            help: """
                Scope the credential to this bucket, with read, write or owner rights (default owner); repeatable. \
                Without it the credential acts as its user on the user's own buckets.
                """
        )
        var buckets: [String] = []

        func run() throws {
            let secretKey = try secret()
            guard !accessKey.isEmpty, !accessKey.contains("/"), !secretKey.isEmpty else {
                throw ValidationError("access key and secret must be non-empty, and an access key cannot contain '/'")
            }
            var grants: [String: BucketGrant]?
            for item in buckets {
                // `name:grant`, where name may itself contain ':' (nested buckets); a bare name means owner.
                var bucket = item
                var grant = BucketGrant.owner
                if let colon = item.lastIndex(of: ":"), let named = BucketGrant(rawValue: String(item[item.index(after: colon)...])) {
                    bucket = String(item[..<colon])
                    grant = named
                }
                guard !bucket.isEmpty else { throw ValidationError("bad --bucket value '\(item)'") }
                grants = (grants ?? [:]).merging([bucket: grant]) { max($0, $1) }
            }
            try CredentialStore(root: root).upsert(Credential(accessKey: accessKey, secretKey: secretKey, user: user, buckets: grants))
            print("credential \(accessKey) for user \(user) saved")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List credentials (secrets are never printed).")
        @Option(help: "Root directory.") var root = "./data"

        func run() throws {
            for credential in try CredentialStore(root: root).all() {
                let scope =
                    credential.buckets.map { $0.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.rawValue)" }.joined(separator: ",") }
                    ?? "all of the user's buckets"
                print("\(credential.accessKey)\tuser=\(credential.user)\tbuckets=\(scope)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a credential.")
        @Option(help: "Root directory.") var root = "./data"
        @Option(name: .customLong("access-key")) var accessKey: String

        func run() throws {
            guard try CredentialStore(root: root).remove(accessKey: accessKey) else {
                throw ValidationError("no credential with access key \(accessKey)")
            }
            print("credential \(accessKey) removed")
        }
    }
}
