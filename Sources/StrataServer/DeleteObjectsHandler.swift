import Hummingbird
import S3Protocol
import StrataStore

/// DeleteObjects: up to 1000 keys per request, each reported as Deleted or as an Error of its own.
extension ObjectHandlers {
    static let maxDeleteKeys = 1000

    func deleteObjects(_ admitted: AdmittedRequest, _ bucketName: String) async throws -> Response {
        let call = admitted.call
        let body = try await BodyCollector.collect(call, limit: 2 << 20)
        try ObjectMetadataHeaders.verifyContentMD5(call.headers, body: body)
        guard !body.isEmpty else { throw S3Error(.missingRequestBody) }
        let root = try XMLDocument.parse(body)
        guard root.name == "Delete" else { throw S3Error(.malformedXML) }
        let quiet = root.child("Quiet")?.text.trimmingSpaces().lowercased() == "true"
        let objects = root.children("Object")
        guard !objects.isEmpty, objects.count <= Self.maxDeleteKeys else { throw S3Error(.malformedXML) }
        var entries: [(key: String, versionId: String?, condition: DeleteCondition)] = []
        for object in objects {
            guard let key = object.child("Key")?.text, !key.isEmpty else { throw S3Error(.malformedXML) }
            let versionId = try object.child("VersionId").map { (element) throws(S3Error) -> String in
                guard VersionID.isWellFormed(element.text) else { throw S3Error(.invalidArgument, "Invalid version id specified") }
                return element.text
            }
            entries.append((key, versionId, try Self.deleteCondition(object)))
        }
        // Keys the permission model refuses are reported as AccessDenied, the others deleted.
        var refused: Set<String> = []
        for key in Set(entries.map(\.key)) where await !admitted.mayDelete(bucket: bucketName, key: key) { refused.insert(key) }
        var outcomes = [(error: S3Error?, deleted: DeletedVersion)](repeating: (nil, DeletedVersion()), count: entries.count)
        // In a bucket with versioning, and for entries naming a version or a condition (ETag, LastModifiedTime,
        // Size), each entry is its own DeleteObject; the rest go to the store together.
        let versioned = try await BucketConfigurationHandlers.versioningStatus(bucketName, in: storage) != nil
        var plain: [Int] = []
        for (index, entry) in entries.enumerated() {
            if refused.contains(entry.key) {
                outcomes[index].error = S3Error(.accessDenied)
            } else if versioned || entry.versionId != nil || !entry.condition.isEmpty {
                do {
                    outcomes[index].deleted = try await storage.deleteVersioned(
                        bucket: bucketName,
                        key: entry.key,
                        versionId: entry.versionId,
                        condition: entry.condition
                    )
                } catch let error as S3Error {
                    outcomes[index].error = error
                }
            } else {
                plain.append(index)
            }
        }
        let deleted = try await storage.deleteObjects(bucket: bucketName, keys: plain.map { entries[$0].key })
        for (index, outcome) in zip(plain, deleted) { outcomes[index].error = outcome.error }
        var xml = XMLWriter(root: "DeleteResult")
        for (entry, outcome) in zip(entries, outcomes) {
            if let error = outcome.error {
                xml.group("Error") {
                    $0.element("Key", entry.key)
                    if let versionId = entry.versionId { $0.element("VersionId", versionId) }
                    $0.element("Code", error.code.rawValue)
                    $0.element("Message", error.message)
                }
            } else if !quiet {
                xml.group("Deleted") {
                    $0.element("Key", entry.key)
                    if let versionId = entry.versionId { $0.element("VersionId", versionId) }
                    if outcome.deleted.isDeleteMarker {
                        $0.element("DeleteMarker", true)
                        if let marker = outcome.deleted.versionId { $0.element("DeleteMarkerVersionId", marker) }
                    }
                }
            }
        }
        return Responses.xml(xml.finish())
    }

    /// An `Object` entry's conditions: `ETag`, `LastModifiedTime` (ISO 8601) and `Size`.
    static func deleteCondition(_ object: XMLElement) throws(S3Error) -> DeleteCondition {
        var condition = DeleteCondition(ifMatch: object.child("ETag")?.text)
        if let text = object.child("LastModifiedTime")?.text {
            guard let seconds = HTTPDate.parse(text) else { throw S3Error(.malformedXML) }
            condition.lastModifiedSeconds = seconds
        }
        if let text = object.child("Size")?.text {
            guard let size = DecimalNumber.parse(text, in: 0...Int64.max) else { throw S3Error(.malformedXML) }
            condition.size = size
        }
        return condition
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
