import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore
import StrataTiering

/// The bucket-management REST API of the admin listener (`/v1/s3/{account}/...`), after the seed's endpoint
/// tables, with Strata's users, keys and group/policy records where the seed has IAM's. Every answer is JSON.
struct AdminAPI: Sendable {
    let storage: any ObjectStorage
    let credentials: CredentialStore
    let account: String
    let token: String
    let settings: ServerSettings
    /// Where S3 clients reach this server, for Cyberduck bookmarks.
    let s3Host: String
    let s3Port: Int
    /// The website listener's port when it runs.
    let websitePort: Int?
    /// The read-through cache of a tiered store, for website cache invalidations.
    let tiering: TieredStorage?
    /// This server's OIDC issuer, whose signing key the API rotates.
    let issuer: OIDCIssuer?
    /// The STS's providers and roles, whose roles the API manages.
    var stsConfiguration: STSConfigurationFile? = nil

    /// An answer with a status and a message, as JSON; thrown by handlers and turned into a response once.
    struct Failure: Error {
        let status: HTTPResponse.Status
        let message: String
    }

    func stsFile() throws -> STSConfigurationFile {
        guard let stsConfiguration else { throw Failure(status: .notFound, message: "The STS is not enabled.") }
        return stsConfiguration
    }

    // MARK: Authentication

    /// 401 without a token, 403 with a wrong one; compared in constant time.
    func authenticate(_ request: Request) throws(Failure) {
        guard let presented = request.headers[named: "x-auth-token"], !presented.isEmpty else {
            throw Failure(status: .unauthorized, message: "The admin API needs the X-Auth-Token header.")
        }
        let expected = SHA256.hash(data: Array(token.utf8))
        let given = SHA256.hash(data: Array(presented.utf8))
        guard SigV4.constantTimeEquals(SigV4.hex(expected), SigV4.hex(given)) else {
            throw Failure(status: .forbidden, message: "The X-Auth-Token is not valid.")
        }
    }

    func checkAccount(_ context: some RequestContext) throws(Failure) {
        guard context.parameters.get("account") == account else { throw Failure(status: .notFound, message: "No such account.") }
    }

    // MARK: JSON

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json", .contentLength: String(data.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func failure(_ failure: Failure) -> Response { json(["Error": failure.message], status: failure.status) }

    /// The request's JSON object; 400 with a message for anything else.
    static func body(_ request: Request) async throws -> [String: Any] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 1 << 20)
        } catch {
            throw Failure(status: .badRequest, message: "The request body is larger than 1 MiB.")
        }
        guard buffer.readableBytes > 0 else { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)), let map = object as? [String: Any] else {
            throw Failure(status: .badRequest, message: "The request body is not a JSON object.")
        }
        return map
    }

    /// `"Tags": [{"Key": ..., "Value": ...}]`, validated as S3 bucket tags.
    static func tags(_ body: [String: Any]) throws -> TagSet? {
        guard let raw = body["Tags"] else { return nil }
        guard let list = raw as? [Any] else { throw Failure(status: .badRequest, message: "Tags must be a list of {Key, Value} objects.") }
        var tags: [(key: String, value: String)] = []
        for item in list {
            guard let tag = item as? [String: Any], let key = tag["Key"] as? String, let value = tag["Value"] as? String else {
                throw Failure(status: .badRequest, message: "Each tag needs a string Key and a string Value.")
            }
            tags.append((key, value))
        }
        let set = TagSet(tags)
        do {
            try set.validate(TagSet.Limits(maxTags: 50, enforced: true))
        } catch {
            throw Failure(status: .badRequest, message: error.message)
        }
        return set
    }

    static func tagList(_ tags: TagSet) -> [[String: String]] { tags.tags.map { ["Key": $0.key, "Value": $0.value] } }

    static func date(_ seconds: Int64) -> String { String(HTTPDate.iso8601(seconds: seconds).prefix(19)) + "Z" }

    /// S3 errors a handler meets, as the seed's status codes.
    static func failure(for error: S3Error) -> Failure {
        switch error.code {
        case .noSuchBucket: Failure(status: .notFound, message: "No such bucket.")
        case .bucketNotEmpty: Failure(status: .conflict, message: "The bucket is not empty.")
        case .bucketAlreadyExists, .bucketAlreadyOwnedByYou: Failure(status: .conflict, message: "The bucket already exists.")
        case .invalidBucketName: Failure(status: .badRequest, message: "The bucket name is not valid.")
        case .invalidTag, .invalidArgument, .malformedXML: Failure(status: .badRequest, message: error.message)
        case .accessDenied: Failure(status: .forbidden, message: error.message)
        default: Failure(status: HTTPResponse.Status(code: error.status), message: error.message)
        }
    }

    // MARK: Strata's records in place of IAM's

    func arn(_ kind: String, _ name: String) -> String { "arn:strata:iam::\(account):\(kind)/\(name)" }

    func policyRecord(_ bucket: String, created: Int64) -> [String: Any] {
        [
            "Arn": arn("policy", "\(bucket)-BktAdmPlc"), "PolicyName": "\(bucket)-BktAdmPlc", "PolicyId": Self.stableID("ANPA", bucket),
            "CreateDate": Self.date(created), "UpdateDate": Self.date(created), "DefaultVersionId": "v1", "Path": "/",
            "IsAttachable": true, "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 0,
            "Description": "Full access to the bucket \(bucket): the owner grant of its users' keys",
        ]
    }

    func groupRecord(_ bucket: String, created: Int64) -> [String: Any] {
        [
            "Arn": arn("group", "\(bucket)-BktAdmGrp"), "GroupName": "\(bucket)-BktAdmGrp", "GroupId": Self.stableID("AGPA", bucket),
            "CreateDate": Self.date(created), "Path": "/",
        ]
    }

    func userRecord(_ name: String, created: Int64) -> [String: Any] {
        [
            "Arn": arn("user", name), "UserName": name, "UserId": Self.stableID("AIDA", name), "CreateDate": Self.date(created), "Path": "/",
            "PasswordLastUsed": NSNull(), "PermissionsBoundary": NSNull(), "Tags": NSNull(),
        ]
    }

    static func keyRecord(_ credential: Credential, withSecret: Bool) -> [String: Any] {
        var record: [String: Any] = [
            "AccessKeyId": credential.accessKey, "Status": "Active", "UserName": credential.user,
            "CreateDate": date(credential.createdAt ?? 0),
        ]
        if withSecret { record["SecretAccessKey"] = credential.secretKey }
        return record
    }

    /// An id that stays the same for a name, in IAM's shape (prefix and 17 characters).
    static func stableID(_ prefix: String, _ name: String) -> String {
        prefix + String(SigV4.hex(SHA256.hash(data: Array(name.utf8))).uppercased().prefix(17))
    }
}
