import Foundation
import Testing

@testable import StrataStore

/// The binary `user.strata.meta` format (MetadataCodec) and the JSON it replaced, which is still read.
@Suite struct MetadataCodecTests {
    /// What a plain single PUT by alice records.
    static var typical: ObjectMetadata {
        var meta = ObjectMetadata(etag: "5d41402abc4b2a76b9719d911017c592", size: 4096, mtimeNanos: 1_764_553_000_123_456_789)
        meta.permission = Permission(owner: "alice", group: "alice", mode: 0o644)
        return meta
    }

    static var full: ObjectMetadata {
        var meta = ObjectMetadata(etag: "0123456789abcdef0123456789abcdef-4", size: 15_728_657, mtimeNanos: -5)
        meta.version = 7
        meta.contentType = "text/plain; charset=utf-8"
        meta.contentEncoding = "gzip"
        meta.contentDisposition = "attachment; filename=\"a.txt\""
        meta.contentLanguage = "de-CH"
        meta.cacheControl = "max-age=60"
        meta.expires = "Thu, 01 Dec 1994 16:00:00 GMT"
        meta.userMetadata = ["color": "blue", "empty": "", "ünï": "✓"]
        meta.owner = "alice"
        meta.group = "staff"
        meta.mode = 0o1750
        meta.isPublic = true
        meta.isDirectory = false
        meta.multipartUploadId = "0123456789abcdef0123456789abcdef"
        meta.partSizes = [[5_242_880, 3], [17, 1]]
        meta.checksumAlgorithm = .crc64nvme
        meta.checksum = "AAAAAAAAAAA="
        meta.checksumIsComposite = true
        meta.upstreamETag = "upstream-etag"
        meta.syncedAt = 1_764_553_000
        meta.persisted = false
        meta.versionId = "0000019adf2b3c4d5e6f7a8b"
        meta.isDeleteMarker = false
        return meta
    }

    /// decode(encode(meta)) == meta, and the encoding is binary and stable.
    func roundTrip(_ meta: ObjectMetadata, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = meta.encoded()
        #expect(bytes.first == MetadataCodec.marker, sourceLocation: sourceLocation)
        let decoded = ObjectMetadata.decode(bytes)
        #expect(decoded == meta, sourceLocation: sourceLocation)
        #expect(decoded?.encoded() == bytes, sourceLocation: sourceLocation)
    }

