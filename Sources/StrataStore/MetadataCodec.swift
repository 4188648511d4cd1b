// No imports: the fuzz package compiles this file with ObjectMetadata.swift and ChecksumAlgorithm.swift (see
// fuzz/Sources/fuzz-metadata).

/// The binary format of ObjectMetadata in the `user.strata.meta` xattr.
///
/// Why not JSON: decoding JSON was a large part of the cost of a small GET and of every listed key, and a typical
/// object's ~95 bytes of JSON did not fit in the xattr space a 256-byte ext4 inode has left (about 60 bytes of
/// value for this name), so every small object took a whole extra block for its metadata.
///
/// Layout: the marker byte 0x02, which no JSON text starts with, then records in any order: a tag (one byte), the
/// value's length (LEB128) and the value. Tags a decoder does not know are skipped, so later versions can add
/// fields; a field that is nil or at its default is absent. Values:
/// - strings: their UTF-8 bytes;
/// - integers: LEB128, or zigzag LEB128 for the signed ones that may be negative;
/// - `Bool?`: one byte, 0 or 1 (false is not the same as absent: `persisted == false` means "not yet");
/// - the ETag: a plain lower-case hex MD5 as its 16 bytes (the common case), anything else (`hex-N`) as text;
/// - group: a tag with an empty value when it is the owner's name (the common case);
/// - userMetadata: a count, then per pair the key's length and bytes and the value's length and bytes;
/// - partSizes: a count, then per run its part size and part count.
///
/// Any program can write the attribute, so decoding is total: every length and varint is bounds-checked, counts
/// are capped, strings are validated as UTF-8, and anything malformed yields nil, never a trap.
enum MetadataCodec {
    /// "Version 2" of the attribute (JSON being the first); JSON starts with `{` or whitespace, never with 0x02.
    static let marker: UInt8 = 0x02
    /// Caps on counts, far above anything the server writes (S3 allows 10,000 parts, and 2 KB of user metadata
    /// by default), so a short hostile value cannot ask for a large allocation.
    static let maxUserMetadataCount = 10_000
    static let maxPartRuns = 10_000

    /// The record tags. Numbers are forever: never reuse one for another meaning.
    enum Tag: UInt8 {
        case etagMD5 = 1
        case etagText = 2
        case size = 3
        case mtimeNanos = 4
        case owner = 5
        case group = 6
        case groupIsOwner = 7
        case mode = 8
        case isPublic = 9
        case isDirectory = 10
        case contentType = 11
        case contentEncoding = 12
        case contentDisposition = 13
        case contentLanguage = 14
        case cacheControl = 15
        case expires = 16
        case userMetadata = 17
        case multipartUploadId = 18
        case partSizes = 19
        case checksumAlgorithm = 20
        case checksum = 21
        case checksumIsComposite = 22
        case upstreamETag = 23
        case syncedAt = 24
        case persisted = 25
        case version = 26
        case partChecksums = 27
        case versionId = 28
        case isDeleteMarker = 29
    }

