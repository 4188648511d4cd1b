import Foundation

/// One configuration property: the registry below is the single source of truth for the properties file,
/// environment overrides, `strata conf` and the documented template.
public struct PropertyKey: Sendable, Hashable {
    public enum ValueType: Sendable, Hashable {
        case string
        case integer(ClosedRange<Int64>)
        case boolean
        /// Durations such as `10min`, `2sec`, `500ms`, `1h`, or a bare number of milliseconds.
        case duration
        /// Sizes such as `5MB`, `2KB`, `1GB`, or a bare number of bytes.
        case bytes
        /// Alluxio's metadata sync interval: `-1` (never), `0` (always) or a duration.
        case syncInterval
        case choice([String])
        /// A permission mask in octal, three or four digits such as `022` or `0027`.
        case octalMask

        var label: String {
            switch self {
            case .string: "string"
            case .integer(let r): "integer \(r.lowerBound)..\(r.upperBound)"
            case .boolean: "boolean"
            case .duration: "duration"
            case .bytes: "size"
            case .syncInterval: "-1 (never), 0 (every access) or a duration"
            case .choice(let values): values.joined(separator: "|")
            case .octalMask: "octal mask of 3 or 4 digits"
            }
        }
    }

    public let name: String
    /// Alluxio's spellings of the same key (current and renamed ones), each accepted everywhere `name` is.
    public let alluxioNames: [String]
    public let type: ValueType
    public let defaultValue: String
    public let description: String
    /// Secrets are never printed by `strata conf` or logged.
    public let isSecret: Bool

    public init(_ name: String, alluxio: String..., type: ValueType, default defaultValue: String, secret: Bool = false, _ description: String) {
        self.name = name
        self.alluxioNames = alluxio
        self.type = type
        self.defaultValue = defaultValue
        self.isSecret = secret
        self.description = description
    }

    /// Per-bucket keys are written `strata.bucket.<bucket>.writetype`: `<bucket>` stands for any bucket name.
    public static let bucketPlaceholder = "<bucket>"
    public var isPerBucket: Bool { name.contains(PropertyKey.bucketPlaceholder) }

    /// The part after the bucket name, e.g. `.writetype`.
    var perBucketSuffix: String {
        guard let range = name.range(of: PropertyKey.bucketPlaceholder) else { return "" }
        return String(name[range.upperBound...])
    }

    var perBucketPrefix: String {
        guard let range = name.range(of: PropertyKey.bucketPlaceholder) else { return name }
        return String(name[..<range.lowerBound])
    }

    /// The environment variable that overrides this key: `strata.proxy.web.port` is `STRATA_PROXY_WEB_PORT`.
    public var environmentName: String {
        String(name.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 })
    }
}
