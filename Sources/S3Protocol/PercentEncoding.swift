/// Percent-decoding and -encoding as S3 uses them.
public enum PercentEncoding {
    /// Decodes %XX escapes; `plusIsSpace` applies form rules (query strings). Returns nil for bad escapes or
    /// bytes that are not UTF-8.
    public static func decode(_ text: Substring, plusIsSpace: Bool = false) -> String? {
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) {
            return String(text)
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var it = text.utf8.makeIterator()
        while let c = it.next() {
            if c == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else { return nil }
                out.append(hv << 4 | lv)
            } else if plusIsSpace && c == UInt8(ascii: "+") {
                out.append(0x20)
            } else {
                out.append(c)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    public static func decode(_ text: String, plusIsSpace: Bool = false) -> String? {
        decode(Substring(text), plusIsSpace: plusIsSpace)
    }

    public static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    /// RFC 3986's unreserved bytes, which percent-encoding leaves as they are.
    @inline(__always)
    static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
            || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "~")
    }

    static let upperHexDigits = Array("0123456789ABCDEF".utf8)

    /// RFC 3986 unreserved characters stay; everything else is %XX (uppercase). `keepSlash` leaves `/` alone.
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        appendEncoded(text, to: &out, keepSlash: keepSlash)
        return String(decoding: out, as: UTF8.self)
    }

    /// `encode` into an existing byte buffer, for callers that build their output as bytes (the access log).
    public static func appendEncoded(_ text: String, to out: inout [UInt8], keepSlash: Bool = false) {
        for c in text.utf8 {
            if isUnreserved(c) || (keepSlash && c == UInt8(ascii: "/")) {
                out.append(c)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(upperHexDigits[Int(c >> 4)])
                out.append(upperHexDigits[Int(c & 0xF)])
            }
        }
    }
}

/// Query parameters in request order; names and values decoded. A name without `=` has an empty value.
public struct QueryParameters: Sendable {
    public private(set) var items: [(name: String, value: String)]

    public init(items: [(name: String, value: String)] = []) { self.items = items }

    /// Parses a raw query string; throws InvalidArgument for escapes that do not decode.
    public init(raw: Substring?) throws(S3Error) {
        items = []
        guard let raw, !raw.isEmpty else { return }
        // Split on bytes, as clients build the string: a combining mark after `&` or `=` must not hide it.
        for piece in raw.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let eq = piece.firstIndex(of: UInt8(ascii: "=")) {
                name = Substring(piece[..<eq])
                value = Substring(piece[piece.index(after: eq)...])
            } else {
                name = Substring(piece)
                value = ""
            }
            guard let n = PercentEncoding.decode(name, plusIsSpace: true), let v = PercentEncoding.decode(value, plusIsSpace: true) else {
                throw S3Error(.invalidArgument, "The query string contains an invalid percent-encoding.")
            }
            items.append((n, v))
        }
    }

    public subscript(_ name: String) -> String? {
        items.first { $0.name.bytesEqual(name) }?.value
    }

    public func has(_ name: String) -> Bool {
        items.contains { $0.name.bytesEqual(name) }
    }
}
