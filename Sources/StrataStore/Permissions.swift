import Foundation
import Glibc
import S3Protocol
import Synchronization

/// Alluxio's permission model: every bucket, directory and object has an owner, a group and a mode. Entries
/// made through S3 record theirs (objects and directory objects in their metadata, buckets in the bucket
/// record, other directories in `user.strata.perm`); entries made by other programs carry their POSIX owner,
/// group and mode, which are the truth for them.
public struct Permission: Sendable, Equatable {
    public static let attributeName = "user.strata.perm"

    public var owner: String
    public var group: String
    /// The nine permission bits and the sticky bit (0o1000).
    public var mode: UInt16
    /// Opened to anonymous requests by a public canned ACL (public-read, public-read-write).
    public var isPublic: Bool

    public init(owner: String, group: String, mode: UInt16, isPublic: Bool = false) {
        self.owner = owner
        self.group = group
        self.mode = mode & 0o1777
        self.isPublic = isPublic
    }

    /// `owner NUL group NUL octal-mode [NUL public]`: short, so it stays inside the inode.
    public func encoded() -> [UInt8] {
        Array(owner.utf8) + [0] + Array(group.utf8) + [0] + Array(String(mode, radix: 8).utf8) + (isPublic ? Array("\0public".utf8) : [])
    }

    public static func decode(_ bytes: [UInt8]?) -> Permission? {
        guard let bytes else { return nil }
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 4, let owner = String(validating: parts[0], as: UTF8.self), !owner.isEmpty,
            let group = String(validating: parts[1], as: UTF8.self), let modeText = String(validating: parts[2], as: UTF8.self),
            let mode = UInt16(modeText, radix: 8), mode <= 0o7777
        else { return nil }
        return Permission(owner: owner, group: group, mode: mode, isPublic: parts.count == 4 && parts[3].elementsEqual("public".utf8))
    }

    /// The mode a directory made for an object gets: every class that may read may also enter.
    public var directoryMode: UInt16 {
        var mode = self.mode & 0o666
        for shift: UInt16 in [0, 3, 6] where mode & (0o4 << shift) != 0 { mode |= 0o1 << shift }
        return mode
    }

    public var isSticky: Bool { mode & 0o1000 != 0 }

    /// The POSIX mode an entry made through S3 gets on disk, so programs reading the files see the permission S3
    /// enforces: the permission bits (and a directory's sticky bit), plus what the server's own user needs to keep
    /// serving the entry (read and write on a file, everything on a directory).
    public func diskMode(isDirectory: Bool) -> UInt16 {
        isDirectory ? mode & 0o1777 | 0o700 : mode & 0o777 | 0o600
    }
}

extension Permission {
    /// The user-metadata header that stores an object's permission beside it in an upstream S3, so a copy read through
    /// after its local copy went (eviction, invalidation, THROUGH writes) is checked like the local one was.
    public static let upstreamHeader = "x-amz-meta-strata-permission"

    /// `1;owner;group;octal-mode[;public]`, owner and group percent-encoded: ASCII, as header values must be.
    public var headerValue: String {
        let fields = ["1", PercentEncoding.encode(owner), PercentEncoding.encode(group), String(mode, radix: 8)] + (isPublic ? ["public"] : [])
        return fields.joined(separator: ";")
    }

    public init?(headerValue: String) {
        let fields = headerValue.split(separator: ";", omittingEmptySubsequences: false)
        guard fields.count == 4 || (fields.count == 5 && fields[4] == "public"), fields[0] == "1",
            let owner = PercentEncoding.decode(fields[1]), !owner.isEmpty, let group = PercentEncoding.decode(fields[2]),
            let mode = UInt16(fields[3], radix: 8), mode <= 0o7777
        else { return nil }
        self.init(owner: owner, group: group, mode: mode, isPublic: fields.count == 5)
    }

    /// The permission of an object found only upstream with none recorded (written by another client of the
    /// upstream): the bucket's owner and group, the read and write bits of the bucket's mode, and public when the
    /// bucket is (a public-read bucket publishes what others put upstream, as a website's bucket does).
    public static func inherited(fromBucket bucket: Permission) -> Permission {
        Permission(owner: bucket.owner, group: bucket.group, mode: bucket.mode & 0o666, isPublic: bucket.isPublic)
    }
}

/// What a request may do to an entry.
public struct Rights: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let execute = Rights(rawValue: 1)
    public static let write = Rights(rawValue: 2)
    public static let read = Rights(rawValue: 4)
}

/// The identity the permission model checks: a user, its groups (primary first), and whether it bypasses checks.
public struct Caller: Sendable, Equatable {
    public var user: String
    public var groups: [String]
    /// The superuser and members of the supergroup.
    public var bypassesChecks: Bool
    /// An unsigned request where signatures are required: only what is public is open to it.
    public var needsPublic: Bool

