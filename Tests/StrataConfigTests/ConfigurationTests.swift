import Foundation
import Testing

@testable import StrataConfig

@Suite struct ConfigurationTests {
    @Test func precedenceDefaultsFileEnvironmentCommandLine() throws {
        let config = try Configuration(
            fileProperties: [("strata.proxy.web.port", "1000"), ("alluxio.proxy.s3.writetype", "THROUGH"), ("strata.log.level", "debug")],
            environment: ["STRATA_PROXY_WEB_PORT": "2000", "STRATA_LOG_LEVEL": "error", "UNRELATED": "x"],
            commandLine: [("alluxio.proxy.web.port", "3000")]
        )
        #expect(config.int(Keys.port) == 3000)
        #expect(config.entry(Keys.port).source == .commandLine)
        #expect(config.string(Keys.logLevel) == "error")
        #expect(config.entry(Keys.logLevel).source == .environment)
        #expect(config.choice(Keys.writeType) == "THROUGH")
        #expect(config.entry(Keys.writeType).source == .file)
        #expect(config.string(Keys.rootDir) == "./data")
        #expect(config.entry(Keys.rootDir).source == .defaultValue)
    }

    @Test func rejectsUnknownKeysAndBadValues() {
        #expect(throws: Configuration.ConfigError.self) { try Configuration(commandLine: [("strata.no.such.key", "1")]) }
        #expect(throws: Configuration.ConfigError.self) { try Configuration(commandLine: [("strata.proxy.web.port", "99999")]) }
        #expect(throws: Configuration.ConfigError.self) { try Configuration(commandLine: [("strata.fs.sync.policy", "SOMETIMES")]) }
        #expect(throws: Configuration.ConfigError.self) { try Configuration(commandLine: [("strata.fs.tmp.sweep.age", "soon")]) }
        #expect(throws: Configuration.ConfigError.self) { try Configuration(commandLine: [("strata.proxy.s3.user.metadata.max.size", "lots")]) }
        do {
            _ = try Configuration(commandLine: [("strata.proxy.web.port", "abc")])
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("strata.proxy.web.port"))
        }
    }

    @Test func alluxioDurationAndSizeSyntax() throws {
        #expect(try Configuration.parseDuration("10min") == 600_000)
        #expect(try Configuration.parseDuration("2sec") == 2000)
        #expect(try Configuration.parseDuration("500ms") == 500)
        #expect(try Configuration.parseDuration("1h") == 3_600_000)
        #expect(try Configuration.parseDuration("1500") == 1500)
        #expect(try Configuration.parseBytes("5MB") == 5 * 1024 * 1024)
        #expect(try Configuration.parseBytes("2KB") == 2048)
        #expect(try Configuration.parseBytes("1GB") == 1 << 30)
        #expect(try Configuration.parseBytes("123") == 123)
        // Too large for Int64, or not a finite number: an error, not a trap.
        #expect(throws: (any Error).self) { try Configuration.parseBytes("99999999999999999999TB") }
        #expect(throws: (any Error).self) { try Configuration.parseDuration("99999999999999999999d") }
        #expect(throws: (any Error).self) { try Configuration.parseBytes("1" + String(repeating: "0", count: 400)) }
        #expect(try Configuration.parseBytes("8388607TB") == 8_388_607 << 40)
    }

    @Test func propertiesFileSyntax() throws {
        let parsed = try Configuration.parsePropertiesFile("# comment\n! also comment\n\na.b = 1\nc.d:two\n  e.f=x=y  \n")
        #expect(parsed.map { $0.0 } == ["a.b", "c.d", "e.f"])
        #expect(parsed.map { $0.1 } == ["1", "two", "x=y"])
        #expect(throws: Configuration.ConfigError.self) { try Configuration.parsePropertiesFile("novalue\n") }
    }

    /// The checked-in template is generated from the registry; regenerate with `strata conf --template`.
    @Test func templateMatchesRegistry() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = repo.appendingPathComponent("properties/strata-site.properties.template").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            text == Configuration.template(),
            "properties template is stale: run `strata conf --template > properties/strata-site.properties.template`"
        )
        for key in Keys.all { #expect(text.contains("#\(key.name)=\(key.defaultValue)")) }
    }
}
