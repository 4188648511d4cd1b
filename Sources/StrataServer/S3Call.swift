import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore
import Synchronization

/// Whether a request's body has been read to its end; a refusal before that closes the connection rather
/// than draining what the client may still send.
final class BodyProgress: Sendable {
    private let finished = Atomic<Bool>(false)
    var isFinished: Bool { finished.load(ordering: .relaxed) }
    func markFinished() { finished.store(true, ordering: .relaxed) }
}

/// Everything a handler needs about one S3 request.
struct S3Call: Sendable {
    let request: Request
    let target: S3Target
    let operation: S3Operation
    let requestID: String
    let identity: Identity
    let bodyProgress: BodyProgress

    var user: String { identity.user }

    var headers: HTTPFields { request.headers }
    var query: QueryParameters { target.query }
    var isHead: Bool { request.method == .head }

    func header(_ name: String) -> String? { request.headers[named: name] }

    /// The bucket name, validated for safe use as a path. Only called by bucket and object operations.
    func bucket() throws(S3Error) -> String {
        guard let bucket = target.bucket else { throw S3Error(.invalidURI) }
        try BucketName.validate(bucket, strict: false)
        return bucket
    }

    /// The object key, validated against what the filesystem can hold.
    func key() throws(S3Error) -> String {
        guard let key = target.key else { throw S3Error(.invalidURI) }
        try ObjectKey.validate(key, isReserved: ReservedNames.isReserved)
        return key
    }

    /// If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since of a GET or HEAD.
    func readConditions() -> Conditions {
        Conditions(
            ifMatch: header("if-match"),
            ifNoneMatch: header("if-none-match"),
            ifModifiedSince: header("if-modified-since"),
            ifUnmodifiedSince: header("if-unmodified-since")
        )
    }

    /// The `x-amz-copy-source-if-*` conditions of CopyObject and UploadPartCopy.
    func copySourceConditions() -> Conditions {
        Conditions(
            ifMatch: header("x-amz-copy-source-if-match"),
            ifNoneMatch: header("x-amz-copy-source-if-none-match"),
            ifModifiedSince: header("x-amz-copy-source-if-modified-since"),
            ifUnmodifiedSince: header("x-amz-copy-source-if-unmodified-since")
        )
    }

    /// The `partNumber` query parameter, 1 to 10000 (UploadPart, and GET/HEAD by part).
    func partNumber() throws(S3Error) -> Int {
        let raw = query["partNumber"] ?? ""
        guard let n = DecimalNumber.parseInt(raw, in: 1...FileSystemStore.maxPartNumber) else {
            throw S3Error(
                .invalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
                details: [("ArgumentName", "partNumber"), ("ArgumentValue", raw)]
            )
        }
        return n
    }

    /// `If-None-Match: *` or `If-Match` on a write (PutObject, CompleteMultipartUpload).
    func writeCondition() throws(S3Error) -> WriteCondition {
        let ifNoneMatch = header("if-none-match")
        let ifMatch = header("if-match")
        if ifNoneMatch != nil && ifMatch != nil {
            throw S3Error(.invalidRequest, "If-Match and If-None-Match cannot be used together on a write.")
        }
        if let ifNoneMatch {
            guard ifNoneMatch.trimmingSpaces() == "*" else {
                throw S3Error(.notImplemented, "If-None-Match on a write supports only '*'.", details: [("Header", "If-None-Match")])
            }
            return .absent
        }
        if let ifMatch { return .matches(ifMatch) }
        return .none
    }

    /// `bucket` or `bucket/key`, for error Resource elements and logs.
    var resource: String {
        switch (target.bucket, target.key) {
        case (let b?, let k?): "/\(b)/\(k)"
        case (let b?, nil): "/\(b)"
        default: "/"
        }
    }
}
