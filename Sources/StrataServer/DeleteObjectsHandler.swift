import Hummingbird
import S3Protocol
import StrataStore

/// DeleteObjects: up to 1000 keys per request, each reported as Deleted or as an Error of its own.
extension S3Responder {
    static let maxDeleteKeys = 1000

    func deleteObjects(_ call: S3Call, _ bucketName: String) async throws -> Response {
        let body = try await BodyCollector.collect(call, limit: 2 << 20)
        try ObjectMetadataHeaders.verifyContentMD5(call.headers, body: body)
        guard !body.isEmpty else { throw S3Error(.missingRequestBody) }
        let root = try XMLDocument.parse(body)
        guard root.name == "Delete" else { throw S3Error(.malformedXML) }
        let quiet = root.child("Quiet")?.text.trimmingSpaces().lowercased() == "true"
        let objects = root.children("Object")
        guard !objects.isEmpty, objects.count <= Self.maxDeleteKeys else { throw S3Error(.malformedXML) }
        var keys: [String] = []
        var conditions: [String: DeleteCondition] = [:]
        for object in objects {
            guard let key = object.child("Key")?.text, !key.isEmpty else { throw S3Error(.malformedXML) }
            keys.append(key)
            let condition = try Self.deleteCondition(object)
            if !condition.isEmpty { conditions[key] = condition }
        }
        // Keys the permission model refuses are reported as AccessDenied, the others deleted.
        var allowed: [String] = []
        var refused: Set<String> = []
        let caller = checkedCaller(call)
        for key in keys {
            if await mayWrite(caller, bucket: bucketName, key: key) { allowed.append(key) } else { refused.insert(key) }
        }
        let deleted = try await storage.deleteObjects(bucket: bucketName, keys: allowed.filter { conditions[$0] == nil })
        var results: [String: S3Error?] = [:]
        for outcome in deleted { results[outcome.key] = outcome.error }
        // Entries with their own condition (ETag, LastModifiedTime, Size) are deleted one by one, each checked.
        for key in allowed {
            guard let condition = conditions[key] else { continue }
            do {
                try await storage.deleteObject(bucket: bucketName, key: key, condition: condition)
                results[key] = .some(nil)
            } catch let error as S3Error {
                results[key] = error
            }
        }
        let outcomes: [(key: String, error: S3Error?)] = keys.map { key in
            refused.contains(key) ? (key, S3Error(.accessDenied)) : (key, results[key] ?? nil)
        }
        var xml = XMLWriter(root: "DeleteResult")
        for (key, error) in outcomes {
            if let error {
                xml.group("Error") {
                    $0.element("Key", key)
                    $0.element("Code", error.code.rawValue)
                    $0.element("Message", error.message)
                }
            } else if !quiet {
                xml.group("Deleted") { $0.element("Key", key) }
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
