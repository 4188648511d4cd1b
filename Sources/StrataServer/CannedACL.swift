import S3Protocol
import StrataStore

/// The permission model's settings (Alluxio's `alluxio.security.*` keys).
struct PermissionSettings: Sendable {
    /// Off: only bucket grants (SIGV4) decide, as before the permission model.
    var enabled = true
    var umask: UInt16 = 0o022
    var supergroup = "supergroup"
    /// NOSASL: no user is named; every request acts as the server's own user.
    var serverUserOnly = false
}

/// S3's canned ACLs that mean the same as mode bits.
enum CannedACL: String {
    case `private` = "private"
    case publicRead = "public-read"
    case publicReadWrite = "public-read-write"

    static func of(_ header: String?) throws(S3Error) -> CannedACL? {
        guard let header else { return nil }
        let value = header.trimmingSpaces().lowercased()
        if value == "bucket-owner-read" || value == "bucket-owner-full-control" { return nil }
        guard let acl = CannedACL(rawValue: value) else {
            throw S3Error(
                .notImplemented,
                "The canned ACL \(header) has no equivalent in owner, group and mode bits.",
                details: [("Header", "x-amz-acl")]
            )
        }
        return acl
    }

    static let allUsers = "http://acs.amazonaws.com/groups/global/AllUsers"
    static let authenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

    /// The mode bits and public flag an AccessControlPolicy document amounts to: the owner's FULL_CONTROL is what
    /// the owner bits keep; AuthenticatedUsers READ/WRITE are the group and other bits; AllUsers READ/WRITE the same,
    /// opened to anonymous requests. Nil for a grant to anyone else or of another permission (no mode bits say it).
    static func mode(accessControlPolicy body: [UInt8], owners: Set<String>) throws(S3Error) -> (file: UInt16, isPublic: Bool)? {
        let root = try XMLDocument.parse(body)
        guard root.name == "AccessControlPolicy", let list = root.child("AccessControlList") else { throw S3Error(.malformedXML) }
        var file: UInt16 = 0o600
        var isPublic = false
        for grant in list.children("Grant") {
            guard let grantee = grant.child("Grantee"), let permission = grant.child("Permission")?.text else { throw S3Error(.malformedXML) }
            if let uri = grantee.child("URI")?.text {
                guard uri == allUsers || uri == authenticatedUsers else { return nil }
                switch permission {
                case "READ": file |= 0o044
                case "WRITE": file |= 0o022
                default: return nil
                }
                if uri == allUsers { isPublic = true }
            } else if !owners.contains(grantee.child("ID")?.text ?? "") || permission != "FULL_CONTROL" {
                return nil
            }
        }
        return (file, isPublic)
    }

    /// Whether anonymous requests may use what carries it.
    var isPublic: Bool { self != .private }

    /// Mode bits for a file (directories add `x` wherever `r` is granted).
    var fileMode: UInt16 {
        switch self {
        case .private: 0o600
        case .publicRead: 0o644
        case .publicReadWrite: 0o666
        }
    }
}

extension AuthorizationGate {
    /// The owner, group and mode a new object, directory object or bucket made by an admitted request gets: the
    /// caller's user and primary group, and the mode the umask or the canned ACL (`x-amz-acl`) gives.
    func newPermission(_ admitted: AdmittedRequest, directory: Bool) throws(S3Error) -> Permission? {
        guard settings.permissions.enabled else { return nil }
        let caller = caller(admitted.identity)
        let canned = try CannedACL.of(admitted.call.header("x-amz-acl"))
        let fileMode = canned?.fileMode ?? (0o666 & ~settings.permissions.umask)
        let permission = Permission(owner: caller.user, group: caller.primaryGroup, mode: fileMode, isPublic: canned?.isPublic == true)
        guard directory else { return permission }
        return Permission(owner: permission.owner, group: permission.group, mode: permission.directoryMode, isPublic: permission.isPublic)
    }
}