    static func encode(_ meta: ObjectMetadata) -> [UInt8] {
        var out = Writer()
        out.bytes.reserveCapacity(64)
        out.bytes.append(marker)
        if !out.md5(meta.etag), !meta.etag.isEmpty { out.field(.etagText, meta.etag) }
        // A negative size cannot come from stat; written as its bit pattern, the decoder refuses it.
        if meta.size != 0 { out.field(.size, UInt64(bitPattern: meta.size)) }
        if meta.mtimeNanos != 0 { out.field(.mtimeNanos, signed: meta.mtimeNanos) }
        out.field(.owner, meta.owner)
        if let group = meta.group {
            // Compared as bytes: String's == would also match a differently normalized name.
            if let owner = meta.owner, group.utf8.elementsEqual(owner.utf8) {
                out.header(.groupIsOwner, 0)
            } else {
                out.field(.group, group)
            }
        }
        if let mode = meta.mode { out.field(.mode, UInt64(mode)) }
        out.field(.isPublic, meta.isPublic)
        out.field(.isDirectory, meta.isDirectory)
        out.field(.contentType, meta.contentType)
        out.field(.contentEncoding, meta.contentEncoding)
        out.field(.contentDisposition, meta.contentDisposition)
        out.field(.contentLanguage, meta.contentLanguage)
        out.field(.cacheControl, meta.cacheControl)
        out.field(.expires, meta.expires)
        if let user = meta.userMetadata { out.userMetadata(user) }
        out.field(.multipartUploadId, meta.multipartUploadId)
        if let runs = meta.partSizes { out.partSizes(runs) }
        // Base64 values never hold a comma.
        out.field(.partChecksums, meta.partChecksums?.joined(separator: ","))
        out.field(.checksumAlgorithm, meta.checksumAlgorithm?.rawValue)
        out.field(.checksum, meta.checksum)
        out.field(.checksumIsComposite, meta.checksumIsComposite)
        out.field(.upstreamETag, meta.upstreamETag)
        if let syncedAt = meta.syncedAt { out.field(.syncedAt, signed: syncedAt) }
        out.field(.persisted, meta.persisted)
        out.field(.versionId, meta.versionId)
        out.field(.isDeleteMarker, meta.isDeleteMarker)
        if meta.version != ObjectMetadata.currentVersion { out.field(.version, signed: Int64(meta.version)) }
        return out.bytes
    }

    /// nil unless `bytes` is a well-formed binary value (starting with the marker).
    static func decode(_ bytes: [UInt8]) -> ObjectMetadata? {
        guard bytes.first == marker else { return nil }
        var input = Reader(bytes: bytes, position: 1, end: bytes.count)
        var meta = ObjectMetadata()
        var groupIsOwner = false
        do {
            while !input.isAtEnd {
                let (tag, value) = try input.record()
                switch Tag(rawValue: tag) {
                case .etagMD5: meta.etag = try value.md5Hex()
                case .etagText: meta.etag = try value.string()
                case .size: meta.size = try value.nonNegative()
                case .mtimeNanos: meta.mtimeNanos = try value.signed()
                case .owner: meta.owner = try value.string()
                case .group: meta.group = try value.string()
                case .groupIsOwner:
                    guard value.isAtEnd else { throw Malformed() }
                    groupIsOwner = true
                case .mode:
                    let mode = try value.unsigned()
                    guard mode <= UInt64(UInt16.max) else { throw Malformed() }
                    meta.mode = UInt16(mode)
                case .isPublic: meta.isPublic = try value.flag()
                case .isDirectory: meta.isDirectory = try value.flag()
                case .contentType: meta.contentType = try value.string()
                case .contentEncoding: meta.contentEncoding = try value.string()
                case .contentDisposition: meta.contentDisposition = try value.string()
                case .contentLanguage: meta.contentLanguage = try value.string()
                case .cacheControl: meta.cacheControl = try value.string()
                case .expires: meta.expires = try value.string()
                case .userMetadata: meta.userMetadata = try value.userMetadata()
                case .multipartUploadId: meta.multipartUploadId = try value.string()
                case .partSizes: meta.partSizes = try value.partSizes()
                // An algorithm this version does not know reads as none, like an unknown tag, rather than losing
                // the whole record.
                case .checksumAlgorithm: meta.checksumAlgorithm = try ChecksumAlgorithm(rawValue: value.string())
                case .checksum: meta.checksum = try value.string()
                case .checksumIsComposite: meta.checksumIsComposite = try value.flag()
                case .upstreamETag: meta.upstreamETag = try value.string()
                case .syncedAt: meta.syncedAt = try value.signed()
                case .persisted: meta.persisted = try value.flag()
                case .versionId: meta.versionId = try value.string()
                case .isDeleteMarker: meta.isDeleteMarker = try value.flag()
                case .partChecksums:
                    // Split at the ASCII comma byte-wise, so each piece stays valid UTF-8.
                    meta.partChecksums = try value.string().utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                        .map { String(decoding: $0, as: UTF8.self) }
                case .version:
                    guard let version = try Int(exactly: value.signed()) else { throw Malformed() }
                    meta.version = version
                case nil: break  // a later version's field: skipped
                }
            }
        } catch {
            return nil
        }
        if groupIsOwner {
            guard let owner = meta.owner else { return nil }
            meta.group = owner
        }
        return meta
    }
}

