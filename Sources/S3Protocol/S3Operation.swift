/// Every S3 action Strata recognises: the table of contents of the server. Actions it does not implement
/// are still named, so clients get a precise 501 NotImplemented rather than a 404 or 500.
public enum S3Operation: Sendable, Equatable {
    case listBuckets
    case createBucket
    case headBucket
    case deleteBucket
    case getBucketLocation
    case getBucketVersioning
    case putBucketVersioning
    case listObjectVersions
    case getBucketAcl
    case putBucketAcl
    case listObjects
    case listObjectsV2
    case deleteObjects
    case getBucketTagging
    case putBucketTagging
    case deleteBucketTagging
    case getBucketCors
    case putBucketCors
    case deleteBucketCors
    case getBucketWebsite
    case putBucketWebsite
    case deleteBucketWebsite
    /// A browser's CORS preflight (`OPTIONS`): answered from the bucket's rules, without authentication.
    case preflight
    case listMultipartUploads
    case putObject
    /// A browser-form upload (`POST /bucket`, multipart/form-data): its credentials are in the form.
    case postObject
    case copyObject
    case getObject
    case headObject
    case deleteObject
    case getObjectAcl
    case putObjectAcl
    case getObjectTagging
    case getObjectAttributes
    case putObjectTagging
    case deleteObjectTagging
    case createMultipartUpload
    case uploadPart
    case uploadPartCopy
    case completeMultipartUpload
    case abortMultipartUpload
    case listParts
    case notImplemented(String)
}

/// What an operation needs on its bucket when signatures are verified.
public enum AccessLevel: Int, Comparable, Sendable {
    case none = 0
    case read
    case write
    case owner

    public static func < (a: AccessLevel, b: AccessLevel) -> Bool { a.rawValue < b.rawValue }
}

/// The bucket, key and query an S3 request addresses (path-style).
public struct S3Target: Sendable {
    public var bucket: String?
    public var key: String?
    public var query: QueryParameters

    /// Alluxio serves S3 under this prefix; Strata serves it there and at `/`.
    public static let alluxioBasePath = "/api/v1/s3"

    /// Splits a raw request target (`/bucket/key?query`) into decoded parts.
    public init(rawTarget: String) throws(S3Error) {
        var path = Substring(rawTarget)
        var rawQuery: Substring?
        if let q = rawTarget.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = Substring(rawTarget.utf8[..<q])
            rawQuery = Substring(rawTarget.utf8[rawTarget.utf8.index(after: q)...])
        }
        // Prefixes are compared as bytes: a combining mark after a `/` must not merge it into another character.
        for scheme in ["http://", "https://"] where path.hasBytePrefix(scheme) {
            // Absolute-form target: drop scheme and authority.
            let afterScheme = path.utf8.dropFirst(scheme.utf8.count)
            path = afterScheme.firstIndex(of: UInt8(ascii: "/")).map { Substring(afterScheme[$0...]) } ?? "/"
        }
        let base = S3Target.alluxioBasePath
        if path.bytesEqual(base) || path.hasBytePrefix(base + "/") {
            path = Substring(path.utf8.dropFirst(base.utf8.count))
        }
        query = try QueryParameters(raw: rawQuery)
        // Split on bytes: a `/` followed by a combining mark is still a separator to the kernel.
        let slashByte = UInt8(ascii: "/")
        guard path.utf8.first == slashByte || path.isEmpty else { throw S3Error(.invalidURI) }
        let trimmed = path.utf8.drop { $0 == slashByte }
        if trimmed.isEmpty {
            bucket = nil
            key = nil
            return
        }
        let slash = trimmed.firstIndex(of: slashByte)
        let rawBucket = Substring(slash.map { trimmed[..<$0] } ?? trimmed)
        guard let decodedBucket = PercentEncoding.decode(rawBucket) else { throw S3Error(.invalidURI) }
        bucket = decodedBucket
        if let slash {
            let rawKey = Substring(trimmed[trimmed.index(after: slash)...])
            guard let decodedKey = PercentEncoding.decode(rawKey) else { throw S3Error(.invalidURI) }
            key = decodedKey.isEmpty ? nil : decodedKey
        } else {
            key = nil
        }
    }
}

