/// Validation of bucket names and object keys, before anything touches the filesystem.
public enum BucketName {
    /// AWS's naming rules for one bucket name (or one `:`-separated segment of a nested bucket).
    public static func isValidAWS(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard (3...63).contains(u.count) else { return false }
        func lowerOrDigit(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        guard lowerOrDigit(u[0]), lowerOrDigit(u[u.count - 1]) else { return false }
        for (i, c) in u.enumerated() {
            guard lowerOrDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") else { return false }
            if i > 0 {
                let p = u[i - 1]
                if c == UInt8(ascii: "."), p == UInt8(ascii: ".") || p == UInt8(ascii: "-") { return false }
                if c == UInt8(ascii: "-"), p == UInt8(ascii: ".") { return false }
            }
        }
        if name.hasPrefix("xn--") || name.hasPrefix("sthree-") || name.hasSuffix("-s3alias") || name.hasSuffix("--ol-s3") { return false }
        let quads = name.split(separator: ".", omittingEmptySubsequences: false)
        if quads.count == 4, quads.allSatisfy({ UInt8($0) != nil }) { return false }
        return true
    }

    /// A name that is safe to map onto directories: `:`-separated segments, each a plain directory name
    /// that cannot climb, hide behind a dot or collide with Strata's reserved state.
    public static func isSafePath(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 1024 else { return false }
        for segment in name.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false) {
            guard !segment.isEmpty, segment.count <= 255, segment.first != UInt8(ascii: ".") else { return false }
            for c in segment where c < 0x20 || c == 0x7F || c == UInt8(ascii: "/") || c == UInt8(ascii: "\\") {
                return false
            }
        }
        return true
    }

    /// Validates a bucket name. `strict` applies AWS rules to every segment (CreateBucket when naming
    /// restrictions are on); otherwise only path safety is required, so directories made outside S3 stay reachable.
    public static func validate(_ name: String, strict: Bool) throws(S3Error) {
        guard isSafePath(name) else {
            throw S3Error(.invalidBucketName, "The specified bucket is not valid.", details: [("BucketName", name)])
        }
        if strict {
            for segment in name.splitBytes(UInt8(ascii: ":")) where !isValidAWS(segment) {
                throw S3Error(.invalidBucketName, "The specified bucket is not valid.", details: [("BucketName", name)])
            }
        }
    }

    /// The bucket's directory relative to the root: `a:b:c` is `a/b/c`.
    public static func relativePath(_ name: String) -> String {
        name.splitBytes(UInt8(ascii: ":"), omittingEmpty: true).joined(separator: "/")
    }
}

public enum ObjectKey {
    public static let maxKeyBytes = 1024
    public static let maxComponentBytes = 255

    /// Segments a filesystem cannot hold at their own name (empty, `.`, `..`, and names in the server's reserved
    /// `.strata.` space) are stored as this prefix and the segment with `%` and `.` percent-encoded:
    /// `a/../b` is `a/.strata.k.%2E%2E/b`, `a//b` is `a/.strata.k./b`, and `dir/` with a body is the file
    /// `dir/.strata.k.`.
    public static let escapedPrefix = ".strata.k."
    /// A file whose name a directory already holds (the object `a` beside the objects `a/...`) is stored as this
    /// prefix and its encoded segment, next to that directory.
    public static let displacedPrefix = ".strata.f."
    static let reservedPrefix = ".strata."

    /// Whether a segment is stored under its own name.
    static func isPlain(_ segment: some Collection<UInt8>) -> Bool {
        !segment.isEmpty && !segment.elementsEqual(".".utf8) && !segment.elementsEqual("..".utf8) && !segment.starts(with: reservedPrefix.utf8)
    }

