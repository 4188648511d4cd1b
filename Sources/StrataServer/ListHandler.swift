import Foundation
import Hummingbird
import S3Protocol
import StrataStore
import StrataTiering

/// ListObjects (v1) and ListObjectsV2.
extension S3Responder {
    static let maxKeysLimit = 1000

    func listObjects(_ call: S3Call, version: Int) async throws -> Response {
        let bucketName = try call.bucket()
        let q = call.query
        let prefix = q["prefix"] ?? ""
        // rclone sends `delimiter=` with v1: an empty delimiter means none.
        let delimiter = q["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        var maxKeys = Self.maxKeysLimit
        if let raw = q["max-keys"] {
            guard let value = DecimalNumber.parseInt(raw, in: 0...Int.max) else {
                throw S3Error(
                    .invalidArgument,
                    "Provided max-keys not an integer or within integer range",
                    details: [("ArgumentName", "max-keys"), ("ArgumentValue", raw)]
                )
            }
            maxKeys = min(value, Self.maxKeysLimit)
        }
        let encodingType = q["encoding-type"]
        if let encodingType, encodingType.lowercased() != "url" {
            throw S3Error(
                .invalidArgument,
                "Invalid Encoding Method specified in Request",
                details: [("ArgumentName", "encoding-type"), ("ArgumentValue", encodingType)]
            )
        }
        let encode: (String) -> String = encodingType == nil ? { $0 } : { PercentEncoding.encode($0, keepSlash: true) }

        var startAfter: String?
        var continuationToken: String?
        if version == 2 {
            if let token = q["continuation-token"] {
                guard let decoded = ContinuationToken.decode(token) else {
                    throw S3Error(.invalidArgument, "The continuation token provided is incorrect", details: [("ArgumentName", "continuation-token")])
                }
                continuationToken = token
                startAfter = decoded
            } else {
                startAfter = q["start-after"].flatMap { $0.isEmpty ? nil : $0 }
            }
        } else {
            startAfter = q["marker"].flatMap { $0.isEmpty ? nil : $0 }
        }

        let bucket = try await openBucket(bucketName)
        let owner = try await io.run { [store] in store.bucketInfo(bucketName, handle: bucket).owner }
        let from = startAfter
        let limit = maxKeys
        var page: ListPage =
            maxKeys == 0
            ? ListPage()
            : try await io.run { [store] in
                try store.listObjects(bucket: bucket, prefix: prefix, delimiter: delimiter, startAfter: from, maxKeys: limit)
            }
        if maxKeys > 0, let tiering, let policy = policy(bucketName) {
            page = try await mergeUpstream(
                page,
                tiering: tiering,
                policy: policy,
                prefix: prefix,
                delimiter: delimiter,
                startAfter: from,
                maxKeys: maxKeys
            )
        }
        let fetchOwner = version == 1 || q["fetch-owner"] == "true"

        var xml = XMLWriter(root: "ListBucketResult")
        xml.element("Name", bucketName)
        xml.element("Prefix", encode(prefix))
        if version == 1 {
            xml.element("Marker", encode(q["marker"] ?? ""))
            if page.isTruncated, delimiter != nil, let last = page.lastItem { xml.element("NextMarker", encode(last)) }
        } else {
            if let continuationToken { xml.element("ContinuationToken", continuationToken) }
            if let startAfter = q["start-after"] { xml.element("StartAfter", encode(startAfter)) }
            xml.element("KeyCount", page.contents.count + page.commonPrefixes.count)
            if page.isTruncated, let last = page.lastItem { xml.element("NextContinuationToken", ContinuationToken.encode(last)) }
        }
        xml.element("MaxKeys", maxKeys)
        if let delimiter { xml.element("Delimiter", encode(delimiter)) }
        if let encodingType { xml.element("EncodingType", encodingType) }
        xml.element("IsTruncated", page.isTruncated)
        for object in page.contents {
            xml.group("Contents") { xml in
                xml.element("Key", encode(object.key))
                xml.element("LastModified", HTTPDate.iso8601(seconds: object.lastModifiedSeconds, milliseconds: object.lastModifiedMilliseconds))
                xml.element("ETag", "\"\(object.etag)\"")
                xml.element("Size", String(object.size))
                if fetchOwner {
                    let id = object.owner ?? owner ?? call.user
                    xml.group("Owner") {
                        $0.element("ID", id)
                        $0.element("DisplayName", id)
                    }
                }
                xml.element("StorageClass", "STANDARD")
            }
        }
        for common in page.commonPrefixes {
            xml.group("CommonPrefixes") { $0.element("Prefix", encode(common)) }
        }
        return Responses.xml(xml.finish())
    }
}

extension S3Responder {
    /// A mounted bucket lists what the upstream holds plus what is only local (not yet persisted, or MUST_CACHE):
    /// the first `maxKeys` of the union of both sides' pages, in S3 order, local entries winning on equal keys.
    func mergeUpstream(
        _ local: ListPage,
        tiering: Tiering,
        policy: BucketPolicy,
        prefix: String,
        delimiter: String?,
        startAfter: String?,
        maxKeys: Int
    ) async throws -> ListPage {
        let upstream: UpstreamListPage
        do {
            upstream = try await tiering.client.list(
                bucket: policy.upstreamBucket,
                prefix: policy.upstreamPrefix + prefix,
                delimiter: delimiter,
                startAfter: startAfter.map { policy.upstreamPrefix + $0 },
                maxKeys: maxKeys
            )
        } catch let error as UpstreamError {
            throw error.s3Error
        }
        let strip = policy.upstreamPrefix.count
        enum Item {
            case object(ObjectSummary)
            case common(String)
            var key: String {
                switch self {
                case .object(let o): o.key
                case .common(let p): p
                }
            }
        }
        var items: [String: Item] = [:]
        for (key, object) in upstream.objects {
            let local = String(key.dropFirst(strip))
            items[local] = .object(
                ObjectSummary(
                    key: local,
                    size: object.size,
                    lastModifiedSeconds: object.lastModified,
                    lastModifiedMilliseconds: 0,
                    etag: object.etag,
                    owner: nil
                )
            )
        }
        for common in upstream.commonPrefixes { items[String(common.dropFirst(strip))] = .common(String(common.dropFirst(strip))) }
        for object in local.contents { items[object.key] = .object(object) }
        for common in local.commonPrefixes { items[common] = .common(common) }
        let ordered = items.values.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var merged = ListPage()
        for item in ordered.prefix(maxKeys) {
            switch item {
            case .object(let o): merged.contents.append(o)
            case .common(let p): merged.commonPrefixes.append(p)
            }
            merged.lastItem = item.key
        }
        merged.isTruncated = ordered.count > maxKeys || local.isTruncated || upstream.isTruncated
        return merged
    }
}

/// ListObjectsV2 continuation tokens: the last key returned, opaque to clients (base64url with a version tag).
enum ContinuationToken {
    static func encode(_ key: String) -> String {
        "1."
            + Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String) -> String? {
        guard token.hasPrefix("1.") else { return nil }
        var body = String(token.dropFirst(2)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while body.count % 4 != 0 { body += "=" }
        guard let data = Data(base64Encoded: body), let key = String(data: data, encoding: .utf8), !key.isEmpty else { return nil }
        return key
    }
}
