import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore

/// GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl: S3's ACLs as far as owner, group and mode bits say them
/// (canned ACLs, and grant lists that mean the same).
struct ACLHandlers {
    let storage: any ObjectStorage

    func getBucketAcl(_ admitted: AdmittedRequest, _ name: String) async throws -> Response {
        let path = try await storage.pathPermissions(bucket: name, key: nil)
        guard let permission = path.directories.last else { throw S3Error(.noSuchBucket, details: [("BucketName", name)]) }
        let info = try await storage.headBucket(name)
        return Responses.xml(Self.acl(owner: info.owner ?? permission.owner, permission: permission))
    }

    func getObjectAcl(_ admitted: AdmittedRequest, _ address: ObjectAddress) async throws -> Response {
        let (name, key) = (address.bucket, address.key)
        let object = try await storage.getObject(GetObjectInput(bucket: name, key: key, headOnly: true))
        let path = try await storage.objectPermissions(bucket: name, key: key)
        var owner = object.metadata.owner ?? path.object?.owner
        if owner == nil { owner = try await storage.headBucket(name).owner }
        return Responses.xml(Self.acl(owner: owner ?? admitted.identity.user, permission: path.object))
    }

    /// PutBucketAcl with a canned ACL (`x-amz-acl`, or a grant list that says the same): the bucket's mode bits change
    /// accordingly.
    func putBucketAcl(_ admitted: AdmittedRequest, _ name: String) async throws -> Response {
        let path = try await storage.pathPermissions(bucket: name, key: nil)
        guard let current = path.directories.last else { throw S3Error(.noSuchBucket, details: [("BucketName", name)]) }
        let owners: Set<String> = [current.owner, try await storage.headBucket(name).owner ?? current.owner]
        let mode = try await requestedACL(admitted.call, owners: owners)
        try await storage.setBucketPermission(
            name,
            Permission(owner: current.owner, group: current.group, mode: mode.directory, isPublic: mode.isPublic)
        )
        return Responses.empty()
    }

    /// PutObjectAcl with a canned ACL (or a grant list that says the same): the object's mode bits change accordingly.
    func putObjectAcl(_ admitted: AdmittedRequest, _ address: ObjectAddress) async throws -> Response {
        let path = try await storage.objectPermissions(bucket: address.bucket, key: address.key)
        guard let current = path.object else { throw S3Error(.noSuchKey, details: [("Key", address.key)]) }
        let object = try await storage.getObject(GetObjectInput(bucket: address.bucket, key: address.key, headOnly: true))
        let mode = try await requestedACL(admitted.call, owners: [current.owner, object.metadata.owner ?? current.owner])
        let updated = Permission(
            owner: current.owner,
            group: current.group,
            mode: address.key.hasSuffix("/") ? mode.directory : mode.file,
            isPublic: mode.isPublic
        )
        try await storage.setObjectPermission(bucket: address.bucket, key: address.key, updated)
        return Responses.empty()
    }

    /// The canned ACL a request asks for: `x-amz-acl`, or an AccessControlPolicy body whose grants are one (s3cmd's
    /// `setacl --acl-public` sends the owner's FULL_CONTROL and AllUsers READ). Other grant lists have no equivalent
    /// in mode bits.
    private func requestedACL(_ call: S3Call, owners: Set<String>) async throws -> (file: UInt16, directory: UInt16, isPublic: Bool) {
        var requested = try CannedACL.of(call.header("x-amz-acl")).map { (file: $0.fileMode, isPublic: $0.isPublic) }
        if requested == nil {
            let body = try await BodyCollector.collect(call, limit: 64 * 1024)
            if !body.isEmpty { requested = try CannedACL.mode(accessControlPolicy: body, owners: owners) }
        }
        guard let requested else {
            throw S3Error(
                .notImplemented,
                "Only canned ACLs (x-amz-acl: private, public-read, public-read-write) or grant lists meaning the same can be set: "
                    + "they map onto mode bits.",
                details: [("Header", "x-amz-acl")]
            )
        }
        return (requested.file, Permission(owner: "", group: "", mode: requested.file).directoryMode, requested.isPublic)
    }

    static func acl(owner: String, permission: Permission?) -> String {
        var xml = XMLWriter(root: "AccessControlPolicy")
        xml.group("Owner") {
            $0.element("ID", owner)
            $0.element("DisplayName", owner)
        }
        xml.group("AccessControlList") { xml in
            xml.group("Grant") { xml in
                xml.grantee(owner)
                xml.element("Permission", "FULL_CONTROL")
            }
            // The "other" bits reach every signed user; only a public canned ACL opens them to anonymous requests.
            let other = (permission?.mode ?? 0) & 0o7
            let group = permission?.isPublic == true ? CannedACL.allUsers : CannedACL.authenticatedUsers
            for (bit, name) in [(UInt16(0o4), "READ"), (UInt16(0o2), "WRITE")] where other & bit != 0 {
                xml.group("Grant") { xml in
                    xml.group(uri: group)
                    xml.element("Permission", name)
                }
            }
        }
        return xml.finish()
    }
}

extension XMLWriter {
    /// `<Grantee xsi:type="CanonicalUser">`, which needs an attribute the plain writer does not emit.
    fileprivate mutating func grantee(_ owner: String) {
        appendRaw("<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">")
        element("ID", owner)
        element("DisplayName", owner)
        appendRaw("</Grantee>")
    }

    fileprivate mutating func group(uri: String) {
        appendRaw("<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">")
        element("URI", uri)
        appendRaw("</Grantee>")
    }
}
