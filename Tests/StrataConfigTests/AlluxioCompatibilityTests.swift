import Foundation
import Testing

@testable import StrataConfig

/// An existing Alluxio configuration works unchanged: every S3 proxy key Alluxio documents is accepted under each of its
/// spellings, keys for other Alluxio components are ignored, and `${key}` references resolve.
@Suite struct AlluxioCompatibilityTests {
    /// Every `alluxio.` key in Alluxio's S3 documentation and in the behaviour reference.
    static let documentedAlluxioKeys = [
        "alluxio.proxy.web.port", "alluxio.proxy.web.hostname", "alluxio.proxy.web.bind.host",
        "alluxio.proxy.audit.logging.enabled", "alluxio.master.audit.logging.enabled",
        "alluxio.proxy.s3.writetype", "alluxio.proxy.s3.deletetype",
        "alluxio.proxy.s3.header.metadata.max.size", "alluxio.proxy.s3.tagging.restrictions.enabled",
        "alluxio.proxy.s3.bucket.naming.restrictions.enabled", "alluxio.proxy.s3.list.objects.return.folders",
        "alluxio.proxy.s3.multipart.temporary.dir.suffix",
        "alluxio.proxy.s3.multipart.upload.cleaner.enabled", "alluxio.proxy.s3.multipart.upload.cleaner.timeout",
        "alluxio.proxy.s3.multipart.upload.timeout", "alluxio.proxy.s3.multipart.upload.cleaner.retry.count",
        "alluxio.proxy.s3.multipart.upload.cleaner.retry.delay", "alluxio.proxy.s3.multipart.upload.cleaner.pool.size",
        "alluxio.proxy.s3.complete.multipart.upload.keepalive.enabled",
        "alluxio.proxy.s3.complete.multipart.upload.keepalive.time.interval",
        "alluxio.proxy.s3.complete.multipart.upload.min.part.size", "alluxio.proxy.s3.multipart.upload.min.part.size",
        "alluxio.proxy.s3.complete.multipart.upload.pool.size",
        "alluxio.proxy.s3.bucketpathcache.timeout", "alluxio.proxy.s3.bucketpathcache.timeout.ms", "alluxio.proxy.stream.cache.timeout",
        "alluxio.proxy.s3.v2.version.enabled", "alluxio.proxy.s3.v2.async.processing.enabled",
        "alluxio.proxy.s3.v2.async.light.pool.core.thread.number", "alluxio.proxy.s3.v2.async.light.pool.maximum.thread.number",
        "alluxio.proxy.s3.v2.async.light.pool.queue.size", "alluxio.proxy.s3.v2.async.heavy.pool.core.thread.number",
        "alluxio.proxy.s3.v2.async.heavy.pool.maximum.thread.number", "alluxio.proxy.s3.v2.async.heavy.pool.queue.size",
        "alluxio.proxy.s3.global.read.rate.limit.mb", "alluxio.proxy.s3.single.connection.read.rate.limit.mb",
        "alluxio.s3.rest.authentication.enabled", "alluxio.s3.rest.authenticator.classname",
        "alluxio.security.authentication.type", "alluxio.security.authorization.permission.enabled",
        "alluxio.security.authorization.permission.umask", "alluxio.security.authorization.permission.supergroup",
    ]

