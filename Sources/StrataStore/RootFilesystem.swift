import Foundation
import Glibc

/// The filesystem under the root as /proc/self/mountinfo describes it, and what that means for several nodes sharing
/// it: whether its locks reach other clients, and whether it is a network filesystem at all.
public struct RootFilesystem: Sendable {
    public var type: String
    public var mountPoint: String
    public var options: Set<String>

    /// Filesystems whose clients on different machines see one namespace.
    public var isShared: Bool {
        ["nfs", "nfs4", "ceph", "lustre", "gpfs", "glusterfs", "beegfs", "cifs", "smb3", "9p"].contains(type) || type.hasPrefix("fuse")
    }

    /// FUSE filesystems known to carry flock to their other clients (GlusterFS and JuiceFS tested; directory locks
    /// stay local on every FUSE filesystem, which is why Strata locks files only).
    public var fuseWithSharedLocks: Bool {
        ["fuse.glusterfs", "fuse.juicefs", "fuse.ceph-fuse", "fuse.mfs", "fuse.mfsmount", "fuse.lizardfs"].contains(type)
    }

    /// Why `flock` stays on this client, when the mount says so; nil when locks reach the other clients (or the
    /// filesystem is local, where every process on the machine sees them).
    public var localOnlyLocks: String? {
        switch type {
        case "nfs", "nfs4":
            if options.contains("nolock") { return "mounted with nolock: NFS locks stay on this client" }
            if options.contains("local_lock=flock") || options.contains("local_lock=all") {
                return "mounted with \(options.contains("local_lock=all") ? "local_lock=all" : "local_lock=flock"): flock stays on this client"
            }
        case "lustre":
            if options.contains("localflock") { return "mounted with localflock: flock stays on this client (mount with flock)" }
            if !options.contains("flock") { return "mounted without flock: flock is refused or local (mount with flock)" }
        case "cifs", "smb3":
            return "SMB has no flock across clients"
        case "fuse.sshfs", "fuse.s3fs", "fuse.rclone", "fuse.gcsfuse", "fuse.goofys":
            return "\(type) keeps flock on this client"
        default:
            break
        }
        return nil
    }

    /// The mount holding the directory `path`, from this process's mount table.
    public static func of(path: String) -> RootFilesystem? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        let device = (try? Sys.openDirectory(absolute: path)).flatMap { try? Sys.stat($0.fd) }.map { st in
            // glibc's major()/minor() are macros Swift cannot see.
            let major = ((st.device >> 8) & 0xfff) | ((st.device >> 32) & ~UInt64(0xfff))
            let minor = (st.device & 0xff) | ((st.device >> 12) & ~UInt64(0xff))
            return "\(major):\(minor)"
        }
        return find(path: path, device: device, mountinfo: text)
    }

    /// The mount in `mountinfo` holding `path`: one with its device (`major:minor`), the longest mount point above it
    /// first; failing that, the longest mount point above it.
    static func find(path: String, device: String?, mountinfo text: String) -> RootFilesystem? {
        var best: (filesystem: RootFilesystem, byDevice: Bool)?
        for line in text.split(separator: "\n") {
            // id parent major:minor root mount-point options [optional...] - type source super-options
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let head = halves[0].split(separator: " ")
            let tail = halves[1].split(separator: " ")
            guard head.count >= 6, tail.count >= 3 else { continue }
            let mountPoint = unescape(String(head[4]))
            guard path == mountPoint || path.hasPrefix(mountPoint == "/" ? "/" : mountPoint + "/") else { continue }
            let options = Set((head[5].split(separator: ",") + tail[2].split(separator: ",")).map(String.init))
            let candidate = RootFilesystem(type: String(tail[0]), mountPoint: mountPoint, options: options)
            let byDevice = String(head[2]) == device
            if let current = best {
                if current.byDevice && !byDevice { continue }
                if current.byDevice == byDevice && current.filesystem.mountPoint.count > mountPoint.count { continue }
            }
            best = (candidate, byDevice)
        }
        return best?.filesystem
    }

    /// mountinfo escapes spaces, tabs, newlines and backslashes as octal.
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension FileSystemStore {
    public struct RootUnusable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether the root still serves, for the readiness check: the directory at the root's path is still the one
    /// opened at start (an unmounted or remounted share is not), it can be read, and its filesystem is writable.
    public func checkRoot() throws(RootUnusable) {
        let held: FileStat
        do { held = try Sys.stat(root.fd) } catch { throw RootUnusable(description: "the root cannot be read: \(error)") }
        let current: FileStat
        do {
            let reopened = try Sys.openDirectory(absolute: rootPath)
            current = try withExtendedLifetime(reopened) { () throws(SystemError) in try Sys.stat(reopened.fd) }
        } catch {
            throw RootUnusable(description: "\(rootPath) cannot be reached: \(error)")
        }
        guard current.inode == held.inode, current.device == held.device else {
            throw RootUnusable(description: "\(rootPath) is no longer the directory opened at start (unmounted or replaced)")
        }
        var fs = statvfs()
        if fstatvfs(root.fd, &fs) == 0, fs.f_flag & UInt(ST_RDONLY) != 0 {
            throw RootUnusable(description: "the filesystem under \(rootPath) is read-only")
        }
    }
}
