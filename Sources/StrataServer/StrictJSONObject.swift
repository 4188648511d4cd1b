import Foundation

/// One object of a configuration file, read strictly: a key it does not know or a value of another type is an error
/// naming where it is (`roles[0] (arn:...): unknown key "condition"`), never a field silently dropped. A dropped STS
/// condition would let every token of the issuer assume the role.
struct StrictJSONObject {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    let fields: [String: Any]
    /// Where the object is, for errors: `roles[2] (arn:aws:iam::0:role/x)`.
    let place: String

    init(_ value: Any, place: String, keys: [String]) throws(Invalid) {
        self.place = place
        guard let fields = value as? [String: Any] else { throw Invalid(description: "\(place) must be a JSON object") }
        self.fields = fields
        if let unknown = fields.keys.filter({ !keys.contains($0) }).min() {
            throw failure("unknown key \"\(unknown)\" (known: \(keys.joined(separator: ", ")))")
        }
    }

    func failure(_ message: String) -> Invalid { Invalid(description: "\(place): \(message)") }

    /// A string, nil when the key is absent (or null where `nullable`); an empty one is refused.
    func string(_ key: String, nullable: Bool = false) throws(Invalid) -> String? {
        guard let value = fields[key], !(nullable && value is NSNull) else { return nil }
        guard let text = value as? String, !text.isEmpty else { throw failure("\(key) must be a non-empty string") }
        return text
    }

    func requiredString(_ key: String) throws(Invalid) -> String {
        guard let text = try string(key) else { throw failure("\(key) is required") }
        return text
    }

    /// A non-empty list of strings, nil when the key is absent.
    func strings(_ key: String) throws(Invalid) -> [String]? {
        guard let value = fields[key] else { return nil }
        guard let list = Self.strings(value), !list.isEmpty else { throw failure("\(key) must be a non-empty list of strings") }
        return list
    }

    /// An object, nil when the key is absent.
    func object(_ key: String, _ what: String) throws(Invalid) -> [String: Any]? {
        guard let value = fields[key] else { return nil }
        guard let object = value as? [String: Any] else { throw failure("\(key) must be an object of \(what)") }
        return object
    }

    /// A list of objects (each read by the caller), nil when the key is absent.
    func list(_ key: String) throws(Invalid) -> [Any]? {
        guard let value = fields[key] else { return nil }
        guard let list = value as? [Any] else { throw failure("\(key) must be a list") }
        return list
    }

    /// A whole number in `range`, nil when the key is absent.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(Invalid) -> Int? {
        guard let value = fields[key] else { return nil }
        // JSON's true and false arrive as NSNumber too, which would read as 1 and 0: their type code is "c".
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c", let whole = number as? Int, range.contains(whole) else {
            throw failure("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return whole
    }

    /// Every element a string (numbers and booleans are not), or nil.
    static func strings(_ value: Any) -> [String]? {
        guard let list = value as? [Any] else { return nil }
        let strings = list.compactMap { $0 as? String }
        return strings.count == list.count ? strings : nil
    }
}
