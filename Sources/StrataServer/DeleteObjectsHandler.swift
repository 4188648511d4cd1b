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
        let keys: [String] = try objects.map { object throws(S3Error) in
            guard let key = object.child("Key")?.text, !key.isEmpty else { throw S3Error(.malformedXML) }
            return key
        }
        // Keys the permission model refuses are reported as AccessDenied, the others deleted.
        var allowed: [String] = []
        var refused: Set<String> = []
        let caller = checkedCaller(call)
        for key in keys {
            if await mayWrite(caller, bucket: bucketName, key: key) { allowed.append(key) } else { refused.insert(key) }
        }
        let deleted = try await storage.deleteObjects(bucket: bucketName, keys: allowed)
        var results: [String: S3Error?] = [:]
        for outcome in deleted { results[outcome.key] = outcome.error }
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
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
