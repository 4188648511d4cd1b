import S3Protocol
import StrataStore

/// What the store runs where it opens an object (the current version, a version by id, an upstream object read
/// through, a copy source) with the permissions along its path: it throws AccessDenied when the caller may not read.
typealias ReadCheck = @Sendable (PathPermissions) throws -> Void

/// A caller's standing on one bucket: what the permission model still checks there once the grant layer let it in.
enum Standing: Sendable {
    /// Nothing is checked: the admin, the superuser and the supergroup, a credential or session granted `owner` on
    /// the bucket, or anyone when the permission model is off.
    case full
    /// An STS session granted `read` or `write`: the grant decides; only ownership (changing an object's ACL) is
    /// still checked, as the session's user.
    case granted(Caller)
    /// The permission model checks every right of the caller; an anonymous caller (`needsPublic`) reaches only
    /// what public canned ACLs opened.
    case checked(Caller)
}

/// The one authorization gate: every way into the server (the pooled and inline S3 paths, browser forms, the website
/// listener) turns its request into a typed action and asks `admit`, which evaluates the policy table's row for
/// every bucket and key the action touches. Only the gate creates the `AdmittedRequest` that handlers take.
struct AuthorizationGate: Sendable {
    let storage: any ObjectStorage
    let settings: ServerSettings
    let users: UserDirectory

    /// Admits an action or throws NoSuchBucket (for a missing bucket, before any refusal) or AccessDenied.
    func admit(_ call: S3Call, _ action: S3Action) async throws -> AdmittedRequest {
        if case .listBuckets = action, call.identity.isAnonymousPublic {
            throw S3Error(.accessDenied, "Anonymous access is not allowed to list buckets: sign the request.")
        }
        var standings: [ResourceAccess.Role: Standing] = [:]
        var readChecks: [ResourceAccess.Role: ReadCheck] = [:]
        for resource in action.resources {
            let standing = try await standing(call.identity, resource)
            standings[resource.role] = standing
            if let check = try await enforce(resource, standing) { readChecks[resource.role] = check }
        }
        return AdmittedRequest(call: call, action: action, standing: standings[.target], readChecks: readChecks, gate: self)
    }

    /// The inline fast path's admission, decided on the event loop without any I/O: nil whenever that is not
    /// possible (a grant that depends on the bucket's owner, a refusal whose precise error needs a lookup, a check
    /// not made where the object is read), and the request then takes the pooled path and `admit`.
    func admitInline(_ call: S3Call, _ action: S3Action) -> AdmittedRequest? {
        guard action.operation.policy.servedInline else { return nil }
        var readChecks: [ResourceAccess.Role: ReadCheck] = [:]
        var target: Standing?
        for resource in action.resources {
            guard let standing = try? standing(call.identity, resource, owner: nil), resource.checksWhereRead else { return nil }
            if resource.role == .target { target = standing }
            switch standing {
            case .full, .granted: break
            case .checked(let caller): readChecks[resource.role] = readCheck(caller)
            }
        }
        return AdmittedRequest(call: call, action: action, standing: target, readChecks: readChecks, gate: self)
    }

    // MARK: Standing

    /// The identity the permission model checks for a request.
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

    /// The standing on a resource's bucket, reading the bucket's owner when the grant depends on it. A bucket that
    /// does not exist is NoSuchBucket to every caller, checked before any refusal is given.
    private func standing(_ identity: Identity, _ resource: ResourceAccess) async throws -> Standing {
        try BucketName.validate(resource.bucket, strict: false)
        let grantBucket = Self.grantBucket(resource)
        // A top-level bucket being created has no owner yet; every other grant bucket must exist.
        let exists = !(resource.check == .createBucket && grantBucket == resource.bucket)
        let owner: String?? = exists && BucketGrants.needsOwner(identity) ? .some(try await storage.bucketOwner(grantBucket)) : nil
        do {
            guard let standing = try standing(identity, resource, owner: owner) else { throw S3Error(.internalError) }
            return standing
        } catch let error as S3Error where error.code == .accessDenied && exists {
            _ = try await storage.bucketOwner(grantBucket)
            throw error
        }
    }

    /// The bucket whose grant counts: a nested bucket is created inside its parent, so creating one needs the
    /// parent's grant.
    private static func grantBucket(_ resource: ResourceAccess) -> String {
        guard resource.check == .createBucket else { return resource.bucket }
        let segments = resource.bucket.splitBytes(UInt8(ascii: ":"))
        return segments.count > 1 ? segments.dropLast().joined(separator: ":") : resource.bucket
    }

