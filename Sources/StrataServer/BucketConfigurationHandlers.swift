import Hummingbird
import S3Protocol
import StrataStore

/// The configuration documents a bucket keeps (CORS rules, the website, the versioning status): put, get and delete
/// work alike for each, the document parsed and stored in the canonical form its Get returns. Preflights and the
/// CORS headers on responses are the responder's (CORSResponses.swift).
struct BucketConfigurationHandlers {
    static let maxConfigurationBody = 64 * 1024

    let storage: any ObjectStorage

    /// PutBucketCors, PutBucketWebsite, PutBucketVersioning: the body (Content-MD5 checked, not empty) parsed, and
    /// stored in its canonical form.
    func putDocument(_ admitted: AdmittedRequest, _ bucket: String, _ name: BucketConfigurationName) async throws -> Response {
        let body = try await BodyCollector.collect(admitted.call, limit: Self.maxConfigurationBody)
        try ObjectMetadataHeaders.verifyContentMD5(admitted.call.headers, body: body)
        guard !body.isEmpty else { throw S3Error(.missingRequestBody) }
        try await storage.setBucketConfiguration(bucket, name, Array(try name.canonical(body).utf8))
        return Responses.empty()
    }

    /// GetBucketCors, GetBucketWebsite: the stored document, or the document's own error (with the bucket's name)
    /// when there is none.
    func getDocument(_ admitted: AdmittedRequest, _ bucket: String, _ name: BucketConfigurationName) async throws -> Response {
        guard let document = try await storage.bucketConfiguration(bucket, name) else {
            throw S3Error(name.missing, details: [("BucketName", bucket)])
        }
        return Responses.xml(String(decoding: document, as: UTF8.self))
    }

    /// DeleteBucketCors, DeleteBucketWebsite: NoSuchBucket comes from the store, which opens the bucket to change it.
    func deleteDocument(_ admitted: AdmittedRequest, _ bucket: String, _ name: BucketConfigurationName) async throws -> Response {
        try await storage.setBucketConfiguration(bucket, name, nil)
        return Responses.empty(.noContent)
    }

    /// A bucket that never had versioning answers an empty configuration, as AWS does.
    func getBucketVersioning(_ admitted: AdmittedRequest, _ bucket: String) async throws -> Response {
        var xml = XMLWriter(root: "VersioningConfiguration")
        if let status = try await Self.versioningStatus(bucket, in: storage) { xml.element("Status", status.rawValue) }
        return Responses.xml(xml.finish())
    }

    /// The bucket's versioning status; nil when versioning was never turned on. DeleteObjects and
    /// CompleteMultipartUpload ask it too.
    static func versioningStatus(_ bucket: String, in storage: any ObjectStorage) async throws -> VersioningStatus? {
        try await storage.bucketConfiguration(bucket, .versioning).flatMap { VersioningStatus(rawValue: String(decoding: $0, as: UTF8.self)) }
    }
}

extension BucketConfigurationName {
    /// The document to store for a Put body, in the form Get answers.
    func canonical(_ body: [UInt8]) throws(S3Error) -> String {
        switch self {
        case .cors: try CORSConfiguration.parse(body).document()
        case .website: try WebsiteConfiguration.parse(body).document()
        case .versioning: try VersioningStatus.parseConfiguration(body).rawValue
        }
    }

    /// What Get answers for a bucket without the document (a bucket without versioning has an empty configuration
    /// instead: `getBucketVersioning`).
    var missing: S3ErrorCode {
        switch self {
        case .cors: .noSuchCORSConfiguration
        case .website: .noSuchWebsiteConfiguration
        case .versioning: .internalError
        }
    }
}
