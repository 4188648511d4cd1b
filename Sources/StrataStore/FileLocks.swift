import Glibc
import S3Protocol

/// A `flock` held on a regular file opened for writing: the one locking primitive Strata uses between processes,
/// chosen because the filesystems nodes share carry it to every client (NFSv4 emulates it with a whole-file
/// byte-range lock, which needs a file open for writing, so never a directory; CephFS; Lustre mounted with `flock`;
/// GlusterFS; JuiceFS). The kernel drops it when the holder dies. Released when the handle goes away.
public final class FileLock: Sendable {
    public let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Opens (creating) `name` in `directory` (AT_FDCWD for an absolute path) and locks it; nil when `wait` is false
    /// and another holder has it.
    public static func acquire(in directory: Int32, _ name: String, exclusive: Bool, wait: Bool = true) throws(SystemError) -> FileLock? {
        let fd = openat(directory, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        try Sys.check(fd, "open")
        let lock = FileLock(fd: fd)
        let operation = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)
        while flock(fd, operation) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK && !wait { return nil }
            throw SystemError(call: "flock", errno: errno)
        }
        return lock
    }
}

/// Locks on directories, for the steps that check and then change a directory's entries (conditional writes and
/// deletes take it exclusively, unconditional publishes shared). A directory cannot carry the lock itself on every
/// shared filesystem, so each maps by inode to one of a fixed set of lock files under `.strata/locks` in the root:
/// two directories sharing a file only ever wait for each other briefly.
struct DirectoryLocks: Sendable {
    static let stripes: UInt64 = 1024
    let directory: OpenFile

    init(root: OpenFile) throws(SystemError) {
        for name in [".strata", ".strata/locks"] {
            if mkdirat(root.fd, name, 0o700) != 0 && errno != EEXIST { throw SystemError(call: "mkdir", errno: errno) }
        }
        directory = try Sys.openBeneath(root.fd, ".strata/locks", flags: Sys.readDirectory)
    }

    func lock(_ target: OpenFile, exclusive: Bool) throws(S3Error) -> FileLock {
        do {
            let inode = try Sys.stat(target.fd).inode
            let name = "d" + String(inode % Self.stripes)
            // A blocking acquire never answers nil.
            guard let lock = try FileLock.acquire(in: directory.fd, name, exclusive: exclusive) else { throw S3Error(.internalError) }
            return lock
        } catch {
            // Never go on unlocked: a conditional step without its lock could lose another node's write.
            throw S3Error(.serviceUnavailable, "The directory lock could not be taken (\(error)); nothing was changed.")
        }
    }

    /// At start-up: a filesystem that cannot lock at all (ENOLCK, ENOSYS, EOPNOTSUPP) would let nodes overwrite each
    /// other's conditional writes, so it is refused rather than served.
    func probe() throws(SystemError) {
        _ = try FileLock.acquire(in: directory.fd, "probe", exclusive: true)
    }
}
