/// A bucket's CORS configuration (PutBucketCors) and the matching of browser requests against it.
public struct CORSConfiguration: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var id: String?
        public var allowedOrigins: [String]
        public var allowedMethods: [String]
        public var allowedHeaders: [String]
        public var exposeHeaders: [String]
        public var maxAgeSeconds: Int?
    }

    public static let maxRules = 100
    static let methods: Set<String> = ["GET", "PUT", "HEAD", "POST", "DELETE"]

    public var rules: [Rule]

    /// Parses and checks a CORSConfiguration document as AWS does: MalformedXML for a wrong shape, InvalidRequest for
    /// an unsupported method or an origin or header with more than one wildcard.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> CORSConfiguration {
        let root = try XMLDocument.parse(bytes)
        guard root.name == "CORSConfiguration" else { throw S3Error(.malformedXML) }
        let elements = root.children("CORSRule")
        guard !elements.isEmpty, elements.count <= maxRules, root.children.count == elements.count else { throw S3Error(.malformedXML) }
        var rules: [Rule] = []
        for element in elements {
            let origins = element.children("AllowedOrigin").map(\.text)
            let methods = element.children("AllowedMethod").map(\.text)
            guard !origins.isEmpty, !methods.isEmpty else { throw S3Error(.malformedXML) }
            for method in methods where !Self.methods.contains(method) {
                throw S3Error(.invalidRequest, "Found unsupported HTTP method in CORS config. Unsupported method is \(method)")
            }
            let headers = element.children("AllowedHeader").map(\.text)
            for value in origins + headers where value.utf8.count(where: { $0 == UInt8(ascii: "*") }) > 1 {
                throw S3Error(.invalidRequest, "AllowedOrigin and AllowedHeader can have at most one * wildcard: \(value)")
            }
            var maxAge: Int?
            if let text = element.child("MaxAgeSeconds")?.text {
                guard let seconds = DecimalNumber.parseInt(text, in: 0...Int(Int32.max)) else { throw S3Error(.malformedXML) }
                maxAge = seconds
            }
            rules.append(
                Rule(
                    id: element.child("ID")?.text,
                    allowedOrigins: origins,
                    allowedMethods: methods,
                    allowedHeaders: headers,
                    exposeHeaders: element.children("ExposeHeader").map(\.text),
                    maxAgeSeconds: maxAge
                )
            )
        }
        return CORSConfiguration(rules: rules)
    }

    /// The document GetBucketCors returns, which `parse` reads back unchanged.
    public func document() -> String {
        var xml = XMLWriter(root: "CORSConfiguration")
        for rule in rules {
            xml.group("CORSRule") { xml in
                if let id = rule.id { xml.element("ID", id) }
                for origin in rule.allowedOrigins { xml.element("AllowedOrigin", origin) }
                for method in rule.allowedMethods { xml.element("AllowedMethod", method) }
                for header in rule.allowedHeaders { xml.element("AllowedHeader", header) }
                for header in rule.exposeHeaders { xml.element("ExposeHeader", header) }
                if let age = rule.maxAgeSeconds { xml.element("MaxAgeSeconds", String(age)) }
            }
        }
        return xml.finish()
    }

    /// The first rule that allows `origin` to use `method` with every header in `requestHeaders`.
    public func match(origin: String, method: String, requestHeaders: [String] = []) -> Rule? {
        rules.first { rule in
            rule.allowedMethods.contains(method) && rule.allowedOrigins.contains { Self.wildcard($0, matches: origin) }
                && requestHeaders.allSatisfy { header in
                    rule.allowedHeaders.contains { Self.wildcard($0.lowercased(), matches: header.lowercased()) }
                }
        }
    }

    /// The response headers for a request `rule` allows: the origin echoed (or `*` for a rule open to any origin),
    /// the rule's methods, exposed headers and max age, and the request headers it lets through.
    public static func headers(for rule: Rule, origin: String, requestHeaders: [String] = []) -> [(String, String)] {
        var headers = [
            ("Access-Control-Allow-Origin", rule.allowedOrigins.contains("*") ? "*" : origin),
            ("Access-Control-Allow-Methods", rule.allowedMethods.joined(separator: ", ")),
        ]
        if !rule.allowedOrigins.contains("*") { headers.append(("Vary", "Origin")) }
        if !requestHeaders.isEmpty { headers.append(("Access-Control-Allow-Headers", requestHeaders.joined(separator: ", "))) }
        if !rule.exposeHeaders.isEmpty { headers.append(("Access-Control-Expose-Headers", rule.exposeHeaders.joined(separator: ", "))) }
        if let age = rule.maxAgeSeconds { headers.append(("Access-Control-Max-Age", String(age))) }
        return headers
    }

    /// A pattern with at most one `*`, which stands for any run of bytes (possibly empty).
    static func wildcard(_ pattern: String, matches value: String) -> Bool {
        let p = Array(pattern.utf8)
        let v = Array(value.utf8)
        guard let star = p.firstIndex(of: UInt8(ascii: "*")) else { return p == v }
        let head = p[..<star]
        let tail = p[(star + 1)...]
        return v.count >= head.count + tail.count && v.starts(with: head) && v.reversed().starts(with: tail.reversed())
    }

    /// `Access-Control-Request-Headers` split into names.
    public static func requestedHeaders(_ value: String?) -> [String] {
        guard let value else { return [] }
        return value.splitBytes(UInt8(ascii: ",")).map { $0.trimming(" ") }.filter { !$0.isEmpty }
    }
}
