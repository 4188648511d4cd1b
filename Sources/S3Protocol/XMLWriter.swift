/// Builds S3 XML response documents. Element order is whatever the caller writes, so callers follow AWS's order.
public struct XMLWriter: Sendable {
    public static let s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
    public private(set) var output: String

    public init(root: String, namespace: String? = XMLWriter.s3Namespace) {
        output = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(root)"
        if let namespace { output += " xmlns=\"\(namespace)\"" }
        output += ">"
        stack = [root]
    }

    private var stack: [String]

    public mutating func open(_ name: String) {
        output += "<\(name)>"
        stack.append(name)
    }

    public mutating func close() {
        let name = stack.removeLast()
        output += "</\(name)>"
    }

    public mutating func element(_ name: String, _ value: String) {
        output += "<\(name)>\(XMLWriter.escape(value))</\(name)>"
    }

    public mutating func element(_ name: String, _ value: Int) {
        output += "<\(name)>\(value)</\(name)>"
    }

    public mutating func element(_ name: String, _ value: Bool) {
        output += "<\(name)>\(value ? "true" : "false")</\(name)>"
    }

    /// A document whose root holds only text, such as `<LocationConstraint>`.
    public static func textDocument(root: String, text: String) -> String {
        var xml = XMLWriter(root: root)
        xml.output += escape(text)
        return xml.finish()
    }

    /// Appends markup as is, for the rare element that carries attributes.
    public mutating func appendRaw(_ markup: String) {
        output += markup
    }

    public mutating func optional(_ name: String, _ value: String?) {
        if let value { element(name, value) }
    }

    public mutating func group(_ name: String, _ body: (inout XMLWriter) -> Void) {
        open(name)
        body(&self)
        close()
    }

    /// Closes every open element and returns the document.
    public consuming func finish() -> String {
        while !stack.isEmpty { close() }
        return output
    }

    /// Escapes text for element content; control characters XML 1.0 cannot carry become character references
    /// only where legal, and are otherwise dropped (keys with them are listed URL-encoded instead).
    public static func escape(_ text: String) -> String {
        var needs = false
        for unit in text.utf8 where unit == 0x26 || unit == 0x3C || unit == 0x3E || unit == 0x22 || unit == 0x27 || unit < 0x20 {
            needs = true
            break
        }
        if !needs { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += "&#\(scalar.value);"
            default:
                if scalar.value < 0x20 { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