    static func encodeSegment(_ segment: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in segment {
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: ".") {
                let hex = PercentEncoding.upperHexDigits
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The directory entry that holds a key segment.
    public static func fileSystemName(_ segment: some StringProtocol) -> String {
        isPlain(segment.utf8) ? String(segment) : escapedPrefix + encodeSegment(segment.utf8)
    }

    /// Where the file for a segment goes when a directory holds its name.
    public static func displacedName(ofEntry name: String) -> String {
        displacedPrefix + encodeSegment(segment(ofEntry: Array(name.utf8)) ?? Array(name.utf8))
    }

    /// The key segment a directory entry stands for: the name itself, or the decoded segment of an escaped or
    /// displaced name; nil for the server's own entries (temporary files, upload state), which are never keys.
    public static func segment(ofEntry name: some Collection<UInt8>) -> [UInt8]? {
        guard name.starts(with: reservedPrefix.utf8) else { return Array(name) }
        let prefixLength: Int
        if name.starts(with: escapedPrefix.utf8) {
            prefixLength = escapedPrefix.utf8.count
        } else if name.starts(with: displacedPrefix.utf8) {
            prefixLength = displacedPrefix.utf8.count
        } else {
            return nil
        }
        var out: [UInt8] = []
        var bytes = name.dropFirst(prefixLength)[...]
        while let byte = bytes.first {
            bytes = bytes.dropFirst()
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard let high = bytes.first.flatMap(PercentEncoding.hexValue), let low = bytes.dropFirst().first.flatMap(PercentEncoding.hexValue)
            else { return nil }
            out.append(high << 4 | low)
            bytes = bytes.dropFirst(2)
        }
        return out
    }

    /// Whether an entry name is a displaced file (it is a key only as a regular file).
    public static func isDisplaced(_ name: some Collection<UInt8>) -> Bool { name.starts(with: displacedPrefix.utf8) }

    /// The directories above a key and its leaf, as directory entry names, split on the `/` byte. `dir/` is the
    /// directory object `dir`.
    public static func segments(_ key: String) -> (directories: [String], leaf: String) {
        var parts = key.splitBytes(UInt8(ascii: "/"))
        if parts.count > 1, parts.last == "" { parts.removeLast() }
        let leaf = parts.removeLast()
        return (parts.map { fileSystemName($0) }, fileSystemName(leaf))
    }

    /// The path below the bucket of the file that holds `key`: the key itself when every segment is plain (the
    /// common case, checked without allocating), otherwise its entry names joined.
    public static func filePath(_ key: String) -> String {
        var plain = true
        var segmentStart = true
        key.utf8.withContiguousStorageIfAvailable { bytes in
            var index = 0
            while index < bytes.count && plain {
                let byte = bytes[index]
                if segmentStart {
                    // An empty segment, or one starting with a dot (`.`, `..`, `.strata.`), takes the slow path.
                    if byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") { plain = false }
                    segmentStart = false
                }
                if byte == UInt8(ascii: "/") { segmentStart = true }
                index += 1
            }
            if segmentStart { plain = false }  // empty key or a trailing `/`
        } ?? { plain = false }()
        if plain { return key }
        let (directories, leaf) = fileSegments(key)
        return (directories + [leaf]).joined(separator: "/")
    }

    /// As `segments`, for a key stored as a file: `dir/` is the file `dir/.strata.k.` (its last segment is empty).
    public static func fileSegments(_ key: String) -> (directories: [String], leaf: String) {
        var parts = key.splitBytes(UInt8(ascii: "/"))
        let leaf = parts.removeLast()
        return (parts.map { fileSystemName($0) }, fileSystemName(leaf))
    }

    /// Checks a key against what the store can hold. `isReserved` names Strata's own files (temporary files,
    /// multipart directories) which keys may not use in strict mode. With `escapesSegments` every segment is
    /// allowed (the store escapes those a filesystem cannot name); only NUL bytes and lengths are limited.
    public static func validate(_ key: String, isReserved: (Substring) -> Bool = { _ in false }, escapesSegments: Bool = false) throws(S3Error) {
        let bytes = key.utf8
        guard !bytes.isEmpty else { throw S3Error(.invalidArgument, "An object key must not be empty.") }
        guard bytes.count <= maxKeyBytes else {
            throw S3Error(.keyTooLong, "Your key is too long", details: [("Size", "\(bytes.count)"), ("MaxSizeAllowed", "\(maxKeyBytes)")])
        }
        if bytes.contains(0) {
            throw S3Error(.invalidArgument, "Object key contains a NUL character, which this server cannot store.")
        }
        // Split on the byte the kernel splits on: a combining mark after `/` must not hide a `..` segment.
        let components = key.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (index, component) in components.enumerated() {
            let isLast = index == components.count - 1
            let stored = escapesSegments ? fileSystemName(Substring(component)).utf8.count : component.count
            if stored > maxComponentBytes {
                throw S3Error(
                    .keyTooLong,
                    "A segment of your key between '/' is longer than \(maxComponentBytes) bytes, the filesystem's limit.",
                    details: [("Size", "\(component.count)"), ("MaxSizeAllowed", "\(maxComponentBytes)")]
                )
            }
            if escapesSegments { continue }
            if component.isEmpty {
                if isLast && index > 0 { continue }  // `dir/`: a directory object
                throw S3Error(.invalidArgument, "Object key contains an empty path segment ('//' or a leading '/'), which this server cannot store.")
            }
            if component.elementsEqual(".".utf8) || component.elementsEqual("..".utf8) {
                throw S3Error(.invalidArgument, "Object key contains a '.' or '..' path segment, which this server does not allow.")
            }
            let name = String(decoding: component, as: UTF8.self)
            if isReserved(Substring(name)) {
                throw S3Error(.invalidArgument, "Object key uses a name reserved for the server's internal files: \(name)")
            }
        }
    }
}
