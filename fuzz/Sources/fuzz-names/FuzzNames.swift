import FuzzSupport
import S3Protocol

/// Bucket names and object keys, with the filesystem invariants their validation exists for, checked on the
/// UTF-8 bytes (what the kernel sees), not on Swift Characters.
func checkKey(_ key: String) {
    guard (try? ObjectKey.validate(key)) != nil else { return }
    let bytes = Array(key.utf8)
    fuzzCheck(!bytes.contains(0), "accepted key with NUL: \(key.debugDescription)")
    fuzzCheck(bytes.count <= ObjectKey.maxKeyBytes, "accepted key of \(bytes.count) bytes")
    let segments = bytes.splitBytes(on: 0x2F)
    for (i, segment) in segments.enumerated() {
        let last = i == segments.count - 1
        fuzzCheck(!segment.isEmpty || (last && i > 0), "accepted key with an empty segment: \(key.debugDescription) bytes \(bytes)")
        fuzzCheck(segment != [0x2E] && segment != [0x2E, 0x2E], "accepted key with a '.' or '..' segment: \(key.debugDescription) bytes \(bytes)")
        fuzzCheck(segment.count <= ObjectKey.maxComponentBytes, "accepted key with a \(segment.count)-byte segment")
    }
    // ObjectKey.segments is the split the store walks: directories then leaf, one entry name per segment, each
    // decoding back to its segment's bytes (reserved names are escaped, never used as they are).
    let (directories, leaf) = ObjectKey.segments(key)
    var expected = segments
    if expected.count > 1, expected.last == [] { expected.removeLast() }
    let names = directories + [leaf]
    fuzzCheck(
        names.map { ObjectKey.segment(ofEntry: $0.utf8) } == expected.map { Optional($0) },
        "ObjectKey.segments(\(key.debugDescription)) = \(directories), \(leaf.debugDescription); the filesystem sees \(segments)"
    )
    for name in names {
        fuzzCheck(!name.isEmpty && name != "." && name != ".." && !name.utf8.contains(0x2F), "entry name \(name.debugDescription)")
        fuzzCheck(!name.hasPrefix(".strata.") || name.hasPrefix(ObjectKey.escapedPrefix), "reserved entry name \(name.debugDescription)")
    }
    // A reserved-name check sees every segment the filesystem will see.
    var seen: [[UInt8]] = []
    _ = try? ObjectKey.validate(key) { component in
        seen.append(Array(component.utf8))
        return false
    }
    fuzzCheck(
        seen == segments.filter { !$0.isEmpty },
        "isReserved saw \(seen) but the filesystem sees \(segments) for \(key.debugDescription)"
    )
}

/// With escaping every segment is allowed; what is accepted still fits the filesystem's limits once mapped.
func checkEscapedKey(_ key: String) {
    guard (try? ObjectKey.validate(key, escapesSegments: true)) != nil else { return }
    let bytes = Array(key.utf8)
    fuzzCheck(!bytes.isEmpty && !bytes.contains(0) && bytes.count <= ObjectKey.maxKeyBytes, "accepted \(key.debugDescription)")
    let (directories, leaf) = ObjectKey.fileSegments(key)
    for name in directories + [leaf] {
        fuzzCheck(name.utf8.count <= ObjectKey.maxComponentBytes, "an entry name of \(name.utf8.count) bytes for \(key.debugDescription)")
        fuzzCheck(!name.isEmpty && name != "." && name != ".." && !name.utf8.contains(0x2F), "entry name \(name.debugDescription)")
    }
}

func checkBucket(_ name: String) {
    // Nested bucket names are split on ':' bytes, whatever Characters surround them.
    fuzzCheck(
        name.splitBytes(UInt8(ascii: ":")).map { Array($0.utf8) } == Array(name.utf8).splitBytes(on: UInt8(ascii: ":")),
        "splitBytes(\(name.debugDescription))"
    )
    _ = BucketName.isValidAWS(name)
    _ = BucketName.isSafePath(name)
    let strict = (try? BucketName.validate(name, strict: true)) != nil
    guard (try? BucketName.validate(name, strict: false)) != nil else {
        fuzzCheck(!strict, "strict accepts what non-strict refuses: \(name.debugDescription)")
        return
    }
    let bytes = Array(name.utf8)
    for segment in bytes.splitBytes(on: UInt8(ascii: ":")) {
        fuzzCheck(!segment.isEmpty, "accepted bucket name with an empty segment: \(name.debugDescription) bytes \(bytes)")
        fuzzCheck(segment.first != 0x2E, "accepted bucket name with a segment starting with '.': \(name.debugDescription) bytes \(bytes)")
        fuzzCheck(!segment.contains(0x2F), "accepted bucket name with '/': \(name.debugDescription)")
    }
    // The directory path must be the same segments joined with '/'.
    let path = BucketName.relativePath(name)
    fuzzCheck(
        Array(path.utf8).splitBytes(on: 0x2F) == bytes.splitBytes(on: UInt8(ascii: ":")),
        "relativePath(\(name.debugDescription)) = \(path.debugDescription)"
    )
    if strict {
        for segment in name.utf8.split(separator: UInt8(ascii: ":")) {
            fuzzCheck(BucketName.isValidAWS(String(decoding: segment, as: UTF8.self)), "strict accepts segment \(Array(segment))")
        }
    }
}

/// A Host header's name, as the guard against DNS rebinding reads it: never a trap; what it admits as loopback is
/// one of the names that cannot point anywhere else.
func checkHost(_ authority: String) {
    guard let name = HostName.parse(authority) else { return }
    fuzzCheck(!name.isEmpty && !name.utf8.contains { $0 <= 0x20 || $0 == 0x7F || ($0 >= 0x41 && $0 <= 0x5A) }, "host \(name.debugDescription)")
    guard HostName.isLoopback(name) else { return }
    let isLocalhost = name == "localhost" || name.hasSuffix(".localhost")
    let isAddress = name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x3A }
    fuzzCheck(isLocalhost || isAddress, "loopback \(name.debugDescription) from \(authority.debugDescription)")
    fuzzCheck(!isAddress || name.hasPrefix("127.") || name.contains(":"), "loopback address \(name.debugDescription)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    for text in fuzzStrings(fuzzBytes(start, count)) {
        checkKey(text)
        checkEscapedKey(text)
        checkBucket(text)
        checkHost(text)
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
