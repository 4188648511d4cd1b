import Foundation
import Glibc
import S3Protocol

extension FileSystemStore {
    /// An open entry's permission: recorded by S3 (object or bucket metadata, or `user.strata.perm`), else POSIX.
    func permission(of file: OpenFile, users: UserDirectory, kind: EntryKind = .any) throws(SystemError) -> Permission {
        if let recorded = recordedPermission(of: file, kind: kind) { return recorded }
        let st = try Sys.stat(file.fd)
        return Permission(owner: users.userName(st.uid), group: users.groupName(st.gid), mode: UInt16(st.mode & 0o1777))
    }

    /// Where an entry's recorded permission is most likely kept, asked first so the common path costs one xattr read.
    enum EntryKind {
        case any
        case bucket
        case directory
        case object
    }

    /// The permission S3 recorded on an entry, if any.
    func recordedPermission(of file: OpenFile, kind: EntryKind = .any) -> Permission? {
        func fromObject() -> Permission? {
            ObjectMetadata.decode(try? Sys.getAttribute(file.fd, ObjectMetadata.attributeName))?.permission
        }
        func fromBucket() -> Permission? {
            guard let bucket = BucketMetadata.decode(try? Sys.getAttribute(file.fd, BucketMetadata.attributeName)), let owner = bucket.owner,
                let mode = bucket.mode
            else { return nil }
            return Permission(owner: owner, group: bucket.group ?? owner, mode: mode, isPublic: bucket.isPublic == true)
        }
        func fromAttribute() -> Permission? { Permission.decode(try? Sys.getAttribute(file.fd, Permission.attributeName)) }
        switch kind {
        case .bucket: return fromBucket() ?? fromAttribute() ?? fromObject()
        case .directory: return fromAttribute() ?? fromObject() ?? fromBucket()
        case .object, .any: return fromObject() ?? fromBucket() ?? fromAttribute()
        }
    }

    /// The root's permission, which decides who may create buckets.
    public func rootPermission(users: UserDirectory) throws(S3Error) -> Permission {
        do { return try permission(of: root, users: users, kind: .directory) } catch { throw error.s3Error() }
    }

    /// Gives the root an S3 permission when it has none: anyone may create a bucket, only its owner may delete it
    /// (the sticky bit), as `/tmp`. A root with a recorded permission keeps it.
    public func initializeRootPermission(_ permission: Permission) {
        guard Permission.decode(try? Sys.getAttribute(root.fd, Permission.attributeName)) == nil else { return }
        try? Sys.setAttribute(root.fd, Permission.attributeName, permission.encoded())
    }

    /// The permissions from the root through the bucket's directories and the key's existing directories to the
    /// object. NoSuchBucket when the bucket does not exist.
    public func pathPermissions(bucket: String, key: String?, users: UserDirectory) throws(S3Error) -> PathPermissions {
        do {
            var path = PathPermissions(directories: [], directoriesComplete: true, object: nil)
            guard let key else {
                _ = try walk(bucket: bucket, directories: [], users: users, into: &path)
                return path
            }
            let (directories, leaf) = ObjectKey.segments(key)
            guard let holder = try walk(bucket: bucket, directories: directories, users: users, into: &path) else { return path }
            if let object = try? Sys.openBeneath(holder.fd, leaf, flags: O_RDONLY | O_NONBLOCK) {
                path.object = try permission(of: object, users: users, kind: .object)
                // The object `a` beside the keys `a/...` is the displaced file, not the directory.
                if !options.strictKeys, !key.hasSuffix("/"), (try? Sys.stat(object.fd))?.isDirectory == true,
                    let displaced = try? Sys.openBeneath(holder.fd, ObjectKey.displacedName(ofEntry: leaf), flags: O_RDONLY | O_NONBLOCK)
                {
                    path.object = try permission(of: displaced, users: users, kind: .object)
                }
            }
            return path
        } catch let error as S3Error {
            throw error
        } catch let error as SystemError {
            throw error.s3Error()
        } catch {
            throw S3Error(.internalError)
        }
    }

