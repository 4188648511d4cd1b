import ArgumentParser
import Foundation
import Logging
import StrataConfig
import StrataServer
import StrataStore

@main
struct Strata: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "An S3-compatible object server over a local or mounted filesystem.",
        subcommands: [Serve.self, Conf.self, Credentials.self, Admin.self],
        defaultSubcommand: Serve.self
    )

    static func main() async {
        CrashReports.harden()
        MemoryTuning.apply()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every subcommand that reads the configuration shares.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Root directory to serve (property strata.root.dir).")
    var root: String?

    @Option(help: "Address to bind (property strata.proxy.web.bind.host).")
    var host: String?

    @Option(help: "Port to listen on (property strata.proxy.web.port).")
    var port: Int?

    @Option(help: "Properties file (default: properties/strata-site.properties when present).")
    var properties: String?

    @Option(
        name: .customLong("conf"),
        help: ArgumentHelp("Set a property, e.g. --conf strata.fs.sync.policy=NONE (repeatable).", valueName: "key=value")
    )
    var overrides: [String] = []

    func resolve() throws -> Configuration {
        var fileProperties: [(String, String)] = []
        let path = properties ?? "properties/strata-site.properties"
        if FileManager.default.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            fileProperties = try Configuration.parsePropertiesFile(text)
        } else if properties != nil {
            throw ValidationError("properties file not found: \(path)")
        }
        var commandLine: [(String, String)] = []
        for item in overrides {
            guard let eq = item.firstIndex(of: "=") else { throw ValidationError("--conf expects key=value, got '\(item)'") }
            commandLine.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
        }
        if let root { commandLine.append((Keys.rootDir.name, root)) }
        if let host { commandLine.append((Keys.bindHost.name, host)) }
        if let port { commandLine.append((Keys.port.name, String(port))) }
        do {
            return try Configuration(fileProperties: fileProperties, environment: ProcessInfo.processInfo.environment, commandLine: commandLine)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the root directory over S3 (the default).")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let config = try options.resolve()
        let level = Logger.Level(rawValue: config.string(Keys.logLevel)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "strata")
        if !config.ignoredKeys.isEmpty {
            logger.notice("ignoring Alluxio keys other components use: \(config.ignoredKeys.joined(separator: ", "))")
        }
        do {
            try await StrataApp.run(configuration: config, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode.failure
        }
    }
}

struct Conf: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every property key with its effective value and where it came from, then the Alluxio keys ignored."
    )

    @OptionGroup var options: ConfigurationOptions

    @Flag(help: "Print the documented properties template instead.")
    var template = false

    func run() throws {
        if template {
            print(Configuration.template(), terminator: "")
            return
        }
        let config = try options.resolve()
        for entry in config.all {
            print("\(entry.key.name)=\(entry.displayValue)  # \(entry.sourceDescription)")
        }
        // Keys other Alluxio components read; their values are not shown, since they may hold those components' secrets.
        for ignored in config.ignored {
            print("\(ignored.name)  # \(ignored.source.rawValue), ignored: not a Strata key")
        }
    }
}
