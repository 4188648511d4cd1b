import Foundation
import Glibc
import S3Protocol

/// An object opened for reading or inspection, with a current ETag.
public struct ObjectHandle: Sendable {
    /// nil for directory objects (no bytes).
    public let file: OpenFile?
    public let stat: FileStat
    public let metadata: ObjectMetadata
    /// The object's tags (for `x-amz-tagging-count` and CopyObject's COPY directive).
    public var tags: TagSet = TagSet()
    public var isDirectory: Bool { file == nil }
    public var size: Int64 { file == nil ? 0 : stat.size }
    public var lastModifiedSeconds: Int64 { stat.mtimeSeconds }
}

extension FileSystemStore {
    /// Starts writing `key`; see ObjectWriter.
    /// `permission` stamps the directories made for the key (nil: they inherit their parent's).
    /// `versioning` is the bucket's versioning state: the version the write replaces is kept (nil: none).
    public func beginWrite(
        bucket: OpenFile,
        key: String,
        permission: Permission? = nil,
        versioning: VersioningStatus? = nil
    ) throws(S3Error) -> ObjectWriter {
        let writer = try ObjectWriter(store: self, bucket: bucket, key: key, permission: permission)
        writer.versioning = versioning
        return writer
    }

    /// Creates (or updates the metadata of) the directory object `key/`.
    public func putDirectoryObject(bucket: OpenFile, key: String, metadata: ObjectMetadata, tags: TagSet? = nil) throws(S3Error) {
        let (directories, leaf) = FileSystemStore.split(key)
        let (_, created) = try makeParents(bucket, directories + [leaf], permission: metadata.permission)
        var meta = metadata
        meta.isDirectory = true
        meta.etag = emptyMD5
        meta.size = 0
        do {
            let dir = try openParent(bucket, directories + [leaf])
            try Sys.setAttribute(dir.fd, ObjectMetadata.attributeName, meta.encoded())
            mirrorRecordedMode(ofDirectory: dir)
            try FileSystemStore.writeTags(dir.fd, tags)
            // An earlier `dir/` written with a body gives way to this empty one.
            if !options.strictKeys { _ = try? Sys.unlink(dir.fd, ObjectKey.escapedPrefix) }
            if options.syncPolicy == .fileAndDirectory {
                try Sys.fsync(dir.fd)
                for (parent, _) in created { try Sys.fsync(parent.fd) }
            }
        } catch {
            removeCreated(created)
            throw error.s3Error()
        }
    }

    /// Opens an object. Keys ending in `/` address directory objects. The ETag is checked against the file's
    /// size and mtime and recomputed (and cached) when the file changed outside S3.
    public func openObject(bucket: OpenFile, key: String) throws(S3Error) -> ObjectHandle {
        if key.hasSuffix("/") {
            // `dir/` written with a body is a file inside the directory; otherwise the directory is the object.
            if !options.strictKeys, let opened = try openFileObject(bucket, key, missingIsNil: true) { return try validated(opened) }
            guard let dir = try? Sys.openBeneath(bucket.fd, FileSystemStore.directoryPath(key), flags: Sys.readDirectory),
                let st = try? Sys.stat(dir.fd)
            else {
                throw S3Error(.noSuchKey, details: [("Key", key)])
            }
            var meta = ObjectMetadata.decode(try? Sys.getAttribute(dir.fd, ObjectMetadata.attributeName))
            if meta?.isDirectory != true {
                guard options.listFolders else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
                meta = ObjectMetadata(etag: emptyMD5)
                meta?.isDirectory = true
            }
            return ObjectHandle(
                file: nil,
                stat: st,
                metadata: meta!,
                tags: TagStorage.decode(try? Sys.getAttribute(dir.fd, TagStorage.attributeName))
            )
        }
        return try validated(try openFileObject(bucket, key, missingIsNil: false)!)
    }

    /// Opens the regular file that holds `key`: at its path, or at its displaced name when a directory holds that
    /// name (or held it when the file was written). With `missingIsNil`, a key that is not there is nil, not NoSuchKey.
    func openFileObject(_ bucket: OpenFile, _ key: String, missingIsNil: Bool) throws(S3Error) -> OpenedFile? {
        let displaced = {
            let (directories, leaf) = ObjectKey.fileSegments(key)
            return (directories + [ObjectKey.displacedName(ofEntry: leaf)]).joined(separator: "/")
        }
        do {
            return try openFile(bucket, ObjectKey.filePath(key), orDisplaced: displaced, key: key)
        } catch let error where error.code == .noSuchKey && missingIsNil {
            return nil
        }
    }

