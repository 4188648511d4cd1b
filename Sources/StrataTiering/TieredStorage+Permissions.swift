import Foundation
import S3Protocol
import StrataStore

/// The permission model across tiering: every object's permission is stored beside it upstream
/// (`Permission.upstreamHeader`) and on its local copy, so an object whose local copy went (eviction, invalidation,
/// a THROUGH write) is checked on a read-through exactly as a local read, and a refilled copy keeps it. An object
/// that only another client of the upstream wrote inherits the bucket's owner, group and read and write bits.
extension TieredStorage {
    /// The local path's permissions, with the object's own permission taken from the upstream when only it holds the
    /// object. An unreachable upstream leaves the object unknown (the local answer).
    public func objectPermissions(bucket: String, key: String) async throws -> PathPermissions {
        var path = try await local.pathPermissions(bucket: bucket, key: key)
        guard path.object == nil, !key.hasSuffix("/") else { return path }
        let rule = rule(bucket)
        guard let info = try? await client.head(bucket: rule.upstreamBucket, key: rule.upstreamKey(key)) else { return path }
        path.object = info.permission ?? Self.bucketPermission(path, bucket).map(Permission.inherited(fromBucket:))
        return path
    }

    /// Runs a read's permission check against an object the upstream holds (nil: it holds none, which is reported
    /// only to a caller the directories let through); the object's permission comes back for its local copy.
    @discardableResult
    func authorize(_ input: GetObjectInput, _ info: UpstreamObject?) async throws -> Permission? {
        var path = try await local.pathPermissions(bucket: input.bucket, key: input.key)
        path.object = info.map { $0.permission ?? Self.bucketPermission(path, input.bucket).map(Permission.inherited(fromBucket:)) } ?? nil
        try input.permissionCheck?(path)
        return path.object
    }

    /// The permission an upstream object's local copy records.
    func upstreamPermission(bucket: String, _ info: UpstreamObject) async throws -> Permission? {
        if let recorded = info.permission { return recorded }
        return Self.bucketPermission(try await local.pathPermissions(bucket: bucket, key: nil), bucket).map(Permission.inherited(fromBucket:))
    }

    /// The bucket's own directory among a path's permissions: the last of its `:` segments.
    static func bucketPermission(_ path: PathPermissions, _ bucket: String) -> Permission? {
        let depth = bucket.splitBytes(UInt8(ascii: ":"), omittingEmpty: true).count
        guard depth >= 1, path.directories.count >= depth else { return nil }
        return path.directories[depth - 1]
    }
}

extension TieredStorage {
    /// PutObjectAcl: the local copy (filled first when only the upstream holds the object) gets the new permission,
    /// and an object the upstream holds gets it there too, by a copy onto itself, so the permission outlives the
    /// local copy. Under MUST_CACHE nothing is written upstream, so the change stays with the local copy; a pending
    /// object takes it upstream with its upload.
    public func setObjectPermission(bucket: String, key: String, _ permission: Permission) async throws {
        let rule = rule(bucket)
        if (try? await local.openObject(bucket: bucket, key: key)) == nil, !key.hasSuffix("/") {
            guard try await fill(rule, bucket: bucket, key: key) else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
        }
        try await local.setObjectPermission(bucket: bucket, key: key, permission)
        let object = try await local.openObject(bucket: bucket, key: key)
        guard rule.writeType != .mustCache, object.metadata.upstreamETag != nil, object.metadata.persisted != false, !key.hasSuffix("/") else {
            return
        }
        let headers = [("x-amz-metadata-directive", "REPLACE")] + UpstreamHeaders.forWrite(metadata: object.metadata, tags: nil)
        let upstreamKey = rule.upstreamKey(key)
        let etag = try await upstream {
            try await client.copyObject(
                fromBucket: rule.upstreamBucket,
                fromKey: upstreamKey,
                toBucket: rule.upstreamBucket,
                toKey: upstreamKey,
                headers: headers
            )
        }
        let expected = object.metadata
        _ = try? await local.run { store in
            store.updateMetadata(bucket: try store.openBucket(bucket), key: key, ifStill: expected) { meta in
                meta.upstreamETag = etag
                meta.etag = etag
                meta.syncedAt = Int64(Date().timeIntervalSince1970)
            }
        }
    }
}

extension TieredStorage {
    /// Directories a delete left empty go, as they do without an upstream, unless the upstream still holds keys below
    /// them: a directory's recorded permission keeps governing the objects only the upstream holds (evicted ones), so
    /// the local store keeps emptied directories until this says they are done with.
    func pruneEmptied(bucket: String, keys: [String]) async {
        let rule = rule(bucket)
        var looked: Set<String> = []
        for key in keys {
            let names = ObjectKey.segments(key).directories
            let prefixes = key.splitBytes(UInt8(ascii: "/"))
            var depth = names.count
            while depth > 0 {
                let prefix = prefixes[0..<depth].joined(separator: "/") + "/"
                let directories = Array(names[0..<depth])
                guard looked.insert(prefix).inserted,
                    (try? await local.run({ $0.isEmptyDirectory(try $0.openBucket(bucket), directories) })) == true
                else { break }
                let below = try? await client.list(
                    bucket: rule.upstreamBucket,
                    prefix: rule.upstreamPrefix + prefix,
                    delimiter: nil,
                    startAfter: nil,
                    maxKeys: 1
                )
                guard let below, below.objects.isEmpty, below.commonPrefixes.isEmpty else { break }
                guard (try? await local.run({ try $0.removeEmptyDirectory(try $0.openBucket(bucket), directories) })) == true else { break }
                depth -= 1
            }
        }
    }
}
