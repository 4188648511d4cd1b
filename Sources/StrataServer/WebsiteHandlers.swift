import Hummingbird
import S3Protocol
import StrataStore

/// PutBucketWebsite, GetBucketWebsite, DeleteBucketWebsite: the configuration the website endpoint serves by.
extension S3Responder {
    func putBucketWebsite(_ call: S3Call, _ bucket: String) async throws -> Response {
        let body = try await BodyCollector.collect(call, limit: Self.maxCORSBody)
        try ObjectMetadataHeaders.verifyContentMD5(call.headers, body: body)
        guard !body.isEmpty else { throw S3Error(.missingRequestBody) }
        let configuration = try WebsiteConfiguration.parse(body)
        try await storage.setBucketConfiguration(bucket, .website, Array(configuration.document().utf8))
        return Responses.empty()
    }

    func getBucketWebsite(_ bucket: String) async throws -> Response {
        guard let document = try await storage.bucketConfiguration(bucket, .website) else {
            throw S3Error(.noSuchWebsiteConfiguration, details: [("BucketName", bucket)])
        }
        return Responses.xml(String(decoding: document, as: UTF8.self))
    }

    func deleteBucketWebsite(_ bucket: String) async throws -> Response {
        try await storage.setBucketConfiguration(bucket, .website, nil)
        return Responses.empty(.noContent)
    }
}
