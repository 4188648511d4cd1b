/// Conditional request headers (RFC 7232 as S3 applies them) and their evaluation.
public struct Conditions: Sendable, Equatable {
    public var ifMatch: String?
    public var ifNoneMatch: String?
    public var ifModifiedSince: Int64?
    public var ifUnmodifiedSince: Int64?

    public init(ifMatch: String? = nil, ifNoneMatch: String? = nil, ifModifiedSince: String? = nil, ifUnmodifiedSince: String? = nil) {
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        // Unparseable dates are ignored, as AWS does.
        self.ifModifiedSince = ifModifiedSince.flatMap(HTTPDate.parse)
        self.ifUnmodifiedSince = ifUnmodifiedSince.flatMap(HTTPDate.parse)
    }

    public var isEmpty: Bool { ifMatch == nil && ifNoneMatch == nil && ifModifiedSince == nil && ifUnmodifiedSince == nil }

    public enum Outcome: Sendable, Equatable {
        case proceed
        case notModified
        case preconditionFailed
    }

    /// Evaluates against an object's ETag (unquoted) and Last-Modified (whole seconds), with AWS's precedence:
    /// a true If-Match overrides a false If-Unmodified-Since, a false If-None-Match overrides If-Modified-Since.
    public func evaluate(etag: String, lastModified: Int64) -> Outcome {
        if let ifMatch {
            if !Conditions.matches(ifMatch, etag) { return .preconditionFailed }
        } else if let ifUnmodifiedSince, lastModified > ifUnmodifiedSince {
            return .preconditionFailed
        }
        if let ifNoneMatch {
            if Conditions.matches(ifNoneMatch, etag) { return .notModified }
        } else if let ifModifiedSince, lastModified <= ifModifiedSince {
            return .notModified
        }
        return .proceed
    }

    /// For `x-amz-copy-source-if-*`: every failed condition is a 412.
    public func evaluateForCopySource(etag: String, lastModified: Int64) -> Outcome {
        evaluate(etag: etag, lastModified: lastModified) == .proceed ? .proceed : .preconditionFailed
    }

    /// An ETag without its surrounding quotes, as stored and compared.
    public static func unquote(_ etag: String) -> String {
        var s = Substring(etag)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        if s.hasPrefix("\"") && s.hasSuffix("\"") && s.count >= 2 { s = s.dropFirst().dropLast() }
        return String(s)
    }

    /// An ETag list (`"a", "b"`, `W/"a"` or `*`) matches when any member equals the object's ETag.
    public static func matches(_ header: String, _ etag: String) -> Bool {
        for raw in header.split(separator: ",") {
            var candidate = Substring(raw).drop { $0 == " " }
            while candidate.last == " " { candidate.removeLast() }
            if candidate == "*" { return true }
            if candidate.hasPrefix("W/") { candidate = candidate.dropFirst(2) }
            if candidate.hasPrefix("\"") && candidate.hasSuffix("\"") && candidate.count >= 2 {
                candidate = candidate.dropFirst().dropLast()
            }
            if candidate == Substring(etag) { return true }
        }
        return false
    }
}
