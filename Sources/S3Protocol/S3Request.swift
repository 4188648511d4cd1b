import Foundation

/// A request as S3 defines it: the action with its arguments parsed, bounded and validated, built by one pure
/// function from method, target and headers. Handlers receive these values and never read raw parameters.
public struct S3Request: Sendable {
    public var target: S3Target
    public var action: S3Action

    public var operation: S3Operation { action.operation }

    /// Parses the arguments of an already routed request. `isReservedKey` names key segments the store keeps for
    /// itself. Runs after authentication, so an unauthenticated client learns nothing from argument errors.
    public static func parse(
        operation: S3Operation,
        target: S3Target,
        header: @escaping (String) -> String?,
        isReservedKey: @escaping (Substring) -> Bool,
        escapesKeySegments: Bool = false
    ) throws(S3Error) -> S3Request {
        var parser = ArgumentParser(target: target, header: header, isReservedKey: isReservedKey, escapesKeySegments: escapesKeySegments)
        return S3Request(target: target, action: try parser.action(for: operation))
    }
}

/// Every action with the arguments it takes. `operation` names it in the operation table.
public enum S3Action: Sendable {
    case listBuckets(ListBucketsArguments)
    case createBucket(bucket: String)
    case headBucket(bucket: String)
    case deleteBucket(bucket: String)
    case getBucketLocation(bucket: String)
    case getBucketVersioning(bucket: String)
    case putBucketVersioning(bucket: String)
    case listObjectVersions(ListVersionsArguments)
    case getBucketAcl(bucket: String)
    case putBucketAcl(bucket: String)
    case listObjects(ListObjectsArguments)
    case deleteObjects(bucket: String)
    case getBucketTagging(bucket: String)
    case putBucketTagging(bucket: String)
    case deleteBucketTagging(bucket: String)
    case getBucketCors(bucket: String)
    case putBucketCors(bucket: String)
    case deleteBucketCors(bucket: String)
    case getBucketWebsite(bucket: String)
    case putBucketWebsite(bucket: String)
    case deleteBucketWebsite(bucket: String)
    case preflight(bucket: String)
    case listMultipartUploads(ListUploadsArguments)
    case putObject(ObjectAddress, condition: WriteCondition)
    /// The key is in the form, read after routing; the form's fields are parsed as a PutObject's headers.
    case postObject(bucket: String)
    case copyObject(CopyArguments)
    case getObject(ReadArguments)
    case headObject(ReadArguments)
    /// `versionId`: that version, else the current one (a delete marker in a versioned bucket).
    case deleteObject(ObjectAddress, condition: DeleteCondition, versionId: String?)
    case getObjectAcl(ObjectAddress)
    case putObjectAcl(ObjectAddress)
    case getObjectTagging(ObjectAddress)
    case getObjectAttributes(ObjectAttributesArguments)
    case putObjectTagging(ObjectAddress)
    case deleteObjectTagging(ObjectAddress)
    case createMultipartUpload(ObjectAddress)
    case uploadPart(UploadAddress, partNumber: Int)
    case uploadPartCopy(UploadAddress, partNumber: Int, source: CopySource, range: String?, conditions: Conditions)
    case completeMultipartUpload(UploadAddress, condition: WriteCondition)
    case abortMultipartUpload(UploadAddress)
    case listParts(UploadAddress, partNumberMarker: Int, maxParts: Int)
    case notImplemented(String)

