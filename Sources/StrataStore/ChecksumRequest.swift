import Foundation
import S3Protocol

/// The additional checksum a write asks for: in a header now, or in the aws-chunked trailer later.
public struct ChecksumRequest: Sendable {
    public var algorithm: ChecksumAlgorithm
    /// The client's value from an `x-amz-checksum-*` header; nil when it comes in the trailer or not at all.
    public var expected: String?
    public var inTrailer: Bool

    public init(algorithm: ChecksumAlgorithm, expected: String?, inTrailer: Bool) {
        self.algorithm = algorithm
        self.expected = expected
        self.inTrailer = inTrailer
    }

    /// A value that is not a digest of this algorithm can never match the data: BadDigest, as ceph's s3-tests expect.
    public static func validate(_ value: String, _ algorithm: ChecksumAlgorithm) throws(S3Error) {
        guard let raw = Base64Bytes.decode(value), raw.count == algorithm.digestLength else {
            throw S3Error(.badDigest, "The \(algorithm.rawValue) you specified (\(algorithm.headerName)) is not a valid digest, so it cannot match.")
        }
    }

    /// Compares the computed value with the client's (header or trailer); returns the value to store.
    public func verify(computed: String, trailers: [(String, String)]) throws(S3Error) -> String {
        var claimed = expected
        if inTrailer {
            guard let value = trailers.first(where: { $0.0 == algorithm.headerName })?.1 else {
                throw S3Error(.invalidRequest, "The \(algorithm.headerName) trailer announced in x-amz-trailer was not sent.")
            }
            try ChecksumRequest.validate(value, algorithm)
            claimed = value
        }
        if let claimed, claimed != computed {
            throw S3Error(.badDigest, "The \(algorithm.rawValue) you specified did not match the calculated checksum.")
        }
        return computed
    }
}

public enum Base64Bytes {
    public static func decode(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)) else { return nil }
        return Array(data)
    }
}

extension ObjectMetadata {
    /// What CopyObject's COPY directive carries over to the new object, owned by `owner`.
    public func copiedForCopy(owner: String) -> ObjectMetadata {
        var meta = ObjectMetadata()
        meta.owner = owner
        meta.contentType = contentType
        meta.contentEncoding = contentEncoding
        meta.contentDisposition = contentDisposition
        meta.contentLanguage = contentLanguage
        meta.cacheControl = cacheControl
        meta.expires = expires
        meta.userMetadata = userMetadata
        return meta
    }
}
