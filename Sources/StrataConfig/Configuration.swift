/// Effective configuration: every registered key resolved from, lowest to highest, its default, the
/// properties file, the environment and `--conf` flags.
public struct Configuration: Sendable {
    public enum Source: String, Sendable {
        case defaultValue = "default"
        case file
        case environment
        case commandLine = "command line"
    }

    public struct ConfigError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public struct Entry: Sendable {
        public let key: PropertyKey
        public let value: String
        public let source: Source
        /// The name the value was given under when it is not `key.name`: an Alluxio spelling, or the key a derived value
        /// comes from (see `effectiveIOThreads`).
        public let spelling: String?

        init(key: PropertyKey, value: String, source: Source, spelling: String? = nil) {
            self.key = key
            self.value = value
            self.source = source
            self.spelling = spelling == key.name ? nil : spelling
        }

        /// The value as it may be shown: secrets are masked.
        public var displayValue: String { key.isSecret && !value.isEmpty ? "********" : value }

        /// `file`, or `file (alluxio.proxy.web.port)` when the value was given under another name.
        public var sourceDescription: String {
            spelling.map { "\(source.rawValue) (\($0))" } ?? source.rawValue
        }
    }

    /// A key under `alluxio.` that Strata does not use (other Alluxio components read it): accepted and reported, never applied.
    public struct IgnoredKey: Sendable, Hashable {
        public let name: String
        public let source: Source
    }

    private var entries: [String: Entry]
    /// Per-bucket overrides: bucket name, then the per-bucket key's name (`strata.bucket.<bucket>.writetype`).
    private var bucketEntries: [String: [String: Entry]] = [:]
    public let registry: [PropertyKey]
    /// Unregistered `alluxio.*` keys, in the order first given, each with the source of its last setting.
    public private(set) var ignored: [IgnoredKey] = []
    /// The names in `ignored`.
    public var ignoredKeys: [String] { ignored.map(\.name) }

    /// How deeply `${key}` references may nest before resolution gives up.
    public static let maxReferenceDepth = 32

