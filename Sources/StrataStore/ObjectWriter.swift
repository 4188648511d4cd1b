import CStrataSys
import Foundation
import Glibc
import S3Protocol

/// One object being written: bytes go to an anonymous O_TMPFILE (or a reserved temporary name) in the
/// target's directory and become visible only at `commit`, atomically replacing any previous version.
/// Dropping an uncommitted writer discards everything it wrote and the directories it created.
public final class ObjectWriter: @unchecked Sendable {
    let store: FileSystemStore
    /// The bucket and the key's directories, to recreate them if a concurrent delete prunes them; nil for
    /// writers whose directory must not be recreated (multipart parts).
    let bucket: OpenFile?
    let directories: [String]
    /// The entry the object is published as: the key's last segment, or its displaced name once a directory
    /// turned out to hold that name.
    var leaf: String
    var isDisplaced = false
    var parent: OpenFile
    let file: OpenFile
    /// Set when the filesystem has no O_TMPFILE and the data lives under a reserved name until commit.
    let temporaryName: String?
    var createdDirectories: [(OpenFile, String)]
    var finished = false
    public private(set) var bytesWritten: Int64 = 0
    public var md5 = MD5Accumulator()
    /// The additional checksum to compute on the way, when the client asked for one.
    public var checksum: Checksummer?
    /// The key, and its bucket's versioning state (nil: none): the version being replaced is kept (Versioning.swift).
    var key: String?
    var versioning: VersioningStatus?
    /// The id of the version `commit` published (nil without versioning).
    public private(set) var versionId: String?
    /// The metadata `commit` stored, stamped again with a fresh version id under the publishing lock.
    private var stagedMetadata: ObjectMetadata?

    convenience init(store: FileSystemStore, bucket: OpenFile, key: String, permission: Permission?) throws(S3Error) {
        if key.hasSuffix("/") && store.options.strictKeys {
            throw S3Error(.directoryObjectContainsData, "A key ending in '/' names a directory, which cannot hold data.")
        }
        let (directories, leaf) = ObjectKey.fileSegments(key)
        let (parent, created) = try store.makeParents(bucket, directories, permission: permission)
        try self.init(store: store, bucket: bucket, directories: directories, parent: parent, leaf: leaf, created: created)
        self.key = key
    }

    /// A writer publishing `name` in an existing directory, which is never recreated.
    convenience init(store: FileSystemStore, directory: OpenFile, name: String) throws(S3Error) {
        try self.init(store: store, bucket: nil, directories: [], parent: directory, leaf: name, created: [])
    }

    private init(
        store: FileSystemStore,
        bucket: OpenFile?,
        directories: [String],
        parent: OpenFile,
        leaf: String,
        created: [(OpenFile, String)]
    ) throws(S3Error) {
        self.store = store
        self.bucket = bucket
        self.directories = directories
        self.leaf = leaf
        self.parent = parent
        self.createdDirectories = created
        let fd = cstrata_open_tmpfile(parent.fd, 0o644)
        if fd >= 0 {
            file = OpenFile(fd)
            temporaryName = nil
        } else if errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL {
            let name = ReservedNames.uniqueTemporaryName()
            do {
                file = try Sys.openBeneath(parent.fd, name, flags: O_CREAT | O_EXCL | O_RDWR, mode: 0o644)
            } catch {
                store.removeCreated(createdDirectories)
                throw error.s3Error()
            }
            temporaryName = name
            // Held until the writer closes it: the sweeper of any node leaves a locked temporary alone, however old.
            _ = flock(file.fd, LOCK_EX | LOCK_NB)
        } else {
            let error = SystemError(call: "open", errno: errno)
            store.removeCreated(createdDirectories)
            throw error.s3Error()
        }
    }

    deinit {
        if !finished { discard() }
    }

