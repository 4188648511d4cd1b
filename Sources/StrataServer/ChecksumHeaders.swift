import Foundation
import HTTPTypes
import S3Protocol
import StrataStore

extension ChecksumRequest {
    static let nonValueHeaders: Set<String> = ["x-amz-checksum-mode", "x-amz-checksum-algorithm", "x-amz-checksum-type"]

    /// Reads `x-amz-checksum-<algo>`, `x-amz-trailer` and `x-amz-sdk-checksum-algorithm`; nil when none is present.
    static func of(_ call: S3Call) throws(S3Error) -> ChecksumRequest? {
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
            return ChecksumRequest(algorithm: algorithm, expected: value, inTrailer: false)
        }
        if let trailer = call.header("x-amz-trailer")?.trimmingSpaces().lowercased(), trailer.hasPrefix("x-amz-checksum-") {
            guard let algorithm = ChecksumAlgorithm(headerName: trailer) else {
                throw S3Error(.invalidRequest, "Unsupported checksum trailer \(trailer).")
            }
            return ChecksumRequest(algorithm: algorithm, expected: nil, inTrailer: true)
        }
        if let name = call.header("x-amz-sdk-checksum-algorithm") ?? call.header("x-amz-checksum-algorithm") {
            guard let algorithm = ChecksumAlgorithm(name: name) else {
                throw S3Error(
                    .invalidRequest,
                    "Checksum algorithm \(name) is not supported.",
                    details: [("ArgumentName", "x-amz-sdk-checksum-algorithm")]
                )
            }
            return ChecksumRequest(algorithm: algorithm, expected: nil, inTrailer: false)
        }
        return nil
    }
}
