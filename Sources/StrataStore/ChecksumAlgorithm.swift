// No imports: the fuzz package compiles this file with ObjectMetadata.swift and MetadataCodec.swift (see
// fuzz/Sources/fuzz-metadata).

/// The additional checksums S3 accepts (`x-amz-checksum-*`).
public enum ChecksumAlgorithm: String, CaseIterable, Sendable, Codable {
    case crc32 = "CRC32"
    case crc32c = "CRC32C"
    case crc64nvme = "CRC64NVME"
    case sha1 = "SHA1"
    case sha256 = "SHA256"

    public var headerName: String { "x-amz-checksum-" + rawValue.lowercased() }
    /// The element name in XML (ListParts, CompleteMultipartUpload).
    public var xmlElement: String { "Checksum" + rawValue }

    public init?(headerName: String) {
        guard let found = ChecksumAlgorithm.allCases.first(where: { $0.headerName == headerName.lowercased() }) else { return nil }
        self = found
    }

    public init?(name: String) {
        guard let found = ChecksumAlgorithm.allCases.first(where: { $0.rawValue == name.uppercased() }) else { return nil }
        self = found
    }

    /// Raw digest length, to validate client-supplied values.
    public var digestLength: Int {
        switch self {
        case .crc32, .crc32c: 4
        case .crc64nvme: 8
        case .sha1: 20
        case .sha256: 32
        }
    }
}
