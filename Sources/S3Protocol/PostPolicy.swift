import Foundation

/// The policy document of a browser-form POST upload: when it expires and the conditions every form field must
/// meet. The form is signed by signing this document, so it is the whole of what the signer allowed.
public struct PostPolicy: Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        /// Field names are lowercased and without their `$`: form field names are case-insensitive.
        case equals(field: String, value: String)
        case startsWith(field: String, prefix: String)
        case contentLengthRange(ClosedRange<Int64>)
    }

    public var expiration: Int64
    public var conditions: [Condition]

    /// The largest policy document accepted; AWS bounds the whole form's fields to 20 KB.
    public static let maxDocumentSize = 64 * 1024

    /// Decodes the base64 `policy` field.
    public static func decode(base64 text: String) throws(S3Error) -> PostPolicy {
        guard text.utf8.count <= maxDocumentSize * 2, let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
            throw invalid("Invalid Policy: Invalid Base64 Encoding.")
        }
        return try parse(Array(data))
    }

    /// Parses the JSON document. Its keys (`expiration`, `conditions`) are case-sensitive, as AWS's are; condition
    /// operators and field names are not.
    public static func parse(_ document: [UInt8]) throws(S3Error) -> PostPolicy {
        guard document.count <= maxDocumentSize else { throw invalid("Invalid Policy: the document is too large.") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(document))
        } catch {
            throw invalid("Invalid Policy: Invalid JSON.")
        }
        guard let root = object as? [String: Any] else { throw invalid("Invalid Policy: Invalid JSON.") }
        guard let expirationText = root["expiration"] as? String else { throw invalid("Invalid Policy: Policy missing expiration.") }
        // ISO 8601 in UTC, with or without milliseconds: 2007-12-01T12:00:00.000Z.
        guard expirationText.contains("T"), expirationText.hasSuffix("Z"), let expiration = HTTPDate.parse(expirationText) else {
            throw invalid("Invalid Policy: Invalid 'expiration' value: '\(expirationText)'")
        }
        guard let list = root["conditions"] as? [Any] else { throw invalid("Invalid Policy: Policy missing conditions.") }
        var conditions: [Condition] = []
        for entry in list { conditions += try condition(entry) }
        return PostPolicy(expiration: expiration, conditions: conditions)
    }

    private static func condition(_ entry: Any) throws(S3Error) -> [Condition] {
        if let map = entry as? [String: Any] {
            // {"field": "value"}: an exact match, one or more per object.
            guard !map.isEmpty else { throw invalid("Invalid Policy: Invalid Simple-Condition: an empty condition.") }
            var result: [Condition] = []
            for (name, value) in map {
                guard let text = scalar(value) else { throw invalid("Invalid Policy: Invalid Simple-Condition: value must be a string.") }
                result.append(.equals(field: fieldName(name), value: text))
            }
            return result
        }
        guard let array = entry as? [Any], let operation = (array.first as? String)?.lowercased() else {
            throw invalid("Invalid Policy: Invalid Condition: a condition must be an object or an array.")
        }
        switch operation {
        case "eq", "starts-with":
            guard array.count == 3, let field = array[1] as? String, field.hasPrefix("$"), let value = scalar(array[2]) else {
                throw invalid("Invalid Policy: Invalid '\(operation)' condition: it takes a \"$field\" and a value.")
            }
            let name = fieldName(String(field.dropFirst()))
            return [operation == "eq" ? .equals(field: name, value: value) : .startsWith(field: name, prefix: value)]
        case "content-length-range":
            guard array.count == 3, let low = integer(array[1]), let high = integer(array[2]), low >= 0, low <= high else {
                throw invalid("Invalid Policy: Invalid content-length-range: it takes two non-negative integers, the smaller first.")
            }
            return [.contentLengthRange(low...high)]
        default:
            throw invalid("Invalid Policy: Invalid Condition: unknown operation '\(operation)'.")
        }
    }

    /// `$key` and `key` name the same field; form field names are case-insensitive.
    private static func fieldName(_ name: String) -> String {
        (name.hasPrefix("$") ? String(name.dropFirst()) : name).lowercased()
    }

    /// Condition values are strings in AWS's grammar.
    private static func scalar(_ value: Any) -> String? { value as? String }

    /// A JSON integer or a string of digits, within Int64.
    private static func integer(_ value: Any) -> Int64? {
        if let text = value as? String { return DecimalNumber.parse(text, in: Int64.min...Int64.max) }
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.2e18 else { return nil }
        return number.int64Value
    }

    static func invalid(_ message: String) -> S3Error { S3Error(.invalidPolicyDocument, message) }

    /// The size bounds the policy sets on the file, if any (the narrowest when several are given).
    public var contentLengthRange: ClosedRange<Int64>? {
        var range: ClosedRange<Int64>?
        for case .contentLengthRange(let r) in conditions { range = range.map { r.clamped(to: $0) } ?? r }
        return range
    }

    /// Checks expiry and every condition against the form's fields (lowercased names, the bucket among them), and
    /// that every field the signer could not have foreseen is named by some condition. The file's size is checked
    /// separately, once it is known.
    public func check(fields: [String: String], now: Int64) throws(S3Error) {
        guard now < expiration else { throw S3Error(.accessDenied, "Invalid according to Policy: Policy expired.") }
        // Names and values are compared as UTF-8 bytes: Swift's `==` would take NFC and NFD spellings as equal.
        var covered: Set<[UInt8]> = []
        for condition in conditions {
            switch condition {
            case .equals(let field, let value):
                covered.insert(Array(field.utf8))
                guard let actual = fields.valueForBytes(field), actual.bytesEqual(value) else {
                    throw failed("[\"eq\", \"$\(field)\", \"\(value)\"]")
                }
            case .startsWith(let field, let prefix):
                covered.insert(Array(field.utf8))
                guard let actual = fields.valueForBytes(field), Self.startsWith(field: field, actual, prefix) else {
                    throw failed("[\"starts-with\", \"$\(field)\", \"\(prefix)\"]")
                }
            case .contentLengthRange:
                continue
            }
        }
        for name in fields.keys where !covered.contains(Array(name.utf8)) && !Self.exempt(name) {
            throw S3Error(.accessDenied, "Invalid according to Policy: Extra input fields: \(name)")
        }
    }

    /// Content-Type may list several types; each must carry the prefix, as AWS checks it. Compared as UTF-8 bytes:
    /// the NFC and NFD spellings of a key are two files, so a policy naming one must not admit the other.
    private static func startsWith(field: String, _ actual: String, _ prefix: String) -> Bool {
        guard field == "content-type", actual.contains(",") else { return actual.hasBytePrefix(prefix) }
        return actual.split(separator: ",").allSatisfy { $0.trimmingSpaces().hasBytePrefix(prefix) }
    }

    /// Fields no condition needs to name: the signature's own, the file, `x-ignore-` fields, and checksums of the
    /// file (they only make the upload fail when the bytes differ).
    static func exempt(_ name: String) -> Bool {
        ["policy", "signature", "awsaccesskeyid", "x-amz-signature", "file"].contains(name) || name.hasPrefix("x-ignore-")
            || name.hasPrefix("x-amz-checksum-")
    }

    private func failed(_ condition: String) -> S3Error {
        S3Error(.accessDenied, "Invalid according to Policy: Policy Condition failed: \(condition)")
    }
}
