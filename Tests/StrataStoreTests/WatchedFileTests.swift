import Foundation
import Glibc
import Testing

@testable import StrataStore

/// Configuration files re-read when they change: keep the last good version through a broken edit, and survive any
/// timestamp another program can set.
@Suite struct WatchedFileTests {
    static func scratch() -> String {
        let path = NSTemporaryDirectory() + "strata-watched-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func setModificationTime(_ path: String, seconds: Int) {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }

    @Test func credentialsKeepTheLastGoodFileThroughABrokenEdit() throws {
        let root = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = CredentialStore(root: root)
        #expect(store.lookup("AKEXAMPLE") == nil)
        try store.upsert(Credential(accessKey: "AKEXAMPLE", secretKey: "secret", user: "alice"))
        #expect(store.lookup("AKEXAMPLE")?.user == "alice")
        // Half an edit by hand: the keys stay as they were instead of all refusing at once.
        try Data("{\"version\": 1, \"credentials\": [".utf8).write(to: URL(fileURLWithPath: store.path))
        store.file.invalidate()
        #expect(store.lookup("AKEXAMPLE")?.user == "alice")
        // and a change to the broken file is refused rather than written over it.
        #expect(throws: (any Error).self) { try store.upsert(Credential(accessKey: "AKOTHER", secretKey: "s", user: "bob")) }
        // The removed file means no keys.
        try FileManager.default.removeItem(atPath: store.path)
        store.file.invalidate()
        #expect(store.lookup("AKEXAMPLE") == nil)
    }

    @Test func changesAreSeenAndFarFutureTimesDoNotTrap() throws {
        let root = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/value.txt"
        try Data("1".utf8).write(to: URL(fileURLWithPath: path))
        let watched = WatchedFile(path: path, initial: -1, whenMissing: nil) { data in
            guard let value = Int(String(decoding: data, as: UTF8.self)) else { throw CocoaError(.fileReadCorruptFile) }
            return value
        }
        #expect(watched.current == 1)
        try Data("22".utf8).write(to: URL(fileURLWithPath: path))
        watched.invalidate()
        #expect(watched.current == 22)
        // Year 2300: beyond Int64 nanoseconds, which a conversion through Double would trap on.
        Self.setModificationTime(path, seconds: 10_413_792_000)
        try Data("333".utf8).write(to: URL(fileURLWithPath: path))
        Self.setModificationTime(path, seconds: 10_413_792_000)
        watched.invalidate()
        #expect(watched.current == 333)
        try Data("broken".utf8).write(to: URL(fileURLWithPath: path))
        watched.invalidate()
        #expect(watched.current == 333)
        // Removed, with no value for that case: the last good one stays.
        try FileManager.default.removeItem(atPath: path)
        watched.invalidate()
        #expect(watched.current == 333)
    }
}
