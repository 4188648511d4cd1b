import Foundation
import Testing

@testable import S3Protocol

/// Browser-form uploads: the multipart/form-data framing and the policy document.
@Suite struct FormUploadTests {
    static func parse(_ body: String, boundary: String = "XyZ", readSize: Int = .max) throws -> [FormDataParser.Event] {
        var parser = try FormDataParser(boundary: boundary)
        var events: [FormDataParser.Event] = []
        let bytes = Array(body.utf8)
        var offset = 0
        repeat {
            let end = min(bytes.count, offset &+ readSize)
            bytes[offset..<end].withUnsafeBytes { parser.append($0) }
            offset = end
            while let event = try parser.next() {
                if case .data(let more) = event, case .data(let earlier)? = events.last {
                    events[events.count - 1] = .data(earlier + more)
                } else {
                    events.append(event)
                }
            }
        } while offset < bytes.count
        try parser.finish()
        return events
    }

    @Test func partsAndFileBytesWhateverTheReadSize() throws {
        let body =
            "ignored preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n"
            + "--XyZ \t\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".txt\"\r\nContent-Type: text/plain\r\n\r\n"
            + "line\r\n--XyY\r\n--Xy\r\n--XyZ--\r\nepilogue"
        let expected: [FormDataParser.Event] = [
            .part(FormPartHead(name: "key")), .data(Array("uploads/${filename}".utf8)), .partEnd,
            .part(FormPartHead(name: "file", filename: "a \"q\".txt", contentType: "text/plain")), .data(Array("line\r\n--XyY\r\n--Xy".utf8)),
            .partEnd, .end,
        ]
        for size in [1, 2, 3, 5, 7, 64, .max] { #expect(try Self.parse(body, readSize: size) == expected, "read size \(size)") }
    }

    @Test func malformedBodiesAreMalformedPOSTRequest() {
        for body in [
            "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno closing boundary",
            "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",  // a part without a name
            "--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--",
            "--XyZjunk\r\n",
            String(repeating: "x", count: 70_000),
        ] {
            #expect(throws: S3Error.self, "\(body.prefix(40))") { try Self.parse(body) }
        }
        #expect(throws: S3Error.self) { try FormDataParser(boundary: "") }
        #expect(throws: S3Error.self) { try FormDataParser(boundary: String(repeating: "b", count: 71)) }
    }

    @Test func boundaryComesFromAFormContentType() {
        #expect(FormDataParser.boundary(contentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(FormDataParser.boundary(contentType: "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b\"") == "a b")
        #expect(FormDataParser.boundary(contentType: "multipart/mixed; boundary=abc") == nil)
        #expect(FormDataParser.boundary(contentType: "multipart/form-data") == nil)
    }

    static func policy(_ json: String) throws(S3Error) -> PostPolicy { try PostPolicy.parse(Array(json.utf8)) }

    @Test func policyConditionsAndCoverage() throws {
        let policy = try Self.policy(
            """
            {"expiration": "2030-01-01T00:00:00.000Z", "conditions": [{"bucket": "b"}, ["StArTs-WiTh", "$KeY", "up/"],
             {"acl": "private"}, ["eq", "$x-amz-meta-a", "1"], ["content-length-range", "10", 20]]}
            """
        )
        #expect(policy.expiration == 1_893_456_000)
        #expect(policy.contentLengthRange == 10...20)
        let fields = ["bucket": "b", "key": "up/x", "acl": "private", "x-amz-meta-a": "1", "policy": "p", "x-ignore-me": "1"]
        try policy.check(fields: fields, now: 0)
        let failing: [[String: String]] = [
            fields.merging(["key": "down/x"]) { $1 }, fields.merging(["acl": "public-read"]) { $1 },
            fields.filter { $0.key != "x-amz-meta-a" }, fields.merging(["x-amz-meta-b": "2"]) { $1 },
        ]
        for bad in failing + [fields] {
            let now: Int64 = bad == fields ? 1_893_456_000 : 0  // the unchanged fields fail only once expired
            do {
                try policy.check(fields: bad, now: now)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.code == .accessDenied)
            }
        }
    }

    /// `é` as one code point (NFC) and as `e` with a combining accent (NFD) are two keys on disk: a policy that
    /// names one spelling must not admit the other, neither by `eq` nor by `starts-with`.
    @Test func conditionsCompareUTF8BytesNotCanonicalEquivalence() throws {
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        #expect(nfc == nfd)  // what Swift's String comparison would have accepted
        let policy = try Self.policy(
            """
            {"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "$key", "\(nfc)/x"], ["starts-with", "$x-amz-meta-a", "\(nfc)"]]}
            """
        )
        try policy.check(fields: ["key": nfc + "/x", "x-amz-meta-a": nfc + "!"], now: 0)
        for fields in [["key": nfd + "/x", "x-amz-meta-a": nfc], ["key": nfc + "/x", "x-amz-meta-a": nfd + "!"]] {
            #expect(throws: S3Error.self, "accepted \(fields)") { try policy.check(fields: fields, now: 0) }
        }
        let typed = try Self.policy(#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["starts-with", "$Content-Type", "t\#(nfc)"]]}"#)
        try typed.check(fields: ["content-type": "t\(nfc)/a, t\(nfc)/b"], now: 0)
        #expect(throws: S3Error.self) { try typed.check(fields: ["content-type": "t\(nfc)/a, t\(nfd)/b"], now: 0) }
    }

    @Test func malformedPoliciesAreInvalidPolicyDocument() {
        for json in [
            "not json", "[]", #"{"conditions": []}"#, #"{"expiration": "2030-01-01 00:00:00", "conditions": []}"#,
            #"{"EXPIRATION": "2030-01-01T00:00:00Z", "conditions": []}"#, #"{"expiration": "2030-01-01T00:00:00Z"}"#,
            #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{}]}"#,
            #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 5]]}"#,
            #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 5, 1]]}"#,
            #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 1e300, 1e301]]}"#,
            #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "key", "x"]]}"#,
            #"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["in", "$key", "x"]]}"#,
        ] {
            do {
                _ = try Self.policy(json)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.code == .invalidPolicyDocument, "\(json)")
            }
        }
    }
}