    /// Opens the bucket's directories, then the key's, recording each one's permission in `path`: the directory that
    /// holds the key, or nil when one of the key's directories is missing (`directoriesComplete` is then false).
    /// NoSuchBucket when the bucket does not exist.
    private func walk(bucket: String, directories: [String], users: UserDirectory, into path: inout PathPermissions) throws -> OpenFile? {
        var current = rootEntry
        func step(_ name: String, isBucket: Bool) throws -> DirectoryHandleCache.Entry? {
            try directoryHandles.open(name, under: current, isBucket: isBucket, flags: Sys.readDirectory) { file in
                try permission(of: file, users: users, kind: isBucket ? .bucket : .directory)
            }
        }
        // Most buckets are one directory: no split.
        let segments =
            bucket.utf8.contains(UInt8(ascii: ":")) || bucket.isEmpty ? bucket.splitBytes(UInt8(ascii: ":"), omittingEmpty: true) : [bucket]
        for segment in segments {
            guard let next = try step(segment, isBucket: true) else { throw S3Error(.noSuchBucket, details: [("BucketName", bucket)]) }
            path.directories.append(next.permission)
            current = next
        }
        for directory in directories {
            guard let next = try step(directory, isBucket: false) else {
                path.directoriesComplete = false
                return nil
            }
            path.directories.append(next.permission)
            current = next
        }
        return current.file
    }

    /// Opens an object for reading, through `openChecked` when there is a permission check to make.
    public func openObject(bucketName: String, key: String, users: UserDirectory, check: ((PathPermissions) throws -> Void)?) throws -> ObjectHandle {
        if let check { return try openChecked(bucket: bucketName, key: key, users: users, check: check) }
        return try openObject(bucket: try openBucket(bucketName), key: key)
    }

    /// Opens an object for reading, checking the permission model on the way: each directory is opened once, for its
    /// permission and to reach the next, and the object's metadata serves both the check and the response. The check
    /// runs before anything is hashed or read, and before a missing key is reported.
    public func openChecked(bucket: String, key: String, users: UserDirectory, check: (PathPermissions) throws -> Void) throws -> ObjectHandle {
        if key.hasSuffix("/") {
            try check(try pathPermissions(bucket: bucket, key: key, users: users))
            return try openObject(bucket: try openBucket(bucket), key: key)
        }
        do {
            var path = PathPermissions(directories: [], directoriesComplete: true, object: nil)
            let (directories, leaf) = ObjectKey.segments(key)
            guard let current = try walk(bucket: bucket, directories: directories, users: users, into: &path) else {
                try check(path)
                throw S3Error(.noSuchKey, details: [("Key", key)])
            }
            let result = Result { () throws(S3Error) -> OpenedFile in
                try openFile(current, leaf, orDisplaced: { ObjectKey.displacedName(ofEntry: leaf) }, key: key)
            }
            guard case .success(let opened) = result else {
                try check(path)
                return try validated(try result.get())
            }
            // Objects written through S3 carry their permission in the metadata just read.
            path.object = try opened.stored?.permission ?? permission(of: opened.file, users: users, kind: .object)
            try check(path)
            return try validated(opened)
        } catch let error as SystemError {
            throw error.s3Error()
        }
    }

    /// Records a new permission for an object (PutObjectAcl with a canned ACL).
    public func setObjectPermission(bucket: OpenFile, key: String, _ permission: Permission) throws(S3Error) {
        guard let object = try? openObject(bucket: bucket, key: key) else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
        var meta = object.metadata
        meta.permission = permission
        try replaceMetadata(bucket: bucket, key: key, metadata: meta)
    }

