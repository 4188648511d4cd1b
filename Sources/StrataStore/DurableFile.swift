import Foundation
import Glibc

/// Replaces small state files (credential store, journal, upload records) so that a reader sees the old or the
/// new contents, never a mix, and a secret is never readable by others: the temporary file is created with its
/// final mode from the first byte (O_EXCL, never following a link), written, fsynced, renamed over the target,
/// and the directory is fsynced so the rename survives a crash.
public enum DurableFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func replace(_ path: String, contents: [UInt8], mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else { throw WriteError(description: "cannot open \(directory): \(String(cString: strerror(errno)))") }
        defer { close(dirfd) }
        try replace(in: dirfd, name: (path as NSString).lastPathComponent, contents: contents, mode: mode)
    }

    /// The same, relative to an open directory: nothing on the way can be swapped for a link.
    public static func replace(in dirfd: Int32, name: String, contents: [UInt8], mode: mode_t = 0o600) throws {
        let temporary = ".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        func failure(_ what: String) -> WriteError { WriteError(description: "cannot \(what) \(temporary): \(String(cString: strerror(errno)))") }
        let fd = openat(dirfd, temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw failure("create") }
        var ok = false
        defer {
            if !ok { unlinkat(dirfd, temporary, 0) }
        }
        do {
            defer { close(fd) }
            var offset = 0
            while offset < contents.count {
                let n = contents.withUnsafeBytes { write(fd, $0.baseAddress! + offset, contents.count - offset) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw failure("write") }
                offset += n
            }
            guard fsync(fd) == 0 else { throw failure("fsync") }
        }
        guard renameat(dirfd, temporary, dirfd, name) == 0 else { throw failure("rename") }
        ok = true
        fsync(dirfd)
    }
}
