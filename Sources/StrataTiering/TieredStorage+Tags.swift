import Foundation
import S3Protocol
import StrataStore

/// Object tags across tiering: they travel with the object upstream (`x-amz-tagging` on every write), a local copy
/// made from the upstream fetches them, and tags read or changed while only the upstream holds the object are the
/// upstream's, so tags outlive eviction as the bytes and the permission do.
extension TieredStorage {
    public func objectTagging(bucket: String, key: String) async throws -> TagSet {
        do {
            return try await local.objectTagging(bucket: bucket, key: key)
        } catch let error as S3Error where error.code == .noSuchKey && !key.hasSuffix("/") {
            let rule = rule(bucket)
            guard let tags = try await upstream({ try await client.tagging(bucket: rule.upstreamBucket, key: rule.upstreamKey(key)) }) else {
                throw error
            }
            return tags
        }
    }

    /// The local copy's tags change, and the upstream's too when it holds the object (not under MUST_CACHE, which
    /// writes nothing upstream; a pending object takes its tags with its upload).
    public func setObjectTagging(bucket: String, key: String, tags: TagSet?) async throws {
        let rule = rule(bucket)
        let upstreamKey = rule.upstreamKey(key)
        guard let object = try? await local.openObject(bucket: bucket, key: key) else {
            guard !key.hasSuffix("/"), rule.writeType != .mustCache,
                try await upstream({ try await client.head(bucket: rule.upstreamBucket, key: upstreamKey) }) != nil
            else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
            try await upstream { try await client.setTagging(bucket: rule.upstreamBucket, key: upstreamKey, tags: tags ?? TagSet()) }
            return
        }
        try await local.setObjectTagging(bucket: bucket, key: key, tags: tags)
        guard rule.writeType != .mustCache, object.metadata.upstreamETag != nil, object.metadata.persisted != false, !key.hasSuffix("/") else {
            return
        }
        try await upstream { try await client.setTagging(bucket: rule.upstreamBucket, key: upstreamKey, tags: tags ?? TagSet()) }
    }

    /// The tags of an upstream object a local copy is made of: fetched only when it has any.
    func upstreamTags(_ rule: TieringRule, key: String, _ info: UpstreamObject) async -> TagSet? {
        guard info.tagCount > 0 else { return nil }
        return try? await client.tagging(bucket: rule.upstreamBucket, key: rule.upstreamKey(key))
    }
}