    public var operation: S3Operation {
        switch self {
        case .listBuckets: .listBuckets
        case .createBucket: .createBucket
        case .headBucket: .headBucket
        case .deleteBucket: .deleteBucket
        case .getBucketLocation: .getBucketLocation
        case .getBucketVersioning: .getBucketVersioning
        case .putBucketVersioning: .putBucketVersioning
        case .listObjectVersions: .listObjectVersions
        case .getBucketAcl: .getBucketAcl
        case .putBucketAcl: .putBucketAcl
        case .listObjects(let arguments): arguments.version == 2 ? .listObjectsV2 : .listObjects
        case .deleteObjects: .deleteObjects
        case .getBucketTagging: .getBucketTagging
        case .putBucketTagging: .putBucketTagging
        case .deleteBucketTagging: .deleteBucketTagging
        case .getBucketCors: .getBucketCors
        case .putBucketCors: .putBucketCors
        case .deleteBucketCors: .deleteBucketCors
        case .getBucketWebsite: .getBucketWebsite
        case .putBucketWebsite: .putBucketWebsite
        case .deleteBucketWebsite: .deleteBucketWebsite
        case .preflight: .preflight
        case .listMultipartUploads: .listMultipartUploads
        case .putObject: .putObject
        case .postObject: .postObject
        case .copyObject: .copyObject
        case .getObject: .getObject
        case .headObject: .headObject
        case .deleteObject: .deleteObject
        case .getObjectAcl: .getObjectAcl
        case .putObjectAcl: .putObjectAcl
        case .getObjectTagging: .getObjectTagging
        case .getObjectAttributes: .getObjectAttributes
        case .putObjectTagging: .putObjectTagging
        case .deleteObjectTagging: .deleteObjectTagging
        case .createMultipartUpload: .createMultipartUpload
        case .uploadPart: .uploadPart
        case .uploadPartCopy: .uploadPartCopy
        case .completeMultipartUpload: .completeMultipartUpload
        case .abortMultipartUpload: .abortMultipartUpload
        case .listParts: .listParts
        case .notImplemented(let name): .notImplemented(name)
        }
    }
}

/// A precondition on the object a write replaces, checked atomically with the publish.
public enum WriteCondition: Sendable, Equatable {
    case none
    /// `If-None-Match: *`: only if no object has the key.
    case absent
    /// `If-Match`: only if the current object's ETag is one of these (or `*`: any object exists).
    case matches(String)
    /// `If-None-Match` with ETags: unless the current object's ETag is one of these (no object: go ahead).
    case noneMatches(String)
}

public struct ObjectAddress: Sendable, Equatable {
    public var bucket: String
    public var key: String
}

public struct UploadAddress: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var uploadId: String
}

/// GetObject and HeadObject.
public struct ReadArguments: Sendable {
    public var object: ObjectAddress
    public var conditions: Conditions
    /// The Range header as sent (an unparseable one is ignored, as AWS does) and its parsed form.
    public var rangeHeader: String?
    public var range: ByteRangeSpec?
    public var partNumber: Int?
    /// A version other than the current one (`versionId`).
    public var versionId: String?
}

public struct CopyArguments: Sendable {
    public var object: ObjectAddress
    public var source: CopySource
    public var conditions: Conditions
    public var replaceMetadata: Bool
    public var replaceTags: Bool
}

public struct ListObjectsArguments: Sendable {
    public static let maxKeysLimit = 1000

    public var bucket: String
    public var version: Int
    public var prefix: String
    public var delimiter: String?
    public var maxKeys: Int
    /// Where the page starts: `marker` (v1), or `start-after` or the decoded continuation token (v2).
    public var startAfter: String?
    public var marker: String?
    public var requestedStartAfter: String?
    public var continuationToken: String?
    public var urlEncoded: Bool
    public var fetchOwner: Bool
}

/// GetObjectAttributes: which attributes (`x-amz-object-attributes`) and which page of the parts
/// (`x-amz-max-parts`, `x-amz-part-number-marker`).
public struct ObjectAttributesArguments: Sendable {
    public static let names = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]

    public var object: ObjectAddress
    public var attributes: Set<String>
    public var maxParts: Int
    public var partNumberMarker: Int
    public var versionId: String?
}

/// DeleteObject's conditions (`If-Match`, `x-amz-if-match-last-modified-time`, `x-amz-if-match-size`): the object is
/// deleted only if it still is the version the client saw. A missing object is no error, as for any delete.
public struct DeleteCondition: Sendable, Equatable {
    public var ifMatch: String?
    public var lastModifiedSeconds: Int64?
    public var size: Int64?

    public init(ifMatch: String? = nil, lastModifiedSeconds: Int64? = nil, size: Int64? = nil) {
        self.ifMatch = ifMatch
        self.lastModifiedSeconds = lastModifiedSeconds
        self.size = size
    }

    public var isEmpty: Bool { ifMatch == nil && lastModifiedSeconds == nil && size == nil }

    /// Whether an object with these properties may be deleted.
    public func allows(etag: String, lastModifiedSeconds modified: Int64, size objectSize: Int64) -> Bool {
        if let ifMatch, !Conditions.matches(ifMatch, etag) { return false }
        if let lastModifiedSeconds, lastModifiedSeconds != modified { return false }
        if let size, size != objectSize { return false }
        return true
    }
}