    @Test func everyDocumentedAlluxioKeyIsRegistered() {
        let aliases = Set(Keys.all.flatMap(\.alluxioNames))
        for name in Self.documentedAlluxioKeys { #expect(aliases.contains(name), "\(name) has no Strata key") }
        // No spelling belongs to two keys.
        let all = Keys.all.flatMap { [$0.name] + $0.alluxioNames }
        #expect(Set(all).count == all.count)
    }

    @Test func documentedAlluxioValuesAreAccepted() throws {
        // Alluxio's documented defaults, given under the Alluxio names.
        let config = try Configuration(fileProperties: [
            ("alluxio.proxy.web.hostname", "proxy.example.com"),
            ("alluxio.proxy.s3.complete.multipart.upload.pool.size", "20"),
            ("alluxio.proxy.s3.bucketpathcache.timeout", "0min"),
            ("alluxio.proxy.stream.cache.timeout", "1hour"),
            ("alluxio.proxy.s3.v2.version.enabled", "false"),
            ("alluxio.proxy.s3.v2.async.processing.enabled", "true"),
            ("alluxio.proxy.s3.v2.async.light.pool.queue.size", "65536"),
            ("alluxio.proxy.s3.global.read.rate.limit.mb", "100"),
            ("alluxio.proxy.s3.single.connection.read.rate.limit.mb", "-1"),
            ("alluxio.security.authentication.type", "NOSASL"),
            ("alluxio.security.authorization.permission.enabled", "false"),
            ("alluxio.security.authorization.permission.umask", "027"),
            ("alluxio.security.authorization.permission.supergroup", "admins"),
            ("alluxio.s3.rest.authenticator.classname", "alluxio.s3.auth.PassAllAuthenticator"),
        ])
        #expect(config.string(Keys.webHostname) == "proxy.example.com")
        #expect(config.int(Keys.completePoolSize) == 20)
        #expect(config.durationMilliseconds(Keys.bucketPathCacheTimeout) == 0)
        #expect(config.durationMilliseconds(Keys.streamCacheTimeout) == 3_600_000)
        #expect(config.bool(Keys.v2Enabled) == false)
        #expect(config.int(Keys.globalReadRateLimit) == 100)
        #expect(config.int(Keys.connectionReadRateLimit) == -1)
        #expect(config.choice(Keys.authenticationType) == "NOSASL")
        #expect(config.bool(Keys.permissionEnabled) == false)
        #expect(config.string(Keys.permissionUmask) == "027")
        #expect(config.string(Keys.permissionSupergroup) == "admins")
        #expect(config.string(Keys.groupMappingFile) == "")
        #expect(config.ignoredKeys.isEmpty)
    }

    @Test func renamedAlluxioKeysAreSecondAliases() throws {
        let config = try Configuration(fileProperties: [
            ("alluxio.proxy.s3.multipart.upload.timeout", "10min"),
            ("alluxio.proxy.s3.multipart.upload.min.part.size", "1MB"),
        ])
        #expect(config.durationMilliseconds(Keys.cleanerTimeout) == 600_000)
        #expect(config.entry(Keys.cleanerTimeout).spelling == "alluxio.proxy.s3.multipart.upload.timeout")
        #expect(config.entry(Keys.cleanerTimeout).sourceDescription == "file (alluxio.proxy.s3.multipart.upload.timeout)")
        #expect(config.bytes(Keys.minPartSize) == 1 << 20)
        #expect(config.entry(Keys.minPartSize).sourceDescription == "file (alluxio.proxy.s3.multipart.upload.min.part.size)")
        // The later setting wins whichever spelling it uses; Strata's own name shows no spelling.
        let both = try Configuration(
            fileProperties: [("alluxio.proxy.s3.multipart.upload.cleaner.timeout", "5min"), ("alluxio.proxy.s3.multipart.upload.timeout", "7min")],
            commandLine: [("strata.proxy.s3.multipart.upload.cleaner.timeout", "9min")]
        )
        #expect(both.durationMilliseconds(Keys.cleanerTimeout) == 540_000)
        #expect(both.entry(Keys.cleanerTimeout).spelling == nil)
        #expect(both.entry(Keys.cleanerTimeout).sourceDescription == "command line")
    }

    @Test func templateListsEveryAlluxioSpelling() {
        let template = Configuration.template()
        #expect(
            template.contains(
                "Alluxio names: alluxio.proxy.s3.multipart.upload.cleaner.timeout, alluxio.proxy.s3.multipart.upload.timeout\n"
            )
        )
        #expect(template.contains("; Alluxio name: alluxio.proxy.web.port\n"))
    }

    @Test func otherAlluxioKeysAreIgnoredOthersRefused() throws {
        let config = try Configuration(
            fileProperties: [
                ("alluxio.master.hostname", "master-1"),
                ("alluxio.worker.tieredstore.levels", "1"),
                ("alluxio.user.file.writetype.default", "CACHE_THROUGH"),
                ("alluxio.zookeeper.enabled", "false"),
                ("alluxio.proxy.web.port", "40000"),
                ("alluxio.master.hostname", "master-2"),
            ],
            commandLine: [("alluxio.home", "/opt/alluxio")]
        )
        #expect(
            config.ignoredKeys == [
                "alluxio.master.hostname", "alluxio.worker.tieredstore.levels", "alluxio.user.file.writetype.default", "alluxio.zookeeper.enabled",
                "alluxio.home",
            ]
        )
        #expect(config.ignored.last == Configuration.IgnoredKey(name: "alluxio.home", source: .commandLine))
        #expect(config.int(Keys.port) == 40000)
        #expect(config.all.allSatisfy { !$0.key.name.hasPrefix("alluxio.") })