    /// The standing as far as it can be decided without I/O; nil when the grant needs the bucket's owner (`owner`
    /// nil: not read). AccessDenied when the grant layer refuses and no public canned ACL can open the resource.
    func standing(_ identity: Identity, _ resource: ResourceAccess, owner: String??) throws(S3Error) -> Standing? {
        let model = settings.permissions.enabled
        if identity.isAdmin { return .full }
        guard let credential = identity.credential else {
            guard model else { return .full }
            if identity.isAnonymousPublic {
                guard resource.publicAccess != .none else { throw Self.denied(resource, identity.user) }
                return .checked(caller(identity))
            }
            let caller = caller(identity)
            return caller.bypassesChecks ? .full : .checked(caller)
        }
        let level: AccessLevel
        if resource.check == .createBucket, credential.buckets == nil, !resource.bucket.utf8.contains(UInt8(ascii: ":")) {
            level = .owner  // an unscoped credential may create a top-level bucket: it becomes its user's
        } else if BucketGrants.needsOwner(identity) {
            guard case .some(let known) = owner else { return nil }
            level = BucketGrants.level(identity, bucket: Self.grantBucket(resource), owner: known)
        } else {
            level = BucketGrants.level(identity, bucket: Self.grantBucket(resource), owner: nil)
        }
        guard level >= resource.grant else {
            // What public canned ACLs open to everyone is open to a signed caller too, checked as anonymous there.
            guard model, resource.publicAccess != .none else { throw Self.denied(resource, identity.user) }
            var anonymous = caller(identity)
            anonymous.bypassesChecks = false
            anonymous.needsPublic = true
            return .checked(anonymous)
        }
        guard model else { return .full }
        if level == .owner, credential.buckets != nil { return .full }
        let caller = caller(identity)
        if caller.bypassesChecks { return .full }
        return credential.sessionRole != nil ? .granted(caller) : .checked(caller)
    }

    static func denied(_ resource: ResourceAccess, _ user: String) -> S3Error {
        S3Error(.accessDenied, "Access Denied", resource: "/\(resource.bucket)")
    }

    // MARK: Checks

    /// Applies the permission model's check of one resource for a standing; a check made where the object is read
    /// comes back as the closure the store runs there.
    private func enforce(_ resource: ResourceAccess, _ standing: Standing) async throws -> ReadCheck? {
        let caller: Caller
        switch standing {
        case .full: return nil
        case .granted(let granted):
            // The grant decides everything but ownership; the mode bits of the directories do not narrow it.
            guard resource.check == .ownObject else { return nil }
            guard try await ownsObject(resource, granted, checkingDirectories: false) else { throw Self.notPermitted(granted) }
            return nil
        case .checked(let checked): caller = checked
        }
        if resource.checksWhereRead { return readCheck(caller) }
        guard try await allows(resource, caller) else { throw Self.notPermitted(caller) }
        return nil
    }

    static func notPermitted(_ caller: Caller) -> S3Error {
        S3Error(.accessDenied, "Access Denied: the permission model does not let \(caller.user) do this.")
    }

    func readCheck(_ caller: Caller) -> ReadCheck {
        { path in
            guard PermissionRules.mayRead(path, caller) else { throw Self.notPermitted(caller) }
        }
    }

    /// Whether the caller owns the object (also one only an upstream holds). A missing key is NoSuchKey, told only to a
    /// caller the directories let look there, unless its grant alone decides (`checkingDirectories` false).
    private func ownsObject(_ resource: ResourceAccess, _ caller: Caller, checkingDirectories: Bool) async throws -> Bool {
        let path = try await storage.objectPermissions(bucket: resource.bucket, key: resource.key ?? "")
        guard let object = path.object else {
            guard !checkingDirectories || PermissionRules.mayRead(path, caller) else { return false }
            throw S3Error(.noSuchKey, details: [("Key", resource.key ?? "")])
        }
        return PermissionRules.owns(object, caller)
    }

