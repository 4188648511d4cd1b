import CStrataSys
import Crypto
import Foundation

/// A running checksum of one algorithm.
public struct Checksummer: @unchecked Sendable {
    public let algorithm: ChecksumAlgorithm
    private var crc32: UInt32 = 0
    private var crc64: UInt64 = 0
    private var sha1 = Insecure.SHA1()
    private var sha256 = SHA256()

    public init(_ algorithm: ChecksumAlgorithm) { self.algorithm = algorithm }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        switch algorithm {
        case .crc32: crc32 = cstrata_crc32(crc32, base, bytes.count)
        case .crc32c: crc32 = cstrata_crc32c(crc32, base, bytes.count)
        case .crc64nvme: crc64 = cstrata_crc64nvme(crc64, base, bytes.count)
        case .sha1: sha1.update(bufferPointer: bytes)
        case .sha256: sha256.update(bufferPointer: bytes)
        }
    }

    /// The digest in big-endian bytes, as S3 base64-encodes it.
    public func digest() -> [UInt8] {
        switch algorithm {
        case .crc32, .crc32c: withUnsafeBytes(of: crc32.bigEndian) { Array($0) }
        case .crc64nvme: withUnsafeBytes(of: crc64.bigEndian) { Array($0) }
        case .sha1: Array(sha1.finalize())
        case .sha256: Array(sha256.finalize())
        }
    }

    public func base64() -> String { Data(digest()).base64EncodedString() }

    /// S3's composite checksum of a multipart object: the checksum of the parts' raw checksums, then `-N`.
    public static func composite(_ algorithm: ChecksumAlgorithm, parts: [String]) -> String? {
        var summer = Checksummer(algorithm)
        for part in parts {
            guard let raw = Data(base64Encoded: part) else { return nil }
            raw.withUnsafeBytes { summer.update($0) }
        }
        return "\(summer.base64())-\(parts.count)"
    }
}
