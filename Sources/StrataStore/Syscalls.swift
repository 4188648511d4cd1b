import CStrataSys
import Glibc

/// A failed system call: which call, on what, and errno.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// An open file descriptor, closed when the last reference goes away.
public final class OpenFile: @unchecked Sendable {
    public let fd: Int32

    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// stat(2) fields Strata uses.
public struct FileStat: Sendable, Equatable {
    public var size: Int64
    public var mtimeSeconds: Int64
    public var mtimeNanoseconds: Int64
    /// Status-change time in nanoseconds: a directory's changes when an entry is added, removed or renamed.
    public var ctimeNanos: Int64
    public var inode: UInt64
    public var device: UInt64
    public var mode: UInt32
    public var birthSeconds: Int64
    public var uid: UInt32
    public var gid: UInt32

    init(_ s: cstrata_stat_t) {
        size = s.size
        mtimeSeconds = s.mtime_sec
        mtimeNanoseconds = s.mtime_nsec
        ctimeNanos = s.ctime_sec &* 1_000_000_000 &+ s.ctime_nsec
        inode = s.inode
        device = s.device
        mode = s.mode
        birthSeconds = s.birth_sec
        uid = s.uid
        gid = s.gid
    }

    public var isDirectory: Bool { cstrata_is_dir(mode) != 0 }
    public var isRegular: Bool { cstrata_is_reg(mode) != 0 }
    public var isSymlink: Bool { cstrata_is_lnk(mode) != 0 }
    /// Modification time in nanoseconds: part of the ETag validator for files changed outside S3.
    public var mtimeNanos: Int64 { mtimeSeconds &* 1_000_000_000 &+ mtimeNanoseconds }
}

/// Thin wrappers over the calls the store makes; every failure becomes a SystemError carrying errno.
public enum Sys {
    static let readDirectory = O_RDONLY | cstrata_o_directory()

    @inline(__always)
    static func check(_ result: Int32, _ call: String) throws(SystemError) {
        if result < 0 { throw SystemError(call: call, errno: errno) }
    }

