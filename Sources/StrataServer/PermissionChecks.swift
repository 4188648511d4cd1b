import S3Protocol
import StrataStore

/// The permission model's settings (Alluxio's `alluxio.security.*` keys).
struct PermissionSettings: Sendable {
    /// Off: only bucket grants (SIGV4) decide, as before the permission model.
    var enabled = true
    var umask: UInt16 = 0o022
    var supergroup = "supergroup"
    /// NOSASL: no user is named; every request acts as the server's own user.
    var serverUserOnly = false
}

/// S3's canned ACLs that mean the same as mode bits.
enum CannedACL: String {
    case `private` = "private"
    case publicRead = "public-read"
    case publicReadWrite = "public-read-write"

    static func of(_ header: String?) throws(S3Error) -> CannedACL? {
        guard let header else { return nil }
        let value = header.trimmingSpaces().lowercased()
        if value == "bucket-owner-read" || value == "bucket-owner-full-control" { return nil }
        guard let acl = CannedACL(rawValue: value) else {
            throw S3Error(
                .notImplemented,
                "The canned ACL \(header) has no equivalent in owner, group and mode bits.",
                details: [("Header", "x-amz-acl")]
            )
        }
        return acl
    }

    static let allUsers = "http://acs.amazonaws.com/groups/global/AllUsers"
    static let authenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

    /// The mode bits and public flag an AccessControlPolicy document amounts to: the owner's FULL_CONTROL is what
    /// the owner bits keep; AuthenticatedUsers READ/WRITE are the group and other bits; AllUsers READ/WRITE the same,
    /// opened to anonymous requests. Nil for a grant to anyone else or of another permission (no mode bits say it).
    static func mode(accessControlPolicy body: [UInt8], owners: Set<String>) throws(S3Error) -> (file: UInt16, isPublic: Bool)? {
        let root = try XMLDocument.parse(body)
        guard root.name == "AccessControlPolicy", let list = root.child("AccessControlList") else { throw S3Error(.malformedXML) }
        var file: UInt16 = 0o600
        var isPublic = false
        for grant in list.children("Grant") {
            guard let grantee = grant.child("Grantee"), let permission = grant.child("Permission")?.text else { throw S3Error(.malformedXML) }
            if let uri = grantee.child("URI")?.text {
                guard uri == allUsers || uri == authenticatedUsers else { return nil }
                switch permission {
                case "READ": file |= 0o044
                case "WRITE": file |= 0o022
                default: return nil
                }
                if uri == allUsers { isPublic = true }
            } else if !owners.contains(grantee.child("ID")?.text ?? "") || permission != "FULL_CONTROL" {
                return nil
            }
        }
        return (file, isPublic)
    }

    /// Whether anonymous requests may use what carries it.
    var isPublic: Bool { self != .private }

    /// Mode bits for a file (directories add `x` wherever `r` is granted).
    var fileMode: UInt16 {
        switch self {
        case .private: 0o600
        case .publicRead: 0o644
        case .publicReadWrite: 0o666
        }
    }
}

/// What a request must be allowed on the path it touches.
enum PermissionCheck {
    /// `r` on the object and `x` on every directory above it.
    case readObject(bucket: String, key: String)
    /// `w` and `x` on the directory that holds (or will hold) the object, `x` on every directory above.
    case writeObject(bucket: String, key: String)
    /// `r` and `x` on the bucket's directory, `x` above.
    case readBucket(String)
    /// Only the bucket's owner changes its settings.
    case ownBucket(String)
    /// Only the object's owner changes its permission.
    case ownObject(bucket: String, key: String)
    /// `w` and `x` on the root (or the parent bucket of a nested bucket).
    case createBucket(String)
    /// As create, and the sticky bit of the parent keeps others' buckets safe.
    case deleteBucket(String)
}

extension S3Responder {
    /// The identity the permission model checks for this request.
    func caller(_ identity: Identity) -> Caller {
        let groups = users.groups(of: identity.user)
        let bypass =
            identity.isAdmin || identity.user.bytesEqual(settings.superuser)
            || groups.contains { $0.bytesEqual(settings.permissions.supergroup) }
        return Caller(
            user: identity.user,
            groups: groups,
            bypassesChecks: bypass && !identity.isAnonymousPublic,
            needsPublic: identity.isAnonymousPublic
        )
    }

    /// The owner, group and mode a new object (or directory object) made by this request gets: the caller's
    /// user and primary group, and the mode the umask or the canned ACL gives.
    func newPermission(_ call: S3Call, directory: Bool) throws(S3Error) -> Permission? {
        guard settings.permissions.enabled else { return nil }
        let caller = caller(call.identity)
        let canned = try CannedACL.of(call.header("x-amz-acl"))
        let fileMode = canned?.fileMode ?? (0o666 & ~settings.permissions.umask)
        let permission = Permission(owner: caller.user, group: caller.primaryGroup, mode: fileMode, isPublic: canned?.isPublic == true)
        guard directory else { return permission }
        return Permission(owner: permission.owner, group: permission.group, mode: permission.directoryMode, isPublic: permission.isPublic)
    }