private struct Malformed: Error {}

private func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

private func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }

private func varintSize(_ value: UInt64) -> Int {
    var size = 1
    var rest = value >> 7
    while rest != 0 {
        size += 1
        rest >>= 7
    }
    return size
}

/// The value of a lower-case hex digit; nil for anything else (upper case too, which would not round-trip).
private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x61...0x66: c - 0x61 + 10
    default: nil
    }
}

private struct Writer {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func header(_ tag: MetadataCodec.Tag, _ length: Int) {
        bytes.append(tag.rawValue)
        varint(UInt64(length))
    }

    mutating func field(_ tag: MetadataCodec.Tag, _ value: UInt64) {
        header(tag, varintSize(value))
        varint(value)
    }

    mutating func field(_ tag: MetadataCodec.Tag, signed value: Int64) { field(tag, zigzag(value)) }

    mutating func field(_ tag: MetadataCodec.Tag, _ value: String?) {
        guard let value else { return }
        header(tag, value.utf8.count)
        bytes.append(contentsOf: value.utf8)
    }

    mutating func field(_ tag: MetadataCodec.Tag, _ value: Bool?) {
        guard let value else { return }
        header(tag, 1)
        bytes.append(value ? 1 : 0)
    }

    /// Writes a plain lower-case hex MD5 as its 16 bytes; false (nothing written) for any other ETag.
    mutating func md5(_ etag: String) -> Bool {
        let hex = etag.utf8
        guard hex.count == 32, hex.allSatisfy({ hexValue($0) != nil }) else { return false }
        header(.etagMD5, 16)
        var high: UInt8?
        for c in hex {
            let nibble = hexValue(c) ?? 0
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return true
    }

    mutating func lengthPrefixed(_ string: String) {
        varint(UInt64(string.utf8.count))
        bytes.append(contentsOf: string.utf8)
    }

    /// Sorted by key, so equal values encode to equal bytes. Past the decoder's cap (which the server's header
    /// limits keep it far from) the last keys are dropped: the rest of the record must stay readable.
    mutating func userMetadata(_ pairs: [String: String]) {
        let sorted = pairs.sorted { $0.key < $1.key }.prefix(MetadataCodec.maxUserMetadataCount)
        var length = varintSize(UInt64(sorted.count))
        for (key, value) in sorted {
            length += varintSize(UInt64(key.utf8.count)) + key.utf8.count + varintSize(UInt64(value.utf8.count)) + value.utf8.count
        }
        header(.userMetadata, length)
        varint(UInt64(sorted.count))
        for (key, value) in sorted {
            lengthPrefixed(key)
            lengthPrefixed(value)
        }
    }

    /// Only a layout of `[size, count]` pairs of non-negative numbers is written. Anything else (possible only in
    /// JSON another program wrote) is one ObjectMetadata.part(_:size:) refuses anyway, so leaving it out changes
    /// nothing that reads it.
    mutating func partSizes(_ runs: [[Int64]]) {
        guard runs.count <= MetadataCodec.maxPartRuns, runs.allSatisfy({ $0.count == 2 && $0[0] >= 0 && $0[1] >= 0 }) else { return }
        var length = varintSize(UInt64(runs.count))
        for run in runs { length += varintSize(UInt64(run[0])) + varintSize(UInt64(run[1])) }
        header(.partSizes, length)
        varint(UInt64(runs.count))
        for run in runs {
            varint(UInt64(run[0]))
            varint(UInt64(run[1]))
        }
    }
}

/// A cursor over `bytes[position..<end]`. Every read checks the bounds and throws Malformed rather than trap.
private struct Reader {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    var isAtEnd: Bool { position >= end }

