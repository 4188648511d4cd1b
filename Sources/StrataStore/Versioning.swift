import CStrataSys
import Glibc
import S3Protocol
import Synchronization

/// What a delete did: the version it removed or the delete marker it made (nil: the bucket has no versioning).
public struct DeletedVersion: Sendable, Equatable {
    public var versionId: String?
    public var isDeleteMarker: Bool

    public init(versionId: String? = nil, isDeleteMarker: Bool = false) {
        self.versionId = versionId
        self.isDeleteMarker = isDeleteMarker
    }
}

/// One stored version of a key (not the current one): an earlier version or a delete marker.
struct StoredVersion {
    let name: String
    let id: String
    let stat: FileStat
    let metadata: ObjectMetadata?
    var isDeleteMarker: Bool { metadata?.isDeleteMarker == true }
}

/// A stored version known by its name, before its file is opened.
struct StoredVersionName {
    /// `.strata.v.<id>`.
    let name: String
    /// When it was made: the time in its id, or for `null` its file's modification time.
    let created: Int64
    /// The time a version-id-marker that no longer exists is compared with: `created`, in whole seconds for `null`.
    let markerTime: Int64

    var id: String { String(decoding: name.utf8.dropFirst(FileSystemStore.versionPrefix.utf8.count), as: UTF8.self) }

    /// The name of version `id`.
    static func name(of id: String) -> String { FileSystemStore.versionPrefix + id }
}

/// Versioning on a filesystem. The current version of a key stays an ordinary file at its natural path, so readers
/// of the files and every unversioned code path see what they always saw. Earlier versions and delete markers live
/// in the key's versions directory, `<bucket>/.strata.versions/<key's path>/`, named `.strata.v.<id>`: an earlier
/// version is a hard link of the file that was current (archiving copies nothing), a delete marker an empty file with
/// `isDeleteMarker` in its metadata. A key whose newest version is a delete marker has no file at its natural path.
/// Every change takes the exclusive lock of the key's directory, as conditional writes do.
extension FileSystemStore {
    static let versionsRoot = ReservedNames.prefix + "versions"
    static let versionPrefix = ReservedNames.prefix + "v."

    // MARK: State

    /// A bucket's versioning state, read from its directory at most once a second (AWS also asks clients to allow
    /// time for a change to reach every node); a change made through this node applies at once.
    public func versioningStatus(_ bucketName: String, _ bucket: OpenFile) -> VersioningStatus? {
        let now = Self.monotonicNanos()
        if let cached = versioningCache.lookup(bucketName, now: now) { return cached }
        let document = (try? bucketConfiguration(bucket, .versioning)) ?? nil
        let status = document.flatMap { VersioningStatus(rawValue: String(decoding: $0, as: UTF8.self)) }
        versioningCache.store(bucketName, status, now: now)
        return status
    }

    public func setVersioningStatus(_ bucketName: String, _ bucket: OpenFile, _ status: VersioningStatus) throws(S3Error) {
        try setBucketConfiguration(bucket, .versioning, Array(status.rawValue.utf8))
        versioningCache.forget(bucketName)
    }