    /// The checks an action needs, in the order they are made.
    func permissionChecks(_ action: S3Action) -> [PermissionCheck] {
        switch action {
        // A form upload is checked as the PutObject it becomes, once its key is read.
        case .listBuckets, .notImplemented, .postObject: []
        case .createBucket(let bucket): [.createBucket(bucket)]
        case .deleteBucket(let bucket): [.deleteBucket(bucket)]
        case .headBucket(let bucket), .getBucketLocation(let bucket), .getBucketVersioning(let bucket), .getBucketAcl(let bucket),
            .getBucketTagging(let bucket), .deleteObjects(let bucket):
            [.readBucket(bucket)]
        case .listObjects(let list): [.readBucket(list.bucket)]
        case .listObjectVersions(let list): [.readBucket(list.bucket)]
        case .listMultipartUploads(let list): [.readBucket(list.bucket)]
        case .putBucketTagging(let bucket), .deleteBucketTagging(let bucket), .putBucketAcl(let bucket), .getBucketCors(let bucket),
            .putBucketCors(let bucket), .deleteBucketCors(let bucket), .getBucketWebsite(let bucket), .putBucketWebsite(let bucket),
            .deleteBucketWebsite(let bucket), .putBucketVersioning(let bucket):
            [.ownBucket(bucket)]
        case .preflight: []
        // GetObject, HeadObject and GetObjectAttributes are checked by the store in the hop that reads (`readCheck`).
        case .getObject, .headObject, .getObjectAttributes: []
        case .getObjectTagging(let object), .getObjectAcl(let object): [.readObject(bucket: object.bucket, key: object.key)]
        case .putObjectAcl(let object): [.ownObject(bucket: object.bucket, key: object.key)]
        case .putObject(let object, _), .deleteObject(let object, _, _), .putObjectTagging(let object), .deleteObjectTagging(let object),
            .createMultipartUpload(let object):
            [.writeObject(bucket: object.bucket, key: object.key)]
        case .uploadPart(let upload, _), .completeMultipartUpload(let upload, _), .abortMultipartUpload(let upload):
            [.writeObject(bucket: upload.bucket, key: upload.key)]
        case .listParts(let upload, _, _): [.readBucket(upload.bucket)]
        case .copyObject(let copy):
            [.readObject(bucket: copy.source.bucket, key: copy.source.key), .writeObject(bucket: copy.object.bucket, key: copy.object.key)]
        case .uploadPartCopy(let upload, _, let source, _, _):
            [.readObject(bucket: source.bucket, key: source.key), .writeObject(bucket: upload.bucket, key: upload.key)]
        }
    }

    /// Refuses the request with AccessDenied unless the permission model allows every check; nothing is changed.
    func checkPermissions(_ call: S3Call, _ action: S3Action) async throws {
        guard let caller = checkedCaller(call) else { return }
        if caller.needsPublic, case .listBuckets = action {
            throw S3Error(.accessDenied, "Anonymous access is not allowed to list buckets: sign the request.")
        }
        for check in permissionChecks(action) {
            guard try await allows(check, caller) else {
                throw S3Error(.accessDenied, "Access Denied: the permission model does not let \(caller.user) do this.")
            }
        }
    }

    /// The read check of GET and HEAD as a closure the store runs in the same hop to the I/O pool as the read.
    func readCheck(_ call: S3Call) -> (@Sendable (PathPermissions) throws -> Void)? {
        guard let caller = checkedCaller(call) else { return nil }
        return { path in
            guard Self.mayRead(path, caller) else {
                throw S3Error(.accessDenied, "Access Denied: the permission model does not let \(caller.user) do this.")
            }
        }
    }

    /// `r` on the object and `x` on every directory above it; an anonymous caller also needs a public object.
    static func mayRead(_ path: PathPermissions, _ caller: Caller) -> Bool {
        if caller.needsPublic && path.object?.isPublic != true {
            // A key that is not there: AWS tells a caller who may list the bucket 404, anyone else 403.
            guard path.object == nil, path.directories.first?.isPublic == true else { return false }
            return path.directories.allSatisfy { $0.grants(.execute, to: caller) }
        }
        return path.directories.allSatisfy { $0.grants(.execute, to: caller) } && (path.object?.grants(.read, to: caller) ?? true)
    }