/// ListBuckets' page: AWS's `max-buckets` (1 to 10,000), `continuation-token`, `prefix` and `bucket-region`.
public struct ListBucketsArguments: Sendable {
    public static let maxBucketsLimit = 10_000

    /// nil: every bucket in one answer, as before AWS paginated ListBuckets.
    public var maxBuckets: Int?
    /// The last bucket name of the previous page (decoded from the continuation token).
    public var startAfter: String?
    public var prefix: String?
    public var region: String?
}

/// ListMultipartUploads' arguments, which the store takes as they are.
public struct ListUploadsArguments: Sendable {
    public var bucket: String
    public var prefix: String
    public var delimiter: String?
    public var keyMarker: String
    public var uploadIdMarker: String
    public var maxUploads: Int
    /// Only uploads this user started (nil: every upload); set by the server for callers who do not own the bucket.
    public var initiator: String?

    public init(bucket: String, prefix: String, delimiter: String?, keyMarker: String, uploadIdMarker: String, maxUploads: Int) {
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.keyMarker = keyMarker
        self.uploadIdMarker = uploadIdMarker
        self.maxUploads = maxUploads
    }
}

/// ListObjectsV2 continuation tokens: the last key returned, opaque to clients (base64url with a version tag).
public enum ContinuationToken {
    public static func encode(_ key: String) -> String {
        "1."
            + Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ token: String) -> String? {
        guard token.hasPrefix("1."), token.utf8.count <= 4096 else { return nil }
        var body = String(token.dropFirst(2)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while body.utf8.count % 4 != 0 { body += "=" }
        // String(validating:) keeps a leading byte-order mark, which String(data:encoding:) would drop.
        guard let data = Data(base64Encoded: body), let key = String(validating: Array(data), as: UTF8.self), !key.isEmpty else { return nil }
        return key
    }
}

/// Reads one request's arguments; each accessor validates what it reads and throws S3's error.
struct ArgumentParser {
    let target: S3Target
    let header: (String) -> String?
    let isReservedKey: (Substring) -> Bool
    /// Every key segment is allowed: the store escapes what a filesystem cannot name.
    let escapesKeySegments: Bool

    var query: QueryParameters { target.query }

    func bucket() throws(S3Error) -> String {
        guard let bucket = target.bucket else { throw S3Error(.invalidURI) }
        try BucketName.validate(bucket, strict: false)
        return bucket
    }

    func object() throws(S3Error) -> ObjectAddress {
        guard let key = target.key else { throw S3Error(.invalidURI) }
        let bucket = try bucket()
        try ObjectKey.validate(key, isReserved: isReservedKey, escapesSegments: escapesKeySegments)
        return ObjectAddress(bucket: bucket, key: key)
    }

    /// The object of an action Strata applies to current versions only (tags, ACLs): with a `versionId` it would
    /// silently act on another version than the one named, so the request is refused.
    func currentVersion() throws(S3Error) -> ObjectAddress {
        let address = try object()
        if let versionId = query["versionId"] {
            throw S3Error(
                .notImplemented,
                "Tags and ACLs of a specific version are not supported; send the request without versionId for the current version.",
                details: [("ArgumentName", "versionId"), ("ArgumentValue", versionId)]
            )
        }
        return address
    }

    func upload() throws(S3Error) -> UploadAddress {
        let object = try object()
        return UploadAddress(bucket: object.bucket, key: object.key, uploadId: query["uploadId"] ?? "")
    }

    /// `partNumber`, 1 to 10000.
    func partNumber() throws(S3Error) -> Int {
        let raw = query["partNumber"] ?? ""
        guard let n = DecimalNumber.parseInt(raw, in: 1...10_000) else {
            throw S3Error(
                .invalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
                details: [("ArgumentName", "partNumber"), ("ArgumentValue", raw)]
            )
        }
        return n
    }

    /// A non-negative integer query parameter, capped like AWS's page sizes.
    func pageSize(_ name: String, default value: Int, cap: Int = 1000) throws(S3Error) -> Int {
        try count(name, query[name], default: value, cap: cap)
    }

