import Foundation
import S3Protocol
import StrataStore

/// Trusted identity providers and the roles their tokens may assume (`strata.sts.config.file`), re-read when the
/// file changes so that a removed role stops its sessions at once. Read strictly: anything it does not understand
/// refuses the whole file, since a field ignored could be a condition meant to restrict a role.
struct STSConfiguration: Sendable, Equatable {
    struct Provider: Sendable, Equatable {
        var issuer: String
        var audiences: [String]
        /// A local JWKS file for air-gapped sites; nil: OpenID discovery at the issuer.
        var jwksFile: String?
    }

    struct Role: Sendable, Equatable {
        var arn: String
        /// The role's identity, which its sessions carry: a role deleted and made again under the same ARN has
        /// another, so the old sessions stay dead. The file's `id` (the admin API assigns one), else derived from
        /// arn, issuer and conditions.
        var id: String
        var issuer: String
        /// Claim name to patterns (`*` matches any run of bytes): the claim, or one element of a list claim, must
        /// match one of them.
        var conditions: [String: [String]]
        var grants: [String: BucketGrant]
        var maxSessionSeconds: Int

        /// The last part of the ARN (`analytics` of `arn:aws:iam::0:role/analytics`).
        var name: String { arn.split(separator: "/").last.map(String.init) ?? arn }

        /// The first claim (by name) the token's claims do not satisfy, nil when they satisfy every condition.
        func unmetCondition(_ claims: WebIdentityClaims) -> String? {
            conditions.keys.sorted().first { claim in
                let patterns = conditions[claim] ?? []
                return !claims.strings(claim).contains { value in patterns.contains { WildcardPattern.matches(value, $0) } }
            }
        }

        /// The id of a role written without one: it changes when arn, issuer or conditions do (not with the order of
        /// the patterns), so such an edit ends the role's sessions. Every part is length-prefixed: no two roles share
        /// an encoding.
        static func derivedID(arn: String, issuer: String, conditions: [String: [String]]) -> String {
            var parts = [arn, issuer]
            for claim in conditions.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                let patterns = (conditions[claim] ?? []).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                parts += [claim, String(patterns.count)] + patterns
            }
            return AdminAPI.stableID("AROA", parts.map { "\($0.utf8.count):\($0)" }.joined())
        }

        /// A new id for a role the admin API creates, in the shape of AWS's RoleId.
        static func newID() -> String { "AROA" + Credential.random(17, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") }
    }

    var providers: [Provider]
    var roles: [Role]

    func provider(issuer: String) -> Provider? { providers.first { $0.issuer == issuer } }
    func role(arn: String) -> Role? { roles.first { $0.arn == arn } }

    typealias Invalid = StrictJSONObject.Invalid

    static func parse(_ data: Data) throws -> STSConfiguration {
        guard let json = try? JSONSerialization.jsonObject(with: data) else { throw Invalid(description: "not valid JSON") }
        let root = try StrictJSONObject(json, place: "the configuration", keys: ["providers", "roles"])
        var providers: [Provider] = []
        for (index, item) in (try root.list("providers") ?? []).enumerated() {
            let provider = try parseProvider(item, place: "providers[\(index)]")
            guard !providers.contains(where: { $0.issuer == provider.issuer }) else {
                throw Invalid(description: "providers[\(index)]: issuer \(provider.issuer) is listed twice")
            }
            providers.append(provider)
        }
        var roles: [Role] = []
        for (index, item) in (try root.list("roles") ?? []).enumerated() {
            let arn = ((item as? [String: Any])?["arn"] as? String).flatMap { $0.isEmpty ? nil : " (\($0))" }
            let role = try parseRole(item, place: "roles[\(index)]" + (arn ?? ""))
            guard !roles.contains(where: { $0.arn == role.arn }) else {
                throw Invalid(description: "roles[\(index)]: arn \(role.arn) is listed twice")
            }
            roles.append(role)
        }
        return STSConfiguration(providers: providers, roles: roles)
    }

    private static func parseProvider(_ item: Any, place: String) throws -> Provider {
        let object = try StrictJSONObject(item, place: place, keys: ["issuer", "audiences", "jwks_file"])
        let issuer = try object.requiredString("issuer")
        guard let audiences = try object.strings("audiences") else { throw object.failure("audiences is required") }
        return Provider(issuer: issuer, audiences: audiences, jwksFile: try object.string("jwks_file", nullable: true))
    }

    private static func parseRole(_ item: Any, place: String) throws -> Role {
        let object = try StrictJSONObject(item, place: place, keys: ["arn", "id", "issuer", "conditions", "grants", "max_session_seconds"])
        let arn = try object.requiredString("arn")
        let issuer = try object.requiredString("issuer")
        let conditions = try parseConditions(object)
        var grants: [String: BucketGrant] = [:]
        for (bucket, grant) in (try object.object("grants", "bucket names to read, write or owner") ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let parsed = (grant as? String).flatMap(BucketGrant.init(rawValue:)) else {
                throw object.failure("grants.\(bucket) must be read, write or owner")
            }
            grants[bucket] = parsed
        }
        let id = try object.string("id")
        let idCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        if let id, id.count > 128 || !id.allSatisfy(idCharacters.contains) {
            throw object.failure("id must be 1 to 128 letters, digits, _ or -")
        }
        return Role(
            arn: arn,
            id: id ?? Role.derivedID(arn: arn, issuer: issuer, conditions: conditions),
            issuer: issuer,
            conditions: conditions,
            grants: grants,
            maxSessionSeconds: try object.integer("max_session_seconds", in: 900...43_200) ?? 3600
        )
    }

    /// `{"claim": "pattern"}` or `{"claim": ["pattern", ...]}`; anything else (a number, an object, an empty list)
    /// is refused rather than read as no condition.
    private static func parseConditions(_ object: StrictJSONObject) throws -> [String: [String]] {
        let what = "claim names to a pattern or a non-empty list of patterns"
        var conditions: [String: [String]] = [:]
        for (claim, value) in (try object.object("conditions", what) ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard !claim.isEmpty else { throw object.failure("conditions must not name an empty claim") }
            if let pattern = value as? String {
                conditions[claim] = [pattern]
            } else if let patterns = StrictJSONObject.strings(value), !patterns.isEmpty {
                conditions[claim] = patterns
            } else {
                throw object.failure("conditions.\(claim) must be a string or a non-empty list of strings")
            }
        }
        return conditions
    }
}
