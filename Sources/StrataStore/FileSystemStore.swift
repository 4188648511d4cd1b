import Foundation
import Glibc
import Logging
import S3Protocol

/// A bucket as ListBuckets shows it.
public struct BucketInfo: Sendable, Equatable {
    public var name: String
    public var owner: String?
    public var creationSeconds: Int64

    public init(name: String, owner: String?, creationSeconds: Int64) {
        self.name = name
        self.owner = owner
        self.creationSeconds = creationSeconds
    }
}

/// The filesystem object store: top-level directories of the root are buckets, files are objects and
/// their metadata lives in xattrs. Every method blocks; callers run them on an I/O thread pool.
public final class FileSystemStore: Sendable {
    public let rootPath: String
    public let options: StoreOptions
    let root: OpenFile
    let directoryIndex: DirectoryIndexCache
    let directoryHandles: DirectoryHandleCache
    /// The root as the permission walk's first parent.
    let rootEntry: DirectoryHandleCache.Entry
    let directoryLocks: DirectoryLocks
    let versioningCache = VersioningStateCache()

    /// Creates the root if missing and checks that it can hold user xattrs: a filesystem without them
    /// would silently lose metadata, so start-up refuses it.
    public init(rootPath: String, options: StoreOptions = StoreOptions()) throws {
        let absolute = rootPath.hasPrefix("/") ? rootPath : FileManager.default.currentDirectoryPath + "/" + rootPath
        try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
        self.rootPath = absolute
        self.options = options
        directoryIndex = DirectoryIndexCache(budget: options.listingIndexBytes, quietNanos: options.listingIndexQuietNanos)
        directoryHandles = DirectoryHandleCache(capacity: options.directoryHandles, quietNanos: options.listingIndexQuietNanos)
        root = try Sys.openDirectory(absolute: absolute)
        rootEntry = DirectoryHandleCache.rootEntry(root)
        try FileSystemStore.probeExtendedAttributes(root, path: absolute)
        do {
            directoryLocks = try DirectoryLocks(root: root)
            try directoryLocks.probe()
        } catch {
            throw StartupError(
                description:
                    "cannot take a file lock under \(absolute)/.strata/locks (\(error)); Strata's conditional writes need locks that every "
                    + "process sharing the root sees, and it refuses to start without them (on NFS, mount without `nolock`)"
            )
        }
    }

    struct StartupError: Error, CustomStringConvertible {
        let description: String
    }

