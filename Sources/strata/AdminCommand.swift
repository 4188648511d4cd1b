import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `strata admin ...`: the admin API's common tasks from a shell, as readable tables or (`--json`) the API's JSON.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage buckets and bucket users through a running server's admin API.",
        subcommands: [Buckets.self, Users.self, Websites.self, Health.self]
    )

    /// The admin listener: the one given, else STRATA_ADMIN_ENDPOINT, else the default port on loopback.
    static func endpoint(_ given: String?) -> String {
        given ?? ProcessInfo.processInfo.environment["STRATA_ADMIN_ENDPOINT"] ?? "http://127.0.0.1:39998"
    }

    /// Where the API is and how to authenticate; shared by every subcommand.
    struct Connection: ParsableArguments {
        @Option(help: "Admin listener URL (or STRATA_ADMIN_ENDPOINT).") var endpoint: String?
        @Option(help: "Admin API token (or STRATA_ADMIN_TOKEN; prefer the environment: arguments show in process lists).") var token: String?
        @Option(help: "Account name in the API's paths (or STRATA_ADMIN_ACCOUNT).") var account: String?
        @Flag(help: "Print the API's JSON answer instead of a table.") var json = false

        var environment: [String: String] { ProcessInfo.processInfo.environment }

        /// Sends one request; returns the decoded JSON (or raw text) of a 2xx answer, and fails with the API's message.
        func send(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil) async throws -> Any {
            let base = Admin.endpoint(endpoint)
            guard let token = token ?? environment["STRATA_ADMIN_TOKEN"], !token.isEmpty else {
                throw ValidationError("give the admin token with --token or STRATA_ADMIN_TOKEN")
            }
            let name = account ?? environment["STRATA_ADMIN_ACCOUNT"] ?? "strata"
            var request = HTTPClientRequest(url: base.trimmingSuffix("/") + "/v1/s3/\(Self.escape(name))" + path)
            request.method = method
            request.headers.add(name: "X-Auth-Token", value: token)
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            let bytes = try await response.body.collect(upTo: 16 << 20)
            let data = Data(bytes.readableBytesView)
            let decoded = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) ?? String(decoding: data, as: UTF8.self)
            guard (200..<300).contains(response.status.code) else {
                let message = (decoded as? [String: Any])?["Error"] as? String ?? "\(decoded)"
                throw AdminError(description: "\(response.status.code) \(response.status.reasonPhrase): \(message)")
            }
            return decoded
        }

        /// Prints the JSON answer, or the table when not asked for JSON.
        func show(_ answer: Any, table: () -> [[String]]) {
            if json {
                let data = (try? JSONSerialization.data(withJSONObject: answer, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed])) ?? Data()
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(Self.render(table()))
            }
        }

        static func escape(_ segment: String) -> String {
            segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
        }

        /// Rows as aligned columns; the first row is the header.
        static func render(_ rows: [[String]]) -> String {
            guard let header = rows.first else { return "" }
            var widths = header.map(\.count)
            for row in rows { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
            return rows.map { row in
                row.enumerated().map { index, cell in
                    index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
            }.joined(separator: "\n")
        }
    }

    struct AdminError: Error, CustomStringConvertible {
        let description: String
    }

    struct Buckets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Buckets.", subcommands: [List.self, Create.self, Show.self, Delete.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the buckets.")
            @OptionGroup var connection: Connection
            func run() async throws {
                let names = try await connection.send(.GET, "/buckets") as? [String] ?? []
                connection.show(names) { [["BUCKET"]] + names.map { [$0] } }
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a bucket, with tags.")
            @OptionGroup var connection: Connection
            @Argument var bucket: String
            @Option(name: .customLong("tag"), help: "A tag as key=value (repeatable).") var tags: [String] = []
            func run() async throws {
                let tagList = try tags.map { item -> [String: String] in
                    guard let eq = item.firstIndex(of: "=") else { throw ValidationError("a tag is key=value: \(item)") }
                    return ["Key": String(item[..<eq]), "Value": String(item[item.index(after: eq)...])]
                }
                let answer = try await connection.send(.POST, "/buckets", body: ["BucketInput": ["Bucket": bucket], "Tags": tagList])
                let record = answer as? [String: Any] ?? [:]
                let group = (record["Group"] as? [String: Any])?["GroupName"] as? String ?? ""
                let policy = (record["Policy"] as? [String: Any])?["PolicyName"] as? String ?? ""
                connection.show(answer) { [["BUCKET", "GROUP", "POLICY"], [bucket, group, policy]] }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a bucket's tags and whether it is empty.")
            @OptionGroup var connection: Connection
            @Argument var bucket: String
            func run() async throws {
                let answer = try await connection.send(.GET, "/buckets/\(Connection.escape(bucket))")
                let record = answer as? [String: Any] ?? [:]
                let tags = (record["Tags"] as? [[String: String]] ?? []).map { "\($0["Key"] ?? "")=\($0["Value"] ?? "")" }
                connection.show(answer) {
                    [["BUCKET", "EMPTY", "TAGS"], [bucket, "\(record["Empty"] as? Bool ?? false)", tags.joined(separator: ",")]]
                }
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete an empty bucket and its users.")
            @OptionGroup var connection: Connection
            @Argument var bucket: String
            func run() async throws {
                let answer = try await connection.send(.DELETE, "/buckets/\(Connection.escape(bucket))")
                let users = (answer as? [String: Any])?["Users"] as? [String] ?? []
                connection.show(answer) { [["DELETED BUCKET", "DELETED USERS"], [bucket, users.joined(separator: ",")]] }
            }
        }
    }

    /// For container health checks and scripts: exits 0 only while the node is ready (no token needed).
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask a node whether it is ready (exit 0) or draining, unusable or down (exit 1)."
        )
        @Option(help: "Admin listener URL (or STRATA_ADMIN_ENDPOINT).") var endpoint: String?
        @Flag(help: "Ask whether the process is alive instead of ready.") var live = false

        func run() async throws {
            let base = Admin.endpoint(endpoint)
            let request = HTTPClientRequest(url: base.trimmingSuffix("/") + "/v1/s3/health/" + (live ? "live" : "ready"))
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                let body = try await response.body.collect(upTo: 1 << 16)
                print(String(buffer: body))
                if response.status.code != 200 { throw ExitCode.failure }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                print("{\"Status\": \"down\", \"Error\": \"\(error)\"}")
                throw ExitCode.failure
            }
        }
    }

    struct Websites: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Static websites (a bucket named by its host name).",
            subcommands: [Create.self, Show.self, Invalidate.self]
        )

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a website bucket with its index and error documents.")
            @OptionGroup var connection: Connection
            @Argument(help: "The host name the site is served under (also the bucket's name).") var website: String
            @Option(help: "Index document served for directory paths.") var index = "index.html"
            @Option(help: "Error document served (with 404) for misses.") var error: String?
            func run() async throws {
                var configuration: [String: Any] = ["IndexDocument": ["Suffix": index]]
                if let error { configuration["ErrorDocument"] = ["Key": error] }
                let answer = try await connection.send(
                    .POST,
                    "/websites",
                    body: ["BucketInput": ["Bucket": website], "WebsiteConfiguration": configuration]
                )
                let endpoint = ((answer as? [String: Any])?["Website"] as? [String: Any])?["Endpoint"] as? String ?? "(website listener off)"
                connection.show(answer) { [["WEBSITE", "ENDPOINT"], [website, endpoint]] }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a website's documents and whether it is empty.")
            @OptionGroup var connection: Connection
            @Argument var website: String
            func run() async throws {
                let answer = try await connection.send(.GET, "/websites/\(Connection.escape(website))")
                let record = answer as? [String: Any] ?? [:]
                let site = record["Website"] as? [String: Any] ?? [:]
                let index = (site["IndexDocument"] as? [String: Any])?["Suffix"] as? String ?? ""
                let error = (site["ErrorDocument"] as? [String: Any])?["Key"] as? String ?? "-"
                connection.show(answer) {
                    [["WEBSITE", "INDEX", "ERROR", "EMPTY"], [website, index, error, "\(record["Empty"] as? Bool ?? false)"]]
                }
            }
        }

        struct Invalidate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Drop cached copies of paths (`/*` for all) so the next reads fetch them again."
            )
            @OptionGroup var connection: Connection
            @Argument var website: String
            @Argument(help: "Paths starting with '/', a trailing '*' for a prefix.") var paths: [String]
            func run() async throws {
                let answer = try await connection.send(.PATCH, "/websites/\(Connection.escape(website))", body: ["CacheInvalidation": paths])
                let invalidation = (answer as? [String: Any])?["Invalidation"] as? [String: Any] ?? [:]
                connection.show(answer) {
                    [
                        ["INVALIDATION", "STATUS", "DROPPED COPIES"],
                        [
                            invalidation["Id"] as? String ?? "", invalidation["Status"] as? String ?? "",
                            "\(invalidation["DroppedCopies"] as? Int ?? 0)",
                        ],
                    ]
                }
            }
        }
    }

    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Users bound to one bucket.",
            subcommands: [List.self, Create.self, Rotate.self, Delete.self]
        )

        static func keyRow(_ answer: Any, user: String) -> [[String]] {
            let key = (answer as? [String: Any])?["AccessKey"] as? [String: Any] ?? [:]
            return [
                ["USER", "ACCESS KEY ID", "SECRET ACCESS KEY (shown once)"],
                [user, key["AccessKeyId"] as? String ?? "", key["SecretAccessKey"] as? String ?? ""],
            ]
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a bucket's users.")
            @OptionGroup var connection: Connection
            @Argument var bucket: String
            func run() async throws {
                let answer = try await connection.send(.GET, "/buckets/\(Connection.escape(bucket))/users")
                let users = answer as? [[String: Any]] ?? []
                connection.show(answer) {
                    [["USER", "CREATED"]] + users.map { [$0["UserName"] as? String ?? "", $0["CreateDate"] as? String ?? ""] }
                }
            }
        }

        /// The user a command addresses, by bucket and name.
        struct Target: ParsableArguments {
            @Argument var bucket: String
            @Argument var user: String
            var path: String { "/buckets/\(Connection.escape(bucket))/users/\(Connection.escape(user))" }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a user with a key for the bucket; prints the secret once.")
            @OptionGroup var connection: Connection
            @OptionGroup var target: Target
            func run() async throws {
                let path = "/buckets/\(Connection.escape(target.bucket))/users"
                let answer = try await connection.send(.POST, path, body: ["User": ["UserName": target.user]])
                connection.show(answer) { keyRow(answer, user: target.user) }
            }
        }

        struct Rotate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Replace a user's keys; the old ones stop working at once.")
            @OptionGroup var connection: Connection
            @OptionGroup var target: Target
            func run() async throws {
                let answer = try await connection.send(.PUT, target.path)
                connection.show(answer) { keyRow(answer, user: target.user) }
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a user and its keys.")
            @OptionGroup var connection: Connection
            @OptionGroup var target: Target
            func run() async throws {
                let answer = try await connection.send(.DELETE, target.path)
                let deleted = (answer as? [String: Any])?["DeletedKeyIds"] as? [String] ?? []
                connection.show(answer) { [["DELETED USER", "DELETED KEYS"], [target.user, deleted.joined(separator: ",")]] }
            }
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
