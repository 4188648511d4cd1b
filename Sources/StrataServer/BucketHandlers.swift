import Foundation
import HTTPTypes
import Hummingbird
import Logging
import S3Protocol
import StrataStore

/// ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning, GetBucketAcl.
extension S3Responder {
    func listBuckets(_ call: S3Call) async throws -> Response {
        let all = try await storage.listBuckets()
        let visible: [BucketInfo]
        if call.identity.credential != nil {
            visible = all.filter { access(call.identity, bucket: $0.name, owner: $0.owner) > .none }
        } else {
            visible = call.user == settings.superuser ? all : all.filter { $0.owner == nil || $0.owner?.bytesEqual(call.user) == true }
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
                }
            }
        }
        return Responses.xml(xml.finish())
    }

    func createBucket(_ call: S3Call, _ name: String) async throws -> Response {
        try BucketName.validate(name, strict: settings.bucketNamingRestrictions)
        let body = try await BodyCollector.collect(call, limit: 64 * 1024)
        if !body.isEmpty {
            let root = try XMLDocument.parse(body)
            guard root.name == "CreateBucketConfiguration" else { throw S3Error(.malformedXML) }
        }
        let user = call.user
        try await storage.createBucket(name, owner: user)
        return Responses.empty(headers: [.location: "/\(name)"])
    }

    func headBucket(_ name: String) async throws -> Response {
        _ = try await storage.headBucket(name)
        var headers = HTTPFields()
        headers.set("x-amz-bucket-region", settings.region)
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

    /// Strata buckets are never versioned: AWS answers an empty configuration for such buckets.
    func getBucketVersioning(_ name: String) async throws -> Response {
        _ = try await storage.headBucket(name)
        return Responses.xml(XMLWriter(root: "VersioningConfiguration").finish())
    }

    func getBucketAcl(_ call: S3Call, _ name: String) async throws -> Response {
        let info = try await storage.headBucket(name)
        return Responses.xml(Self.ownerOnlyACL(owner: info.owner ?? call.user))
    }

    func getObjectAcl(_ call: S3Call, _ address: ObjectAddress) async throws -> Response {
        let (name, key) = (address.bucket, address.key)
        let object = try await storage.getObject(GetObjectInput(bucket: name, key: key, headOnly: true))
        var owner = object.metadata.owner
        if owner == nil { owner = try await storage.headBucket(name).owner }
        return Responses.xml(Self.ownerOnlyACL(owner: owner ?? call.user))
    }

    /// The ACL every Strata resource has: its owner holds FULL_CONTROL.
    static func ownerOnlyACL(owner: String) -> String {
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
}
