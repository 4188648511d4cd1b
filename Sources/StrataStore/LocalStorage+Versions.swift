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

    public func listObjectVersions(_ arguments: ListVersionsArguments) async throws -> VersionsPage {
        try await run { store in
            let bucket = try store.openBucket(arguments.bucket)
            var page = try store.listObjectVersions(bucket: bucket, arguments)
            page.bucketOwner = store.bucketInfo(arguments.bucket, handle: bucket).owner
            return page
        }
    }
}

extension FileSystemStore {
    /// Opens what a GET or HEAD asks for: a version by id (after the permission check of the key's path), or the
    /// current version; a key whose newest version is a delete marker answers NoSuchKey with the marker's headers.
    func openObject(_ input: GetObjectInput, users: UserDirectory) throws -> ObjectHandle {
        if let versionId = input.versionId {
            if let check = input.permissionCheck { try check(try pathPermissions(bucket: input.bucket, key: input.key, users: users)) }
            return try openVersion(try openBucket(input.bucket), key: input.key, id: versionId)
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

    /// The object a copy reads: the source's current version, or the version it names (never a delete marker).
    func openCopySource(_ source: CopySource) throws(S3Error) -> ObjectHandle {
        let bucket = try openBucket(source.bucket)
        guard let versionId = source.versionId else { return try openObject(bucket: bucket, key: source.key) }
        do {
            return try openVersion(bucket, key: source.key, id: versionId)
        } catch  where error.code == .methodNotAllowed {
            throw S3Error(.invalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
        }
    }

    /// Whether a bucket ever kept a stored version (its versions directory exists): one `stat`, only on paths that
    /// already failed.
    public func hasStoredVersions(_ bucketName: String) -> Bool {
        (try? Sys.stat(root.fd, BucketName.relativePath(bucketName) + "/" + Self.versionsRoot))?.isDirectory == true
    }
}