    /// - Parameters:
    ///   - fileProperties: `name=value` pairs from the properties file, in file order.
    ///   - environment: the process environment; only `STRATA_*` names of registered keys are read.
    ///   - commandLine: `--conf name=value` pairs, in order.
    ///
    /// Values may refer to other properties as `${name}`, which Alluxio resolves too (see `resolveReferences`). Unregistered keys
    /// under `alluxio.` are collected in `ignored`; any other unknown key is an error.
    public init(
        registry: [PropertyKey] = Keys.all,
        fileProperties: [(String, String)] = [],
        environment: [String: String] = [:],
        commandLine: [(String, String)] = []
    ) throws(ConfigError) {
        self.registry = registry
        var byName: [String: PropertyKey] = [:]
        for key in registry {
            byName[key.name] = key
            for alias in key.alluxioNames { byName[alias] = key }
        }
        entries = [:]
        for key in registry { entries[key.name] = Entry(key: key, value: key.defaultValue, source: .defaultValue) }
        let perBucket = registry.filter(\.isPerBucket)

        // Every setting, lowest precedence first.
        var settings: [(name: String, value: String, source: Source)] = []
        for (name, value) in fileProperties { settings.append((name.trimmingSpaces(), value.trimmingSpaces(), .file)) }
        for key in registry {
            if let value = environment[key.environmentName] { settings.append((key.name, value.trimmingSpaces(), .environment)) }
        }
        // The administrator credential also comes from the short names the documentation uses.
        if let value = environment["STRATA_ADMIN_ACCESS_KEY"] { settings.append((Keys.adminAccessKey.name, value.trimmingSpaces(), .environment)) }
        if let value = environment["STRATA_ADMIN_SECRET_KEY"] { settings.append((Keys.adminSecretKey.name, value.trimmingSpaces(), .environment)) }
        for (name, value) in commandLine { settings.append((name.trimmingSpaces(), value.trimmingSpaces(), .commandLine)) }

        // What `${name}` refers to: the highest-precedence raw value of that property (a registered key under any spelling, or
        // any other name that was set), else a registered key's default.
        var rawValues: [String: String] = [:]
        for key in registry where !key.isPerBucket { rawValues[key.name] = key.defaultValue }
        for setting in settings { rawValues[byName[setting.name]?.name ?? setting.name] = setting.value }
        func lookup(_ name: String) -> String? { rawValues[byName[name]?.name ?? name] }

        var ignoredSources: [String: Source] = [:]
        var ignoredOrder: [String] = []
        for (name, rawValue, source) in settings {
            func resolved() throws(ConfigError) -> String {
                do {
                    return try Configuration.resolveReferences(rawValue, lookup: lookup)
                } catch {
                    throw ConfigError(description: "property key '\(name)' (from \(source.rawValue)): \(error.description)")
                }
            }
            if let key = byName[name] {
                let value = try resolved()
                try Configuration.validate(key, value)
                entries[key.name] = Entry(key: key, value: value, source: source, spelling: name)
                continue
            }
            var matched = false
            for key in perBucket where name.hasPrefix(key.perBucketPrefix) && name.hasSuffix(key.perBucketSuffix) {
                let bucket = name.dropFirst(key.perBucketPrefix.count).dropLast(key.perBucketSuffix.count)
                guard !bucket.isEmpty else { continue }
                let value = try resolved()
                try Configuration.validate(key, value)
                bucketEntries[String(bucket), default: [:]][key.name] = Entry(key: key, value: value, source: source)
                matched = true
                break
            }
            if matched { continue }
            if name.hasPrefix("alluxio.") {
                if ignoredSources[name] == nil { ignoredOrder.append(name) }
                ignoredSources[name] = source
                continue
            }
            throw ConfigError(description: "unknown property key '\(name)' (from \(source.rawValue)); `strata conf` lists every key")
        }
        ignored = ignoredOrder.map { IgnoredKey(name: $0, source: ignoredSources[$0] ?? .file) }

        // Alluxio's v2 heavy pool maximum sizes Strata's blocking-work pool unless that is set itself.
        let io = entry(Keys.ioThreads)
        let heavy = entry(Keys.v2HeavyPoolMaximum)
        if registry.contains(Keys.ioThreads), io.source == .defaultValue, heavy.source != .defaultValue {
            let threads = Configuration.effectiveIOThreads(ioThreads: nil, heavyPoolMaximum: Int(heavy.value))
            entries[Keys.ioThreads.name] = Entry(
                key: Keys.ioThreads,
                value: String(threads),
                source: heavy.source,
                spelling: heavy.spelling ?? heavy.key.name
            )
        }
        // Alluxio writes the proxy audit log only when the master's audit log is on as well.
        let audit = entry(Keys.auditLogging)
        if registry.contains(Keys.proxyAuditLogging), audit.source != .defaultValue, audit.value.lowercased() == "false",
            bool(Keys.proxyAuditLogging)
        {
            entries[Keys.proxyAuditLogging.name] = Entry(
                key: Keys.proxyAuditLogging,
                value: "false",
                source: audit.source,
                spelling: audit.spelling ?? audit.key.name
            )
        }
    }

    /// The threads for blocking work: `strata.fs.io.threads` when it is set; otherwise, when Alluxio's
    /// `alluxio.proxy.s3.v2.async.heavy.pool.maximum.thread.number` is set, the larger of that and the default, within the key's
    /// range; otherwise the default.
    public static func effectiveIOThreads(ioThreads: Int?, heavyPoolMaximum: Int?) -> Int {
        let fallback = Int(Keys.ioThreads.defaultValue) ?? 4
        if let ioThreads { return ioThreads }
        guard let heavyPoolMaximum else { return fallback }
        var limit = 1024
        if case .integer(let range) = Keys.ioThreads.type { limit = Int(range.upperBound) }
        return min(max(heavyPoolMaximum, fallback), limit)
    }

    /// Replaces every `${name}` in `value` by the value `lookup` gives for `name`, itself resolved the same way, as Alluxio does.
    /// A name `lookup` does not know, a cycle, or nesting deeper than `maxReferenceDepth` is an error. Text without `${` is
    /// returned unchanged; a `${` without a closing `}` is kept as it is.
    public static func resolveReferences(_ value: String, lookup: (String) -> String?) throws(ConfigError) -> String {
        try resolveReferences(value, lookup: lookup, chain: [])
    }

