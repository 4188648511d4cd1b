/// The source named by `x-amz-copy-source`: `[/]bucket/key[?versionId=...]`, URL-encoded.
public struct CopySource: Sendable, Equatable {
    public var bucket: String
    public var key: String
    /// The source's version when not the current one.
    public var versionId: String?

    public init(bucket: String, key: String, versionId: String? = nil) {
        self.bucket = bucket
        self.key = key
        self.versionId = versionId
    }

    /// `isReserved` names the key segments the store keeps for itself.
    public init(header: String, isReserved: (Substring) -> Bool = { _ in false }, escapesSegments: Bool = false) throws(S3Error) {
        func malformed() -> S3Error {
            S3Error(
                .invalidArgument,
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                details: [("ArgumentName", "x-amz-copy-source")]
            )
        }
        var raw = Substring(header)
        if let (path, query) = header.splitOnceBytes(UInt8(ascii: "?")) {
            let parameters = try QueryParameters(raw: Substring(query))
            if let version = parameters["versionId"] {
                guard VersionID.isWellFormed(version) else {
                    throw S3Error(
                        .invalidArgument,
                        "Invalid version id specified",
                        details: [("ArgumentName", "x-amz-copy-source"), ("ArgumentValue", header)]
                    )
                }
                versionId = version
            }
            raw = Substring(path)
        }
        guard let decoded = PercentEncoding.decode(raw) else { throw malformed() }
        let path = Substring(decoded.utf8.drop { $0 == UInt8(ascii: "/") })
        guard let (bucket, key) = path.splitOnceBytes(UInt8(ascii: "/")), !bucket.isEmpty, !key.isEmpty else { throw malformed() }
        self.bucket = bucket
        self.key = key
        try BucketName.validate(bucket, strict: false)
        try ObjectKey.validate(key, isReserved: isReserved, escapesSegments: escapesSegments)
    }
}

/// `x-amz-copy-source-range: bytes=first-last`, the only form UploadPartCopy accepts.
public enum CopySourceRange {
    public static func parse(_ header: String) throws(S3Error) -> ClosedRange<Int64> {
        guard case .closed(let first, let last)? = ByteRangeSpec.parse(header) else {
            throw S3Error(
                .invalidArgument,
                "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of "
                    + "the first and last bytes to copy",
                details: [("ArgumentName", "x-amz-copy-source-range"), ("ArgumentValue", header)]
            )
        }
        return first...last
    }
}
