import Foundation
import HTTPTypes
import Hummingbird
import Logging
import S3Protocol
import StrataStore

/// ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation. Bucket ACLs: ACLHandlers.swift; the
/// versioning, CORS and website documents: BucketConfigurationHandlers.swift.
struct BucketHandlers {
    let storage: any ObjectStorage
    let settings: ServerSettings
    /// Gives new buckets their owner, group and mode.
    let gate: AuthorizationGate

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

    func headBucket(_ admitted: AdmittedRequest, _ name: String) async throws -> Response {
        _ = try await storage.headBucket(name)
        var headers = HTTPFields()
        headers.set("x-amz-bucket-region", settings.region)
        if admitted.call.query["read-stats"] == "true" {
            // Ceph RGW's extension: the bucket's object count and bytes, from a walk of what the caller may list.
            var (count, bytes): (Int64, Int64) = (0, 0)
            var startAfter: String?
            repeat {
                var input = ListObjectsInput(bucket: name, prefix: "", delimiter: nil, startAfter: startAfter, maxKeys: 1000)
                input.viewer = admitted.listingCaller
                let page = try await storage.listObjects(input).page
                count += Int64(page.contents.count)
                bytes = page.contents.reduce(bytes) { $0 &+ $1.size }
                startAfter = page.isTruncated ? page.lastItem : nil
            } while startAfter != nil
            headers.set("x-rgw-object-count", String(count))
            headers.set("x-rgw-bytes-used", String(bytes))
        }
        return Responses.empty(headers: headers)
    }

    func deleteBucket(_ admitted: AdmittedRequest, _ name: String) async throws -> Response {
        try await storage.deleteBucket(name)
        return Responses.empty(.noContent)
    }

    func getBucketLocation(_ admitted: AdmittedRequest, _ name: String) async throws -> Response {
        _ = try await storage.headBucket(name)
        // AWS reports us-east-1 as an empty constraint.
        let region = settings.region == "us-east-1" ? "" : settings.region
        return Responses.xml(XMLWriter.textDocument(root: "LocationConstraint", text: region))
    }
}