    /// A non-negative count sent as `name` (a query parameter or a header), at most `cap`.
    func count(_ name: String, _ raw: String?, default value: Int, cap: Int) throws(S3Error) -> Int {
        guard let raw else { return value }
        guard let n = DecimalNumber.parseInt(raw, in: 0...Int.max) else {
            throw S3Error(
                .invalidArgument,
                "Provided \(name) not an integer or within integer range",
                details: [("ArgumentName", name), ("ArgumentValue", raw)]
            )
        }
        return min(n, cap)
    }

    func readConditions() -> Conditions {
        Conditions(
            ifMatch: header("if-match"),
            ifNoneMatch: header("if-none-match"),
            ifModifiedSince: header("if-modified-since"),
            ifUnmodifiedSince: header("if-unmodified-since")
        )
    }

    func copySourceConditions() -> Conditions {
        Conditions(
            ifMatch: header("x-amz-copy-source-if-match"),
            ifNoneMatch: header("x-amz-copy-source-if-none-match"),
            ifModifiedSince: header("x-amz-copy-source-if-modified-since"),
            ifUnmodifiedSince: header("x-amz-copy-source-if-unmodified-since")
        )
    }

    /// `If-None-Match: *` or `If-Match` on a write (PutObject, CompleteMultipartUpload).
    func writeCondition() throws(S3Error) -> WriteCondition {
        let ifNoneMatch = header("if-none-match")
        let ifMatch = header("if-match")
        if ifNoneMatch != nil && ifMatch != nil {
            throw S3Error(.invalidRequest, "If-Match and If-None-Match cannot be used together on a write.")
        }
        if let ifNoneMatch {
            return ifNoneMatch.trimmingCharacters(in: .whitespaces) == "*" ? .absent : .noneMatches(ifNoneMatch)
        }
        if let ifMatch { return .matches(ifMatch) }
        return .none
    }

    func copySource() throws(S3Error) -> CopySource {
        try CopySource(header: header("x-amz-copy-source") ?? "", isReserved: isReservedKey, escapesSegments: escapesKeySegments)
    }

    func read() throws(S3Error) -> ReadArguments {
        let object = try object()
        let versionId = try VersionID.parse(query["versionId"])
        let rangeHeader = header("range")
        return ReadArguments(
            object: object,
            conditions: readConditions(),
            rangeHeader: rangeHeader,
            range: rangeHeader.flatMap(ByteRangeSpec.parse),
            partNumber: query["partNumber"] != nil ? try partNumber() : nil,
            versionId: versionId
        )
    }

    func directive(_ name: String) throws(S3Error) -> Bool {
        let value = (header(name) ?? "COPY").uppercased()
        guard value == "COPY" || value == "REPLACE" else {
            let what = name == "x-amz-tagging-directive" ? "tagging" : "metadata"
            throw S3Error(.invalidArgument, "Unknown \(what) directive.", details: [("ArgumentName", name)])
        }
        return value == "REPLACE"
    }

    func list(version: Int) throws(S3Error) -> ListObjectsArguments {
        let bucket = try bucket()
        let encodingType = query["encoding-type"]
        if let encodingType, encodingType.lowercased() != "url" {
            throw S3Error(
                .invalidArgument,
                "Invalid Encoding Method specified in Request",
                details: [("ArgumentName", "encoding-type"), ("ArgumentValue", encodingType)]
            )
        }
        var arguments = ListObjectsArguments(
            bucket: bucket,
            version: version,
            prefix: query["prefix"] ?? "",
            // rclone sends `delimiter=` with v1: an empty delimiter means none.
            delimiter: query["delimiter"].flatMap { $0.isEmpty ? nil : $0 },
            maxKeys: try pageSize("max-keys", default: ListObjectsArguments.maxKeysLimit),
            marker: query["marker"],
            requestedStartAfter: query["start-after"],
            urlEncoded: encodingType != nil,
            fetchOwner: version == 1 || query["fetch-owner"] == "true"
        )
        // A Ceph extension clients send: unordered listings cannot group by a delimiter.
        if query["allow-unordered"]?.lowercased() == "true", arguments.delimiter != nil {
            throw S3Error(
                .invalidArgument,
                "allow-unordered cannot be combined with a delimiter",
                details: [("ArgumentName", "allow-unordered"), ("ArgumentValue", "true")]
            )
        }
        if version == 2 {
            if let token = query["continuation-token"], token.isEmpty {
                // An empty token starts at the beginning (and is echoed back), as AWS answers it.
                arguments.continuationToken = token
                arguments.startAfter = query["start-after"].flatMap { $0.isEmpty ? nil : $0 }
            } else if let token = query["continuation-token"] {
                let decoded = try continuationStart(token)
                arguments.continuationToken = token
                arguments.startAfter = decoded
            } else {
                arguments.startAfter = query["start-after"].flatMap { $0.isEmpty ? nil : $0 }
            }
        } else {
            arguments.startAfter = query["marker"].flatMap { $0.isEmpty ? nil : $0 }
        }
        return arguments
    }

