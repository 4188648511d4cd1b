import S3Protocol

extension LocalStorage {
    public func deleteVersioned(bucket: String, key: String, versionId: String?, condition: DeleteCondition) async throws -> DeletedVersion {
        try await run { store in
            let handle = try store.openBucket(bucket)
            if let versionId { return try store.deleteVersion(handle, key: key, versionId: versionId, condition: condition) }
            // Directory objects (`dir/` without a body) are directories, which keep no versions; `dir/` with a body
            // is a file like any other.
            let isDirectoryObject = key.hasSuffix("/") && (try? store.openFileObject(handle, key, missingIsNil: true)) == nil
            guard let status = store.versioningStatus(bucket, handle), !isDirectoryObject else {
                try store.deleteObject(bucket: handle, key: key, condition: condition)
                return DeletedVersion()
            }
            return try store.deleteCurrentVersion(handle, key: key, status: status, condition: condition, owner: nil)
        }
    }

    public func listObjectVersions(_ arguments: ListVersionsArguments, viewer: Caller?) async throws -> VersionsPage {
        let viewer = viewer.map { ListingViewer(caller: $0, users: users) }
        return try await run { store in
            let bucket = try store.openBucket(arguments.bucket)
            var page = try store.listObjectVersions(bucket: bucket, arguments, viewer: viewer)
            page.bucketOwner = store.bucketInfo(arguments.bucket, handle: bucket).owner
            return page
        }
    }
}

extension FileSystemStore {
    /// Opens what a GET or HEAD asks for: a version by id, or the current version, each checked with its own
    /// permission; a key whose newest version is a delete marker answers NoSuchKey with the marker's headers.
    func openObject(_ input: GetObjectInput, users: UserDirectory) throws -> ObjectHandle {
        if let versionId = input.versionId {
            return try openVersion(bucket: input.bucket, key: input.key, id: versionId, users: users, check: input.permissionCheck)
        }
        do {
            return try openObject(bucketName: input.bucket, key: input.key, users: users, check: input.permissionCheck)
        } catch let error as S3Error where error.code == .noSuchKey {
            guard hasStoredVersions(input.bucket), let bucket = try? openBucket(input.bucket),
                let marker = newestDeleteMarker(bucket, key: input.key)
            else { throw error }
            throw error.with(header: "x-amz-delete-marker", "true").with(header: "x-amz-version-id", marker)
        }
    }

    /// Opens a version by id, checking it with the permission it was written with (every version keeps its own
    /// owner and mode, whatever the current version's are) and the key's directories. A version that is missing or
    /// a delete marker is reported only to a caller the directories let through.
    func openVersion(bucket: String, key: String, id: String, users: UserDirectory, check: PermissionCheck?) throws -> ObjectHandle {
        guard let check else { return try openVersion(try openBucket(bucket), key: key, id: id) }
        var path = try pathPermissions(bucket: bucket, key: key, users: users)
        path.object = nil
        let handle: ObjectHandle
        do {
            handle = try openVersion(try openBucket(bucket), key: key, id: id)
        } catch {
            try check(path)
            throw error
        }
        if let recorded = handle.metadata.permission {
            path.object = recorded
        } else if let file = handle.file {
            path.object = try permission(of: file, users: users, kind: .object)
        }
        try check(path)
        return handle
    }

    /// The object a copy reads: the source's current version, or the version it names (never a delete marker),
    /// checked with `check` where it is opened.
    func openCopySource(_ source: CopySource, users: UserDirectory, check: PermissionCheck?) throws -> ObjectHandle {
        guard let versionId = source.versionId else {
            return try openObject(bucketName: source.bucket, key: source.key, users: users, check: check)
        }
        do {
            return try openVersion(bucket: source.bucket, key: source.key, id: versionId, users: users, check: check)
        } catch let error as S3Error where error.code == .methodNotAllowed {
            throw S3Error(.invalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
        }
    }

    /// Whether a bucket ever kept a stored version (its versions directory exists): one `stat`, only on paths that
    /// already failed.
    public func hasStoredVersions(_ bucketName: String) -> Bool {
        (try? Sys.stat(root.fd, BucketName.relativePath(bucketName) + "/" + Self.versionsRoot))?.isDirectory == true
    }
}
