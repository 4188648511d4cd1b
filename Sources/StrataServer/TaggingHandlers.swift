import Hummingbird
import S3Protocol
import StrataStore

/// Object and bucket tagging, and the `x-amz-tagging` header used by PutObject, CopyObject and
/// CreateMultipartUpload (and the `tagging` field of browser forms).
struct TaggingHandlers {
    static let maxTaggingBody = 64 * 1024

    let storage: any ObjectStorage
    let settings: ServerSettings

    static func objectTagLimits(_ settings: ServerSettings) -> TagSet.Limits {
        TagSet.Limits(maxTags: 10, enforced: settings.taggingRestrictions)
    }

    static func bucketTagLimits(_ settings: ServerSettings) -> TagSet.Limits {
        TagSet.Limits(maxTags: 50, enforced: settings.taggingRestrictions)
    }

    /// Tags from `x-amz-tagging`, validated; nil when the header is absent.
    static func headerTags(_ call: S3Call, _ settings: ServerSettings) throws(S3Error) -> TagSet? {
        guard let header = call.header("x-amz-tagging") else { return nil }
        if settings.taggingHeaderMaxSize > 0 && header.utf8.count > settings.taggingHeaderMaxSize {
            throw S3Error(.metadataTooLarge, "The x-amz-tagging header is larger than \(settings.taggingHeaderMaxSize) bytes.")
        }
        let tags = try TagSet.parseHeader(header)
        try tags.validate(objectTagLimits(settings))
        return tags
    }

    func getObjectTagging(_ admitted: AdmittedRequest, _ object: ObjectAddress) async throws -> Response {
        Responses.xml(try await storage.objectTagging(bucket: object.bucket, key: object.key).xml())
    }

    func putObjectTagging(_ admitted: AdmittedRequest, _ object: ObjectAddress) async throws -> Response {
        _ = try await storage.headBucket(object.bucket)
        let tags = try await bodyTags(admitted.call, limits: Self.objectTagLimits(settings))
        try await storage.setObjectTagging(bucket: object.bucket, key: object.key, tags: tags)
        return Responses.empty()
    }

    func deleteObjectTagging(_ admitted: AdmittedRequest, _ object: ObjectAddress) async throws -> Response {
        try await storage.setObjectTagging(bucket: object.bucket, key: object.key, tags: nil)
        return Responses.empty(.noContent)
    }

    func getBucketTagging(_ admitted: AdmittedRequest, _ bucket: String) async throws -> Response {
        let tags = try await storage.bucketTagging(bucket)
        guard !tags.isEmpty else { throw S3Error(.noSuchTagSet, details: [("BucketName", bucket)]) }
        return Responses.xml(tags.xml())
    }

    func putBucketTagging(_ admitted: AdmittedRequest, _ bucket: String) async throws -> Response {
        _ = try await storage.headBucket(bucket)
        let tags = try await bodyTags(admitted.call, limits: Self.bucketTagLimits(settings))
        try await storage.setBucketTagging(bucket, tags: tags)
        return Responses.empty(.noContent)
    }

    func deleteBucketTagging(_ admitted: AdmittedRequest, _ bucket: String) async throws -> Response {
        try await storage.setBucketTagging(bucket, tags: nil)
        return Responses.empty(.noContent)
    }

    private func bodyTags(_ call: S3Call, limits: TagSet.Limits) async throws -> TagSet {
        let body = try await BodyCollector.collect(call, limit: Self.maxTaggingBody)
        try ObjectMetadataHeaders.verifyContentMD5(call.headers, body: body)
        guard !body.isEmpty else { throw S3Error(.missingRequestBody) }
        let tags = try TagSet.parseXML(body)
        try tags.validate(limits)
        return tags
    }
}