        for name in ["strata.nope", "s3a.secretKey", "alluxioish.key"] {
            do {
                _ = try Configuration(fileProperties: [(name, "1")])
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.description == "unknown property key '\(name)' (from file); `strata conf` lists every key")
            }
        }
        // An ignored key is not validated, but a registered Alluxio key still is.
        #expect(throws: Configuration.ConfigError.self) { try Configuration(fileProperties: [("alluxio.proxy.web.port", "many")]) }
    }

    @Test func referencesResolveAcrossSourcesAndNest() throws {
        let config = try Configuration(
            fileProperties: [
                ("alluxio.home", "/opt/alluxio"),
                ("alluxio.work.dir", "${alluxio.home}/work"),
                ("strata.root.dir", "${alluxio.work.dir}/strata-root"),
                ("alluxio.proxy.s3.multipart.temporary.dir.suffix", "_${strata.s3.region}_${alluxio.proxy.web.port}"),
                ("strata.bucket.logs.upstream.prefix", "${strata.root.dir}"),
                ("strata.proxy.web.hostname", "$HOME and ${unclosed"),
            ],
            environment: ["STRATA_S3_REGION": "eu-west-1"],
            commandLine: [("alluxio.proxy.web.port", "40002"), ("alluxio.user.name", "root"), ("strata.s3.superuser", "${alluxio.user.name}")]
        )
        #expect(config.string(Keys.rootDir) == "/opt/alluxio/work/strata-root")
        // Environment and command line values, and a registered key reached through its Alluxio spelling.
        #expect(config.string(Keys.multipartSuffix) == "_eu-west-1_40002")
        #expect(config.string(Keys.superuser) == "root")
        #expect(config.perBucket(Keys.bucketUpstreamPrefix, bucket: "logs") == "/opt/alluxio/work/strata-root")
        // Without `${name}` nothing changes.
        #expect(config.string(Keys.webHostname) == "$HOME and ${unclosed")
        // A registered key's default.
        let defaults = try Configuration(commandLine: [("strata.s3.auth.anonymous.user", "anon-${strata.proxy.web.port}")])
        #expect(defaults.string(Keys.anonymousUser) == "anon-39999")
    }

    @Test func referenceResolution() throws {
        let values = ["a": "${b}/a", "b": "${c}/b", "c": "c", "loop1": "${loop2}", "loop2": "x${loop1}", "self": "${self}", "dangling": "${nowhere}"]
        func lookup(_ name: String) -> String? { values[name] }
        #expect(try Configuration.resolveReferences("plain $ text {x}", lookup: lookup) == "plain $ text {x}")
        #expect(try Configuration.resolveReferences("${a}+${c}", lookup: lookup) == "c/b/a+c")
        #expect(try Configuration.resolveReferences("${ c }", lookup: lookup) == "c")
        #expect(try Configuration.resolveReferences("${a${b}}", lookup: lookup) == "${ac/b}")
        do {
            _ = try Configuration.resolveReferences("${loop1}", lookup: lookup)
            Issue.record("cycle not detected")
        } catch {
            #expect(error.description == "reference cycle ${loop1} -> ${loop2} -> ${loop1}")
        }
        #expect(throws: Configuration.ConfigError.self) { try Configuration.resolveReferences("${self}", lookup: lookup) }
        do {
            _ = try Configuration.resolveReferences("x/${dangling}", lookup: lookup)
            Issue.record("undefined reference not detected")
        } catch {
            #expect(error.description == "reference to undefined property '${nowhere}' in the value of 'dangling'")
        }
        // A chain deeper than the limit.
        func deep(_ name: String) -> String? {
            guard let n = Int(name.dropFirst(1)) else { return nil }
            return n >= 100 ? "end" : "${k\(n + 1)}"
        }
        #expect(try Configuration.resolveReferences("${k90}", lookup: deep) == "end")
        #expect(throws: Configuration.ConfigError.self) { try Configuration.resolveReferences("${k0}", lookup: deep) }
    }

    @Test func referenceErrorsNameTheKey() {
        let cases: [([(String, String)], String)] = [
            (
                [("strata.root.dir", "${alluxio.work.dir}/root")],
                "property key 'strata.root.dir' (from file): reference to undefined property '${alluxio.work.dir}'"
            ),
            (
                [("alluxio.work.dir", "${alluxio.home}/work"), ("strata.root.dir", "${alluxio.work.dir}/root")],
                "property key 'strata.root.dir' (from file): reference to undefined property '${alluxio.home}' in the value of 'alluxio.work.dir'"
            ),
            (
                [("alluxio.proxy.web.hostname", "${strata.proxy.web.hostname}")],
                "property key 'alluxio.proxy.web.hostname' (from file): reference cycle ${strata.proxy.web.hostname} -> ${strata.proxy.web.hostname}"
            ),
        ]
        for (file, message) in cases {
            do {
                _ = try Configuration(fileProperties: file)
                Issue.record("accepted \(file)")
            } catch {
                #expect(error.description == message)
            }
        }
        // An unknown key is reported as unknown even when its value cannot be resolved.
        do {
            _ = try Configuration(fileProperties: [("strata.nope", "${nowhere}")])
            Issue.record("strata.nope accepted")
        } catch {
            #expect(error.description.hasPrefix("unknown property key 'strata.nope'"))
        }
        // An ignored key's value is never resolved, so it cannot fail.
        #expect((try? Configuration(fileProperties: [("alluxio.master.journal.folder", "${alluxio.work.dir}/journal")])) != nil)
        // A resolved value is validated.
        #expect(throws: Configuration.ConfigError.self) {
            try Configuration(fileProperties: [("alluxio.x", "many"), ("strata.proxy.web.port", "${alluxio.x}")])
        }
    }

    @Test func umaskIsThreeOrFourOctalDigits() throws {
        for good in ["022", "000", "777", "0027", "7777"] {
            #expect(Configuration.isOctalMask(good))
            #expect(try Configuration(commandLine: [("strata.security.authorization.permission.umask", good)]).string(Keys.permissionUmask) == good)
        }
        for bad in ["22", "0", "", "028", "12345", "abc", "-22", "0x12", " 22"] {
            #expect(!Configuration.isOctalMask(bad), "\(bad)")
        }
        do {
            _ = try Configuration(fileProperties: [("alluxio.security.authorization.permission.umask", "999")])
            Issue.record("umask 999 accepted")
        } catch {
            #expect(error.description.contains("strata.security.authorization.permission.umask"))
            #expect(error.description.contains("octal"))
        }
        #expect(throws: Configuration.ConfigError.self) { try Configuration(commandLine: [("strata.security.authentication.type", "KERBEROS")]) }
        #expect(try Configuration(commandLine: [("alluxio.security.authentication.type", "custom")]).choice(Keys.authenticationType) == "CUSTOM")
    }

    @Test func heavyPoolMaximumSizesIOThreads() throws {
        #expect(Configuration.effectiveIOThreads(ioThreads: nil, heavyPoolMaximum: nil) == 4)
        #expect(Configuration.effectiveIOThreads(ioThreads: nil, heavyPoolMaximum: 64) == 64)
        #expect(Configuration.effectiveIOThreads(ioThreads: nil, heavyPoolMaximum: 2) == 4)
        #expect(Configuration.effectiveIOThreads(ioThreads: nil, heavyPoolMaximum: 5000) == 1024)
        #expect(Configuration.effectiveIOThreads(ioThreads: 8, heavyPoolMaximum: 64) == 8)

        #expect(try Configuration().int(Keys.ioThreads) == 4)
        let mapped = try Configuration(fileProperties: [("alluxio.proxy.s3.v2.async.heavy.pool.maximum.thread.number", "64")])
        #expect(mapped.int(Keys.ioThreads) == 64)
        #expect(mapped.entry(Keys.ioThreads).sourceDescription == "file (alluxio.proxy.s3.v2.async.heavy.pool.maximum.thread.number)")
        let small = try Configuration(commandLine: [("strata.proxy.s3.v2.async.heavy.pool.maximum.thread.number", "2")])
        #expect(small.int(Keys.ioThreads) == 4)
        #expect(small.entry(Keys.ioThreads).sourceDescription == "command line (strata.proxy.s3.v2.async.heavy.pool.maximum.thread.number)")
        let explicit = try Configuration(
            fileProperties: [("strata.fs.io.threads", "4"), ("alluxio.proxy.s3.v2.async.heavy.pool.maximum.thread.number", "64")]
        )
        #expect(explicit.int(Keys.ioThreads) == 4)
        #expect(explicit.entry(Keys.ioThreads).sourceDescription == "file")
    }

    @Test func masterAuditSwitchTurnsTheAuditLogOff() throws {
        #expect(!(try Configuration().bool(Keys.proxyAuditLogging)))
        #expect(try Configuration(fileProperties: [("alluxio.proxy.audit.logging.enabled", "true")]).bool(Keys.proxyAuditLogging))
        let off = try Configuration(fileProperties: [
            ("alluxio.proxy.audit.logging.enabled", "true"), ("alluxio.master.audit.logging.enabled", "false"),
        ])
        #expect(!off.bool(Keys.proxyAuditLogging))
        #expect(off.entry(Keys.proxyAuditLogging).sourceDescription == "file (alluxio.master.audit.logging.enabled)")
        #expect(off.bool(Keys.accessLog))
    }
}
