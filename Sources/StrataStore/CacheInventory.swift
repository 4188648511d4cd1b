import Glibc
import S3Protocol

/// One local object as cache eviction sees it.
public struct CachedObject: Sendable {
    public var bucket: String
    public var key: String
    public var size: Int64
    public var modifiedSeconds: Int64
    /// Only copies the upstream holds (persisted, with an upstream ETag) may be evicted.
    public var evictable: Bool
}

extension FileSystemStore {
    /// Every object of a bucket with its size and whether the upstream holds it, without loading the tree.
    public func cacheInventory(bucketName: String, prefix: String = "", _ visit: (CachedObject) -> Void) throws(S3Error) {
        let bucket = try openBucket(bucketName)
        let walker = KeyWalker(store: self, bucket: bucket, prefix: prefix, startAfter: nil)
        do {
            while let item = try walker.next() {
                guard !item.isDirectory, let (name, st) = fileEntry(of: item) else { continue }
                let meta = ObjectMetadata.decode(try? Sys.getAttribute(item.directory.fd, name, ObjectMetadata.attributeName))
                let evictable = meta?.upstreamETag != nil && meta?.persisted != false && meta?.isValid(for: st) == true
                visit(CachedObject(bucket: bucketName, key: item.key, size: st.size, modifiedSeconds: st.mtimeSeconds, evictable: evictable))
            }
        } catch let error as SystemError {
            throw error.s3Error()
        } catch {
            throw S3Error(.internalError)
        }
    }

    /// Removes a cached copy only if it is still the evictable version. The check and the removal hold the directory's
    /// lock exclusively, so a new version published meanwhile by any node (which takes it shared) is never removed.
    public func evict(bucketName: String, key: String) -> Bool {
        guard let bucket = try? openBucket(bucketName), let parent = try? openParent(bucket, FileSystemStore.split(key).directories),
            let lock = try? directoryLocks.lock(parent, exclusive: true)
        else { return false }
        return withExtendedLifetime(lock) {
            guard let object = try? openObject(bucket: bucket, key: key), object.metadata.upstreamETag != nil, object.metadata.persisted != false
            else { return false }
            return (try? deleteObject(bucket: bucket, key: key)) != nil
        }
    }
}