    /// Appends bytes and feeds them to the MD5.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        try writeUnhashed(bytes)
        hash(bytes)
    }

    /// The two halves of `write`, which `IOPool` runs on two threads at once (`write` for one batch, `stream` in
    /// two lanes across batches): each half touches only its own state (the file and its length, the hashes), and
    /// each takes the batches one at a time, in order.
    func writeUnhashed(_ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        do {
            try Sys.writeAll(file.fd, bytes)
        } catch {
            throw error.s3Error()
        }
        bytesWritten += Int64(bytes.count)
    }

    func hash(_ bytes: UnsafeRawBufferPointer) {
        md5.update(bytes)
        checksum?.update(bytes)
    }

    /// Appends bytes held in an array.
    public func write(_ bytes: [UInt8]) throws(S3Error) {
        var failure: S3Error?
        bytes.withUnsafeBytes { raw in
            do { try write(raw) } catch let error as S3Error { failure = error } catch { failure = S3Error(.internalError) }
        }
        if let failure { throw failure }
    }

    /// Appends a byte range of another file. The kernel copies (copy_file_range: reflinks where the
    /// filesystem can); nothing passes through user space, so the caller supplies the ETag.
    public func copy(from source: OpenFile, offset: Int64, length: Int64) throws(S3Error) {
        var inOffset = offset
        var remaining = length
        while remaining > 0 {
            var outOffset = bytesWritten
            let n = cstrata_copy_file_range(source.fd, &inOffset, file.fd, &outOffset, Int(min(remaining, 1 << 30)))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS {
                    try copyThroughMemory(from: source, offset: inOffset, length: remaining)
                    return
                }
                throw SystemError(call: "copy_file_range", errno: errno).s3Error()
            }
            if n == 0 { throw S3Error(.internalError, "The source object shrank while it was being copied.") }
            remaining -= Int64(n)
            bytesWritten += Int64(n)
        }
    }

    private func copyThroughMemory(from source: OpenFile, offset: Int64, length: Int64) throws(S3Error) {
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var position = offset
        var remaining = length
        while remaining > 0 {
            let want = Int(min(Int64(chunk), remaining))
            let n: Int
            do { n = try Sys.pread(source.fd, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), offset: position) } catch {
                throw error.s3Error()
            }
            if n == 0 { throw S3Error(.internalError, "The source object shrank while it was being copied.") }
            do { try Sys.writeAll(file.fd, UnsafeRawBufferPointer(rebasing: buffer[0..<n])) } catch { throw error.s3Error() }
            position += Int64(n)
            remaining -= Int64(n)
            bytesWritten += Int64(n)
        }
    }

    /// Stores the metadata on the still-invisible file, syncs per policy and publishes it under the key.
    /// Returns the published file's stat. On failure nothing is published and the old object is intact.
    @discardableResult
    public func commit(metadata: ObjectMetadata, tags: TagSet? = nil, condition: WriteCondition = .none) throws(S3Error) -> FileStat {
        do {
            return try commitOrThrow(metadata, tags, condition)
        } catch let error as S3Error {
            discard()
            throw error
        } catch let error as SystemError {
            discard()
            throw error.s3Error()
        } catch {
            discard()
            throw S3Error(.internalError)
        }
    }

    private func commitOrThrow(_ metadata: ObjectMetadata, _ tags: TagSet?, _ condition: WriteCondition) throws -> FileStat {
        var meta = metadata
        let st = try Sys.stat(file.fd)
        meta.size = st.size
        meta.mtimeNanos = st.mtimeNanos
        if versioning != nil, key != nil {
            meta.versionId = versioning == .enabled ? FileSystemStore.newVersionID() : VersionID.null
            versionId = meta.versionId
            stagedMetadata = meta
        }
        try storeMetadata(meta)
        if let permission = meta.permission {
            // On the still-invisible file: the object never appears with other bits than its recorded ones.
            store.applyPOSIXOwnership(file, permission)
            store.mirrorMode(file, permission, isDirectory: false)
        }
        if let tags, !tags.isEmpty {
            do { try FileSystemStore.writeTags(file.fd, tags) } catch { throw FileSystemStore.tagError(error) }
        }
        if store.options.syncPolicy != .none { try Sys.fsync(file.fd) }
        do {
            try publishRetrying(condition)
        } catch let error as S3Error where displaces(error) {
            displace()
            try publishRetrying(condition)
        }
        finished = true
        if store.options.syncPolicy == .fileAndDirectory {
            // Already published: a failed directory sync is logged by the caller's error, the object stays.
            try? Sys.fsync(parent.fd)
            for (dir, _) in createdDirectories { try? Sys.fsync(dir.fd) }
        }
        return st
    }

    private func storeMetadata(_ meta: ObjectMetadata) throws {
        do {
            try Sys.setAttribute(file.fd, ObjectMetadata.attributeName, meta.encoded())
        } catch {
            if error.errno == ENOSPC || error.errno == E2BIG || error.errno == ERANGE {
                throw S3Error(.metadataTooLarge, "The object's metadata does not fit in the filesystem's extended attributes.")
            }
            throw error
        }
    }

    /// A versioned write found its directory pruned by a delete and made it again: the new directory has a lock of
    /// its own and may hold a version (another writer's) to keep, so the publish starts over.
    private struct DirectoryRemade: Error {}

    private func publishRetrying(_ condition: WriteCondition) throws {
        var attempts = 0
        while true {
            do {
                try publish(condition)
                break
            } catch is DirectoryRemade where attempts < 3 {
                attempts += 1
            }
        }
    }

    /// Publishes under a lock on the directory: exclusive for a conditional write, so its check and its rename are one
    /// step for every writer in this process or another one sharing the filesystem; shared for an unconditional one,
    /// which only has to stay out of such a step, not out of other unconditional writes.
    private func publish(_ condition: WriteCondition) throws {
        if case .none = condition {
        } else {
            do { try clearEmptyDirectoryAtTarget() } catch let error as S3Error where displaces(error) { displace() }
        }
        let versioned = versioning != nil && key != nil && bucket != nil
        let lock = try store.directoryLocks.lock(parent, exclusive: condition != .none || versioned)
        defer { withExtendedLifetime(lock) {} }
        if versioned, versioning == .enabled, var meta = stagedMetadata {
            // Taken under the lock, a key's ids follow the order its versions were published in.
            meta.versionId = FileSystemStore.newVersionID()
            try storeMetadata(meta)
            versionId = meta.versionId
        }
        try place(condition, versioned: versioned)
        if versioned, versioning == .suspended, let bucket, let key { store.dropStoredNull(bucket, key: key) }
    }

    /// The part of `publish` under the directory's lock: the condition's check, the version kept, the file placed.
    private func place(_ condition: WriteCondition, versioned: Bool) throws {
        switch condition {
        case .none:
            break
        case .absent:
            // Nothing may be replaced: link (or rename) without replacing, so EEXIST is the answer.
            if let temporaryName {
                do { try Sys.rename(parent.fd, temporaryName, parent.fd, leaf, noReplace: true) } catch {
                    if error.errno == EEXIST { throw S3Error(.preconditionFailed, details: [("Condition", "If-None-Match")]) }
                    throw error
                }
                return
            }
            if cstrata_link_fd(file.fd, parent.fd, leaf) == 0 { return }
            if errno == EEXIST { throw S3Error(.preconditionFailed, details: [("Condition", "If-None-Match")]) }
            throw SystemError(call: "linkat", errno: errno)
        case .matches(let expected):
            guard let current = try? store.currentETag(parent, leaf) else {
                throw S3Error(.noSuchKey, "The object to replace with If-Match does not exist.")
            }
            guard Conditions.matches(expected, current) else { throw S3Error(.preconditionFailed, details: [("Condition", "If-Match")]) }
        case .noneMatches(let listed):
            if let current = try? store.currentETag(parent, leaf), Conditions.matches(listed, current) {
                throw S3Error(.preconditionFailed, details: [("Condition", "If-None-Match")])
            }
        }
        if versioned, let bucket, let key, let versioning {
            try store.archiveCurrent(bucket, key: key, parent: parent, leaf: leaf, status: versioning)
        }
        if let temporaryName {
            if case .none = condition { try clearEmptyDirectoryAtTarget() }
            try renameOver(temporaryName)
            return
        }
        // Fast path, with no failing call: the key is new, link the anonymous file straight in.
        if cstrata_link_fd(file.fd, parent.fd, leaf) == 0 { return }
        if errno == ENOENT, let bucket {
            // A concurrent delete pruned our parent directory: recreate it and retry once.
            (parent, _) = try store.makeParents(bucket, directories)
            if versioned { throw DirectoryRemade() }
            if cstrata_link_fd(file.fd, parent.fd, leaf) == 0 { return }
        }
        guard errno == EEXIST else { throw SystemError(call: "linkat", errno: errno) }
        // Something is there: an empty plain directory gives way (and the link is tried again); an object is
        // replaced below, with no second failing link.
        if case .none = condition, try clearEmptyDirectoryAtTarget() {
            if cstrata_link_fd(file.fd, parent.fd, leaf) == 0 { return }
            guard errno == EEXIST else { throw SystemError(call: "linkat", errno: errno) }
        }
        // Replace: link under a reserved name, then rename over the old version in one step.
        let staging = ReservedNames.uniqueTemporaryName()
        if cstrata_link_fd(file.fd, parent.fd, staging) != 0 { throw SystemError(call: "linkat", errno: errno) }
        do {
            try renameOver(staging)
        } catch {
            _ = try? Sys.unlink(parent.fd, staging)
            throw error
        }
    }

    private func renameOver(_ name: String) throws {
        do {
            try Sys.rename(parent.fd, name, parent.fd, leaf)
        } catch {
            if error.errno == EISDIR || error.errno == ENOTEMPTY || error.errno == EEXIST {
                throw S3Error(
                    .existingObjectIsDirectory,
                    "Existing Object is a directory: other keys start with '\(leaf)/', so it cannot also be an object."
                )
            }
            throw error
        }
    }

    /// Whether a directory in the way is answered by publishing under the displaced name (keys of objects; not in
    /// strict mode, and not twice).
    private func displaces(_ error: S3Error) -> Bool {
        error.code == .existingObjectIsDirectory && bucket != nil && !isDisplaced && !store.options.strictKeys
    }

    private func displace() {
        leaf = ObjectKey.displacedName(ofEntry: leaf)
        isDisplaced = true
    }

    /// A key may replace a directory only when that directory is empty and not itself an object.
    /// True when an empty directory was removed from the target name.
    @discardableResult
    private func clearEmptyDirectoryAtTarget() throws -> Bool {
        guard let st = try? Sys.stat(parent.fd, leaf), st.isDirectory else { return false }
        let marker = ObjectMetadata.decode(try? Sys.getAttribute(parent.fd, leaf, ObjectMetadata.attributeName))
        if marker?.isDirectory != true, (try? Sys.rmdir(parent.fd, leaf)) != nil { return true }
        throw S3Error(.existingObjectIsDirectory, "Existing Object is a directory: other keys start with '\(leaf)/', so it cannot also be an object.")
    }

    /// Throws the written data away.
    public func discard() {
        guard !finished else { return }
        finished = true
        if let temporaryName { _ = try? Sys.unlink(parent.fd, temporaryName) }
        store.removeCreated(createdDirectories)
    }
}