    mutating func byte() throws(Malformed) -> UInt8 {
        guard position < end else { throw Malformed() }
        defer { position += 1 }
        return bytes[position]
    }

    /// LEB128 of at most ten bytes, the tenth holding only the 64th bit.
    mutating func varint() throws(Malformed) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte()
            if shift == 63, byte > 1 { throw Malformed() }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A varint count or length that the bytes left can hold: at most `limit`, and at most the bytes left divided
    /// by the fewest bytes one item takes.
    mutating func count(limit: Int = Int.max, bytesEach: Int = 1) throws(Malformed) -> Int {
        let count = try varint()
        guard count <= UInt64(limit), count <= UInt64((end - position) / bytesEach) else { throw Malformed() }
        return Int(count)
    }

    /// The next `tag, length, value` record; the value is a reader of its own bytes.
    mutating func record() throws(Malformed) -> (tag: UInt8, value: Reader) {
        let tag = try byte()
        let length = try count()
        defer { position += length }
        return (tag, Reader(bytes: bytes, position: position, end: position + length))
    }

    mutating func lengthPrefixedString() throws(Malformed) -> String {
        let length = try count()
        defer { position += length }
        return try Reader(bytes: bytes, position: position, end: position + length).string()
    }

    // The readers below take the whole of a record's value.

    func string() throws(Malformed) -> String {
        guard let string = String(validating: bytes[position..<end], as: UTF8.self) else { throw Malformed() }
        return string
    }

    func unsigned() throws(Malformed) -> UInt64 {
        var value = self
        let result = try value.varint()
        guard value.isAtEnd else { throw Malformed() }
        return result
    }

    func nonNegative() throws(Malformed) -> Int64 {
        let value = try unsigned()
        guard value <= UInt64(Int64.max) else { throw Malformed() }
        return Int64(value)
    }

    func signed() throws(Malformed) -> Int64 { unzigzag(try unsigned()) }

    func flag() throws(Malformed) -> Bool {
        guard end - position == 1, bytes[position] <= 1 else { throw Malformed() }
        return bytes[position] == 1
    }

    func md5Hex() throws(Malformed) -> String {
        guard end - position == 16 else { throw Malformed() }
        return String(unsafeUninitializedCapacity: 32) { hex in
            for i in 0..<16 {
                let byte = bytes[position + i]
                hex[2 * i] = hexDigit(byte >> 4)
                hex[2 * i + 1] = hexDigit(byte & 0x0F)
            }
            return 32
        }
    }

    func userMetadata() throws(Malformed) -> [String: String] {
        var value = self
        // A pair takes at least two bytes: two empty strings' lengths.
        let count = try value.count(limit: MetadataCodec.maxUserMetadataCount, bytesEach: 2)
        var pairs = [String: String](minimumCapacity: count)
        for _ in 0..<count {
            let key = try value.lengthPrefixedString()
            pairs[key] = try value.lengthPrefixedString()
        }
        guard value.isAtEnd else { throw Malformed() }
        return pairs
    }

    func partSizes() throws(Malformed) -> [[Int64]] {
        var value = self
        let count = try value.count(limit: MetadataCodec.maxPartRuns, bytesEach: 2)
        var runs: [[Int64]] = []
        runs.reserveCapacity(count)
        for _ in 0..<count {
            let size = try value.varint()
            let parts = try value.varint()
            guard size <= UInt64(Int64.max), parts <= UInt64(Int64.max) else { throw Malformed() }
            runs.append([Int64(size), Int64(parts)])
        }
        guard value.isAtEnd else { throw Malformed() }
        return runs
    }
}

private func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x61 - 10 + nibble }
