import S3Protocol
import StrataStore

extension AccessLevel {
    init(_ grant: BucketGrant) {
        switch grant {
        case .read: self = .read
        case .write: self = .write
        case .owner: self = .owner
        }
    }
}

extension S3Responder {
    /// The access an identity has to a bucket: the admin everything; a scoped credential what it was granted
    /// (on the bucket or on its top-level bucket); an unscoped one full rights on its user's buckets only.
    /// Names are compared as bytes: the NFC and NFD spellings of a name are two directories.
    func access(_ identity: Identity, bucket: String, owner: String?) -> AccessLevel {
        guard let credential = identity.credential else { return .owner }  // SIMPLE mode: trusted network
        if identity.isAdmin { return .owner }
        if let grants = credential.buckets {
            let top = bucket.splitBytes(UInt8(ascii: ":")).first ?? ""
            if let grant = grants.valueForBytes(bucket) ?? grants.valueForBytes(top) { return AccessLevel(grant) }
            // `name-*` grants every bucket whose name starts with `name-` (the widest such grant counts).
            let matching = grants.filter {
                $0.key.hasSuffix("*") && (bucket.hasBytePrefix(String($0.key.dropLast())) || top.hasBytePrefix(String($0.key.dropLast())))
            }
            return matching.values.max().map(AccessLevel.init) ?? .none
        }
        return owner?.bytesEqual(credential.user) == true ? .owner : .none
    }

    /// Refuses the request unless its identity holds the access the operation needs on the bucket(s) it touches.
    /// As in AWS, a bucket that does not exist is 404 NoSuchBucket to any signed caller; 403 is for buckets that
    /// exist and are not the caller's.
    func authorize(_ call: S3Call) async throws {
        guard call.identity.credential != nil, !call.identity.isAdmin else { return }
        let needed = call.operation.requiredAccess
        guard needed > .none, let bucket = call.target.bucket else { return }
        if call.operation == .createBucket {
            try await authorizeCreate(bucket, call)
            return
        }
        // GET and HEAD of an object made public-read are open to everyone, whatever the bucket.
        let readsObject = call.operation == .getObject || call.operation == .headObject
        try await require(needed, on: bucket, object: readsObject ? call.target.key : nil, call)
        if call.operation == .copyObject || call.operation == .uploadPartCopy, let header = call.header("x-amz-copy-source") {
            let source = try CopySource(header: header, isReserved: ReservedNames.isReserved, escapesSegments: !settings.store.strictKeys)
            try await require(.read, on: source.bucket, call)
        }
    }

    /// A top-level bucket may be created by any unscoped credential (it becomes its user's) or by a credential
    /// granted owner on that name. A nested bucket is a directory inside its parent, so it needs owner rights there.
    private func authorizeCreate(_ bucket: String, _ call: S3Call) async throws {
        let segments = bucket.splitBytes(UInt8(ascii: ":"))
        guard segments.count > 1 else {
            if call.identity.credential?.buckets == nil { return }
            guard access(call.identity, bucket: bucket, owner: nil) >= .owner else { throw denied(bucket) }
            return
        }
        try await require(.owner, on: segments.dropLast().joined(separator: ":"), call)
    }

    /// Checks one bucket: NoSuchBucket when it does not exist, AccessDenied when the identity lacks `needed`.
    /// `object`: the key a read addresses, whose own public-read ACL may open it.
    private func require(_ needed: AccessLevel, on bucket: String, object: String? = nil, _ call: S3Call) async throws {
        try BucketName.validate(bucket, strict: false)
        let owner = try await storage.bucketOwner(bucket)
        if access(call.identity, bucket: bucket, owner: owner) >= needed { return }
        // A signed caller without a grant has at least what an unsigned one has: what a public canned ACL opened
        // (public-read: reading, public-read-write: writing too), as AWS's AllUsers grants apply to everyone.
        guard needed <= .write, try await publicAccess(bucket, object: object) >= needed else { throw denied(bucket) }
    }

    /// What public canned ACLs give everyone under the permission model (none when it is off): the bucket's, or
    /// reading `object` when that object was made public-read.
    private func publicAccess(_ bucket: String, object: String?) async throws -> AccessLevel {
        guard settings.permissions.enabled else { return .none }
        let path = try await storage.pathPermissions(bucket: bucket, key: object)
        if path.object?.isPublic == true { return .read }
        // The bucket's own directory is the last of its `:` segments (the key's directories follow it).
        let depth = bucket.splitBytes(UInt8(ascii: ":"), omittingEmpty: true).count
        guard depth >= 1, path.directories.count >= depth, path.directories[depth - 1].isPublic else { return .none }
        let permission = path.directories[depth - 1]
        if permission.mode & 0o002 != 0 { return .write }
        return permission.mode & 0o004 != 0 ? .read : .none
    }

    private func denied(_ bucket: String) -> S3Error { S3Error(.accessDenied, "Access Denied", resource: "/\(bucket)") }
}