    static func monotonicNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// The id of a version being created now: later than any this process made before, whatever the clock does.
    static func newVersionID() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let wall = Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
        let (previous, _) = lastVersionNanos.withLock { last in
            last = max(last &+ 1, wall)
            return (last, ())
        }
        return VersionID.make(nanos: previous, random: UInt32.random(in: 0...UInt32.max))
    }

    private static let lastVersionNanos = Mutex<Int64>(0)

    // MARK: The versions directory

    /// The directory of `key`'s stored versions; nil when it does not exist and `create` is false.
    func versionsDirectory(_ bucket: OpenFile, _ key: String, create: Bool) throws(S3Error) -> OpenFile? {
        let (directories, leaf) = ObjectKey.fileSegments(key)
        let components = [Self.versionsRoot] + directories + [leaf]
        guard create else { return try? Sys.openBeneath(bucket.fd, components.joined(separator: "/"), flags: Sys.readDirectory) }
        var current = bucket
        for component in components {
            do {
                try Sys.mkdir(current.fd, component)
            } catch  where error.errno != EEXIST {
                throw error.s3Error()
            } catch {}
            do { current = try Sys.openBeneath(current.fd, component, flags: Sys.readDirectory) } catch { throw error.s3Error() }
        }
        return current
    }

    /// The stored versions in `directory`, newest first.
    func storedVersions(_ directory: OpenFile) -> [StoredVersion] {
        storedVersionNames(directory).compactMap { storedVersion(directory, $0) }
    }

    /// The names of the stored versions in `directory`, newest first, without opening them: ids record their time,
    /// so only a `null` (or foreign) name needs its file's modification time. Sorted by index, as a key may have many.
    func storedVersionNames(_ directory: OpenFile) -> [StoredVersionName] {
        var names: [StoredVersionName] = []
        let prefixLength = Self.versionPrefix.utf8.count
        try? Sys.forEachEntry(directory.fd) { cName, type in
            guard type == .regular || type == .unknown, strncmp(cName, Self.versionPrefix, prefixLength) == 0 else { return }
            let name = String(cString: cName)
            let id = UnsafeRawBufferPointer(start: cName + prefixLength, count: strlen(cName) - prefixLength)
            if let nanos = VersionID.nanos(ofUTF8: id) {
                names.append(StoredVersionName(name: name, created: nanos, markerTime: nanos))
            } else if let st = try? Sys.stat(directory.fd, name), st.isRegular {
                names.append(StoredVersionName(name: name, created: st.mtimeNanos, markerTime: st.mtimeSeconds &* 1_000_000_000))
            }
        }
        // Newest first; the same time, the greater id first.
        let order = names.indices.sorted { a, b in
            let (first, second) = (names[a], names[b])
            return first.created != second.created ? first.created > second.created : second.name.utf8.lexicographicallyPrecedes(first.name.utf8)
        }
        return order.map { names[$0] }
    }

    /// Opens a stored version's file and metadata; nil when it is gone or not a regular file.
    func storedVersion(_ directory: OpenFile, _ version: StoredVersionName) -> StoredVersion? {
        guard let st = try? Sys.stat(directory.fd, version.name), st.isRegular else { return nil }
        let meta = ObjectMetadata.decode(try? Sys.getAttribute(directory.fd, version.name, ObjectMetadata.attributeName))
        return StoredVersion(name: version.name, id: version.id, stat: st, metadata: meta)
    }

    /// Removes `key`'s versions directory and the directories above it that are left empty.
    func pruneVersionsDirectory(_ bucket: OpenFile, _ key: String) {
        let (directories, leaf) = ObjectKey.fileSegments(key)
        var components = [Self.versionsRoot] + directories + [leaf]
        while !components.isEmpty {
            let name = components.removeLast()
            guard let parent = try? Sys.openBeneath(bucket.fd, components.isEmpty ? "." : components.joined(separator: "/"), flags: Sys.readDirectory)
            else { return }
            if (try? Sys.rmdir(parent.fd, name)) == nil { return }
        }
    }

    /// The version id a current file carries (`null` when it has none).
    static func versionID(of meta: ObjectMetadata?) -> String { meta?.versionId ?? VersionID.null }

    // MARK: Writes

    /// Before the file `leaf` in `parent` (the current version of `key`) is replaced or removed, keeps it as a stored
    /// version. With versioning suspended a current `null` version is not kept: it is the one being replaced (and a
    /// stored `null` version goes once the new one is in place: `dropStoredNull`). Runs under the directory's
    /// exclusive lock.
    func archiveCurrent(_ bucket: OpenFile, key: String, parent: OpenFile, leaf: String, status: VersioningStatus) throws(S3Error) {
        // The current file is at its name, or at its displaced name when a directory holds that.
        var source = leaf
        if (try? Sys.stat(parent.fd, leaf))?.isRegular != true {
            source = ObjectKey.displacedName(ofEntry: leaf)
            guard (try? Sys.stat(parent.fd, source))?.isRegular == true else { return }
        }
        let id = Self.versionID(of: ObjectMetadata.decode(try? Sys.getAttribute(parent.fd, source, ObjectMetadata.attributeName)))
        if status == .suspended && id == VersionID.null { return }
        guard let directory = try versionsDirectory(bucket, key, create: true) else { return }
        let name = Self.versionPrefix + id
        if linkat(parent.fd, source, directory.fd, name, 0) == 0 { return }
        // A leftover of an archive interrupted before the current file went: the same version, linked again.
        guard errno == EEXIST else { throw SystemError(call: "link", errno: errno).s3Error() }
        _ = try? Sys.unlink(directory.fd, name)
        if linkat(parent.fd, source, directory.fd, name, 0) != 0 { throw SystemError(call: "link", errno: errno).s3Error() }
    }

    /// A new `null` version is current: the stored one it replaces goes. Until then (a crash in between) the two
    /// share the id, and listings and reads take the current one.
    func dropStoredNull(_ bucket: OpenFile, key: String) {
        guard let stored = try? versionsDirectory(bucket, key, create: false) else { return }
        _ = try? Sys.unlink(stored.fd, Self.versionPrefix + VersionID.null)
        pruneVersionsDirectory(bucket, key)
    }

    /// Records a delete marker as `key`'s newest version.
    func writeDeleteMarker(_ bucket: OpenFile, key: String, id: String, owner: String?) throws(S3Error) {
        guard let directory = try versionsDirectory(bucket, key, create: true) else { return }
        let name = Self.versionPrefix + id
        if id == VersionID.null { _ = try? Sys.unlink(directory.fd, name) }
        do {
            let file = try Sys.openBeneath(directory.fd, name, flags: O_CREAT | O_EXCL | O_WRONLY, mode: 0o644)
            var meta = ObjectMetadata(etag: "")
            meta.isDeleteMarker = true
            meta.versionId = id
            meta.owner = owner
            meta.mtimeNanos = try Sys.stat(file.fd).mtimeNanos
            try Sys.setAttribute(file.fd, ObjectMetadata.attributeName, meta.encoded())
            if options.syncPolicy != .none {
                try Sys.fsync(file.fd)
                try Sys.fsync(directory.fd)
            }
        } catch {
            throw error.s3Error()
        }
    }

    /// DeleteObject without a version id in a bucket with versioning: the current version is kept as a stored one
    /// (or, suspended, dropped when it is `null`) and a delete marker becomes the newest version. With a condition,
    /// the condition is checked against the newest version (a delete marker has no ETag) and nothing is done when
    /// the key has no versions at all.
    public func deleteCurrentVersion(
        _ bucket: OpenFile,
        key: String,
        status: VersioningStatus,
        condition: DeleteCondition,
        owner: String?
    ) throws(S3Error) -> DeletedVersion {
        let (directories, leaf) = ObjectKey.fileSegments(key)
        let parent = try? openParent(bucket, directories)
        let lock = try directoryLocks.lock(parent ?? bucket, exclusive: true)
        defer { withExtendedLifetime(lock) {} }
        let current = parent == nil ? nil : try? openFileObject(bucket, key, missingIsNil: true)
        if !condition.isEmpty {
            if let current {
                let object = try validated(current)
                guard condition.allows(etag: object.metadata.etag, lastModifiedSeconds: object.lastModifiedSeconds, size: object.size) else {
                    throw S3Error(.preconditionFailed, details: [("Condition", "If-Match")])
                }
            } else {
                guard let newest = (try versionsDirectory(bucket, key, create: false)).flatMap({ storedVersions($0).first }) else {
                    return DeletedVersion()
                }
                guard condition.allows(etag: newest.metadata?.etag ?? "", lastModifiedSeconds: newest.stat.mtimeSeconds, size: newest.stat.size)
                else {
                    throw S3Error(.preconditionFailed, details: [("Condition", "If-Match")])
                }
            }
        }
        if let parent, current != nil { try archiveCurrent(bucket, key: key, parent: parent, leaf: leaf, status: status) }
        let id = status == .enabled ? Self.newVersionID() : VersionID.null
        try writeDeleteMarker(bucket, key: key, id: id, owner: owner)
        if let parent, current != nil {
            try removeFileObject(bucket, parent: parent, directories: directories, leaf: leaf)
        }
        return DeletedVersion(versionId: id, isDeleteMarker: true)
    }

    /// DeleteObject of one version. The current version's removal makes the newest stored version current again,
    /// unless that is a delete marker; removing the newest delete marker does the same. An id the key does not have
    /// is no error, as for any delete.
    public func deleteVersion(_ bucket: OpenFile, key: String, versionId: String, condition: DeleteCondition) throws(S3Error) -> DeletedVersion {
        let (directories, leaf) = ObjectKey.fileSegments(key)
        let parent = try? openParent(bucket, directories)
        let lock = try directoryLocks.lock(parent ?? bucket, exclusive: true)
        defer { withExtendedLifetime(lock) {} }
        func check(etag: String, modified: Int64, size: Int64) throws(S3Error) {
            guard condition.allows(etag: etag, lastModifiedSeconds: modified, size: size) else {
                throw S3Error(.preconditionFailed, details: [("Condition", "If-Match")])
            }
        }
        var current = parent == nil ? nil : try? openFileObject(bucket, key, missingIsNil: true)
        if let parent, let opened = current, Self.versionID(of: opened.stored) == versionId {
            let object = try validated(opened)
            try check(etag: object.metadata.etag, modified: object.lastModifiedSeconds, size: object.size)
            try removeFileObject(bucket, parent: parent, directories: directories, leaf: leaf, prune: false)
            // A link of this same version left by an interrupted archive goes too, or it would come back as current.
            if let stored = try versionsDirectory(bucket, key, create: false) { _ = try? Sys.unlink(stored.fd, Self.versionPrefix + versionId) }
            current = nil
            if try !promoteNewest(bucket, key: key) { pruneEmptyParents(bucket, directories) }
            return DeletedVersion(versionId: versionId)
        }
        guard let stored = try versionsDirectory(bucket, key, create: false) else { return DeletedVersion(versionId: versionId) }
        let name = Self.versionPrefix + versionId
        guard let st = try? Sys.stat(stored.fd, name), st.isRegular else { return DeletedVersion(versionId: versionId) }
        let meta = ObjectMetadata.decode(try? Sys.getAttribute(stored.fd, name, ObjectMetadata.attributeName))
        try check(etag: meta?.etag ?? "", modified: st.mtimeSeconds, size: st.size)
        do { try Sys.unlink(stored.fd, name) } catch { throw error.s3Error() }
        if current == nil { _ = try promoteNewest(bucket, key: key) }
        pruneVersionsDirectory(bucket, key)
        return DeletedVersion(versionId: versionId, isDeleteMarker: meta?.isDeleteMarker == true)
    }

    /// When `key` has no current file: its newest stored version becomes current, unless it is a delete marker.
    /// True when a version was made current.
    private func promoteNewest(_ bucket: OpenFile, key: String) throws(S3Error) -> Bool {
        guard let stored = try versionsDirectory(bucket, key, create: false), let newest = storedVersions(stored).first, !newest.isDeleteMarker
        else { return false }
        let (directories, leaf) = ObjectKey.fileSegments(key)
        // Directories a delete marker emptied come back as the returning version's write made them: its owner and
        // group, its mode in directory form (not the deleter's, nor the parent's).
        let (parent, _) = try makeParents(bucket, directories, permission: newest.metadata?.permission)
        // Where a directory holds the key's name (keys `a/...` beside `a`), the file goes to its displaced name.
        let target = (try? Sys.stat(parent.fd, leaf))?.isDirectory == true && !options.strictKeys ? ObjectKey.displacedName(ofEntry: leaf) : leaf
        do {
            try Sys.rename(stored.fd, newest.name, parent.fd, target, noReplace: true)
        } catch {
            // Something took the name meanwhile (a write outside S3): it is current, the version stays stored.
            if error.errno == EEXIST { return false }
            throw error.s3Error()
        }
        pruneVersionsDirectory(bucket, key)
        return true
    }

    // MARK: Reads

    /// Version `id` of `key`: the current file when it carries that id, else the stored version. NoSuchVersion when
    /// the key has no such version; a delete marker answers 405 MethodNotAllowed, as AWS does.
    public func openVersion(_ bucket: OpenFile, key: String, id: String) throws(S3Error) -> ObjectHandle {
        if let current = try openFileObject(bucket, key, missingIsNil: true), Self.versionID(of: current.stored) == id {
            return try validated(current)
        }
        let noSuchVersion = S3Error(.noSuchVersion, details: [("Key", key), ("VersionId", id)])
        guard let stored = try versionsDirectory(bucket, key, create: false) else { throw noSuchVersion }
        let opened: OpenedFile
        do {
            opened = try openFile(stored, Self.versionPrefix + id, key: key)
        } catch  where error.code == .noSuchKey {
            throw noSuchVersion
        }
        if opened.stored?.isDeleteMarker == true {
            throw S3Error(.methodNotAllowed, details: [("Method", "GET"), ("ResourceType", "DeleteMarker")])
                .with(header: "x-amz-delete-marker", "true")
                .with(header: "x-amz-version-id", id)
                .with(header: "Last-Modified", HTTPDate.rfc1123(seconds: opened.stat.mtimeSeconds))
        }
        return try validated(opened)
    }

    /// For a key that has no current file: its newest delete marker's id, when its newest version is one.
    public func newestDeleteMarker(_ bucket: OpenFile, key: String) -> String? {
        guard let stored = try? versionsDirectory(bucket, key, create: false), let newest = storedVersions(stored).first,
            newest.isDeleteMarker
        else { return nil }
        return newest.id
    }
}

