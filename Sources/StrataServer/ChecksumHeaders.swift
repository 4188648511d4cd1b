import Foundation
import HTTPTypes
import S3Protocol
import StrataStore

/// The additional checksum a write asks for: in a header now, or in the aws-chunked trailer later.
struct RequestedChecksum: Sendable {
    var algorithm: ChecksumAlgorithm
    /// The client's value from an `x-amz-checksum-*` header; nil when it comes in the trailer or not at all.
    var expected: String?
    var inTrailer: Bool

    static let nonValueHeaders: Set<String> = ["x-amz-checksum-mode", "x-amz-checksum-algorithm", "x-amz-checksum-type"]

    /// Reads `x-amz-checksum-<algo>`, `x-amz-trailer` and `x-amz-sdk-checksum-algorithm`; nil when none is present.
    static func of(_ call: S3Call) throws(S3Error) -> RequestedChecksum? {
        var found: [(ChecksumAlgorithm, String)] = []
        for field in call.headers {
            let name = field.name.canonicalName
            guard name.hasPrefix("x-amz-checksum-"), !nonValueHeaders.contains(name) else { continue }
            guard let algorithm = ChecksumAlgorithm(headerName: name) else {
                throw S3Error(.invalidRequest, "Unsupported checksum header \(name).")
            }
            found.append((algorithm, field.value))
        }
        guard found.count <= 1 else {
            throw S3Error(.invalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
        }
        if let (algorithm, value) = found.first {
            try validate(value, algorithm)
            return RequestedChecksum(algorithm: algorithm, expected: value, inTrailer: false)
        }
        if let trailer = call.header("x-amz-trailer")?.trimmingSpaces().lowercased(), trailer.hasPrefix("x-amz-checksum-") {
            guard let algorithm = ChecksumAlgorithm(headerName: trailer) else {
                throw S3Error(.invalidRequest, "Unsupported checksum trailer \(trailer).")
            }
            return RequestedChecksum(algorithm: algorithm, expected: nil, inTrailer: true)
        }
        if let name = call.header("x-amz-sdk-checksum-algorithm") ?? call.header("x-amz-checksum-algorithm") {
            guard let algorithm = ChecksumAlgorithm(name: name) else {
                throw S3Error(
                    .invalidRequest,
                    "Checksum algorithm \(name) is not supported.",
                    details: [("ArgumentName", "x-amz-sdk-checksum-algorithm")]
                )
            }
            return RequestedChecksum(algorithm: algorithm, expected: nil, inTrailer: false)
        }
        return nil
    }

    static func validate(_ value: String, _ algorithm: ChecksumAlgorithm) throws(S3Error) {
        guard let raw = Base64Bytes.decode(value), raw.count == algorithm.digestLength else {
            throw S3Error(.invalidRequest, "Value for \(algorithm.headerName) header is invalid.")
        }
    }

    /// Compares the computed value with the client's (header or trailer); returns the value to store.
    func verify(computed: String, trailers: [(String, String)]) throws(S3Error) -> String {
        var claimed = expected
        if inTrailer {
            guard let value = trailers.first(where: { $0.0 == algorithm.headerName })?.1 else {
                throw S3Error(.invalidRequest, "The \(algorithm.headerName) trailer announced in x-amz-trailer was not sent.")
            }
            try RequestedChecksum.validate(value, algorithm)
            claimed = value
        }
        if let claimed, claimed != computed {
            throw S3Error(.badDigest, "The \(algorithm.rawValue) you specified did not match the calculated checksum.")
        }
        return computed
    }
}

enum Base64Bytes {
    static func decode(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text.trimmingSpaces()) else { return nil }
        return Array(data)
    }
}