extension FileSystemStore {
    /// The ETag of the object `name` in `directory` as it is now (recomputed if it changed outside S3).
    func currentETag(_ directory: OpenFile, _ name: String) throws(S3Error) -> String {
        let file: OpenFile
        do { file = try Sys.openBeneath(directory.fd, name, flags: O_RDONLY | O_NOFOLLOW) } catch { throw S3Error(.noSuchKey) }
        let st: FileStat
        do { st = try Sys.stat(file.fd) } catch { throw error.s3Error() }
        guard st.isRegular else { throw S3Error(.noSuchKey) }
        let stored = ObjectMetadata.decode(try? Sys.getAttribute(file.fd, ObjectMetadata.attributeName))
        if let stored, stored.isValid(for: st) { return stored.etag }
        return try refreshETag(file: file, stat: st, stored: stored).etag
    }

    /// The MD5 of everything written so far, read back from the temporary file (after a kernel-side copy).
    public func md5(of writer: ObjectWriter) throws(S3Error) -> String {
        try FileSystemStore.md5(of: writer.file, upTo: writer.bytesWritten).hex
    }

    /// An additional checksum of everything written so far, read back from the temporary file.
    public func checksum(of writer: ObjectWriter, algorithm: ChecksumAlgorithm) throws(S3Error) -> String {
        var summer = Checksummer(algorithm)
        _ = try FileSystemStore.read(writer.file, upTo: writer.bytesWritten) { summer.update($0) }
        return summer.base64()
    }

    /// Hex MD5 of a file's first `limit` bytes (or all of it), and how many bytes were read.
    static func md5(of file: OpenFile, upTo limit: Int64) throws(S3Error) -> (hex: String, bytes: Int64) {
        var md5 = MD5Accumulator()
        let bytes = try read(file, upTo: limit) { md5.update($0) }
        return (md5.hex(), bytes)
    }

    /// Feeds a file's first `limit` bytes (or all of it) to `body` in 1 MiB pieces; returns the count read.
    static func read(_ file: OpenFile, upTo limit: Int64, _ body: (UnsafeRawBufferPointer) -> Void) throws(S3Error) -> Int64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < limit {
            let want = Int(min(Int64(buffer.count), limit - offset))
            let n: Int
            do { n = try Sys.pread(file.fd, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), offset: offset) } catch {
                throw error.s3Error()
            }
            if n == 0 { break }
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += Int64(n)
        }
        return offset
    }
}