extension FileSystemStore {
    /// Whether a bucket's versions tree holds a stored version or delete marker; the empty directories left in it do
    /// not count. Stops at the first key that has one.
    func holdsStoredVersions(_ bucket: OpenFile) -> Bool {
        guard let root = try? Sys.openBeneath(bucket.fd, Self.versionsRoot, flags: Sys.readDirectory) else { return false }
        let walker = KeyWalker(store: self, bucket: root, prefix: "", startAfter: nil, windowSize: 256, versionsTree: true)
        do {
            while let key = try walker.next() {
                guard let directory = try? Sys.openBeneath(key.directory.fd, key.name, flags: Sys.readDirectory) else { continue }
                if !storedVersionNames(directory).isEmpty { return true }
            }
        } catch {
            // A part of the tree that cannot be read may hold versions: deleting the bucket would lose them.
            return true
        }
        return false
    }
}

/// Bucket versioning states this node has read recently.
final class VersioningStateCache: Sendable {
    private struct Entry {
        var status: VersioningStatus?
        var until: UInt64
    }

    private static let lifetimeNanos: UInt64 = 1_000_000_000
    private static let capacity = 10_000
    private let entries = Mutex<[String: Entry]>([:])

    /// The cached state (`.some(nil)`: known to have none); nil when not cached or expired.
    func lookup(_ bucket: String, now: UInt64) -> VersioningStatus?? {
        entries.withLock { entries in
            guard let entry = entries[bucket], entry.until > now else { return nil }
            return .some(entry.status)
        }
    }

    func store(_ bucket: String, _ status: VersioningStatus?, now: UInt64) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[bucket] = Entry(status: status, until: now &+ Self.lifetimeNanos)
        }
    }

    func forget(_ bucket: String) {
        _ = entries.withLock { $0.removeValue(forKey: bucket) }
    }
}
