import Foundation
import HTTPTypes
import Hummingbird
import Logging
import S3Protocol
import StrataStore

/// ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning, GetBucketAcl.
extension S3Responder {
    func listBuckets(_ admitted: AdmittedRequest, _ arguments: ListBucketsArguments) async throws -> Response {
        let call = admitted.call
        let all = try await storage.listBuckets()
        var visible: [BucketInfo]
        if call.identity.credential != nil {
            visible = all.filter { BucketGrants.level(call.identity, bucket: $0.name, owner: $0.owner) > .none }
        } else {
            visible = call.user == settings.superuser ? all : all.filter { $0.owner == nil || $0.owner?.bytesEqual(call.user) == true }
        }
        // Pages in byte order of names, as AWS; every bucket is in this server's one region.
        visible.sort { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        if let prefix = arguments.prefix { visible = visible.filter { $0.name.hasBytePrefix(prefix) } }
        if let region = arguments.region, region != settings.region { visible = [] }
        if let after = arguments.startAfter.map({ Array($0.utf8) }) {
            visible = visible.filter { after.lexicographicallyPrecedes(Array($0.name.utf8)) }
        }
        var next: String?
        if let limit = arguments.maxBuckets, visible.count > limit {
            visible.removeSubrange(limit...)
            next = visible.last.map { ContinuationToken.encode($0.name) }
        }
        var xml = XMLWriter(root: "ListAllMyBucketsResult")
        xml.group("Owner") {
            $0.element("ID", call.user)
            $0.element("DisplayName", call.user)
        }
        xml.group("Buckets") { xml in
            for bucket in visible {
                xml.group("Bucket") {
                    $0.element("Name", bucket.name)
                    $0.element("CreationDate", HTTPDate.iso8601(seconds: bucket.creationSeconds))
                    $0.element("BucketRegion", settings.region)
                }
            }
        }
        if let next { xml.element("ContinuationToken", next) }
        if let prefix = arguments.prefix { xml.element("Prefix", prefix) }
        return Responses.xml(xml.finish())
    }

    func createBucket(_ admitted: AdmittedRequest, _ name: String) async throws -> Response {
        let call = admitted.call
        try BucketName.validate(name, strict: settings.bucketNamingRestrictions)
        let body = try await BodyCollector.collect(call, limit: 64 * 1024)
        if !body.isEmpty {
            let root = try XMLDocument.parse(body)
            guard root.name == "CreateBucketConfiguration" else { throw S3Error(.malformedXML) }
        }
        try await storage.createBucket(name, owner: call.user, permission: try gate.newPermission(admitted, directory: true))
        return Responses.empty(headers: [.location: "/\(name)"])
    }

    func headBucket(_ call: S3Call, _ name: String) async throws -> Response {
        _ = try await storage.headBucket(name)
        var headers = HTTPFields()
        headers.set("x-amz-bucket-region", settings.region)
        if call.query["read-stats"] == "true" {
            // Ceph RGW's extension: the bucket's object count and bytes, from a walk of the whole bucket.
            var (count, bytes): (Int64, Int64) = (0, 0)
            var startAfter: String?
            repeat {
                let page = try await storage.listObjects(
                    ListObjectsInput(bucket: name, prefix: "", delimiter: nil, startAfter: startAfter, maxKeys: 1000)
                ).page
                count += Int64(page.contents.count)
                bytes = page.contents.reduce(bytes) { $0 &+ $1.size }
                startAfter = page.isTruncated ? page.lastItem : nil
            } while startAfter != nil
            headers.set("x-rgw-object-count", String(count))
            headers.set("x-rgw-bytes-used", String(bytes))
        }
        return Responses.empty(headers: headers)
    }

    func deleteBucket(_ name: String) async throws -> Response {
        try await storage.deleteBucket(name)
        return Responses.empty(.noContent)
    }

    func getBucketLocation(_ name: String) async throws -> Response {
        _ = try await storage.headBucket(name)
        // AWS reports us-east-1 as an empty constraint.
        let region = settings.region == "us-east-1" ? "" : settings.region
        return Responses.xml(XMLWriter.textDocument(root: "LocationConstraint", text: region))
    }

    func getBucketAcl(_ call: S3Call, _ name: String) async throws -> Response {
        let path = try await storage.pathPermissions(bucket: name, key: nil)
        guard let permission = path.directories.last else { throw S3Error(.noSuchBucket, details: [("BucketName", name)]) }
        let info = try await storage.headBucket(name)
        return Responses.xml(Self.acl(owner: info.owner ?? permission.owner, permission: permission))
    }

    func getObjectAcl(_ call: S3Call, _ address: ObjectAddress) async throws -> Response {
        let (name, key) = (address.bucket, address.key)
        let object = try await storage.getObject(GetObjectInput(bucket: name, key: key, headOnly: true))
        let path = try await storage.objectPermissions(bucket: name, key: key)
        var owner = object.metadata.owner ?? path.object?.owner
        if owner == nil { owner = try await storage.headBucket(name).owner }
        return Responses.xml(Self.acl(owner: owner ?? call.user, permission: path.object))
    }

    /// PutBucketAcl with a canned ACL (`x-amz-acl`, or a grant list that says the same): the bucket's mode bits change
    /// accordingly.
    func putBucketAcl(_ call: S3Call, _ name: String) async throws -> Response {
        let path = try await storage.pathPermissions(bucket: name, key: nil)
        guard let current = path.directories.last else { throw S3Error(.noSuchBucket, details: [("BucketName", name)]) }
        let owners: Set<String> = [current.owner, try await storage.headBucket(name).owner ?? current.owner]
        let mode = try await requestedACL(call, owners: owners)
        try await storage.setBucketPermission(
            name,
            Permission(owner: current.owner, group: current.group, mode: mode.directory, isPublic: mode.isPublic)
        )
        return Responses.empty()
    }

    /// PutObjectAcl with a canned ACL (or a grant list that says the same): the object's mode bits change accordingly.
    func putObjectAcl(_ call: S3Call, _ address: ObjectAddress) async throws -> Response {
        let path = try await storage.objectPermissions(bucket: address.bucket, key: address.key)
        guard let current = path.object else { throw S3Error(.noSuchKey, details: [("Key", address.key)]) }
        let object = try await storage.getObject(GetObjectInput(bucket: address.bucket, key: address.key, headOnly: true))
        let mode = try await requestedACL(call, owners: [current.owner, object.metadata.owner ?? current.owner])
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
    func requestedACL(_ call: S3Call, owners: Set<String>) async throws -> (file: UInt16, directory: UInt16, isPublic: Bool) {
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
