/// An ordered set of S3 tags with AWS's validation rules.
public struct TagSet: Sendable, Equatable {
    public var tags: [(key: String, value: String)]

    public init(_ tags: [(key: String, value: String)] = []) { self.tags = tags }

    public var isEmpty: Bool { tags.isEmpty }
    public var count: Int { tags.count }

    public static func == (lhs: TagSet, rhs: TagSet) -> Bool {
        lhs.tags.count == rhs.tags.count && zip(lhs.tags, rhs.tags).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public struct Limits: Sendable {
        /// 10 for objects, 50 for buckets (AWS).
        public var maxTags: Int
        /// When false (Alluxio's `tagging.restrictions.enabled=false`) only duplicate keys are refused.
        public var enforced: Bool

        public init(maxTags: Int, enforced: Bool = true) {
            self.maxTags = maxTags
            self.enforced = enforced
        }
    }

    /// AWS's rules: at most `maxTags`, keys 1-128 and values 0-256 Unicode characters, unique keys,
    /// no `aws:` prefix. Every violation is InvalidTag.
    public func validate(_ limits: Limits) throws(S3Error) {
        var seen = Set<String>()
        for (key, _) in tags {
            guard seen.insert(key).inserted else { throw S3Error(.invalidTag, "Cannot provide multiple Tags with the same key") }
        }
        guard limits.enforced else { return }
        if tags.count > limits.maxTags {
            throw S3Error(
                .invalidTag,
                limits.maxTags == 10 ? "Object tags cannot be greater than 10" : "Bucket tag count cannot be greater than \(limits.maxTags)"
            )
        }
        for (key, value) in tags {
            if key.isEmpty { throw S3Error(.invalidTag, "The TagKey you have provided is invalid") }
            if key.unicodeScalars.count > 128 { throw S3Error(.invalidTag, "The TagKey you have provided is too long, max 128") }
            if value.unicodeScalars.count > 256 { throw S3Error(.invalidTag, "The TagValue you have provided is too long, max 256") }
            if key.lowercased().hasPrefix("aws:") { throw S3Error(.invalidTag, "Your TagKey cannot be prefixed with aws:") }
        }
    }

    /// Parses a `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>` body.
    public static func parseXML(_ body: [UInt8]) throws(S3Error) -> TagSet {
        let root = try XMLDocument.parse(body)
        guard root.name == "Tagging", let set = root.child("TagSet") else { throw S3Error(.malformedXML) }
        var tags: [(key: String, value: String)] = []
        for tag in set.children where tag.name == "Tag" {
            guard let key = tag.child("Key") else { throw S3Error(.malformedXML) }
            tags.append((key.text, tag.child("Value")?.text ?? ""))
        }
        return TagSet(tags)
    }

    /// Parses the `x-amz-tagging` header: URL-encoded `k1=v1&k2=v2` (a key without `=` has an empty value).
    public static func parseHeader(_ header: String) throws(S3Error) -> TagSet {
        do {
            return TagSet(try QueryParameters(raw: Substring(header)).items.map { (key: $0.name, value: $0.value) })
        } catch {
            throw S3Error(
                .invalidArgument,
                "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."
            )
        }
    }

    public func xml() -> String {
        var xml = XMLWriter(root: "Tagging")
        xml.group("TagSet") { xml in
            // Tags have no order of their own: by key, as ceph's s3-tests expect.
            for (key, value) in tags.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) {
                xml.group("Tag") {
                    $0.element("Key", key)
                    $0.element("Value", value)
                }
            }
        }
        return xml.finish()
    }
}
