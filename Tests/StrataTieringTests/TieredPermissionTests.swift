import Foundation
import NIOCore
import S3Protocol
import StrataStore
import Testing

@testable import StrataTiering

/// The permission model across tiering, against the in-memory upstream: the permission goes upstream with the
/// object, a read-through is checked with it, and a refilled copy records it.
@Suite struct TieredPermissionTests {
    static let alice = Permission(owner: "alice", group: "alice", mode: 0o600)

    /// A check as the gate builds it for a caller who is not alice: her private objects are refused.
    static let othersCheck: PermissionCheck = { path in
        let bob = Caller(user: "bob", groups: ["bob"], bypassesChecks: false)
        guard path.directories.allSatisfy({ $0.grants(.execute, to: bob) }), path.object?.grants(.read, to: bob) ?? true else {
            throw S3Error(.accessDenied)
        }
    }

    @Test func aReadThroughIsCheckedWithTheUpstreamsPermissionAndTheRefillKeepsIt() async throws {
        let fixture = try TieredFixture(.cacheThrough)
        try await fixture.storage.createBucket("b", owner: "alice", permission: Permission(owner: "alice", group: "alice", mode: 0o755))
        var metadata = ObjectMetadata()
        metadata.permission = Self.alice
        _ = try await fixture.storage.putObject(PutObjectInput(bucket: "b", key: "secret", metadata: metadata), body: BytesPayload("rows"))
        try FileManager.default.removeItem(atPath: fixture.path + "/b/secret")  // evicted
        var input = GetObjectInput(bucket: "b", key: "secret")
        input.permissionCheck = Self.othersCheck
        await #expect(throws: S3Error.self) { _ = try await fixture.storage.getObject(input) }
        input.headOnly = true
        await #expect(throws: S3Error.self) { _ = try await fixture.storage.getObject(input) }
        // The owner's read fills the cache; the copy records the permission the upstream kept.
        #expect(try await fixture.get("secret").text == "rows")
        let refilled = try await fixture.storage.local.openObject(bucket: "b", key: "secret")
        #expect(refilled.metadata.permission == Self.alice)
        input.headOnly = false
        await #expect(throws: S3Error.self) { _ = try await fixture.storage.getObject(input) }
        // What only the upstream holds (put there by another client) inherits the bucket's owner and bits.
        fixture.upstream.store("b", "foreign", "theirs")
        #expect(try await fixture.storage.objectPermissions(bucket: "b", key: "foreign").object?.mode == 0o644)
    }
}
