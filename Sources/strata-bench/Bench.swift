import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Load generator for Strata's benchmarks: runs fixed workloads against a running server and prints one JSON
/// object of results. `scripts/bench` starts the server, runs this and compares with benchmarks/baseline.json.
@main
struct Bench: AsyncParsableCommand {
    @Option(help: "S3 endpoint of a running strata (SIMPLE auth).") var endpoint = "http://127.0.0.1:39999"
    @Option(help: "Concurrent requests.") var concurrency = 8
    @Option(help: "Seconds each workload runs.") var seconds = 5.0

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(60))))
        do {
            try await runWorkloads(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func runWorkloads(_ client: HTTPClient) async throws {
        let bucket = "bench-\(UInt32.random(in: 0...UInt32.max))"
        try await request(client, .PUT, "/\(bucket)")
        var results: [String: Double] = [:]

        let small = ByteBuffer(repeating: 0x61, count: 4096)
        results["put_4KiB_ops_per_s"] = try await measure { i in
            try await self.request(client, .PUT, "/\(bucket)/small/\(i)", body: small)
        }.opsPerSecond
        let smallCount = 2000
        try await parallel(smallCount) { i in try await self.request(client, .PUT, "/\(bucket)/s/\(i)", body: small) }
        results["get_4KiB_ops_per_s"] = try await measure { i in
            try await self.request(client, .GET, "/\(bucket)/s/\(i % smallCount)")
        }.opsPerSecond
        results["head_ops_per_s"] = try await measure { i in
            try await self.request(client, .HEAD, "/\(bucket)/s/\(i % smallCount)")
        }.opsPerSecond

        let big = ByteBuffer(repeating: 0x62, count: 16 << 20)
        let put = try await measure { i in try await self.request(client, .PUT, "/\(bucket)/big/\(i % 32)", body: big) }
        results["put_16MiB_MiB_per_s"] = put.opsPerSecond * 16
        let get = try await measure { i in try await self.request(client, .GET, "/\(bucket)/big/\(i % 32)") }
        results["get_16MiB_MiB_per_s"] = get.opsPerSecond * 16
        results["range_64KiB_ops_per_s"] = try await measure { i in
            let start = (i * 7919 % 250) * 65536
            try await self.request(client, .GET, "/\(bucket)/big/\(i % 32)", headers: [("range", "bytes=\(start)-\(start + 65535)")])
        }.opsPerSecond
        results["list_1000_keys_pages_per_s"] = try await measure { _ in
            try await self.request(client, .GET, "/\(bucket)?list-type=2&prefix=s/&max-keys=1000")
        }.opsPerSecond

        let json = try JSONSerialization.data(withJSONObject: results.mapValues { ($0 * 10).rounded() / 10 }, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: json, as: UTF8.self))
    }

    struct Measurement {
        var operations: Int
        var elapsed: Double
        var opsPerSecond: Double { Double(operations) / elapsed }
    }

    /// Runs `body` with `concurrency` workers for `seconds`; each call gets a distinct index.
    func measure(_ body: @escaping @Sendable (Int) async throws -> Void) async throws -> Measurement {
        let start = Date()
        let deadline = start.addingTimeInterval(seconds)
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while Date() < deadline {
                        try await body(counter.next())
                    }
                }
            }
            try await group.waitForAll()
        }
        return Measurement(operations: counter.value, elapsed: Date().timeIntervalSince(start))
    }

    func parallel(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let i = counter.next()
                        if i >= count { return }
                        try await body(i)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// One request; anything but 2xx stops the benchmark.
    func request(_ client: HTTPClient, _ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil, headers: [(String, String)] = []) async throws {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = method
        request.headers.add(
            name: "authorization",
            value: "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
        )
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(body)
            request.headers.add(name: "content-length", value: String(body.readableBytes))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        for try await _ in response.body {}
        guard (200..<300).contains(response.status.code) else { throw ValidationError("\(method) \(path): status \(response.status.code)") }
    }
}

final class Counter: @unchecked Sendable {
    private var count = 0
    private let lock = NSLock()

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count - 1
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
