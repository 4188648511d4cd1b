import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import S3Protocol
import StrataConfig
import StrataStore
import Testing

@testable import StrataServer

/// The permission model's rules as pure functions of the permissions along a path.
@Suite struct PermissionRulesTests {
    let alice = Caller(user: "alice", groups: ["analysts"], bypassesChecks: false)
    let bob = Caller(user: "bob", groups: ["analysts"], bypassesChecks: false)
    let carol = Caller(user: "carol", groups: ["others"], bypassesChecks: false)
    let anonymous = Caller(user: "anonymous", groups: ["anonymous"], bypassesChecks: false, needsPublic: true)

    func bucket(_ mode: UInt16, public isPublic: Bool = false) -> Permission {
        Permission(owner: "alice", group: "analysts", mode: mode, isPublic: isPublic)
    }

    @Test func aReadNeedsTheVersionsOwnBits() {
        let privateVersion = Permission(owner: "alice", group: "analysts", mode: 0o600)
        let publicVersion = Permission(owner: "alice", group: "analysts", mode: 0o644, isPublic: true)
        let open = PathPermissions(directories: [bucket(0o755, public: true)], directoriesComplete: true, object: publicVersion)
        var closed = open
        closed.object = privateVersion
        #expect(PermissionRules.mayRead(open, bob) && PermissionRules.mayRead(open, anonymous))
        #expect(!PermissionRules.mayRead(closed, bob) && !PermissionRules.mayRead(closed, anonymous))
        #expect(PermissionRules.mayRead(closed, alice))
        // A missing key: 404 for who may pass the directories; anonymous callers only in a public bucket.
        var missing = open
        missing.object = nil
        #expect(PermissionRules.mayRead(missing, anonymous))
        missing.directories = [bucket(0o755)]
        #expect(!PermissionRules.mayRead(missing, anonymous) && PermissionRules.mayRead(missing, carol))
        missing.directories = [bucket(0o750)]
        #expect(!PermissionRules.mayRead(missing, carol) && PermissionRules.mayRead(missing, bob))
    }

    @Test func writesFollowTheHoldingDirectoryAndTheStickyBit() {
        let sticky = PathPermissions(
            directories: [bucket(0o1777, public: true)],
            directoriesComplete: true,
            object: Permission(owner: "bob", group: "analysts", mode: 0o644)
        )
        #expect(PermissionRules.mayWrite(sticky, bucketDepth: 1, bob))
        #expect(PermissionRules.mayWrite(sticky, bucketDepth: 1, alice))  // the directory's owner
        #expect(!PermissionRules.mayWrite(sticky, bucketDepth: 1, carol))
        var fresh = sticky
        fresh.object = nil
        #expect(PermissionRules.mayWrite(fresh, bucketDepth: 1, carol) && PermissionRules.mayWrite(fresh, bucketDepth: 1, anonymous))
        fresh.directories = [bucket(0o1777)]
        #expect(!PermissionRules.mayWrite(fresh, bucketDepth: 1, anonymous))  // not a public bucket
    }

    @Test func onlyOwnersChangeAndAnonymousOwnsNothing() {
        let object = Permission(owner: "anonymous", group: "anonymous", mode: 0o666, isPublic: true)
        #expect(!PermissionRules.owns(object, anonymous))
        #expect(PermissionRules.owns(object, Caller(user: "anonymous", groups: [], bypassesChecks: false)))
        #expect(!PermissionRules.owns(nil, alice))
        #expect(!PermissionRules.mayChangeBucket(parents: [bucket(0o1777)], bucket: nil, deleting: false, anonymous))
        #expect(!PermissionRules.mayChangeBucket(parents: [bucket(0o1777)], bucket: bucket(0o755), deleting: true, carol))
        #expect(PermissionRules.mayChangeBucket(parents: [bucket(0o1777)], bucket: bucket(0o755), deleting: true, alice))
    }
}

/// The standing each kind of caller gets on a bucket, decided without I/O where the grant allows.
@Suite struct GateStandingTests {
    func gate(signed: Bool) throws -> AuthorizationGate {
        let configuration = try Configuration(
            fileProperties: [],
            environment: [:],
            commandLine: signed ? [(Keys.authMode.name, "SIGV4")] : []
        )
        return AuthorizationGate(storage: InMemoryStorage(), settings: ServerSettings(configuration), users: try UserDirectory(mappingFile: ""))
    }

    func resource(_ operation: S3Operation, bucket: String = "shared") -> ResourceAccess {
        let policy = operation.policy
        return ResourceAccess(
            .target,
            bucket: bucket,
            key: "k",
            grant: policy.grant,
            check: policy.check,
            publicAccess: policy.publicAccess,
            checksWhereRead: policy.checksWhereRead
        )
    }

    func identity(_ user: String, grants: [String: BucketGrant]?, session: Bool = false) -> Identity {
        var credential = Credential(accessKey: "AK" + user, secretKey: "s", user: user, buckets: grants)
        if session { credential.sessionRole = "arn:aws:iam::0:role/r" }
        return Identity(user: user, credential: credential, isAdmin: false, payload: .none)
    }

