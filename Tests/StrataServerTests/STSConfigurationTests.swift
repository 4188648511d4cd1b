import Crypto
import Foundation
import StrataStore
import Testing

@testable import StrataServer

/// The STS file is read strictly: whatever it does not understand refuses the whole file with a message naming the
/// role (or provider) and the field, since a condition silently dropped would let every token assume the role.
@Suite struct STSConfigurationTests {
    static let arn = "arn:aws:iam::0:role/a"
    static let provider = #"{"issuer": "https://idp.example", "audiences": ["strata"]}"#

    /// A file with the usual provider and one role with `fields` added to its arn and issuer.
    static func document(role fields: String) -> String {
        #"{"providers": [\#(provider)], "roles": [{"arn": "\#(arn)", "issuer": "https://idp.example"\#(fields)}]}"#
    }

    static func refusal(_ document: String) -> String? {
        do {
            _ = try STSConfiguration.parse(Data(document.utf8))
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func claims(_ json: String) throws -> WebIdentityClaims {
        try JSONDecoder().decode(WebIdentityClaims.self, from: Data(json.utf8))
    }

    @Test func refusesWhatItDoesNotUnderstandInARole() {
        let place = "roles[0] (\(Self.arn))"
        let known = "(known: arn, id, issuer, conditions, grants, max_session_seconds)"
        let conditionValue = "\(place): conditions.sub must be a string or a non-empty list of strings"
        let duration = "\(place): max_session_seconds must be a whole number from 900 to 43200"
        let cases: [(String, String)] = [
            (#", "condition": {"sub": "job-*"}"#, #"\#(place): unknown key "condition" \#(known)"#),
            (#", "grant": {"b": "read"}"#, #"\#(place): unknown key "grant" \#(known)"#),
            (#", "max_session": 900"#, #"\#(place): unknown key "max_session" \#(known)"#),
            (#", "conditions": {"sub": 5}"#, conditionValue),
            (#", "conditions": {"sub": {"StringLike": "job-*"}}"#, conditionValue),
            (#", "conditions": {"sub": []}"#, conditionValue),
            (#", "conditions": {"sub": ["job-*", 5]}"#, conditionValue),
            (#", "conditions": {"sub": null}"#, conditionValue),
            (#", "conditions": {"sub": true}"#, conditionValue),
            (#", "conditions": {"": "x"}"#, "\(place): conditions must not name an empty claim"),
            (
                #", "conditions": ["sub"]"#,
                "\(place): conditions must be an object of claim names to a pattern or a non-empty list of patterns"
            ),
            (#", "grants": {"b": "superuser"}"#, "\(place): grants.b must be read, write or owner"),
            (#", "grants": {"b": ["read"]}"#, "\(place): grants.b must be read, write or owner"),
            (#", "grants": ["b"]"#, "\(place): grants must be an object of bucket names to read, write or owner"),
            (#", "max_session_seconds": "3600""#, duration),
            (#", "max_session_seconds": true"#, duration),
            (#", "max_session_seconds": 3600.5"#, duration),
            (#", "max_session_seconds": 100"#, duration),
            (#", "id": 5"#, "\(place): id must be a non-empty string"),
            (#", "id": "AROA 1""#, "\(place): id must be 1 to 128 letters, digits, _ or -"),
        ]
        for (fields, message) in cases {
            #expect(Self.refusal(Self.document(role: fields)) == message, "\(fields)")
        }
    }

    @Test func refusesWhatItDoesNotUnderstandElsewhere() {
        let role = #"{"arn": "\#(Self.arn)", "issuer": "https://idp.example"}"#
        let cases: [(String, String)] = [
            ("[]", "the configuration must be a JSON object"),
            ("{", "not valid JSON"),
            (#"{"provider": []}"#, #"the configuration: unknown key "provider" (known: providers, roles)"#),
            (#"{"roles": {}}"#, "the configuration: roles must be a list"),
            (#"{"roles": [5]}"#, "roles[0] must be a JSON object"),
            (#"{"roles": [{"arn": 5}]}"#, "roles[0]: arn must be a non-empty string"),
            (#"{"roles": [{"arn": "\#(Self.arn)"}]}"#, "roles[0] (\(Self.arn)): issuer is required"),
            (#"{"roles": [\#(role), \#(role)]}"#, "roles[1]: arn \(Self.arn) is listed twice"),
            (
                #"{"providers": [{"issuer": "i", "audiences": ["a"], "jwks": "f"}]}"#,
                #"providers[0]: unknown key "jwks" (known: issuer, audiences, jwks_file)"#
            ),
            (#"{"providers": [{"issuer": "i", "audiences": "a"}]}"#, "providers[0]: audiences must be a non-empty list of strings"),
            (#"{"providers": [{"issuer": "i", "audiences": []}]}"#, "providers[0]: audiences must be a non-empty list of strings"),
            (#"{"providers": [{"issuer": "i"}]}"#, "providers[0]: audiences is required"),
            (#"{"providers": [{"issuer": 5, "audiences": ["a"]}]}"#, "providers[0]: issuer must be a non-empty string"),
            (#"{"providers": [{"issuer": "i", "audiences": ["a"], "jwks_file": 5}]}"#, "providers[0]: jwks_file must be a non-empty string"),
            (#"{"providers": [\#(Self.provider), \#(Self.provider)]}"#, "providers[1]: issuer https://idp.example is listed twice"),
        ]
        for (document, message) in cases {
            #expect(Self.refusal(document) == message, "\(document)")
        }
    }

    @Test func readsTheDocumentedShapes() throws {
        let document = #"""
            {"providers": [{"issuer": "https://idp.example", "audiences": ["strata"], "jwks_file": null}],
             "roles": [{"arn": "arn:aws:iam::0:role/a", "issuer": "https://idp.example", "conditions": {"sub": "job-*",
                        "groups": ["analysts", "admins-*"]}, "grants": {"datasets": "read", "team-*": "owner"},
                        "max_session_seconds": 7200, "id": "AROAEXAMPLE"}]}
            """#
        let parsed = try STSConfiguration.parse(Data(document.utf8))
        #expect(parsed.providers == [.init(issuer: "https://idp.example", audiences: ["strata"], jwksFile: nil)])
        let role = try #require(parsed.role(arn: "arn:aws:iam::0:role/a"))
        #expect(role.conditions == ["sub": ["job-*"], "groups": ["analysts", "admins-*"]])
        #expect(role.grants == ["datasets": .read, "team-*": .owner])
        #expect(role.maxSessionSeconds == 7200 && role.id == "AROAEXAMPLE")
    }

    @Test func listConditionsMatchAnyPattern() throws {
        let role = try #require(
            STSConfiguration.parse(Data(Self.document(role: #", "conditions": {"sub": ["job-*", "svc-*"], "groups": ["ops", "dev-*"]}"#).utf8))
                .roles.first
        )
        #expect(role.unmetCondition(try Self.claims(#"{"sub": "job-1", "groups": "ops"}"#)) == nil)
        #expect(role.unmetCondition(try Self.claims(#"{"sub": "svc-a", "groups": ["staff", "dev-x"]}"#)) == nil)
        #expect(role.unmetCondition(try Self.claims(#"{"sub": "intern-1", "groups": ["ops"]}"#)) == "sub")
        #expect(role.unmetCondition(try Self.claims(#"{"sub": "job-1", "groups": ["staff"]}"#)) == "groups")
        #expect(role.unmetCondition(try Self.claims(#"{"sub": "job-1"}"#)) == "groups")
        // Byte for byte: a precomposed é is not e followed by a combining accent.
        let accented = try #require(STSConfiguration.parse(Data(Self.document(role: #", "conditions": {"sub": ["caf\u00e9-*"]}"#).utf8)).roles.first)
        #expect(accented.unmetCondition(try Self.claims(#"{"sub": "caf\u00e9-1"}"#)) == nil)
        #expect(accented.unmetCondition(try Self.claims(#"{"sub": "cafe\u0301-1"}"#)) == "sub")
    }

    @Test func derivedIDsFollowArnIssuerAndConditions() throws {
        func id(_ fields: String) throws -> String { try STSConfiguration.parse(Data(Self.document(role: fields).utf8)).roles[0].id }
        let base = try id(#", "conditions": {"sub": ["a-*", "b-*"]}"#)
        #expect(base.hasPrefix("AROA") && base.count == 21)
        #expect(try id(#", "conditions": {"sub": ["b-*", "a-*"]}, "grants": {"x": "read"}, "max_session_seconds": 900"#) == base)
        #expect(try id(#", "conditions": {"sub": ["a-*"]}"#) != base)
        #expect(try id(#", "conditions": {"sub": "a-*"}"#) == (try id(#", "conditions": {"sub": ["a-*"]}"#)))
        #expect(try id("") != base)
        // Length prefixes keep a claim and its pattern apart: {"ab": "c"} is not {"a": "bc"}.
        #expect(try id(#", "conditions": {"ab": "c"}"#) != (try id(#", "conditions": {"a": "bc"}"#)))
        #expect(try id(#", "id": "AROAMINE""#) == "AROAMINE")
    }

    @Test func sessionTokensCarryTheRoleID() throws {
        let sealer = SessionSealer(key: SymmetricKey(size: .bits256))
        let issued = sealer.issue(role: Self.arn, roleID: "AROAONE", subject: "job-1", sessionName: "n", expires: 100)
        let (session, secret) = try sealer.open(token: issued.token, accessKey: issued.accessKey)
        #expect(session.roleID == "AROAONE" && session.role == Self.arn && secret == issued.secret)
    }
}

/// The admin API's role changes: ids assigned by the server, kept on replacement, new after a delete.
@Suite struct STSRoleUpdateTests {
    static func file(_ roles: String = "[]") throws -> (STSConfigurationFile, String) {
        let path = NSTemporaryDirectory() + "strata-sts-roles-" + UUID().uuidString + ".json"
        let document = #"{"providers": [\#(STSConfigurationTests.provider)], "roles": \#(roles)}"#
        try Data(document.utf8).write(to: URL(fileURLWithPath: path))
        return (try STSConfigurationFile(path: path), path)
    }

    static func role(_ grants: [String: String]) -> [String: Any] {
        ["arn": STSConfigurationTests.arn, "issuer": "https://idp.example", "grants": grants]
    }

    @Test func idsAreAssignedKeptAndRenewed() throws {
        let (file, path) = try Self.file()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let arn = STSConfigurationTests.arn
        let first = try #require(try file.putRole(Self.role(["b": "read"]), arn: arn)["id"] as? String)
        #expect(first.hasPrefix("AROA") && first.count == 21)
        let replaced = try file.putRole(Self.role(["b": "write"]), arn: arn)
        #expect(replaced["id"] as? String == first)
        #expect(file.current.role(arn: arn)?.grants == ["b": .write] && file.current.role(arn: arn)?.id == first)
        var echoed = Self.role(["b": "owner"])
        echoed["id"] = first
        #expect(try file.putRole(echoed, arn: arn)["id"] as? String == first)
        echoed["id"] = "AROAOTHER"
        #expect(throws: StrictJSONObject.Invalid.self) { try file.putRole(echoed, arn: arn) }
        #expect(try file.deleteRole(arn: arn))
        #expect(try !file.deleteRole(arn: arn))
        let second = try #require(try file.putRole(Self.role(["b": "read"]), arn: arn)["id"] as? String)
        #expect(second != first && file.current.role(arn: arn)?.id == second)
        // Nor can a new role bring back an old id.
        #expect(try file.deleteRole(arn: arn))
        echoed["id"] = second
        #expect(throws: StrictJSONObject.Invalid.self) { try file.putRole(echoed, arn: arn) }
    }

    @Test func aHandWrittenRoleKeepsItsDerivedID() throws {
        let arn = STSConfigurationTests.arn
        let (file, path) = try Self.file(#"[{"arn": "\#(arn)", "issuer": "https://idp.example", "conditions": {"sub": "job-*"}}]"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let derived = try #require(file.current.role(arn: arn)?.id)
        var role = Self.role(["b": "read"])
        role["conditions"] = ["sub": "job-*"]
        #expect(try file.putRole(role, arn: arn)["id"] as? String == derived)
    }

    @Test func anInvalidRoleLeavesTheFileAlone() throws {
        let (file, path) = try Self.file()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        var role = Self.role(["b": "read"])
        role["conditions"] = ["sub": ["job-*", 5]]
        #expect(throws: StrictJSONObject.Invalid.self) { try file.putRole(role, arn: STSConfigurationTests.arn) }
        role["conditions"] = nil
        role["condition"] = ["sub": "job-*"]
        #expect(throws: StrictJSONObject.Invalid.self) { try file.putRole(role, arn: STSConfigurationTests.arn) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }
}
