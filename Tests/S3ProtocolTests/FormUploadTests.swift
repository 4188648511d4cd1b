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

    /// Feeds `body` through the parser in reads of `readSize` and the events to `FormFields`, as PostObject reads a
    /// form before authenticating it: the error that ends it (nil once the file part began or the body ended), the
    /// fields, and the most input the parser kept between reads.
    static func collect(_ body: [UInt8], readSize: Int) -> (code: S3ErrorCode?, form: FormFields, retained: Int) {
        var form = FormFields()
        var retained = 0
        do {
            var parser = try FormDataParser(boundary: "XyZ")
            var offset = 0
            while offset < body.count {
                let end = min(body.count, offset + readSize)
                body[offset..<end].withUnsafeBytes { parser.append($0) }
                offset = end
                while let event = try parser.next() {
                    if try form.take(event, consumedBytes: parser.consumedBytes) { return (nil, form, retained) }
                }
                retained = max(retained, parser.retainedBytes)
            }
        } catch {
            return (error.code, form, retained)
        }
        return (nil, form, retained)
    }

    static func part(_ name: String, _ value: String = "", extra: String = "") -> String {
        "--XyZ\r\nContent-Disposition: form-data; name=\"\(name)\"\(extra)\r\n\r\n\(value)\r\n"
    }

    static let file = part("file", "content", extra: "; filename=\"f.txt\"") + "--XyZ--\r\n"

    @Test func emptyPartsAndLongNamesCountTowardTheBoundBeforeTheFile() {
        // 1,000 empty parts: no value bytes at all, yet they stop the form once their own bytes pass the bound.
        let empty = Self.collect(Array(((0..<1000).map { Self.part("f\($0)") }.joined() + Self.file).utf8), readSize: 4096)
        #expect(empty.code == .maxPostPreDataLengthExceeded)
        #expect(empty.form.fields.count < 500 && empty.form.file == nil)
        // A long name with a value that alone would fit: the name counts too.
        let named = Self.collect(
            Array((Self.part(String(repeating: "n", count: 15_000), String(repeating: "v", count: 6_000)) + Self.file).utf8),
            readSize: 4096
        )
        #expect(named.code == .maxPostPreDataLengthExceeded)
        // A head longer than a part's header block is malformed, whatever follows.
        let huge = Self.collect(Array((Self.part(String(repeating: "n", count: 17_000)) + Self.file).utf8), readSize: 4096)
        #expect(huge.code == .malformedPOSTRequest)
        // A head that never ends is refused once past the block's bound, holding no more than that bound.
        let endless = Self.collect(
            Array(("--XyZ\r\nContent-Disposition: form-data; name=\"" + String(repeating: "n", count: 1 << 20)).utf8),
            readSize: 4096
        )
        #expect(endless.code == .malformedPOSTRequest && endless.retained <= FormDataParser.maxRetained)
        // A form just under the bound, with its file, is read whole.
        let fits = Self.collect(
            Array((Self.part("Policy", String(repeating: "p", count: 19_000)) + Self.part("key", "k") + Self.file).utf8),
            readSize: 1000
        )
        #expect(fits.code == nil && fits.form.file?.filename == "f.txt")
        #expect(fits.form.fields["policy"]?.utf8.count == 19_000 && fits.form.fields["key"] == "k")
        // Field errors are still precise.
        let twice = Self.collect(Array((Self.part("key", "a") + Self.part("KEY", "b") + Self.file).utf8), readSize: 64)
        #expect(twice.code == .invalidArgument)
    }

    @Test func theParserKeepsBoundedInputBetweenReadsWhateverTheBody() throws {
        let megabyte = 1 << 20
        let bodies: [(String, [UInt8])] = [
            ("no boundary", [UInt8](repeating: UInt8(ascii: "x"), count: megabyte)),
            ("endless padding", Array("--XyZ".utf8) + [UInt8](repeating: 32, count: megabyte)),
            ("endless head", Array("--XyZ\r\nX-A: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: megabyte)),
            ("unclosed file", Array(Self.part("file", extra: "; filename=\"f\"").dropLast(2).utf8) + [UInt8](repeating: 45, count: 4 * megabyte)),
            ("empty parts", Array((0..<20_000).map { _ in Self.part("a") }.joined().utf8)),
        ]
        for (name, body) in bodies {
            for readSize in [1000, 65536] {
                var parser = try FormDataParser(boundary: "XyZ")
                var offset = 0
                var retained = 0
                reading: while offset < body.count {
                    let end = min(body.count, offset + readSize)
                    body[offset..<end].withUnsafeBytes { parser.append($0) }
                    offset = end
                    do {
                        while try parser.next() != nil {}
                    } catch {
                        break reading
                    }
                    retained = max(retained, parser.retainedBytes)
                }
                #expect(retained <= FormDataParser.maxRetained, "\(name), reads of \(readSize): kept \(retained) bytes")
            }
        }
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
