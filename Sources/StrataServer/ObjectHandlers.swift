import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore

/// PutObject, GetObject, HeadObject, DeleteObject; CopyObject, DeleteObjects and GetObjectAttributes in files of
/// their own. The input building and answer headers here are shared with browser forms (PostObjectHandler.swift),
/// the inline read path (InlineReads.swift) and the website listener.
struct ObjectHandlers {
    let storage: any ObjectStorage
    let settings: ServerSettings
    /// Gives new objects their owner, group and mode.
    let gate: AuthorizationGate
    /// Alluxio's global read rate limit, shared by every GET (nil: none).
    let globalReadLimiter: RateLimiter?

    func putObject(_ admitted: AdmittedRequest, _ object: ObjectAddress, condition: WriteCondition) async throws -> Response {
        let call = admitted.call
        let framing = try BodyFraming.of(call)
        var input = try putInput(admitted, object, condition: condition)
        input.tags = try TaggingHandlers.headerTags(call, settings)
        let output = try await storage.putObject(input, body: RequestPayload(call: call, framing: framing))
        return Responses.empty(headers: Self.putHeaders(output))
    }

    /// What a PutObject's headers (or a browser form's fields, as headers) ask to be stored.
    func putInput(_ admitted: AdmittedRequest, _ object: ObjectAddress, condition: WriteCondition) throws(S3Error) -> PutObjectInput {
        let call = admitted.call
        var metadata = try ObjectMetadataHeaders.from(call.headers, owner: call.user, userMetadataLimit: settings.userMetadataMaxSize)
        metadata.permission = try gate.newPermission(admitted, directory: object.key.hasSuffix("/"))
        return PutObjectInput(
            bucket: object.bucket,
            key: object.key,
            metadata: metadata,
            contentMD5: try ObjectMetadataHeaders.contentMD5(call.headers),
            checksum: try ChecksumRequest.of(call),
            condition: condition
        )
    }

    static func putHeaders(_ output: PutObjectOutput) -> HTTPFields {
        var headers: HTTPFields = [.eTag: "\"\(output.etag)\""]
        if let (algorithm, value) = output.checksum { headers.set(algorithm.headerName, value) }
        if let persistence = output.persistence { headers.set("x-strata-persistence", persistence) }
        if let versionId = output.versionId, versionId != VersionID.null { headers.set("x-amz-version-id", versionId) }
        return headers
    }

    /// GetObject, and HeadObject (`head`).
    func getObject(_ admitted: AdmittedRequest, _ read: ReadArguments, head: Bool) async throws -> Response {
        let output = try await storage.getObject(Self.getInput(admitted, read, head: head))
        let (status, headers) = Self.getAnswer(admitted.call, read, output)
        guard let body = output.body else { return Response(status: status, headers: headers, body: ResponseBody()) }
        if case .buffer(let buffer) = body, globalReadLimiter == nil, settings.connectionReadRateLimitMB <= 0 {
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
        }
        return Response(status: status, headers: headers, body: Responses.stream(body, limiters: readLimiters()))
    }

    /// The limiters a GET body passes: the server-wide one and one for this response's connection.
    private func readLimiters() -> [RateLimiter] {
        [globalReadLimiter, RateLimiter(megabytesPerSecond: settings.connectionReadRateLimitMB)].compactMap { $0 }
    }

    /// The store's input for a GET or HEAD, carrying the read check the gate left for the store to run.
    static func getInput(_ admitted: AdmittedRequest, _ read: ReadArguments, head: Bool) -> GetObjectInput {
        var input = GetObjectInput(
            bucket: read.object.bucket,
            key: read.object.key,
            headOnly: head,
            conditions: read.conditions,
            range: read.range,
            rangeHeader: read.rangeHeader,
            partNumber: read.partNumber
        )
        input.versionId = read.versionId
        input.permissionCheck = admitted.readCheck()
        return input
    }

    /// The status and headers of a GET or HEAD answer (a 304 with its length 0), on the pooled and inline paths alike.
    static func getAnswer(_ call: S3Call, _ read: ReadArguments, _ output: GetObjectOutput) -> (HTTPResponse.Status, HTTPFields) {
        var headers = Responses.objectHeaders(output, query: call.query)
        let status = Responses.objectStatus(output)
        if status == .notModified {
            headers[.contentLength] = "0"
            return (status, headers)
        }
        if output.tagCount > 0 { headers.set("x-amz-tagging-count", String(output.tagCount)) }
        if let versionId = output.metadata.versionId { headers.set("x-amz-version-id", versionId) }
        if let persistence = output.persistence { headers.set("x-strata-persistence", persistence) }
        if let partsCount = output.partsCount { headers.set("x-amz-mp-parts-count", String(partsCount)) }
        if call.header("x-amz-checksum-mode")?.uppercased() == "ENABLED", let algorithm = output.metadata.checksumAlgorithm {
            // The whole object's checksum, or with partNumber that part's own; never one for a byte range.
            let value: String? =
                if let part = read.partNumber {
                    output.metadata.partChecksums.flatMap { part <= $0.count ? $0[part - 1] : nil }
                } else {
                    status == .ok ? output.metadata.checksum : nil
                }
            if let value {
                headers.set(algorithm.headerName, value)
                headers.set("x-amz-checksum-type", output.metadata.checksumIsComposite == true ? "COMPOSITE" : "FULL_OBJECT")
            }
        }
        return (status, headers)
    }

    func deleteObject(_ admitted: AdmittedRequest, _ object: ObjectAddress, condition: DeleteCondition, versionId: String?) async throws -> Response {
        let deleted = try await storage.deleteVersioned(bucket: object.bucket, key: object.key, versionId: versionId, condition: condition)
        return Responses.empty(.noContent, headers: Self.deletedHeaders(deleted))
    }

    /// `x-amz-version-id` and `x-amz-delete-marker` of a DeleteObject answer.
    static func deletedHeaders(_ deleted: DeletedVersion) -> HTTPFields {
        var headers = HTTPFields()
        if let id = deleted.versionId { headers.set("x-amz-version-id", id) }
        if deleted.isDeleteMarker { headers.set("x-amz-delete-marker", "true") }
        return headers
    }
}