    /// Hex as written in these tests, spaces allowed.
    func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8.filter { $0 != 0x20 })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    @Test func roundTripsAFullyPopulatedValue() {
        roundTrip(Self.full)
        var negative = Self.full
        negative.syncedAt = Int64.min
        negative.mtimeNanos = Int64.max
        negative.size = Int64.max
        negative.version = Int.min
        negative.mode = UInt16.max
        negative.persisted = true
        negative.isDirectory = true
        negative.partSizes = [[0, 0], [Int64.max, Int64.max]]
        negative.userMetadata = [:]
        negative.etag = "5D41402ABC4B2A76B9719D911017C592"  // upper case: kept as text, so it reads back the same
        roundTrip(negative)
    }

    @Test func roundTripsAMinimalValue() {
        #expect(ObjectMetadata().encoded() == [MetadataCodec.marker])
        roundTrip(ObjectMetadata())
        roundTrip(ObjectMetadata(etag: emptyMD5))
        var directory = ObjectMetadata(etag: emptyMD5)
        directory.isDirectory = true
        roundTrip(directory)
    }

    @Test func aTypicalObjectFitsInTheInode() {
        let encoded = Self.typical.encoded()
        // A 256-byte ext4 inode has room for a value of about 60 bytes under this name.
        #expect(encoded.count < 60)
        #expect(encoded.count == 47)
        // The format is on disk: these bytes must keep decoding to this value.
        let expected = bytes(
            "02 0110 5d41402abc4b2a76b9719d911017c592 0302 8020 0409 aaf4aafbd8e6f9fc30 0505 616c696365 0700 0802 a403"
        )
        #expect(encoded == expected)
        #expect(ObjectMetadata.decode(expected) == Self.typical)
        roundTrip(Self.typical)
    }

    @Test func groupIsStoredByItsBytes() {
        // Canonically equivalent to the owner (String's == says equal) but not the same bytes: kept as its own.
        var meta = Self.typical
        meta.owner = "\u{E9}"
        meta.group = "e\u{301}"
        let decoded = ObjectMetadata.decode(meta.encoded())
        #expect(decoded.map { Array($0.group!.utf8) } == Array("e\u{301}".utf8))
        #expect(decoded.map { Array($0.owner!.utf8) } == Array("\u{E9}".utf8))
        meta.group = nil
        roundTrip(meta)
    }

    @Test func readsJSONWrittenByEarlierVersions() throws {
        // As the JSONEncoder of earlier versions wrote it (sorted keys, slashes not escaped).
        let old = """
            {"cc":"max-age=60","cd":"inline","ce":"gzip","cl":"en","ct":"text/plain","e":"5d41402abc4b2a76b9719d911017c592",\
            "ex":"Thu, 01 Dec 1994 16:00:00 GMT","g":"staff","ka":"CRC32","kc":false,"kv":"AAAAAA==","m":1764553000123456789,\
            "mp":"0123456789abcdef0123456789abcdef","o":"alice","pm":420,"pp":true,"ps":[[5,3],[2,1]],"pub":true,"s":17,\
            "ue":"up/etag","um":{"color":"blue"},"us":1764553000,"v":1}
            """
        let meta = try #require(ObjectMetadata.decode(Array(old.utf8)))
        #expect(meta.etag == "5d41402abc4b2a76b9719d911017c592" && meta.size == 17 && meta.mtimeNanos == 1_764_553_000_123_456_789)
        #expect(meta.contentType == "text/plain" && meta.cacheControl == "max-age=60" && meta.expires == "Thu, 01 Dec 1994 16:00:00 GMT")
        #expect(meta.contentEncoding == "gzip" && meta.contentDisposition == "inline" && meta.contentLanguage == "en")
        #expect(meta.owner == "alice" && meta.group == "staff" && meta.mode == 0o644 && meta.isPublic == true)
        #expect(meta.userMetadata == ["color": "blue"] && meta.partSizes == [[5, 3], [2, 1]] && meta.multipartUploadId != nil)
        #expect(meta.checksumAlgorithm == .crc32 && meta.checksum == "AAAAAA==" && meta.checksumIsComposite == false)
        #expect(meta.upstreamETag == "up/etag" && meta.syncedAt == 1_764_553_000 && meta.persisted == true && meta.version == 1)
        // Rewritten (as the store does when it refreshes a value), it becomes binary and reads back the same.
        roundTrip(meta)
        #expect(meta.encoded().count < old.utf8.count)
        // The smallest old value, and one with leading whitespace, which JSON allows.
        let minimal = #"{"e":"","m":0,"s":0,"v":1}"#
        #expect(ObjectMetadata.decode(Array(minimal.utf8)) == ObjectMetadata())
        #expect(ObjectMetadata.decode(Array((" \n" + minimal).utf8)) == ObjectMetadata())
        #expect(ObjectMetadata.decode(Array(#"{"e":"x"}"#.utf8)) == nil)
        #expect(ObjectMetadata.decode([]) == nil)
        #expect(ObjectMetadata.decode(nil) == nil)
    }

    @Test func everyTruncationDecodesToNilOrAValueThatRoundTrips() {
        for meta in [Self.full, Self.typical] {
            let encoded = meta.encoded()
            for end in 0..<encoded.count {
                guard let decoded = ObjectMetadata.decode(Array(encoded[..<end])) else { continue }
                roundTrip(decoded)
            }
        }
    }

    @Test func refusesMalformedValues() {
        let malformed: [(String, String)] = [
            ("record header cut short", "02 03"),
            ("length past the end", "02 0b 05 61"),
            ("length past the end of an unknown tag", "02 c8 05 00"),
            ("length varint of eleven bytes", "02 0b 8080808080808080808000"),
            ("length of 2^64-1", "02 0b ffffffffffffffffff01"),
            ("varint of eleven bytes", "02 030b 8080808080808080808000"),
            ("varint past 64 bits", "02 030a ffffffffffffffffff02"),
            ("size above Int64.max", "02 030a 80808080808080808001"),
            ("varint with a trailing byte", "02 0302 0500"),
            ("varint cut short", "02 0301 80"),
            ("empty varint", "02 0300"),
            ("mode above UInt16.max", "02 0803 808004"),
            ("MD5 of 15 bytes", "02 010f 000102030405060708090a0b0c0d0e"),
            ("MD5 of 17 bytes", "02 0111 000102030405060708090a0b0c0d0e0f10"),
            ("flag of two bytes", "02 0902 0100"),
            ("flag that is neither 0 nor 1", "02 1901 02"),
            ("empty flag", "02 0a00"),
            ("group is the owner, without an owner", "02 0700"),
            ("group is the owner, with a value", "02 0503 626f62 0701 00"),
            ("invalid UTF-8", "02 0b02 c328"),
            ("UTF-16 surrogate in UTF-8", "02 0b03 eda080"),
            ("overlong UTF-8", "02 0b02 c0af"),
            ("truncated UTF-8", "02 0502 e282"),
            ("invalid UTF-8 in a user metadata key", "02 1104 01 01ff 00"),
            ("user metadata count past its bytes", "02 1103 05 0000"),
            ("user metadata count of 2^64-1", "02 110a ffffffffffffffffff01"),
            ("user metadata pair cut short", "02 1103 01 0161"),
            ("user metadata with trailing bytes", "02 1104 01 0000 00"),
            ("part runs count past its bytes", "02 1303 02 0101"),
            ("part size above Int64.max", "02 130c 01 80808080808080808001 01"),
            ("part runs with trailing bytes", "02 1304 01 0101 00"),
            ("ETag text that is not UTF-8", "02 0201 ff"),
        ]
        for (what, hex) in malformed {
            #expect(ObjectMetadata.decode(bytes(hex)) == nil, "\(what)")
        }
    }

    @Test func capsCountsBeforeAllocating() {
        func leb128(_ value: Int) -> [UInt8] {
            value < 0x80 ? [UInt8(value)] : [UInt8(value & 0x7F) | 0x80] + leb128(value >> 7)
        }
        // 10,001 runs of two zero bytes: enough bytes for the count, but over the cap.
        func runs(_ count: Int) -> [UInt8] {
            let value = leb128(count) + [UInt8](repeating: 0, count: 2 * count)
            return [MetadataCodec.marker, MetadataCodec.Tag.partSizes.rawValue] + leb128(value.count) + value
        }
        #expect(ObjectMetadata.decode(runs(MetadataCodec.maxPartRuns))?.partSizes?.count == MetadataCodec.maxPartRuns)
        #expect(ObjectMetadata.decode(runs(MetadataCodec.maxPartRuns + 1)) == nil)
        // The same for user metadata, with the count's varint saying ~2^63 in a dozen bytes.
        #expect(ObjectMetadata.decode(bytes("02 110b ffffffffffffffff7f 0000")) == nil)
        // The encoder keeps within the caps, so what it writes always reads back.
        var meta = ObjectMetadata()
        meta.userMetadata = Dictionary(uniqueKeysWithValues: (0...MetadataCodec.maxUserMetadataCount).map { ("k\($0)", "") })
        #expect(ObjectMetadata.decode(meta.encoded())?.userMetadata?.count == MetadataCodec.maxUserMetadataCount)
    }

    @Test func skipsUnknownTagsAndAlgorithms() {
        let value = bytes("02 c803 010203 0301 05 ff00 1405 4d44352d33 0501 61")
        let meta = ObjectMetadata.decode(value)
        #expect(meta?.size == 5 && meta?.owner == "a" && meta?.checksumAlgorithm == nil)
        // Tag 0 is not a field either.
        #expect(ObjectMetadata.decode(bytes("02 0000 0301 07"))?.size == 7)
        // Overlong but in-range varints are accepted.
        #expect(ObjectMetadata.decode(bytes("02 030a 81808080808080808000"))?.size == 1)
    }

    /// Pseudo-random values starting with the marker: never a trap, and what decodes round-trips.
    @Test func randomBytesNeverTrap() {
        var rng = SplitMix64(seed: 0x5EED)
        let valid = Self.full.encoded()
        for _ in 0..<20_000 {
            var value: [UInt8]
            if rng.next() % 2 == 0 {
                // Mutations of a valid value find more of the decoder than noise.
                value = valid
                for _ in 0..<(1 + rng.next() % 4) {
                    value[Int(1 + rng.next() % UInt64(value.count - 1))] = UInt8(truncatingIfNeeded: rng.next())
                }
                value = Array(value[..<Int(1 + rng.next() % UInt64(value.count))])
            } else {
                value = [MetadataCodec.marker] + (0..<rng.next() % 40).map { _ in UInt8(truncatingIfNeeded: rng.next() % 32) }
            }
            if let decoded = ObjectMetadata.decode(value) { roundTrip(decoded) }
        }
    }

    @Test func theStoreWritesBinaryAndStillReadsJSON() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.put(bucket, "f", "hello")
        let written = try #require(try Sys.getAttribute(bucket.fd, "f", ObjectMetadata.attributeName))
        #expect(written.first == MetadataCodec.marker && written.count < 60)
        let stored = try #require(ObjectMetadata.decode(written))
        // An object whose metadata an earlier version wrote, same validator: its JSON is believed.
        let old = """
            {"ct":"text/x-old","e":"00000000000000000000000000000000","m":\(stored.mtimeNanos),"s":\(stored.size),"v":1}
            """
        try Sys.setAttribute(bucket.fd, "f", ObjectMetadata.attributeName, Array(old.utf8))
        let handle = try root.store.openObject(bucket: bucket, key: "f")
        #expect(handle.metadata.contentType == "text/x-old")
        #expect(handle.metadata.etag == "00000000000000000000000000000000")
    }
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