    /// `openFile`, and when that finds no regular file there (a directory may hold the name), the displaced copy at
    /// `displaced()`; NoSuchKey when neither is there. Strict mode has no displaced copies.
    func openFile(_ directory: OpenFile, _ path: String, orDisplaced displaced: () -> String, key: String) throws(S3Error) -> OpenedFile {
        do {
            return try openFile(directory, path, key: key)
        } catch {
            guard error.code == .noSuchKey, !options.strictKeys, let opened = try? openFile(directory, displaced(), key: key) else { throw error }
            return opened
        }
    }

    /// A regular file opened as an object, its metadata read but not yet validated against the file.
    struct OpenedFile {
        let file: OpenFile
        let stat: FileStat
        let stored: ObjectMetadata?
        let tags: TagSet
    }

    /// Opens `path` below `directory` as the object `key`: NoSuchKey when it is missing or not a regular file.
    func openFile(_ directory: OpenFile, _ path: String, key: String) throws(S3Error) -> OpenedFile {
        let file: OpenFile
        do {
            file = try Sys.openBeneath(directory.fd, path, flags: O_RDONLY | cstrata_o_nofollow_flag)
        } catch {
            switch error.errno {
            case ENOENT, ENOTDIR, ELOOP, EXDEV, ENAMETOOLONG: throw S3Error(.noSuchKey, details: [("Key", key)])
            default: throw error.s3Error()
            }
        }
        let st: FileStat
        do { st = try Sys.stat(file.fd) } catch { throw error.s3Error() }
        guard st.isRegular else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
        let stored = ObjectMetadata.decode(try? Sys.getAttribute(file.fd, ObjectMetadata.attributeName))
        let tags = TagStorage.decode(try? Sys.getAttribute(file.fd, TagStorage.attributeName))
        return OpenedFile(file: file, stat: st, stored: stored, tags: tags)
    }

    /// The handle of an opened file, with a fresh ETag when the file changed outside S3.
    func validated(_ opened: OpenedFile) throws(S3Error) -> ObjectHandle {
        if let stored = opened.stored, stored.isValid(for: opened.stat) {
            return ObjectHandle(file: opened.file, stat: opened.stat, metadata: stored, tags: opened.tags)
        }
        let meta = try refreshETag(file: opened.file, stat: opened.stat, stored: opened.stored)
        return ObjectHandle(file: opened.file, stat: opened.stat, metadata: meta, tags: opened.tags)
    }

    /// Computes the MD5 of a file written or changed outside S3 and caches it with the new validator.
    func refreshETag(file: OpenFile, stat: FileStat, stored: ObjectMetadata?) throws(S3Error) -> ObjectMetadata {
        let (etag, offset) = try FileSystemStore.md5(of: file, upTo: .max)
        var meta = stored ?? ObjectMetadata()
        meta.etag = etag
        meta.size = stat.size
        meta.mtimeNanos = stat.mtimeNanos
        // Only cache when nothing changed while hashing; a failure to cache (read-only file) is harmless.
        if let after = try? Sys.stat(file.fd), after.size == stat.size, after.mtimeNanos == stat.mtimeNanos, offset == stat.size {
            _ = try? Sys.setAttribute(file.fd, ObjectMetadata.attributeName, meta.encoded())
        }
        return meta
    }

    /// Replaces an object's metadata in place (CopyObject onto itself with REPLACE).
    public func replaceMetadata(bucket: OpenFile, key: String, metadata: ObjectMetadata) throws(S3Error) {
        let handle = try openObject(bucket: bucket, key: key)
        var meta = metadata
        meta.size = handle.metadata.size
        meta.mtimeNanos = handle.metadata.mtimeNanos
        meta.etag = handle.metadata.etag
        meta.isDirectory = handle.metadata.isDirectory
        meta.versionId = handle.metadata.versionId
        do {
            if let file = handle.file {
                try Sys.setAttribute(file.fd, ObjectMetadata.attributeName, meta.encoded())
                if let permission = meta.permission { mirrorMode(file, permission, isDirectory: false) }
                if options.syncPolicy != .none { try Sys.fsync(file.fd) }
            } else {
                let dir = try Sys.openBeneath(bucket.fd, FileSystemStore.directoryPath(key), flags: Sys.readDirectory)
                try Sys.setAttribute(dir.fd, ObjectMetadata.attributeName, meta.encoded())
                mirrorRecordedMode(ofDirectory: dir)
            }
        } catch {
            if error.errno == ENOSPC || error.errno == E2BIG {
                throw S3Error(.metadataTooLarge, "The object's metadata does not fit in the filesystem's extended attributes.")
            }
            throw error.s3Error()
        }
    }