    /// Opens `path` below `dir` without following any symlink and without leaving `dir`.
    static func openBeneath(_ dir: Int32, _ path: String, flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> OpenFile {
        let fd = cstrata_open_beneath(dir, path, flags, mode)
        try check(fd, "open")
        return OpenFile(fd)
    }

    static func openDirectory(absolute path: String) throws(SystemError) -> OpenFile {
        let fd = open(path, readDirectory | O_CLOEXEC)
        try check(fd, "open")
        return OpenFile(fd)
    }

    /// The size of an open file, for callers outside the store that hold only a descriptor.
    public static func size(_ fd: Int32) -> Int64? { try? stat(fd).size }

    static func stat(_ fd: Int32) throws(SystemError) -> FileStat {
        var s = cstrata_stat_t()
        try check(cstrata_fstat(fd, &s), "fstat")
        return FileStat(s)
    }

    static func stat(_ dir: Int32, _ name: String) throws(SystemError) -> FileStat {
        var s = cstrata_stat_t()
        try check(cstrata_fstatat(dir, name, &s), "fstatat")
        return FileStat(s)
    }

    static func mkdir(_ dir: Int32, _ name: String, mode: mode_t = 0o755) throws(SystemError) {
        try check(mkdirat(dir, name, mode), "mkdir")
    }

    static func unlink(_ dir: Int32, _ name: String) throws(SystemError) {
        try check(unlinkat(dir, name, 0), "unlink")
    }

    static func rmdir(_ dir: Int32, _ name: String) throws(SystemError) {
        try check(unlinkat(dir, name, cstrata_at_removedir()), "rmdir")
    }

    static func rename(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String, noReplace: Bool = false) throws(SystemError) {
        if cstrata_rename(fromDir, from, toDir, to, noReplace ? 1 : 0) == 0 { return }
        guard noReplace, errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP else { throw SystemError(call: "rename", errno: errno) }
        // The filesystem has no RENAME_NOREPLACE (NFS, some FUSE filesystems): a hard link fails with EEXIST just as
        // atomically, then the old name goes. Directories cannot be linked; their callers rename to fresh names.
        if linkat(fromDir, from, toDir, to, 0) == 0 {
            try check(unlinkat(fromDir, from, 0), "unlink")
            return
        }
        guard errno == EPERM || errno == EISDIR else { throw SystemError(call: "link", errno: errno) }
        if (try? stat(toDir, to)) != nil { throw SystemError(call: "rename", errno: EEXIST) }
        try check(renameat(fromDir, from, toDir, to), "rename")
    }

    static func fsync(_ fd: Int32) throws(SystemError) {
        try check(Glibc.fsync(fd), "fsync")
    }

    /// Writes all bytes, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(call: "write", errno: errno)
            }
            offset += n
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns the count (0 at end of file).
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int64) throws(SystemError) -> Int {
        while true {
            let n = Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(call: "read", errno: errno)
            }
            return n
        }
    }

    /// Like `pread`, but nil instead of waiting for the disk: the bytes are not all in the page cache, or the kernel
    /// cannot tell without reading.
    static func preadIfCached(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int64) -> Int? {
        while true {
            let n = cstrata_pread_nowait(fd, buffer.baseAddress, buffer.count, offset)
            if n < 0 && errno == EINTR { continue }
            return n < 0 ? nil : n
        }
    }

    // MARK: Extended attributes

    static func getAttribute(_ fd: Int32, _ name: String) throws(SystemError) -> [UInt8]? {
        try readAttribute("fgetxattr") { cstrata_fgetxattr(fd, name, $0, $1) }
    }

    static func getAttribute(_ dir: Int32, _ entry: String, _ name: String) throws(SystemError) -> [UInt8]? {
        try readAttribute("getxattr") { cstrata_getxattr_at(dir, entry, name, $0, $1) }
    }

    /// Returns nil when the attribute does not exist (or the filesystem has none).
    private static func readAttribute(_ call: String, _ get: (UnsafeMutableRawPointer?, Int) -> Int) throws(SystemError) -> [UInt8]? {
        var capacity = 1024
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let n = buffer.withUnsafeMutableBytes { get($0.baseAddress, $0.count) }
            if n >= 0 { return Array(buffer[0..<n]) }
            switch errno {
            case ENODATA, ENOTSUP: return nil
            case ERANGE where capacity < 65536: capacity *= 8
            default: throw SystemError(call: call, errno: errno)
            }
        }
    }

    static func setAttribute(_ fd: Int32, _ name: String, _ value: [UInt8]) throws(SystemError) {
        try check(value.withUnsafeBytes { cstrata_fsetxattr(fd, name, $0.baseAddress, $0.count) }, "fsetxattr")
    }

    static func setAttribute(_ dir: Int32, _ entry: String, _ name: String, _ value: [UInt8]) throws(SystemError) {
        try check(value.withUnsafeBytes { cstrata_setxattr_at(dir, entry, name, $0.baseAddress, $0.count) }, "setxattr")
    }

    static func removeAttribute(_ dir: Int32, _ entry: String, _ name: String) throws(SystemError) {
        if cstrata_removexattr_at(dir, entry, name) < 0 && errno != ENODATA {
            throw SystemError(call: "removexattr", errno: errno)
        }
    }

    static func removeAttribute(_ fd: Int32, _ name: String) throws(SystemError) {
        if cstrata_fremovexattr(fd, name) < 0 && errno != ENODATA {
            throw SystemError(call: "fremovexattr", errno: errno)
        }
    }

    // MARK: Directories

    enum EntryType { case directory, regular, symlink, other, unknown }

    /// Calls `body` for each entry of the directory except `.` and `..`.
    /// Wall-clock time in nanoseconds, the clock file timestamps come from.
    static func realtimeNanos() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
    }

    static func forEachEntry(_ dir: Int32, _ body: (UnsafePointer<CChar>, EntryType) throws -> Void) throws {
        guard let handle = cstrata_opendir_fd(dir) else { throw SystemError(call: "opendir", errno: errno) }
        defer { cstrata_closedir(handle) }
        var name: UnsafePointer<CChar>?
        var type: Int32 = 0
        while true {
            let r = cstrata_readdir(handle, &name, &type)
            if r == 0 { return }
            if r < 0 { throw SystemError(call: "readdir", errno: errno) }
            guard let name else { continue }
            if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { continue }
            let t: EntryType =
                switch type {
                case 1: .directory
                case 2: .regular
                case 3: .symlink
                case 0: .unknown
                default: .other
                }
            try body(name, t)
        }
    }
}

extension OpenFile {
    /// Reads up to `buffer.count` bytes at `offset`; 0 means end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(SystemError) -> Int {
        try Sys.pread(fd, buffer, offset: offset)
    }
}