    /// Records a new permission for a bucket (PutBucketAcl with a canned ACL).
    public func setBucketPermission(_ name: String, _ permission: Permission) throws(S3Error) {
        let handle = try openBucket(name)
        var meta = BucketMetadata.decode(try? Sys.getAttribute(handle.fd, BucketMetadata.attributeName)) ?? BucketMetadata(owner: nil, created: 0)
        meta.owner = permission.owner
        meta.group = permission.group
        meta.mode = permission.mode
        meta.isPublic = permission.isPublic ? true : nil
        do { try Sys.setAttribute(handle.fd, BucketMetadata.attributeName, meta.encoded()) } catch { throw error.s3Error(resource: name) }
        mirrorMode(handle, permission, isDirectory: true)
    }

    /// Makes a directory for an object, with its permission from the first moment: the object's owner and group
    /// and a directory mode, or (for directories the server makes itself, as cache fills) the parent's recorded
    /// permission, so a bucket's owner keeps the rights the cache's structure would otherwise take away. A stamped
    /// directory is made under a reserved name, stamped, and renamed into place, so a concurrent request never
    /// sees it without its permission. EEXIST when the name exists already, as mkdir.
    func makeDirectory(_ parent: OpenFile, _ name: String, _ permission: Permission?) throws(SystemError) {
        let explicit = permission.map { Permission(owner: $0.owner, group: $0.group, mode: $0.directoryMode) }
        guard let stamp = explicit ?? recordedPermission(of: parent) else {
            try Sys.mkdir(parent.fd, name)
            return
        }
        if (try? Sys.stat(parent.fd, name)) != nil { throw SystemError(call: "mkdir", errno: EEXIST) }
        let plain = Permission(owner: stamp.owner, group: stamp.group, mode: stamp.mode & 0o777)
        let temporary = ReservedNames.uniqueTemporaryName("dir.")
        try Sys.mkdir(parent.fd, temporary)
        do {
            try Sys.setAttribute(parent.fd, temporary, Permission.attributeName, plain.encoded())
            // Owner and mode before the rename: the directory never appears with other bits than its recorded ones.
            if let entry = try? Sys.openBeneath(parent.fd, temporary, flags: Sys.readDirectory) {
                applyPOSIXOwnership(entry, plain)
                mirrorMode(entry, plain, isDirectory: true)
            }
            try Sys.rename(parent.fd, temporary, parent.fd, name, noReplace: true)
        } catch {
            _ = try? Sys.rmdir(parent.fd, temporary)
            throw error
        }
    }

    /// Mirrors a recorded permission in an entry's mode bits (`Permission.diskMode`). A failure (an entry another user
    /// owns, a filesystem without modes) keeps the old bits: S3's checks use the recorded permission either way.
    func mirrorMode(_ file: OpenFile, _ permission: Permission, isDirectory: Bool) {
        _ = fchmod(file.fd, mode_t(permission.diskMode(isDirectory: isDirectory)))
    }

    /// Mirrors the permission a directory's checks use: its `user.strata.perm`, or a directory object's own.
    func mirrorRecordedMode(ofDirectory directory: OpenFile) {
        if let recorded = recordedPermission(of: directory, kind: .directory) { mirrorMode(directory, recorded, isDirectory: true) }
    }

    /// With `posixOwnership`, gives an entry the uid and gid of its S3 owner and group when both exist on this system
    /// (a failed chown, for lack of privilege, leaves the server's own ownership).
    func applyPOSIXOwnership(_ file: OpenFile, _ permission: Permission) {
        guard options.posixOwnership else { return }
        // The reentrant lookups: several I/O threads may ask at once.
        var buffer = [CChar](repeating: 0, count: 16_384)
        var user = passwd()
        var userResult: UnsafeMutablePointer<passwd>?
        guard getpwnam_r(permission.owner, &user, &buffer, buffer.count, &userResult) == 0, userResult != nil else { return }
        var groupBuffer = [CChar](repeating: 0, count: 16_384)
        var group = group()
        var groupResult: UnsafeMutablePointer<group>?
        let found = getgrnam_r(permission.group, &group, &groupBuffer, groupBuffer.count, &groupResult) == 0 && groupResult != nil
        _ = fchown(file.fd, user.pw_uid, found ? group.gr_gid : user.pw_gid)
    }
}