    /// Rewrites a file object's metadata if it is still the version described by `expected` (same ETag, size and
    /// mtime): used to record upstream persistence and revalidation without racing a newer write.
    public func updateMetadata(bucket: OpenFile, key: String, ifStill expected: ObjectMetadata, _ change: (inout ObjectMetadata) -> Void) -> Bool {
        guard let opened = try? openFileObject(bucket, key, missingIsNil: true) else { return false }
        let file = opened.file
        let st = opened.stat
        guard var meta = opened.stored, meta.isValid(for: st),
            meta.etag == expected.etag, meta.size == expected.size, meta.mtimeNanos == expected.mtimeNanos
        else { return false }
        change(&meta)
        return (try? Sys.setAttribute(file.fd, ObjectMetadata.attributeName, meta.encoded())) != nil
    }

    /// Deletes an object; deleting a key that does not exist succeeds, as in S3. A directory object with
    /// objects below it stops being an object but keeps its contents.
    public func deleteObject(bucket: OpenFile, key: String, condition: DeleteCondition = DeleteCondition()) throws(S3Error) {
        let (directories, leaf) = FileSystemStore.split(key)
        guard let parent = try? openParent(bucket, directories) else { return }
        if !condition.isEmpty {
            // The check and the unlink are one step for every writer: conditional writes take the same lock.
            let lock = try directoryLocks.lock(parent, exclusive: true)
            defer { withExtendedLifetime(lock) {} }
            let object: ObjectHandle
            do {
                object = try openObject(bucket: bucket, key: key)
            } catch let error where error.code == .noSuchKey {
                return  // already gone: no error, as for any delete
            }
            guard condition.allows(etag: object.metadata.etag, lastModifiedSeconds: object.lastModifiedSeconds, size: object.size) else {
                throw S3Error(.preconditionFailed, details: [("Condition", "If-Match")])
            }
            try removeObject(bucket, parent: parent, directories: directories, leaf: leaf, key: key)
            return
        }
        try removeObject(bucket, parent: parent, directories: directories, leaf: leaf, key: key)
    }

    private func removeObject(_ bucket: OpenFile, parent: OpenFile, directories: [String], leaf: String, key: String) throws(S3Error) {
        if key.hasSuffix("/") {
            // A `dir/` written with a body is the file `dir/.strata.k.`.
            var removedFile = false
            if !options.strictKeys, let dir = try? Sys.openBeneath(parent.fd, leaf, flags: Sys.readDirectory) {
                removedFile = (try? Sys.unlink(dir.fd, ObjectKey.escapedPrefix)) != nil
            }
            guard let st = try? Sys.stat(parent.fd, leaf), st.isDirectory else { return }
            let marker = ObjectMetadata.decode(try? Sys.getAttribute(parent.fd, leaf, ObjectMetadata.attributeName))
            guard marker?.isDirectory == true || options.listFolders else {
                if removedFile { pruneEmptyParents(bucket, directories + [leaf]) }
                return
            }
            do {
                try Sys.rmdir(parent.fd, leaf)
            } catch {
                guard error.errno == ENOTEMPTY || error.errno == EEXIST else { throw error.s3Error() }
                do { try Sys.removeAttribute(parent.fd, leaf, ObjectMetadata.attributeName) } catch { throw error.s3Error() }
                return
            }
        } else {
            try removeFileObject(bucket, parent: parent, directories: directories, leaf: leaf)
            return
        }
        if options.syncPolicy == .fileAndDirectory { _ = try? Sys.fsync(parent.fd) }
        pruneEmptyParents(bucket, directories)
    }

    /// Removes the file that holds an object (and its displaced copy); with `prune`, then the directories above it
    /// that are left empty.
    func removeFileObject(_ bucket: OpenFile, parent: OpenFile, directories: [String], leaf: String, prune: Bool = true) throws(S3Error) {
        var removed = try unlinkIfPresent(parent, leaf)
        // The displaced copy goes too: a directory may hold the natural name, or did when the object was written.
        if !options.strictKeys, try unlinkIfPresent(parent, ObjectKey.displacedName(ofEntry: leaf)) { removed = true }
        guard removed else { return }
        if options.syncPolicy == .fileAndDirectory { _ = try? Sys.fsync(parent.fd) }
        if prune { pruneEmptyParents(bucket, directories) }
    }

    /// Unlinks a file; false when there is none by that name (or a directory holds it).
    private func unlinkIfPresent(_ parent: OpenFile, _ name: String) throws(S3Error) -> Bool {
        do {
            try Sys.unlink(parent.fd, name)
            return true
        } catch {
            switch error.errno {
            case ENOENT, ENOTDIR, EISDIR: return false
            default: throw error.s3Error()
            }
        }
    }
}

let cstrata_o_nofollow_flag: Int32 = O_NOFOLLOW