    func objectAttributes() throws(S3Error) -> ObjectAttributesArguments {
        let object = try object()
        let requested = (header("x-amz-object-attributes") ?? "").splitBytes(UInt8(ascii: ",")).map { $0.trimming(" ") }.filter { !$0.isEmpty }
        guard !requested.isEmpty else {
            throw S3Error(.invalidArgument, "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
        }
        for name in requested where !ObjectAttributesArguments.names.contains(name) {
            throw S3Error(
                .invalidArgument,
                "Invalid attribute name specified.",
                details: [("ArgumentName", "x-amz-object-attributes"), ("ArgumentValue", name)]
            )
        }
        return ObjectAttributesArguments(
            object: object,
            attributes: Set(requested),
            maxParts: try count("x-amz-max-parts", header("x-amz-max-parts"), default: 1000, cap: 1000),
            partNumberMarker: try count("x-amz-part-number-marker", header("x-amz-part-number-marker"), default: 0, cap: Int.max),
            versionId: try VersionID.parse(query["versionId"])
        )
    }

    func deleteCondition() throws(S3Error) -> DeleteCondition {
        var condition = DeleteCondition(ifMatch: header("if-match"))
        if let raw = header("x-amz-if-match-last-modified-time") {
            guard let seconds = HTTPDate.parse(raw) else {
                throw S3Error(.invalidArgument, "x-amz-if-match-last-modified-time must be a date", details: [("ArgumentValue", raw)])
            }
            condition.lastModifiedSeconds = seconds
        }
        if let raw = header("x-amz-if-match-size") {
            guard let size = DecimalNumber.parse(raw, in: 0...Int64.max) else {
                throw S3Error(.invalidArgument, "x-amz-if-match-size must be a non-negative integer", details: [("ArgumentValue", raw)])
            }
            condition.size = size
        }
        return condition
    }

    func listBuckets() throws(S3Error) -> ListBucketsArguments {
        var arguments = ListBucketsArguments(prefix: query["prefix"], region: query["bucket-region"])
        if let raw = query["max-buckets"] {
            guard let count = DecimalNumber.parseInt(raw, in: 1...ListBucketsArguments.maxBucketsLimit) else {
                throw S3Error(
                    .invalidArgument,
                    "Argument max-buckets must be an integer between 1 and 10000",
                    details: [("ArgumentName", "max-buckets"), ("ArgumentValue", raw)]
                )
            }
            arguments.maxBuckets = count
        }
        if let token = query["continuation-token"] { arguments.startAfter = try continuationStart(token) }
        return arguments
    }

    /// Where a page resumes: the name a continuation token carries; InvalidArgument for one this server did not make.
    func continuationStart(_ token: String) throws(S3Error) -> String {
        guard let decoded = ContinuationToken.decode(token) else {
            throw S3Error(.invalidArgument, "The continuation token provided is incorrect", details: [("ArgumentName", "continuation-token")])
        }
        return decoded
    }

    mutating func action(for operation: S3Operation) throws(S3Error) -> S3Action {
        switch operation {
        case .listBuckets: return .listBuckets(try listBuckets())
        case .createBucket: return .createBucket(bucket: try bucketForCreate())
        case .headBucket: return .headBucket(bucket: try bucket())
        case .deleteBucket: return .deleteBucket(bucket: try bucket())
        case .getBucketLocation: return .getBucketLocation(bucket: try bucket())
        case .getBucketVersioning: return .getBucketVersioning(bucket: try bucket())
        case .putBucketVersioning: return .putBucketVersioning(bucket: try bucket())
        case .listObjectVersions:
            let encodingType = query["encoding-type"]
            if let encodingType, encodingType != "url" {
                throw S3Error(.invalidArgument, "Invalid Encoding Method specified in Request", details: [("ArgumentName", "encoding-type")])
            }
            return .listObjectVersions(
                ListVersionsArguments(
                    bucket: try bucket(),
                    prefix: query["prefix"] ?? "",
                    delimiter: query["delimiter"].flatMap { $0.isEmpty ? nil : $0 },
                    keyMarker: query["key-marker"] ?? "",
                    versionIdMarker: query["version-id-marker"] ?? "",
                    maxKeys: try pageSize("max-keys", default: 1000),
                    urlEncoded: encodingType != nil
                )
            )
        case .getBucketAcl: return .getBucketAcl(bucket: try bucket())
        case .putBucketAcl: return .putBucketAcl(bucket: try bucket())
        case .listObjects: return .listObjects(try list(version: 1))
        case .listObjectsV2: return .listObjects(try list(version: 2))
        case .deleteObjects: return .deleteObjects(bucket: try bucket())
        case .getBucketTagging: return .getBucketTagging(bucket: try bucket())
        case .putBucketTagging: return .putBucketTagging(bucket: try bucket())
        case .deleteBucketTagging: return .deleteBucketTagging(bucket: try bucket())
        case .getBucketCors: return .getBucketCors(bucket: try bucket())
        case .putBucketCors: return .putBucketCors(bucket: try bucket())
        case .deleteBucketCors: return .deleteBucketCors(bucket: try bucket())
        case .getBucketWebsite: return .getBucketWebsite(bucket: try bucket())
        case .putBucketWebsite: return .putBucketWebsite(bucket: try bucket())
        case .deleteBucketWebsite: return .deleteBucketWebsite(bucket: try bucket())
        case .preflight: return .preflight(bucket: try bucket())
        case .listMultipartUploads:
            return .listMultipartUploads(
                ListUploadsArguments(
                    bucket: try bucket(),
                    prefix: query["prefix"] ?? "",
                    delimiter: query["delimiter"].flatMap { $0.isEmpty ? nil : $0 },
                    keyMarker: query["key-marker"] ?? "",
                    uploadIdMarker: query["upload-id-marker"] ?? "",
                    maxUploads: try pageSize("max-uploads", default: 1000)
                )
            )
        case .putObject: return .putObject(try object(), condition: try writeCondition())
        case .postObject: return .postObject(bucket: try bucket())
        case .copyObject:
            return .copyObject(
                CopyArguments(
                    object: try object(),
                    source: try copySource(),
                    conditions: copySourceConditions(),
                    replaceMetadata: try directive("x-amz-metadata-directive"),
                    replaceTags: try directive("x-amz-tagging-directive")
                )
            )
        case .getObject: return .getObject(try read())
        case .headObject: return .headObject(try read())
        case .deleteObject:
            return .deleteObject(try object(), condition: try deleteCondition(), versionId: try VersionID.parse(query["versionId"]))
        case .getObjectAcl: return .getObjectAcl(try currentVersion())
        case .putObjectAcl: return .putObjectAcl(try currentVersion())
        case .getObjectTagging: return .getObjectTagging(try currentVersion())
        case .getObjectAttributes: return .getObjectAttributes(try objectAttributes())
        case .putObjectTagging: return .putObjectTagging(try currentVersion())
        case .deleteObjectTagging: return .deleteObjectTagging(try currentVersion())
        case .createMultipartUpload: return .createMultipartUpload(try object())
        case .uploadPart: return .uploadPart(try upload(), partNumber: try partNumber())
        case .uploadPartCopy:
            return .uploadPartCopy(
                try upload(),
                partNumber: try partNumber(),
                source: try copySource(),
                range: header("x-amz-copy-source-range"),
                conditions: copySourceConditions()
            )
        case .completeMultipartUpload: return .completeMultipartUpload(try upload(), condition: try writeCondition())
        case .abortMultipartUpload: return .abortMultipartUpload(try upload())
        case .listParts:
            return .listParts(
                try upload(),
                partNumberMarker: try pageSize("part-number-marker", default: 0, cap: 10_000),
                maxParts: try pageSize("max-parts", default: 1000)
            )
        case .notImplemented(let name): return .notImplemented(name)
        }
    }

    /// CreateBucket's name is checked against AWS's naming rules by the handler when they are enforced.
    func bucketForCreate() throws(S3Error) -> String {
        guard let bucket = target.bucket else { throw S3Error(.invalidURI) }
        return bucket
    }
}
