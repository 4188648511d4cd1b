import Hummingbird
import S3Protocol
import StrataStore

/// DeleteObjects: up to 1000 keys per request, each reported as Deleted or as an Error of its own.
extension S3Responder {
    static let maxDeleteKeys = 1000

    func deleteObjects(_ call: S3Call) async throws -> Response {
        let bucketName = try call.bucket()
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
        let bucket = try await openBucket(bucketName)
        var upstreamFailures: [String: S3Error] = [:]
        if tiering != nil {
            // Upstream deletes run 16 at a time: a 1000-key request should not wait for 1000 round trips in a row.
            let valid = keys.filter { (try? ObjectKey.validate($0, isReserved: ReservedNames.isReserved)) != nil }
            upstreamFailures = await withTaskGroup(of: (String, S3Error?).self) { group in
                var failures: [String: S3Error] = [:]
                var running = 0
                for key in valid {
                    if running == 16, let (done, error) = await group.next() {
                        running -= 1
                        if let error { failures[done] = error }
                    }
                    group.addTask {
                        do {
                            try await deleteUpstream(bucketName, key)
                            return (key, nil)
                        } catch let error as S3Error {
                            return (key, error)
                        } catch {
                            return (key, S3Error(.internalError))
                        }
                    }
                    running += 1
                }
                for await (done, error) in group { if let error { failures[done] = error } }
                return failures
            }
        }
        let failed = upstreamFailures
        let outcomes: [(String, S3Error?)] = try await io.run { [store] in
            keys.map { key in
                do {
                    try ObjectKey.validate(key, isReserved: ReservedNames.isReserved)
                    if let failure = failed[key] { throw failure }
                    try store.deleteObject(bucket: bucket, key: key)
                    return (key, nil)
                } catch let error as S3Error {
                    return (key, error)
                } catch {
                    return (key, S3Error(.internalError))
                }
            }
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
