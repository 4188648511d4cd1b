/// A bucket's versioning state as PutBucketVersioning sets it. A bucket that never had versioning turned on has
/// none (nil where a state is optional): its objects carry no version ids at all.
public enum VersioningStatus: String, Sendable, Equatable {
    case enabled = "Enabled"
    case suspended = "Suspended"

    /// The body of PutBucketVersioning. `MfaDelete` can only be absent or `Disabled`: Strata has no MFA devices.
    public static func parseConfiguration(_ body: [UInt8]) throws(S3Error) -> VersioningStatus {
        let root = try XMLDocument.parse(body)
        guard root.name == "VersioningConfiguration" else { throw S3Error(.malformedXML) }
        if let mfa = root.child("MfaDelete"), mfa.text != "Disabled" {
            throw S3Error(.notImplemented, "MFA Delete is not supported: this server has no MFA devices.")
        }
        guard let status = root.child("Status").flatMap({ VersioningStatus(rawValue: $0.text) }) else {
            throw S3Error(.illegalVersioningConfiguration, "The Status of a versioning configuration must be Enabled or Suspended.")
        }
        return status
    }
}

/// Version ids: `null` for the version a bucket without versioning (or with versioning suspended) writes, else 16
/// hex digits of the creation time in nanoseconds and 8 random ones. Ids of one key sort by age, so the newest
/// version is found by comparing names, and they are valid file names.
public enum VersionID {
    public static let null = "null"
    static let length = 24

    /// Whether `id` could name a version: `null` or the form above. Anything else is refused before any lookup.
    public static func isWellFormed(_ id: some StringProtocol) -> Bool {
        if id == null { return true }
        return id.utf8.count == length && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// `versionId` from a query, checked; nil when absent.
    public static func parse(_ raw: String?, argument: String = "versionId") throws(S3Error) -> String? {
        guard let raw else { return nil }
        guard isWellFormed(raw) else {
            throw S3Error(.invalidArgument, "Invalid version id specified", details: [("ArgumentName", argument), ("ArgumentValue", raw)])
        }
        return raw
    }

    /// A fresh id for a version created at `nanos` (nanoseconds since 1970).
    public static func make(nanos: Int64, random: UInt32) -> String {
        hex(UInt64(bitPattern: max(nanos, 0)), digits: 16) + hex(UInt64(random), digits: 8)
    }

    /// The creation time an id records; nil for `null` and foreign names.
    public static func nanos(of id: some StringProtocol) -> Int64? {
        guard id.utf8.count == length else { return nil }
        return Array(id.utf8).withUnsafeBytes { nanos(ofUTF8: $0) }
    }

    /// `nanos(of:)` on an id's bytes: not generic, for the many names of a versions directory.
    public static func nanos(ofUTF8 id: UnsafeRawBufferPointer) -> Int64? {
        guard id.count == length else { return nil }
        var value: UInt64 = 0
        for byte in id.prefix(16) {
            guard let digit = PercentEncoding.hexValue(byte) else { return nil }
            value = value << 4 | UInt64(digit)
        }
        return Int64(bitPattern: value)
    }

    private static func hex(_ value: UInt64, digits: Int) -> String {
        let alphabet = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0x30, count: digits)
        var rest = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            out[index] = alphabet[Int(rest & 0xF)]
            rest >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// ListObjectVersions' arguments (`prefix`, `delimiter`, `key-marker`, `version-id-marker`, `max-keys`).
public struct ListVersionsArguments: Sendable {
    public var bucket: String
    public var prefix: String
    public var delimiter: String?
    public var keyMarker: String
    public var versionIdMarker: String
    public var maxKeys: Int
    public var urlEncoded: Bool

    public init(bucket: String, prefix: String, delimiter: String?, keyMarker: String, versionIdMarker: String, maxKeys: Int, urlEncoded: Bool) {
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.keyMarker = keyMarker
        self.versionIdMarker = versionIdMarker
        self.maxKeys = maxKeys
        self.urlEncoded = urlEncoded
    }
}
