import Foundation
import S3Protocol
import Synchronization
import Testing

@testable import StrataServer

/// Access log lines keep their format (operators parse them) and no client byte can break a line.
@Suite struct AccessLogTests {
    final class Collector: Sendable {
        let bytes = Mutex<[UInt8]>([])
        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
    }

    @Test func linesAreKeyValueFieldsWithEncodedNames() throws {
        let collector = Collector()
        let log = AccessLog(output: { batch in collector.bytes.withLock { $0.append(contentsOf: batch) } })
        log.record(
            AccessLog.Line(
                requestID: "ABC123",
                operation: "GetObject",
                method: "GET",
                bucket: "b:nested",
                key: "dir/a b\nstatus=500 é",
                status: 206,
                bytes: "4096",
                elapsed: .microseconds(12_345)
            )
        )
        log.record(
            AccessLog.Line(
                requestID: "D",
                operation: "ListBuckets",
                method: "GET",
                bucket: "",
                key: "",
                status: 200,
                bytes: "0",
                elapsed: .seconds(3) + .microseconds(7)
            )
        )
        #expect(collector.text.isEmpty)
        log.flush()
        let lines = collector.text.split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.count == 3)
        #expect(lines[2].isEmpty)
        let first = lines[0].split(separator: " ", maxSplits: 1)
        // 2026-12-02T06:18:13.123Z
        #expect(first[0].count == 24 && first[0].hasSuffix("Z") && first[0].dropFirst(10).hasPrefix("T"))
        #expect(HTTPDate.parse(String(first[0])) != nil)
        #expect(
            first[1]
                == "info request request_id=ABC123 operation=GetObject method=GET bucket=b%3Anested key=dir/a%20b%0Astatus%3D500%20%C3%A9 "
                + "status=206 bytes=4096 duration_ms=12.34"
        )
        #expect(lines[1].hasSuffix(" bucket= key= status=200 bytes=0 duration_ms=3000.00"))
    }

    @Test func decimalsArePadded() {
        var out: [UInt8] = []
        AccessLog.appendDecimal(&out, 7, width: 3)
        out.append(0x20)
        AccessLog.appendDecimal(&out, 0)
        out.append(0x20)
        AccessLog.appendDecimal(&out, 1_234_567, width: 2)
        out.append(0x20)
        AccessLog.appendDecimal(&out, Int.max)
        #expect(String(decoding: out, as: UTF8.self) == "007 0 1234567 \(Int.max)")
    }
}