    /// `r` and `x` on the bucket's directory and `x` above it; an anonymous caller also needs a public bucket.
    static func mayList(_ path: PathPermissions, _ caller: Caller) -> Bool {
        guard let last = path.directories.last, !caller.needsPublic || last.isPublic else { return false }
        return path.directories.dropLast().allSatisfy { $0.grants(.execute, to: caller) } && last.grants([.read, .execute], to: caller)
    }

    /// The caller the permission model checks for a request, nil when nothing is checked (model off, or a caller
    /// that bypasses it); DeleteObjects works it out once for all its keys.
    func checkedCaller(_ call: S3Call) -> Caller? {
        guard settings.permissions.enabled else { return nil }
        // Temporary credentials act by their role's grants, and a key with the owner grant on the bucket (the admin
        // API's bucket users) has full control there: `authorize` checked both, the mode bits do not narrow them.
        // Other scoped keys act as their user, whom the mode bits still govern.
        if let credential = call.identity.credential {
            if credential.sessionRole != nil { return nil }
            if credential.buckets != nil, let bucket = call.target.bucket, access(call.identity, bucket: bucket, owner: nil) == .owner { return nil }
        }
        let caller = caller(call.identity)
        return caller.bypassesChecks ? nil : caller
    }

    /// Whether `caller` may delete or overwrite `key`: used per key by DeleteObjects.
    func mayWrite(_ caller: Caller?, bucket: String, key: String) async -> Bool {
        guard let caller else { return true }
        return (try? await allows(.writeObject(bucket: bucket, key: key), caller)) ?? false
    }

    func allows(_ check: PermissionCheck, _ caller: Caller) async throws -> Bool {
        // Reads and listings apply the anonymous rule themselves; changes by an anonymous caller have their own.
        if case .readObject(let bucket, let key) = check { return Self.mayRead(try await storage.pathPermissions(bucket: bucket, key: key), caller) }
        if case .readBucket(let bucket) = check { return Self.mayList(try await storage.pathPermissions(bucket: bucket, key: nil), caller) }
        if caller.needsPublic { return try await anonymousMayChange(check, caller) }
        switch check {
        case .readObject, .readBucket:
            return false  // answered above
        case .writeObject(let bucket, let key):
            let path = try await storage.pathPermissions(bucket: bucket, key: key)
            guard let holder = path.directories.last else { return false }
            guard path.directories.dropLast().allSatisfy({ $0.grants(.execute, to: caller) }), holder.grants([.write, .execute], to: caller)
            else { return false }
            // A sticky directory lets only an entry's owner (or the directory's) replace or remove it.
            if holder.isSticky, path.directoriesComplete, let object = path.object { return caller.owns(object) || caller.owns(holder) }
            return true
        case .ownBucket(let bucket):
            let path = try await storage.pathPermissions(bucket: bucket, key: nil)
            return path.directories.last.map(caller.owns) ?? false
        case .ownObject(let bucket, let key):
            let path = try await storage.pathPermissions(bucket: bucket, key: key)
            guard let object = path.object else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
            return caller.owns(object)
        case .createBucket(let bucket), .deleteBucket(let bucket):
            let segments = bucket.splitBytes(UInt8(ascii: ":"), omittingEmpty: true)
            let parents: [Permission]
            if segments.count > 1 {
                // A missing parent is the store's to report (InvalidBucketName), not a refusal.
                guard let parent = try? await storage.pathPermissions(bucket: segments.dropLast().joined(separator: ":"), key: nil) else {
                    return true
                }
                parents = [try await storage.rootPermission()] + parent.directories
            } else {
                parents = [try await storage.rootPermission()]
            }
            guard let holder = parents.last, parents.dropLast().allSatisfy({ $0.grants(.execute, to: caller) }),
                holder.grants([.write, .execute], to: caller)
            else { return false }
            if case .deleteBucket = check, holder.isSticky {
                let target = try await storage.pathPermissions(bucket: bucket, key: nil)
                return target.directories.last.map(caller.owns) == true || caller.owns(holder)
            }
            return true
        }
    }

    /// An unsigned request where signatures are required changes only what a public-read-write bucket holds, as
    /// AWS's anonymous access (what it may read `mayRead` and `mayList` decide).
    private func anonymousMayChange(_ check: PermissionCheck, _ caller: Caller) async throws -> Bool {
        switch check {
        case .writeObject(let bucket, let key):
            let bucketPath = try await storage.pathPermissions(bucket: bucket, key: nil)
            guard bucketPath.directories.last?.isPublic == true else { return false }
            return try await allows(.writeObject(bucket: bucket, key: key), Caller(user: caller.user, groups: caller.groups, bypassesChecks: false))
        case .readObject, .readBucket, .ownBucket, .ownObject, .createBucket, .deleteBucket:
            return false
        }
    }
}
