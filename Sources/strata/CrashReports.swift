import Foundation

/// The Swift runtime prints a backtrace when the process crashes. By default that report may include register
/// contents, which can hold fragments of secrets (signing keys, credentials). The runtime reads its settings
/// from `SWIFT_BACKTRACE` once, at start-up, so the process re-executes itself once with safe settings unless an
/// operator chose their own.
enum CrashReports {
    static let settings = "enable=yes,interactive=no,color=no,sanitize=yes,registers=none,images=none,threads=all,output-to=stderr"

    static func harden() {
        guard getenv("SWIFT_BACKTRACE") == nil else { return }
        setenv("SWIFT_BACKTRACE", settings, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", argv)
        // exec failed (no /proc): carry on with the runtime's defaults rather than refuse to start.
        for pointer in argv { free(pointer) }
    }
}
