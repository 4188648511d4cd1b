/// A small, strict XML reader for S3 request bodies (Delete, Tagging, CompleteMultipartUpload,
/// CreateBucketConfiguration). It refuses DTDs and entity declarations outright, so entity-expansion
/// attacks cannot happen, and bounds nesting depth and element count.
public struct XMLElement: Sendable, Equatable {
    public var name: String
    public var text: String
    public var children: [XMLElement]

    /// The first child with this local name (namespace prefixes are ignored).
    public func child(_ name: String) -> XMLElement? {
        children.first { $0.name == name }
    }

    public func children(_ name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }
}

public enum XMLDocument {
    public static let maxDepth = 16
    public static let maxElements = 200_000

    /// Parses a document and returns its root element, or throws MalformedXML.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> XMLElement {
        var parser = Parser(bytes: bytes)
        do {
            return try parser.document()
        } catch {
            throw S3Error(.malformedXML)
        }
    }

    public static func parse(_ text: String) throws(S3Error) -> XMLElement {
        try parse(Array(text.utf8))
    }
}

private struct ParseFailure: Error {}

private struct Parser {
    let bytes: [UInt8]
    var pos = 0
    var elementCount = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws -> XMLElement {
        // Optional UTF-8 byte order mark.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
        try skipMisc()
        guard peek() == UInt8(ascii: "<") else { throw ParseFailure() }
        let root = try element(depth: 0)
        try skipMisc()
        guard pos == bytes.count else { throw ParseFailure() }
        return root
    }

    func peek(_ offset: Int = 0) -> UInt8? {
        pos + offset < bytes.count ? bytes[pos + offset] : nil
    }

    func startsWith(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard pos + u.count <= bytes.count else { return false }
        return Array(bytes[pos..<pos + u.count]) == u
    }

    mutating func skipSpace() {
        while let c = peek(), c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { pos += 1 }
    }

    /// Whitespace, comments and processing instructions (including the XML declaration); DTDs are refused.
    mutating func skipMisc() throws {
        while true {
            skipSpace()
            if startsWith("<?") {
                try skip(past: "?>")
            } else if startsWith("<!--") {
                try skip(past: "-->")
            } else if startsWith("<!") {
                throw ParseFailure()
            } else {
                return
            }
        }
    }

    mutating func skip(past terminator: String) throws {
        let t = Array(terminator.utf8)
        while pos + t.count <= bytes.count {
            if bytes[pos] == t[0] && Array(bytes[pos..<pos + t.count]) == t {
                pos += t.count
                return
            }
            pos += 1
        }
        throw ParseFailure()
    }

    mutating func name() throws -> String {
        let start = pos
        while let c = peek(),
            !(c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: ">") || c == UInt8(ascii: "/") || c == UInt8(ascii: "="))
        {
            pos += 1
        }
        guard pos > start, let full = String(validating: bytes[start..<pos], as: UTF8.self) else { throw ParseFailure() }
        // Drop a namespace prefix: S3 bodies are matched on local names.
        if let colon = full.lastIndex(of: ":") { return String(full[full.index(after: colon)...]) }
        return full
    }

    mutating func element(depth: Int) throws -> XMLElement {
        guard depth < XMLDocument.maxDepth else { throw ParseFailure() }
        elementCount += 1
        guard elementCount <= XMLDocument.maxElements else { throw ParseFailure() }
        pos += 1  // '<'
        let tag = try name()
        // Attributes are read and ignored (xmlns and the like).
        while true {
            skipSpace()
            guard let c = peek() else { throw ParseFailure() }
            if c == UInt8(ascii: "/") {
                guard peek(1) == UInt8(ascii: ">") else { throw ParseFailure() }
                pos += 2
                return XMLElement(name: tag, text: "", children: [])
            }
            if c == UInt8(ascii: ">") {
                pos += 1
                break
            }
            _ = try name()
            skipSpace()
            guard peek() == UInt8(ascii: "=") else { throw ParseFailure() }
            pos += 1
            skipSpace()
            guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw ParseFailure() }
            pos += 1
            while let q = peek(), q != quote {
                if q == UInt8(ascii: "<") { throw ParseFailure() }
                pos += 1
            }
            guard peek() == quote else { throw ParseFailure() }
            pos += 1
        }
        var text: [UInt8] = []
        var children: [XMLElement] = []
        while true {
            guard let c = peek() else { throw ParseFailure() }
            if c == UInt8(ascii: "<") {
                if startsWith("</") {
                    pos += 2
                    let closing = try name()
                    skipSpace()
                    guard closing == tag, peek() == UInt8(ascii: ">") else { throw ParseFailure() }
                    pos += 1
                    guard let string = String(validating: text, as: UTF8.self) else { throw ParseFailure() }
                    return XMLElement(name: tag, text: string, children: children)
                } else if startsWith("<!--") {
                    try skip(past: "-->")
                } else if startsWith("<![CDATA[") {
                    pos += 9
                    let start = pos
                    try skip(past: "]]>")
                    text.append(contentsOf: bytes[start..<pos - 3])
                } else if startsWith("<?") {
                    try skip(past: "?>")
                } else if startsWith("<!") {
                    throw ParseFailure()
                } else {
                    children.append(try element(depth: depth + 1))
                }
            } else if c == UInt8(ascii: "&") {
                text.append(contentsOf: try entity())
            } else {
                text.append(c)
                pos += 1
            }
        }
    }

    /// The five predefined entities and numeric character references; nothing else exists without a DTD.
    mutating func entity() throws -> [UInt8] {
        let start = pos
        while let c = peek(), c != UInt8(ascii: ";") {
            pos += 1
            if pos - start > 12 { throw ParseFailure() }
        }
        guard peek() == UInt8(ascii: ";") else { throw ParseFailure() }
        let body = String(decoding: bytes[(start + 1)..<pos], as: UTF8.self)
        pos += 1
        switch body {
        case "amp": return [UInt8(ascii: "&")]
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default:
            var value: UInt32?
            if body.hasPrefix("#x") || body.hasPrefix("#X") {
                value = UInt32(body.dropFirst(2), radix: 16)
            } else if body.hasPrefix("#") {
                value = UInt32(body.dropFirst(), radix: 10)
            }
            guard let value, let scalar = Unicode.Scalar(value), value != 0 else { throw ParseFailure() }
            return Array(String(Character(scalar)).utf8)
        }
    }
}
