import Foundation
import Hummingbird
import S3Protocol
import StrataStore
import StrataTiering

/// Websites through the admin API: a bucket named by its host name, with a website configuration the website
/// listener serves; cache invalidation in place of CloudFront's.
extension AdminAPI {
    /// `WebsiteConfiguration` of a creation request: `IndexDocument.Suffix` (default index.html), `ErrorDocument.Key`.
    static func websiteConfiguration(_ body: [String: Any]) throws -> WebsiteConfiguration {
        let raw = body["WebsiteConfiguration"] as? [String: Any] ?? [:]
        var configuration = WebsiteConfiguration()
        let suffix = (raw["IndexDocument"] as? [String: Any])?["Suffix"] as? String ?? "index.html"
        do {
            try configuration.setIndex(suffix)
        } catch {
            throw Failure(status: .badRequest, message: "IndexDocument.Suffix must be a non-empty name without '/'.")
        }
        if let error = raw["ErrorDocument"] {
            guard let key = (error as? [String: Any])?["Key"] as? String, !key.isEmpty else {
                throw Failure(status: .badRequest, message: "ErrorDocument needs a non-empty Key.")
            }
            configuration.errorKey = key
        }
        return configuration
    }

    func websiteRecord(_ name: String, _ configuration: WebsiteConfiguration) -> [String: Any] {
        var record: [String: Any] = ["IndexDocument": ["Suffix": configuration.indexSuffix ?? ""]]
        if let errorKey = configuration.errorKey { record["ErrorDocument"] = ["Key": errorKey] }
        record["Endpoint"] = websitePort.map { "http://\(name):\($0)/" } ?? NSNull()
        return record
    }

    func createWebsite(_ name: String, tags: TagSet?, configuration: WebsiteConfiguration) async throws -> [String: Any] {
        var record = try await createBucket(name, tags: tags, publicRead: true)
        try await storage.setBucketConfiguration(name, .website, Array(configuration.document().utf8))
        record["Website"] = websiteRecord(name, configuration)
        return record
    }

    /// The website's configuration; 404 for a bucket that is not a website.
    func website(_ name: String) async throws -> WebsiteConfiguration {
        guard let document = try await storage.bucketConfiguration(name, .website), let configuration = try? WebsiteConfiguration.parse(document)
        else {
            throw Failure(status: .notFound, message: "No website \(name).")
        }
        return configuration
    }

    func describeWebsite(_ name: String) async throws -> [String: Any] {
        let configuration = try await website(name)
        var record = try await describeBucket(name)
        record["Website"] = websiteRecord(name, configuration)
        return record
    }

    func deleteWebsite(_ name: String) async throws -> [String: Any] {
        _ = try await website(name)
        var record = try await deleteBucket(name)
        record["Website"] = record.removeValue(forKey: "Bucket")
        return record
    }

    /// `{"CacheInvalidation": ["/*", "/page.html"]}`: drops the read-through cache's copies of those paths (a tiered
    /// bucket's persisted copies; a local bucket has none to drop), so the next read fetches from the upstream.
    func invalidate(_ name: String, _ body: [String: Any]) async throws -> [String: Any] {
        let configuration = try await website(name)
        guard let paths = body["CacheInvalidation"] as? [String], !paths.isEmpty, paths.count <= 3000, paths.allSatisfy({ $0.hasPrefix("/") })
        else {
            throw Failure(status: .badRequest, message: "CacheInvalidation is a list of 1 to 3000 paths starting with '/'.")
        }
        // A path ending in `*` covers a prefix; others name one page (the index document for directory paths).
        let keys = paths.map { path in path.hasSuffix("*") ? String(path.dropFirst()) : configuration.key(forPath: path) ?? String(path.dropFirst()) }
        let dropped = try await tiering?.invalidate(bucket: name, keys: keys) ?? 0
        let id = "I" + String(Self.stableID("", UUID().uuidString).prefix(13))
        let now = Self.date(Int64(Date().timeIntervalSince1970))
        return [
            "Invalidation": [
                "Id": id, "Status": "Completed", "CreateTime": now, "DroppedCopies": dropped,
                "InvalidationBatch": ["CallerReference": UUID().uuidString.lowercased(), "Paths": ["Items": paths, "Quantity": paths.count]],
            ],
            "Location": "/v1/s3/\(account)/websites/\(name)/invalidations/\(id)",
        ]
    }
}