    private static func probeExtendedAttributes(_ root: OpenFile, path: String) throws {
        let probe = ".strata.tmp.xattr-probe-\(getpid())"
        // Relative to the root's descriptor, never following a link and never reusing a file someone planted.
        _ = unlinkat(root.fd, probe, 0)
        let fd = openat(root.fd, probe, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StartupError(description: "cannot write to the root directory \(path): \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlinkat(root.fd, probe, 0)
        }
        do {
            try Sys.setAttribute(fd, "user.strata.probe", Array("1".utf8))
        } catch {
            throw StartupError(
                description:
                    "the filesystem under \(path) does not support user extended attributes (\(error)); Strata stores object metadata in "
                    + "them and refuses to start rather than lose it"
            )
        }
    }

    // MARK: Buckets

    /// Opens a bucket's directory; NoSuchBucket when it is missing or not a directory.
    public func openBucket(_ name: String) throws(S3Error) -> OpenFile {
        do {
            return try Sys.openBeneath(root.fd, BucketName.relativePath(name), flags: Sys.readDirectory)
        } catch {
            switch error.errno {
            case ENOENT, ENOTDIR, ELOOP, EXDEV:
                throw S3Error(.noSuchBucket, details: [("BucketName", name)])
            default:
                throw error.s3Error(resource: name)
            }
        }
    }

    public func bucketInfo(_ name: String, handle: OpenFile) -> BucketInfo {
        let meta = BucketMetadata.decode(try? Sys.getAttribute(handle.fd, BucketMetadata.attributeName))
        let created = meta?.created ?? (try? Sys.stat(handle.fd).birthSeconds) ?? 0
        return BucketInfo(name: name, owner: meta?.owner, creationSeconds: created)
    }

    /// The owner that governs a bucket: its own recorded owner, else that of the nearest enclosing bucket
    /// (a directory made inside a bucket belongs to that bucket's owner). NoSuchBucket when it does not exist.
    public func effectiveOwner(_ name: String) throws(S3Error) -> String? {
        var segments = name.splitBytes(UInt8(ascii: ":"), omittingEmpty: true)
        _ = try openBucket(name)
        while !segments.isEmpty {
            let current = segments.joined(separator: ":")
            if let handle = try? openBucket(current), let owner = bucketInfo(current, handle: handle).owner { return owner }
            segments.removeLast()
        }
        return nil
    }

    /// Top-level directories, sorted by name. Nested (`a:b`) buckets are not listed, as in Alluxio.
    public func listBuckets() throws(S3Error) -> [BucketInfo] {
        var names: [String] = []
        do {
            try Sys.forEachEntry(root.fd) { cName, type in
                guard cName[0] != 0x2E else { return }  // dot-directories are never buckets
                guard let name = String(validatingCString: cName), BucketName.isSafePath(name), !name.contains(":") else { return }
                if type == .directory || (type == .unknown && ((try? Sys.stat(root.fd, name))?.isDirectory ?? false)) {
                    names.append(name)
                }
            }
        } catch let error as SystemError {
            throw error.s3Error()
        } catch {
            throw S3Error(.internalError)
        }
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return names.compactMap { name in
            guard let handle = try? Sys.openBeneath(root.fd, name, flags: Sys.readDirectory) else { return nil }
            return bucketInfo(name, handle: handle)
        }
    }

    public enum CreateBucketOutcome: Sendable, Equatable {
        case created
        case alreadyOwned
    }

    /// Creates the bucket directory and records its owner. The parent of a nested bucket must exist.
    public func createBucket(_ name: String, owner: String, permission: Permission? = nil) throws(S3Error) -> CreateBucketOutcome {
        let segments = name.splitBytes(UInt8(ascii: ":"), omittingEmpty: true)
        let parent: OpenFile
        if segments.count > 1 {
            let parentName = segments.dropLast().joined(separator: ":")
            do {
                parent = try Sys.openBeneath(root.fd, BucketName.relativePath(parentName), flags: Sys.readDirectory)
            } catch {
                throw S3Error(
                    .invalidBucketName,
                    "The parent bucket '\(parentName)' of nested bucket '\(name)' does not exist.",
                    details: [("BucketName", name)]
                )
            }
        } else {
            parent = root
        }
        let leaf = segments.last!
        do {
            try Sys.mkdir(parent.fd, leaf)
        } catch {
            guard error.errno == EEXIST else { throw error.s3Error(resource: name) }
            guard let handle = try? Sys.openBeneath(parent.fd, leaf, flags: Sys.readDirectory) else {
                throw S3Error(.bucketAlreadyExists, details: [("BucketName", name)])
            }
            let info = bucketInfo(name, handle: handle)
            if let existing = info.owner, !existing.bytesEqual(owner) {
                throw S3Error(.bucketAlreadyExists, details: [("BucketName", name)])
            }
            return .alreadyOwned
        }
        do {
            let handle = try Sys.openBeneath(parent.fd, leaf, flags: Sys.readDirectory)
            let meta = BucketMetadata(
                owner: owner,
                created: Int64(Date().timeIntervalSince1970),
                group: permission?.group,
                mode: permission?.mode,
                isPublic: permission?.isPublic == true ? true : nil
            )
            try Sys.setAttribute(handle.fd, BucketMetadata.attributeName, meta.encoded())
            if let permission {
                applyPOSIXOwnership(handle, permission)
                mirrorMode(handle, permission, isDirectory: true)
            }
            if options.syncPolicy == .fileAndDirectory { try Sys.fsync(parent.fd) }
        } catch {
            _ = try? Sys.rmdir(parent.fd, leaf)
            throw error.s3Error(resource: name)
        }
        return .created
    }

    /// Deletes a bucket that holds no objects. Empty directories and Strata's leftovers do not count as content.
    public func deleteBucket(_ name: String) throws(S3Error) {
        let handle = try openBucket(name)
        let walker = KeyWalker(store: self, bucket: handle, prefix: "", startAfter: nil, windowSize: 2)
        do {
            if try walker.next() != nil { throw S3Error(.bucketNotEmpty, details: [("BucketName", name)]) }
        } catch let error as S3Error {
            throw error
        } catch let error as SystemError {
            throw error.s3Error(resource: name)
        } catch {
            throw S3Error(.internalError)
        }
        // Stored versions and delete markers are content too (AWS: every version must go first); empty directories
        // left in the versions tree are not.
        if holdsStoredVersions(handle) {
            throw S3Error(.bucketNotEmpty, "The bucket still holds object versions or delete markers.", details: [("BucketName", name)])
        }
        if options.deleteBucketAbortsUploads { try abortUploads(bucketName: name) }
        let segments = name.splitBytes(UInt8(ascii: ":"), omittingEmpty: true)
        let parentHandle: OpenFile
        if segments.count > 1 {
            guard let p = try? Sys.openBeneath(root.fd, segments.dropLast().joined(separator: "/"), flags: Sys.readDirectory) else {
                throw S3Error(.noSuchBucket, details: [("BucketName", name)])
            }
            parentHandle = p
        } else {
            parentHandle = root
        }
        do {
            try removeTree(handle)
            try Sys.rmdir(parentHandle.fd, segments.last!)
            if options.syncPolicy == .fileAndDirectory { try Sys.fsync(parentHandle.fd) }
        } catch let error as SystemError {
            if error.errno == ENOTEMPTY || error.errno == EEXIST { throw S3Error(.bucketNotEmpty, details: [("BucketName", name)]) }
            throw error.s3Error(resource: name)
        } catch {
            throw S3Error(.internalError)
        }
    }

    /// Removes the contents of a directory that holds no objects: empty directories and the server's own files.
    /// Any other regular file means an object appeared meanwhile: stop with ENOTEMPTY.
    func removeTree(_ dir: OpenFile) throws {
        var entries: [(String, Sys.EntryType)] = []
        try Sys.forEachEntry(dir.fd) { cName, type in entries.append((String(cString: cName), type)) }
        for (name, type) in entries {
            var kind = type
            if kind == .unknown { kind = ((try? Sys.stat(dir.fd, name))?.isDirectory ?? false) ? .directory : .regular }
            if kind == .directory {
                let child = try Sys.openBeneath(dir.fd, name, flags: Sys.readDirectory)
                try removeTree(child)
                try Sys.rmdir(dir.fd, name)
            } else if ReservedNames.isReserved(name), ObjectKey.segment(ofEntry: name.utf8) == nil, !name.hasBytePrefix(Self.versionPrefix) {
                // Server state; escaped and displaced names are objects, and stored versions are content too (one
                // written since the check above stops the delete).
                try Sys.unlink(dir.fd, name)
            } else {
                throw SystemError(call: "rmdir", errno: ENOTEMPTY)
            }
        }
    }

    // MARK: Paths inside a bucket

    /// Splits `a/b/c` into its directory components and leaf name.
    static func split(_ key: String) -> (directories: [String], leaf: String) { ObjectKey.segments(key) }

    /// The directory of the directory object `dir/`, relative to the bucket.
    static func directoryPath(_ key: String) -> String {
        let (directories, leaf) = split(key)
        return (directories + [leaf]).joined(separator: "/")
    }

    /// Opens the directory holding `key`'s leaf; NoSuchKey when a component is missing or not a directory.
    func openParent(_ bucket: OpenFile, _ directories: [String]) throws(SystemError) -> OpenFile {
        directories.isEmpty ? bucket : try Sys.openBeneath(bucket.fd, directories.joined(separator: "/"), flags: Sys.readDirectory)
    }

    /// `mkdir -p` below the bucket, returning the leaf directory and the directories it created (for cleanup).
    /// Each directory made is stamped at once with `permission` (its directory form), or with its parent's recorded
    /// permission when none is given, so no request ever sees it without one.
    func makeParents(_ bucket: OpenFile, _ directories: [String], permission: Permission? = nil) throws(S3Error) -> (OpenFile, [(OpenFile, String)]) {
        var current = bucket
        var created: [(OpenFile, String)] = []
        var index = 0
        var conversions = 0
        while index < directories.count {
            let component = directories[index]
            do {
                try makeDirectory(current, component, permission)
                created.append((current, component))
            } catch {
                // EEXIST: a directory (fine) or a file (reported when opened below).
                if error.errno != EEXIST {
                    removeCreated(created)
                    throw error.s3Error()
                }
            }
            do {
                current = try Sys.openBeneath(current.fd, component, flags: Sys.readDirectory)
                index += 1
            } catch {
                if error.errno == ENOTDIR, !options.strictKeys, conversions < 8 {
                    // The object `a` holds the name that the keys `a/...` need: it moves aside to its displaced name
                    // (readers look there when `a` is missing or a directory) and the directory takes its place.
                    conversions += 1
                    _ = try? Sys.rename(current.fd, component, current.fd, ObjectKey.displacedName(ofEntry: component))
                    continue
                }
                removeCreated(created)
                switch error.errno {
                case ENOTDIR:
                    throw S3Error(
                        .objectParentIsFile,
                        "Object parent already exists as a file: '\(component)' is an object, so it cannot also be a prefix of this key."
                    )
                case ELOOP, EXDEV: throw S3Error(.accessDenied, "A component of the key is a symbolic link, which the server does not follow.")
                default: throw error.s3Error()
                }
            }
        }
        return (current, created)
    }

    /// Removes directories made for a write that did not complete, deepest first, when still empty.
    func removeCreated(_ created: [(OpenFile, String)]) {
        for (parent, name) in created.reversed() { _ = try? Sys.rmdir(parent.fd, name) }
    }

    /// After a delete, removes parent directories left empty, up to the bucket, unless they are directory objects.
    func pruneEmptyParents(_ bucket: OpenFile, _ directories: [String]) {
        guard !options.keepsEmptyDirectories else { return }
        var depth = directories.count
        while depth > 0, removeEmptyDirectory(bucket, Array(directories[0..<depth])) { depth -= 1 }
    }

    /// Whether a directory (entry names from the bucket down) exists and holds no entry.
    public func isEmptyDirectory(_ bucket: OpenFile, _ directories: [String]) -> Bool {
        guard !directories.isEmpty, let directory = try? openParent(bucket, directories) else { return false }
        var empty = true
        try? Sys.forEachEntry(directory.fd) { name, _ in
            let entry = String(cString: name)
            if entry != "." && entry != ".." { empty = false }
        }
        return empty
    }

    /// Removes one directory (entry names from the bucket down) if it is empty and not a directory object; false when
    /// it stays.
    public func removeEmptyDirectory(_ bucket: OpenFile, _ directories: [String]) -> Bool {
        guard let name = directories.last, let parent = try? openParent(bucket, Array(directories.dropLast())) else { return false }
        if ObjectMetadata.decode(try? Sys.getAttribute(parent.fd, name, ObjectMetadata.attributeName))?.isDirectory == true { return false }
        do { try Sys.rmdir(parent.fd, name) } catch { return false }
        // An object displaced by this directory returns to its own name.
        if !options.strictKeys { _ = try? Sys.rename(parent.fd, ObjectKey.displacedName(ofEntry: name), parent.fd, name, noReplace: true) }
        return true
    }
}