    public init(user: String, groups: [String], bypassesChecks: Bool, needsPublic: Bool = false) {
        self.user = user
        self.groups = groups
        self.bypassesChecks = bypassesChecks
        self.needsPublic = needsPublic
    }

    public var primaryGroup: String { groups.first ?? user }

    /// An anonymous caller owns nothing, not even what another anonymous request made: unsigned callers share no
    /// identity, and a signed caller checked as anonymous (no grant there) gets no owner's rights.
    public func owns(_ permission: Permission) -> Bool { !needsPublic && permission.owner.bytesEqual(user) }

    /// Whether the caller is in an entry's group; never an anonymous caller.
    public func isMember(of permission: Permission) -> Bool { !needsPublic && groups.contains { $0.bytesEqual(permission.group) } }
}

extension Permission {
    /// POSIX's rule: the owner class if the caller owns the entry, else the group class if it is in the group,
    /// else the other class (always, for anonymous callers).
    public func grants(_ rights: Rights, to caller: Caller) -> Bool {
        if caller.bypassesChecks { return true }
        let bits: UInt16
        if caller.owns(self) {
            bits = (mode >> 6) & 7
        } else if caller.isMember(of: self) {
            bits = (mode >> 3) & 7
        } else {
            bits = mode & 7
        }
        return bits & rights.rawValue == rights.rawValue
    }
}

/// The permissions along the path to a bucket or object below the root, outermost first, as far as the entries
/// exist (the root's own permission matters only for creating buckets: `rootPermission`).
public struct PathPermissions: Sendable {
    /// The bucket's directories (one per `:` segment) and the key's directories that exist, outermost first.
    public var directories: [Permission]
    /// Whether every directory of the key exists (so `object` is its parent's entry, or missing).
    public var directoriesComplete: Bool
    /// The object itself, when it exists.
    public var object: Permission?

    public init(directories: [Permission], directoriesComplete: Bool, object: Permission?) {
        self.directories = directories
        self.directoriesComplete = directoriesComplete
        self.object = object
    }
}

/// User and group names for POSIX ids, and the groups of a user: from the system's user and group database,
/// or from a mapping file (`user: primary-group, other-group`), cached.
public final class UserDirectory: Sendable {
    private let mapping: [String: [String]]?
    private let names = Mutex<(users: [UInt32: String], groups: [UInt32: String], members: [String: [String]])>(([:], [:], [:]))

    /// The system's user and group database.
    public init() { mapping = nil }

    /// `mappingFile` empty means the system database.
    public init(mappingFile: String) throws {
        guard !mappingFile.isEmpty else {
            mapping = nil
            return
        }
        let text = try String(contentsOfFile: mappingFile, encoding: .utf8)
        var parsed: [String: [String]] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let colon = trimmed.firstIndex(of: ":") else { continue }
            let user = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
            let groups = trimmed[trimmed.index(after: colon)...].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            parsed[user] = groups
        }
        mapping = parsed
    }

    /// The groups of `user`, primary first; a user unknown everywhere is in a group of its own name.
    public func groups(of user: String) -> [String] {
        if let mapping { return mapping[user] ?? [user] }
        if let cached = names.withLock({ $0.members[user] }) { return cached }
        var groups = [user]
        var buffer = [CChar](repeating: 0, count: 16_384)
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        if getpwnam_r(user, &entry, &buffer, buffer.count, &result) == 0, result != nil {
            var count: Int32 = 64
            var ids = [gid_t](repeating: 0, count: 64)
            if getgrouplist(user, entry.pw_gid, &ids, &count) >= 0 {
                let primary = groupName(entry.pw_gid)
                groups = [primary] + ids.prefix(Int(count)).map(groupName).filter { $0 != primary }
            } else {
                groups = [groupName(entry.pw_gid)]
            }
        }
        names.withLock { $0.members[user] = groups }
        return groups
    }

    public func userName(_ uid: UInt32) -> String {
        if let name = names.withLock({ $0.users[uid] }) { return name }
        var buffer = [CChar](repeating: 0, count: 16_384)
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        let name =
            getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0 && result != nil ? String(cString: entry.pw_name) : String(uid)
        names.withLock { $0.users[uid] = name }
        return name
    }

    public func groupName(_ gid: UInt32) -> String {
        if let name = names.withLock({ $0.groups[gid] }) { return name }
        var buffer = [CChar](repeating: 0, count: 16_384)
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        let name =
            getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0 && result != nil ? String(cString: entry.gr_name) : String(gid)
        names.withLock { $0.groups[gid] = name }
        return name
    }
}