    private static func resolveReferences(_ value: String, lookup: (String) -> String?, chain: [String]) throws(ConfigError) -> String {
        guard value.contains("${") else { return value }
        var out = ""
        var rest = Substring(value)
        while let dollar = rest.indices.first(where: { rest[$0] == "$" && rest[rest.index(after: $0)...].first == "{" }) {
            out += rest[..<dollar]
            let tail = rest[rest.index(dollar, offsetBy: 2)...]
            guard let close = tail.firstIndex(where: { $0 == "}" || $0 == "{" }), tail[close] == "}" else {
                out += "${"
                rest = tail
                continue
            }
            let name = String(tail[..<close]).trimmingSpaces()
            if chain.contains(name) {
                throw ConfigError(description: "reference cycle \((chain + [name]).map { "${\($0)}" }.joined(separator: " -> "))")
            }
            guard chain.count < maxReferenceDepth else {
                throw ConfigError(description: "references nested deeper than \(maxReferenceDepth) at ${\(name)}")
            }
            guard let referenced = lookup(name) else {
                let place = chain.last.map { " in the value of '\($0)'" } ?? ""
                throw ConfigError(description: "reference to undefined property '${\(name)}'\(place)")
            }
            out += try resolveReferences(referenced, lookup: lookup, chain: chain + [name])
            rest = tail[tail.index(after: close)...]
        }
        out += rest
        return out
    }

    public func entry(_ key: PropertyKey) -> Entry {
        entries[key.name] ?? Entry(key: key, value: key.defaultValue, source: .defaultValue)
    }

    public func string(_ key: PropertyKey) -> String { entry(key).value }

    public func int(_ key: PropertyKey) -> Int { Int(string(key)) ?? Int(key.defaultValue) ?? 0 }

    public func bool(_ key: PropertyKey) -> Bool { string(key).lowercased() == "true" }

    public func bytes(_ key: PropertyKey) -> Int64 { (try? Configuration.parseBytes(string(key))) ?? 0 }

    /// Milliseconds.
    public func durationMilliseconds(_ key: PropertyKey) -> Int64 { (try? Configuration.parseDuration(string(key))) ?? 0 }

    /// A sync interval in milliseconds, -1 meaning never.
    public static func syncIntervalMilliseconds(_ value: String) -> Int64 {
        value.trimmingSpaces() == "-1" ? -1 : ((try? parseDuration(value)) ?? -1)
    }

    /// Upper-cased choice value.
    public func choice(_ key: PropertyKey) -> String { string(key).uppercased() }

    /// A bucket's override of a per-bucket key, if one is set.
    public func perBucket(_ key: PropertyKey, bucket: String) -> String? {
        bucketEntries[bucket]?[key.name]?.value
    }

    /// Buckets that have any per-bucket setting.
    public var bucketsWithOverrides: [String] { bucketEntries.keys.sorted() }

    /// Every key with its value; per-bucket keys appear once per bucket that sets them, with the bucket filled in.
    public var all: [Entry] {
        var result: [Entry] = []
        for key in registry {
            if key.isPerBucket {
                for bucket in bucketsWithOverrides {
                    guard let entry = bucketEntries[bucket]?[key.name] else { continue }
                    let named = PropertyKey(
                        key.perBucketPrefix + bucket + key.perBucketSuffix,
                        type: key.type,
                        default: key.defaultValue,
                        secret: key.isSecret,
                        key.description
                    )
                    result.append(Entry(key: named, value: entry.value, source: entry.source, spelling: entry.spelling))
                }
            } else {
                result.append(entry(key))
            }
        }
        return result
    }

    /// The value as it may be shown: secrets are masked.
    public func displayValue(_ key: PropertyKey) -> String {
        let value = string(key)
        return key.isSecret && !value.isEmpty ? "********" : value
    }

    /// SIGV4 when either Strata's mode key or Alluxio's authentication switch asks for it.
    public var signaturesRequired: Bool {
        choice(Keys.authMode) == "SIGV4" || bool(Keys.restAuthentication)
    }

    // MARK: Parsing

    static func validate(_ key: PropertyKey, _ value: String) throws(ConfigError) {
        func bad(_ why: String) -> ConfigError {
            ConfigError(description: "invalid value '\(value)' for property key '\(key.name)': \(why)")
        }
        switch key.type {
        case .string:
            return
        case .integer(let range):
            guard let v = Int64(value), range.contains(v) else { throw bad("expected an integer in \(range.lowerBound)...\(range.upperBound)") }
        case .boolean:
            guard ["true", "false"].contains(value.lowercased()) else { throw bad("expected true or false") }
        case .duration:
            do { _ = try parseDuration(value) } catch { throw bad("expected a duration such as 10min, 30sec, 500ms or 1h") }
        case .bytes:
            do { _ = try parseBytes(value) } catch { throw bad("expected a size such as 5MB, 2KB or 1048576") }
        case .syncInterval:
            if value == "-1" { return }
            do { _ = try parseDuration(value) } catch { throw bad("expected -1 (never), 0 (every access) or a duration such as 30sec") }
        case .choice(let values):
            guard values.contains(where: { $0.caseInsensitiveEquals(value) }) else { throw bad("expected one of \(values.joined(separator: ", "))") }
        case .octalMask:
            guard isOctalMask(value) else { throw bad("expected an octal mask of 3 or 4 digits 0-7, such as 022") }
        }
    }

