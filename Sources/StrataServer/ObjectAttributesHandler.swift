import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore

/// GetObjectAttributes: what HEAD tells, as a document, plus the parts of a multipart object (a page of them).
extension ObjectHandlers {
    func getObjectAttributes(_ admitted: AdmittedRequest, _ arguments: ObjectAttributesArguments) async throws -> Response {
        var input = GetObjectInput(bucket: arguments.object.bucket, key: arguments.object.key, headOnly: true)
        input.versionId = arguments.versionId
        input.permissionCheck = admitted.readCheck()
        let output = try await storage.getObject(input)
        let meta = output.metadata
        let wanted = arguments.attributes
        var xml = XMLWriter(root: "GetObjectAttributesResponse")
        if wanted.contains("ETag") { xml.element("ETag", output.etag) }
        if wanted.contains("Checksum"), let algorithm = meta.checksumAlgorithm, let value = meta.checksum {
            xml.group("Checksum") {
                $0.element("Checksum" + algorithm.rawValue, value)
                $0.element("ChecksumType", meta.checksumIsComposite == true ? "COMPOSITE" : "FULL_OBJECT")
            }
        }
        if wanted.contains("ObjectParts"), let sizes = meta.partSizes, let layout = meta.part(1, size: output.contentLength) {
            Self.writeParts(&xml, sizes: sizes, count: layout.count, checksums: meta.partChecksums, algorithm: meta.checksumAlgorithm, arguments)
        }
        if wanted.contains("StorageClass") { xml.element("StorageClass", "STANDARD") }
        if wanted.contains("ObjectSize") { xml.element("ObjectSize", String(output.contentLength)) }
        var response = Responses.xml(xml.finish())
        response.headers[.lastModified] = HTTPDate.rfc1123(seconds: output.lastModifiedSeconds)
        if let versionId = meta.versionId { response.headers.set("x-amz-version-id", versionId) }
        return response
    }

    /// One page of the parts, after `partNumberMarker`, at most `maxParts`.
    private static func writeParts(
        _ xml: inout XMLWriter,
        sizes runs: [[Int64]],
        count: Int,
        checksums: [String]?,
        algorithm: ChecksumAlgorithm?,
        _ arguments: ObjectAttributesArguments
    ) {
        let sizes = runs.flatMap { Array(repeating: $0[0], count: Int($0[1])) }
        let first = min(arguments.partNumberMarker, sizes.count)
        let last = min(sizes.count, first + arguments.maxParts)
        let perPart = checksums?.count == sizes.count ? checksums : nil
        xml.group("ObjectParts") { xml in
            xml.element("PartsCount", String(count))
            xml.element("PartNumberMarker", String(arguments.partNumberMarker))
            if last < sizes.count { xml.element("NextPartNumberMarker", String(last)) }
            xml.element("MaxParts", String(arguments.maxParts))
            xml.element("IsTruncated", last < sizes.count ? "true" : "false")
            for index in first..<last {
                xml.group("Part") {
                    if let perPart, let algorithm { $0.element("Checksum" + algorithm.rawValue, perPart[index]) }
                    $0.element("PartNumber", String(index + 1))
                    $0.element("Size", String(sizes[index]))
                }
            }
        }
    }
}