    func describe(_ standing: Standing?) -> String {
        switch standing {
        case nil: "needs the owner"
        case .full?: "full"
        case .granted?: "granted"
        case .checked(let caller)?: caller.needsPublic ? "anonymous" : "checked"
        }
    }

    @Test func standingsOfEachKindOfCaller() throws {
        let gate = try gate(signed: true)
        let get = resource(.getObject)
        let scopedOwner = identity("dave", grants: ["davebkt": .owner, "shared": .read])
        #expect(describe(try gate.standing(scopedOwner, get, owner: nil)) == "checked")  // owner elsewhere counts nowhere else
        #expect(describe(try gate.standing(scopedOwner, resource(.getObject, bucket: "davebkt"), owner: nil)) == "full")
        #expect(describe(try gate.standing(identity("s", grants: ["shared": .write], session: true), get, owner: nil)) == "granted")
        #expect(describe(try gate.standing(identity("s", grants: ["shared": .owner], session: true), get, owner: nil)) == "full")
        // An unscoped credential's grant depends on the bucket's owner; without a grant, public access makes it anonymous.
        let unscoped = identity("bob", grants: nil)
        #expect(describe(try gate.standing(unscoped, get, owner: nil)) == "needs the owner")
        #expect(describe(try gate.standing(unscoped, get, owner: .some("bob"))) == "checked")
        #expect(describe(try gate.standing(unscoped, get, owner: .some("alice"))) == "anonymous")
        #expect(throws: S3Error.self) { try gate.standing(unscoped, resource(.getObjectTagging), owner: .some("alice")) }
        var admin = identity("admin", grants: nil)
        admin.isAdmin = true
        #expect(describe(try gate.standing(admin, resource(.deleteBucket), owner: nil)) == "full")
        // A read-scoped session may not change an object's ACL whatever it owns: the grant comes first.
        #expect(throws: S3Error.self) {
            try gate.standing(self.identity("s", grants: ["shared": .read], session: true), self.resource(.putObjectAcl), owner: nil)
        }
    }

    @Test func simpleModeUsersAreCheckedAndTheSuperuserIsNot() throws {
        let gate = try gate(signed: false)
        #expect(describe(try gate.standing(.simple("alice"), resource(.putObject), owner: nil)) == "checked")
        #expect(describe(try gate.standing(.simple("admin"), resource(.putObject), owner: nil)) == "full")
    }
}

/// The gate in the application, driven in-process with a real root: each path that used to skip a check.
@Suite struct GateApplicationTests {
    func auth(_ user: String) -> HTTPFields {
        [.authorization: "AWS4-HMAC-SHA256 Credential=\(user)/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"]
    }

    @Test func versionsCopiesAndListingsAreChecked() async throws {
        let root = TestRoot()
        let built = try root.application()
        defer { Task { await built.shutdown() } }
        let acl = HTTPField.Name("x-amz-acl")!
        try await built.s3.test(.router) { client in
            var alice = auth("alice")
            alice[acl] = "public-read"
            try await client.execute(uri: "/vers", method: .put, headers: alice) { #expect($0.status == .ok) }
            let enable = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
            try await client.execute(uri: "/vers?versioning", method: .put, headers: auth("alice"), body: ByteBuffer(string: enable)) {
                #expect($0.status == .ok)
            }
            var privately = auth("alice")
            privately[acl] = "private"
            var old = ""
            try await client.execute(uri: "/vers/doc", method: .put, headers: privately, body: ByteBuffer(string: "draft")) {
                old = $0.headers[HTTPField.Name("x-amz-version-id")!] ?? ""
            }
            try await client.execute(uri: "/vers/doc", method: .put, headers: alice, body: ByteBuffer(string: "final")) { #expect($0.status == .ok) }
            try await client.execute(uri: "/vers/hidden/payroll", method: .put, headers: privately, body: ByteBuffer(string: "rows")) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/vers/doc?versionId=\(old)", method: .get, headers: auth("bob")) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/vers/doc?versionId=\(old)", method: .get, headers: auth("alice")) {
                #expect(String(buffer: $0.body) == "draft")
            }
            try await client.execute(uri: "/bobs", method: .put, headers: auth("bob")) { #expect($0.status == .ok) }
            var copy = auth("bob")
            copy[HTTPField.Name("x-amz-copy-source")!] = "/vers/doc?versionId=\(old)"
            try await client.execute(uri: "/bobs/stolen", method: .put, headers: copy) { #expect(xmlCode($0.body) == "AccessDenied") }
            try await client.execute(uri: "/vers?list-type=2", method: .get, headers: auth("bob")) { response in
                let body = String(buffer: response.body)
                #expect(body.contains("<Key>doc</Key>") && !body.contains("payroll"))
            }
        }
    }
}