public enum S3Router {
    /// Sub-resources Strata knows but does not implement, with AWS's action name per method.
    static let unsupportedBucketResources: [String: String] = [
        "acl": "BucketAcl", "policy": "BucketPolicy", "policyStatus": "BucketPolicyStatus", "cors": "BucketCors",
        "lifecycle": "BucketLifecycleConfiguration", "encryption": "BucketEncryption",
        "replication": "BucketReplication", "logging": "BucketLogging", "notification": "BucketNotificationConfiguration",
        "requestPayment": "BucketRequestPayment", "object-lock": "ObjectLockConfiguration",
        "ownershipControls": "BucketOwnershipControls", "publicAccessBlock": "PublicAccessBlock",
        "accelerate": "BucketAccelerateConfiguration", "analytics": "BucketAnalyticsConfiguration",
        "inventory": "BucketInventoryConfiguration", "metrics": "BucketMetricsConfiguration",
        "intelligent-tiering": "BucketIntelligentTieringConfiguration", "metadataTable": "BucketMetadataTableConfiguration",
    ]
    static let unsupportedObjectResources: [String: String] = [
        "acl": "ObjectAcl", "retention": "ObjectRetention", "legal-hold": "ObjectLegalHold", "torrent": "ObjectTorrent",
        "restore": "RestoreObject", "select": "SelectObjectContent", "attributes": "ObjectAttributes",
    ]

    /// Chooses the action from method, target and the copy-source header, as AWS does.
    public static func route(method: String, target: S3Target, hasCopySource: Bool) -> S3Operation {
        let q = target.query
        if method == "OPTIONS" { return target.bucket == nil ? .notImplemented("OPTIONS on the service endpoint") : .preflight }
        guard target.bucket != nil else {
            return method == "GET" ? .listBuckets : .notImplemented("\(method) on the service endpoint")
        }
        if target.key == nil {
            switch method {
            case "GET":
                if q.has("tagging") { return .getBucketTagging }
                if q.has("cors") { return .getBucketCors }
                if q.has("website") { return .getBucketWebsite }
                if q.has("uploads") { return .listMultipartUploads }
                if q.has("location") { return .getBucketLocation }
                if q.has("versioning") { return .getBucketVersioning }
                if q.has("versions") { return .listObjectVersions }
                if q.has("acl") { return .getBucketAcl }
                if let name = unsupported(q, unsupportedBucketResources) { return .notImplemented("Get" + name) }
                return q["list-type"] == "2" ? .listObjectsV2 : .listObjects
            case "HEAD":
                return .headBucket
            case "PUT":
                if q.has("tagging") { return .putBucketTagging }
                if q.has("cors") { return .putBucketCors }
                if q.has("website") { return .putBucketWebsite }
                if q.has("versioning") { return .putBucketVersioning }
                if q.has("acl") { return .putBucketAcl }
                if let name = unsupported(q, unsupportedBucketResources) { return .notImplemented("Put" + name) }
                return .createBucket
            case "DELETE":
                if q.has("tagging") { return .deleteBucketTagging }
                if q.has("cors") { return .deleteBucketCors }
                if q.has("website") { return .deleteBucketWebsite }
                if let name = unsupported(q, unsupportedBucketResources) { return .notImplemented("Delete" + name) }
                return .deleteBucket
            case "POST":
                if q.has("delete") { return .deleteObjects }
                return .postObject
            default:
                return .notImplemented("\(method) on a bucket")
            }
        }
        switch method {
        case "GET":
            if q.has("uploadId") { return .listParts }
            if q.has("tagging") { return .getObjectTagging }
            if q.has("attributes") { return .getObjectAttributes }
            if q.has("acl") { return .getObjectAcl }
            if let name = unsupported(q, unsupportedObjectResources) { return .notImplemented(name == "SelectObjectContent" ? name : "Get" + name) }
            return .getObject
        case "HEAD":
            return .headObject
        case "PUT":
            if q.has("tagging") { return .putObjectTagging }
            if q.has("acl") { return .putObjectAcl }
            if let name = unsupported(q, unsupportedObjectResources) { return .notImplemented("Put" + name) }
            if q.has("uploadId") || q.has("partNumber") { return hasCopySource ? .uploadPartCopy : .uploadPart }
            return hasCopySource ? .copyObject : .putObject
        case "POST":
            if q.has("uploads") { return .createMultipartUpload }
            if q.has("uploadId") { return .completeMultipartUpload }
            if q.has("restore") { return .notImplemented("RestoreObject") }
            if q.has("select") { return .notImplemented("SelectObjectContent") }
            return .notImplemented("POST on an object")
        case "DELETE":
            if q.has("uploadId") { return .abortMultipartUpload }
            if q.has("tagging") { return .deleteObjectTagging }
            if let name = unsupported(q, unsupportedObjectResources) { return .notImplemented("Delete" + name) }
            return .deleteObject
        default:
            return .notImplemented("\(method) on an object")
        }
    }

    private static func unsupported(_ q: QueryParameters, _ table: [String: String]) -> String? {
        for item in q.items { if let name = table[item.name] { return name } }
        return nil
    }
}
