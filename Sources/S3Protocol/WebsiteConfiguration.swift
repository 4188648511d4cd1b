/// A bucket's static website (PutBucketWebsite): the index document served for directory paths and the error
/// document served for misses, or a redirect of every request to another host.
public struct WebsiteConfiguration: Sendable, Equatable {
    public var indexSuffix: String?
    public var errorKey: String?
    /// RedirectAllRequestsTo: host name and, optionally, `http` or `https`.
    public var redirectHost: String?
    public var redirectProtocol: String?

    public init(indexSuffix: String? = nil, errorKey: String? = nil, redirectHost: String? = nil, redirectProtocol: String? = nil) {
        self.indexSuffix = indexSuffix
        self.errorKey = errorKey
        self.redirectHost = redirectHost
        self.redirectProtocol = redirectProtocol
    }

    /// Parses and checks a WebsiteConfiguration document as AWS does: an index document (a non-empty suffix without
    /// `/`) or RedirectAllRequestsTo, never both; routing rules are not supported.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> WebsiteConfiguration {
        let root = try XMLDocument.parse(bytes)
        guard root.name == "WebsiteConfiguration" else { throw S3Error(.malformedXML) }
        if root.child("RoutingRules") != nil {
            throw S3Error(.notImplemented, "Website routing rules are not supported; use an index and an error document.")
        }
        var configuration = WebsiteConfiguration()
        if let redirect = root.child("RedirectAllRequestsTo") {
            guard let host = redirect.child("HostName")?.text, !host.isEmpty else { throw S3Error(.malformedXML) }
            configuration.redirectHost = host
            if let scheme = redirect.child("Protocol")?.text {
                guard scheme == "http" || scheme == "https" else {
                    throw S3Error(
                        .invalidRequest,
                        "Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically."
                    )
                }
                configuration.redirectProtocol = scheme
            }
            guard root.child("IndexDocument") == nil, root.child("ErrorDocument") == nil else {
                throw S3Error(.invalidRequest, "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.")
            }
            return configuration
        }
        guard let suffix = root.child("IndexDocument")?.child("Suffix")?.text else {
            throw S3Error(.invalidArgument, "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty")
        }
        try configuration.setIndex(suffix)
        if let error = root.child("ErrorDocument") {
            guard let key = error.child("Key")?.text, !key.isEmpty else { throw S3Error(.malformedXML) }
            configuration.errorKey = key
        }
        return configuration
    }

    /// Sets the index document suffix: non-empty and without a slash.
    public mutating func setIndex(_ suffix: String) throws(S3Error) {
        guard !suffix.isEmpty, !suffix.contains("/") else {
            throw S3Error(.invalidArgument, "The IndexDocument Suffix is not well formed", details: [("ArgumentName", "IndexDocument")])
        }
        indexSuffix = suffix
    }

    /// The document GetBucketWebsite returns, which `parse` reads back unchanged.
    public func document() -> String {
        var xml = XMLWriter(root: "WebsiteConfiguration")
        if let redirectHost {
            xml.group("RedirectAllRequestsTo") { xml in
                xml.element("HostName", redirectHost)
                if let redirectProtocol { xml.element("Protocol", redirectProtocol) }
            }
        }
        if let indexSuffix { xml.group("IndexDocument") { $0.element("Suffix", indexSuffix) } }
        if let errorKey { xml.group("ErrorDocument") { $0.element("Key", errorKey) } }
        return xml.finish()
    }

    /// Where `/dir` is redirected when `dir/index.html` exists: the key re-encoded as a path on this host, and `/`.
    /// A key that starts with `/` (asked for as `//evil.example`) has its leading slashes encoded, or the browser would
    /// take `//evil.example/` for another host; backslashes, which browsers read as slashes, are encoded everywhere.
    /// The location decodes back to the key and `/`, so it names the same index document.
    public static func directoryLocation(forKey key: String) -> String {
        var encoded = Substring(PercentEncoding.encode(key, keepSlash: true))
        var location = "/"
        while encoded.hasPrefix("/") {
            location += "%2F"
            encoded = encoded.dropFirst()
        }
        return location + encoded + "/"
    }

    /// The key a website path names: the path decoded, with the index suffix for the root and for paths ending in
    /// `/`. Nil for a path that cannot be decoded.
    public func key(forPath path: String) -> String? {
        var raw = Substring(path)
        if let query = raw.firstIndex(of: "?") { raw = raw[..<query] }
        guard let decoded = PercentEncoding.decode(raw) else { return nil }
        var key = decoded.hasPrefix("/") ? String(decoded.dropFirst()) : decoded
        if key.isEmpty || key.hasSuffix("/") { key += indexSuffix ?? "" }
        return key.isEmpty ? nil : key
    }
}
