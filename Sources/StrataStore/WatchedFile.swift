import Foundation
import Glibc
import Logging
import Synchronization

/// A small configuration file's parsed contents, read again (at most every 200 ms) when its modification time, inode
/// or size changes: an edit by hand, by `strata credentials` or by another server on the root takes effect without a
/// restart. A file that stops parsing (an edit half done by hand) keeps the last good value and is reported once; a
/// file that is removed takes `whenMissing`, or keeps the last good value when that is nil.
public final class WatchedFile<Value: Sendable>: Sendable {
    public let path: String
    private let parse: @Sendable (Data) throws -> Value
    private let whenMissing: Value?
    private let logger: Logger?
    private struct State {
        var value: Value
        /// The file version `value` (or the refusal reported last) came from, compared as stat's whole numbers
        /// (no modification time, however far in the future, overflows a conversion); nil while it is missing.
        var stamp: FileStat?
        var checked: ContinuousClock.Instant?
    }
    private let state: Mutex<State>

    public init(
        path: String,
        initial: Value,
        whenMissing: Value?,
        logger: Logger? = nil,
        parse: @escaping @Sendable (Data) throws -> Value
    ) {
        self.path = path
        self.parse = parse
        self.whenMissing = whenMissing
        self.logger = logger
        // No stamp yet: the first use reads the file.
        state = Mutex(State(value: initial, stamp: nil, checked: nil))
    }

    /// Reads and parses the file now, refusing one that is missing or does not parse (a server does not start on
    /// it); later versions are read as they come, as above.
    public init(
        loading path: String,
        whenMissing: Value?,
        logger: Logger? = nil,
        parse: @escaping @Sendable (Data) throws -> Value
    ) throws {
        self.path = path
        self.parse = parse
        self.whenMissing = whenMissing
        self.logger = logger
        let stamp = Self.stamp(path)
        let value = try parse(Data(contentsOf: URL(fileURLWithPath: path)))
        state = Mutex(State(value: value, stamp: stamp, checked: nil))
    }

    public var current: Value {
        state.withLock { state in
            let now = ContinuousClock.now
            if let checked = state.checked, now - checked < .milliseconds(200) { return state.value }
            state.checked = now
            guard let stamp = Self.stamp(path) else {
                if let whenMissing { state.value = whenMissing }
                state.stamp = nil
                return state.value
            }
            guard stamp != state.stamp else { return state.value }
            state.stamp = stamp
            do {
                state.value = try parse(Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                logger?.error("\(path) could not be read (\(error)); the last good version stays in use until it is fixed")
            }
            return state.value
        }
    }

    /// Makes the next use look at the file, for a change this process has just written.
    public func invalidate() {
        state.withLock { $0.checked = nil }
    }

    static func stamp(_ path: String) -> FileStat? {
        try? Sys.stat(AT_FDCWD, path)
    }
}
