import Foundation
import Glibc
import S3Protocol

/// Tags live in their own xattr, `user.strata.tags`, as a JSON array of `[key, value]` pairs (order kept).
public enum TagStorage {
    public static let attributeName = "user.strata.tags"

    public static func encode(_ tags: TagSet) -> [UInt8] {
        let pairs = tags.tags.map { [$0.key, $0.value] }
        return (try? Array(JSONEncoder().encode(pairs))) ?? []
    }

    public static func decode(_ bytes: [UInt8]?) -> TagSet {
        guard let bytes, !bytes.isEmpty, let pairs = try? JSONDecoder().decode([[String]].self, from: Data(bytes)) else { return TagSet() }
        return TagSet(pairs.compactMap { $0.count == 2 ? (key: $0[0], value: $0[1]) : nil })
    }
}

extension FileSystemStore {
    /// Reads an object's tags (an object with no tags has an empty set).
    public func objectTags(bucket: OpenFile, key: String) throws(S3Error) -> TagSet {
        let object = try openObject(bucket: bucket, key: key)
        return try withObjectNode(bucket: bucket, key: key, object: object) { fd throws(SystemError) in
            TagStorage.decode(try Sys.getAttribute(fd, TagStorage.attributeName))
        }
    }

    /// Replaces (or with nil removes) an object's tags.
    public func setObjectTags(bucket: OpenFile, key: String, tags: TagSet?) throws(S3Error) {
        let object = try openObject(bucket: bucket, key: key)
        try withObjectNode(bucket: bucket, key: key, object: object) { fd throws(SystemError) in
            try FileSystemStore.writeTags(fd, tags)
        }
    }

    public func bucketTags(_ bucket: OpenFile) throws(S3Error) -> TagSet {
        do { return TagStorage.decode(try Sys.getAttribute(bucket.fd, TagStorage.attributeName)) } catch { throw error.s3Error() }
    }

    public func setBucketTags(_ bucket: OpenFile, tags: TagSet?) throws(S3Error) {
        do { try FileSystemStore.writeTags(bucket.fd, tags) } catch { throw FileSystemStore.tagError(error) }
    }

    static func writeTags(_ fd: Int32, _ tags: TagSet?) throws(SystemError) {
        if let tags, !tags.isEmpty {
            try Sys.setAttribute(fd, TagStorage.attributeName, TagStorage.encode(tags))
        } else {
            try Sys.removeAttribute(fd, TagStorage.attributeName)
        }
    }

    static func tagError(_ error: SystemError) -> S3Error {
        if error.errno == ENOSPC || error.errno == E2BIG {
            return S3Error(.invalidTag, "The tags do not fit in the filesystem's extended attributes next to the object's metadata.")
        }
        return error.s3Error()
    }

    /// Runs `body` on a descriptor for the object's inode: the file itself, or the directory of a `dir/` object.
    private func withObjectNode<T>(bucket: OpenFile, key: String, object: ObjectHandle, _ body: (Int32) throws(SystemError) -> T) throws(S3Error) -> T
    {
        do {
            if let file = object.file { return try body(file.fd) }
            let dir = try Sys.openBeneath(bucket.fd, FileSystemStore.directoryPath(key), flags: Sys.readDirectory)
            return try body(dir.fd)
        } catch {
            throw FileSystemStore.tagError(error)
        }
    }
}