    /// Whether the permission model allows `caller` the resource's check, reading the permissions it needs.
    func allows(_ resource: ResourceAccess, _ caller: Caller) async throws -> Bool {
        let bucket = resource.bucket
        switch resource.check {
        case .none:
            return true
        case .listBucket:
            return PermissionRules.mayList(try await storage.pathPermissions(bucket: bucket, key: nil), caller)
        case .readObject:
            return PermissionRules.mayRead(try await storage.objectPermissions(bucket: bucket, key: resource.key ?? ""), caller)
        case .writeObject:
            var path = try await storage.pathPermissions(bucket: bucket, key: resource.key ?? "")
            // In a sticky directory the entry's owner matters, also when only an upstream holds the entry.
            if path.directories.last?.isSticky == true, path.object == nil {
                path = try await storage.objectPermissions(bucket: bucket, key: resource.key ?? "")
            }
            return PermissionRules.mayWrite(path, bucketDepth: Self.depth(bucket), caller)
        case .ownBucket:
            return PermissionRules.owns(try await storage.pathPermissions(bucket: bucket, key: nil).directories.last, caller)
        case .ownObject:
            return try await ownsObject(resource, caller, checkingDirectories: true)
        case .createBucket, .deleteBucket:
            return try await mayChangeBucket(bucket, deleting: resource.check == .deleteBucket, caller)
        case .uploadInitiator:
            return try await mayReadUpload(resource, caller)
        }
    }

    /// How many directories a bucket's name spans (`a:b:c` is three).
    static func depth(_ bucket: String) -> Int { bucket.splitBytes(UInt8(ascii: ":"), omittingEmpty: true).count }

    private func mayChangeBucket(_ bucket: String, deleting: Bool, _ caller: Caller) async throws -> Bool {
        let segments = bucket.splitBytes(UInt8(ascii: ":"), omittingEmpty: true)
        var parents = [try await storage.rootPermission()]
        if segments.count > 1 {
            // A missing parent is the store's to report (InvalidBucketName), not a refusal.
            guard let parent = try? await storage.pathPermissions(bucket: segments.dropLast().joined(separator: ":"), key: nil) else {
                return true
            }
            parents += parent.directories
        }
        let target = deleting ? try await storage.pathPermissions(bucket: bucket, key: nil).directories.last : nil
        return PermissionRules.mayChangeBucket(parents: parents, bucket: target, deleting: deleting, caller)
    }

    /// An upload's parts are its initiator's and the bucket owner's to see.
    private func mayReadUpload(_ resource: ResourceAccess, _ caller: Caller) async throws -> Bool {
        let bucketPath = try await storage.pathPermissions(bucket: resource.bucket, key: nil)
        guard PermissionRules.mayList(bucketPath, caller) else { return false }
        if PermissionRules.owns(bucketPath.directories.last, caller) { return true }
        guard let key = resource.key, let uploadId = resource.uploadId else { return false }
        let listed = try await storage.listParts(
            ListPartsInput(bucket: resource.bucket, key: key, uploadId: uploadId, partNumberMarker: 0, maxParts: 0)
        )
        return listed.upload.owner.bytesEqual(caller.user)
    }
}

/// A request the gate let in, with what the store must still check where it reads. Handlers take this, so none
/// runs on a request that did not pass the gate; only the gate (this file) can make one.
struct AdmittedRequest: Sendable {
    let call: S3Call
    let action: S3Action
    /// The caller's standing on the addressed bucket (nil for actions without one).
    let standing: Standing?
    private let readChecks: [ResourceAccess.Role: ReadCheck]
    private let gate: AuthorizationGate

    fileprivate init(call: S3Call, action: S3Action, standing: Standing?, readChecks: [ResourceAccess.Role: ReadCheck], gate: AuthorizationGate) {
        self.call = call
        self.action = action
        self.standing = standing
        self.readChecks = readChecks
        self.gate = gate
    }

    var identity: Identity { call.identity }

    /// The read check the store runs where it opens the object in this role (nil: nothing to check there).
    func readCheck(_ role: ResourceAccess.Role = .target) -> ReadCheck? { readChecks[role] }

    /// The caller whose rights narrow a listing (directories it may not enter are skipped, uploads it did not start
    /// are left out); nil when the caller sees everything the bucket holds.
    var listingCaller: Caller? {
        if case .checked(let caller)? = standing { return caller }
        return nil
    }

    /// Whether one key of a DeleteObjects request may be deleted: the DeleteObject the entry stands for, under the
    /// standing the gate gave on the bucket.
    func mayDelete(bucket: String, key: String) async -> Bool {
        guard case .checked(let caller)? = standing else { return true }
        let resource = ResourceAccess(
            .target,
            bucket: bucket,
            key: key,
            grant: .write,
            check: .writeObject,
            publicAccess: .writeBucket,
            checksWhereRead: false
        )
        return (try? await gate.allows(resource, caller)) ?? false
    }

    /// Whether the caller owns the addressed bucket (it sees every upload in it).
    func ownsBucket(_ bucket: String) async throws -> Bool {
        guard case .checked(let caller)? = standing else { return true }
        return PermissionRules.owns(try await gate.storage.pathPermissions(bucket: bucket, key: nil).directories.last, caller)
    }
}