    /// Three or four octal digits, such as `022` or `0027`.
    public static func isOctalMask(_ value: String) -> Bool {
        (3...4).contains(value.count) && value.allSatisfy { ("0"..."7").contains($0) }
    }

    struct ParseError: Error {}

    /// Alluxio's duration syntax: a number and a unit (ms, s/sec, m/min, h/hour, d/day), or bare milliseconds.
    public static func parseDuration(_ text: String) throws -> Int64 {
        let (number, unit) = try split(text)
        let factor: Double
        switch unit {
        case "", "ms", "msec", "millis", "millisecond", "milliseconds": factor = 1
        case "s", "sec", "secs", "second", "seconds": factor = 1000
        case "m", "min", "mins", "minute", "minutes": factor = 60_000
        case "h", "hr", "hour", "hours": factor = 3_600_000
        case "d", "day", "days": factor = 86_400_000
        default: throw ParseError()
        }
        return try whole(number * factor)
    }

    /// Alluxio's size syntax: a number and a binary unit (B, KB, MB, GB, TB; K/M/G/T; KiB...), or bare bytes.
    public static func parseBytes(_ text: String) throws -> Int64 {
        let (number, unit) = try split(text)
        let factor: Double
        switch unit {
        case "", "b": factor = 1
        case "k", "kb", "kib": factor = 1024
        case "m", "mb", "mib": factor = 1024 * 1024
        case "g", "gb", "gib": factor = 1024 * 1024 * 1024
        case "t", "tb", "tib": factor = 1024 * 1024 * 1024 * 1024
        default: throw ParseError()
        }
        return try whole(number * factor)
    }

    /// A product that fits Int64; `Int64(_:)` of a larger one (a typo such as `99999999999999999999TB`) would trap.
    private static func whole(_ value: Double) throws -> Int64 {
        guard value.isFinite, value < 0x1p63 else { throw ParseError() }
        return Int64(value)
    }

    private static func split(_ text: String) throws -> (Double, String) {
        let t = text.trimmingSpaces()
        let digits = t.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let number = Double(digits), number >= 0 else { throw ParseError() }
        return (number, String(t.dropFirst(digits.count)).trimmingSpaces().lowercased())
    }

    /// Reads a Java-style properties file: `key=value` or `key: value`, `#`/`!` comments, blank lines.
    public static func parsePropertiesFile(_ text: String) throws(ConfigError) -> [(String, String)] {
        var result: [(String, String)] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine).trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let sep = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigError(description: "properties file line \(index + 1): expected key=value, got '\(line)'")
            }
            result.append((String(line[..<sep]).trimmingSpaces(), String(line[line.index(after: sep)...]).trimmingSpaces()))
        }
        return result
    }

    /// The documented template every key appears in; `properties/strata-site.properties.template` is this text.
    public static func template(registry: [PropertyKey] = Keys.all) -> String {
        var out = """
            # Strata site properties: copy to strata-site.properties and uncomment what you change.
            # Generated from the property registry (`strata conf --template`); a test keeps this file in sync.
            # Precedence, lowest to highest: defaults, this file (or --properties FILE), environment
            # variables (the key upper-cased with '.' as '_', e.g. STRATA_PROXY_WEB_PORT), --conf key=value.
            # Alluxio's `alluxio.` spellings are accepted for keys that show them; other `alluxio.*` keys (for Alluxio's
            # masters, workers and clients) are ignored and listed at start-up. Values may refer to other keys as ${key}.

            """
        for key in registry {
            out += "\n"
            for line in wrap(key.description, width: 100) { out += "# \(line)\n" }
            out += "# type: \(key.type.label)"
            if key.alluxioNames.count == 1 { out += "; Alluxio name: \(key.alluxioNames[0])" }
            if key.alluxioNames.count > 1 { out += "; Alluxio names: \(key.alluxioNames.joined(separator: ", "))" }
            out += key.isPerBucket ? "; one per bucket, overriding the global key" : ""
            out += "\n#\(key.name)=\(key.defaultValue)\n"
        }
        return out
    }

    private static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty && current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += current.isEmpty ? String(word) : " " + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }

    func caseInsensitiveEquals(_ other: String) -> Bool { lowercased() == other.lowercased() }
}
