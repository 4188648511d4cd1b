import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore
import NIOHTTP1
import S3Protocol

/// The claims of a web identity token, kept whole: roles may test any claim.
struct WebIdentityClaims: JWTPayload {
    enum Value: Sendable, Equatable {
        case string(String)
        case strings([String])
        case number(Double)
        case other
    }

    var claims: [String: Value]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var claims: [String: Value] = [:]
        for key in container.allKeys {
            if let text = try? container.decode(String.self, forKey: key) {
                claims[key.stringValue] = .string(text)
            } else if let list = try? container.decode([String].self, forKey: key) {
                claims[key.stringValue] = .strings(list)
            } else if let number = try? container.decode(Double.self, forKey: key) {
                claims[key.stringValue] = .number(number)
            } else {
                claims[key.stringValue] = .other
            }
        }
        self.claims = claims
    }

    /// Never encoded: these claims are only read from tokens others signed.
    func encode(to encoder: any Encoder) throws {}

    /// Time and audience claims are checked by the STS, which reports each failure with its own error.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    func string(_ name: String) -> String? {
        if case .string(let text)? = claims[name] { return text }
        return nil
    }

    /// A claim as a list of strings (`aud` may be one string or several).
    func strings(_ name: String) -> [String] {
        switch claims[name] {
        case .string(let text)?: [text]
        case .strings(let list)?: list
        // Whole numbers as integers ("aud": 12345 matches "12345"); Int64 of a larger or infinite one would trap.
        case .number(let number)?: [number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)]
        default: []
        }
    }

    func seconds(_ name: String) -> Int64? {
        guard case .number(let number)? = claims[name], number.isFinite, abs(number) < 1e15 else { return nil }
        return Int64(number)
    }
}

/// Why a token was refused, as STS names it.
struct STSError: Error {
    let code: String
    let message: String
    let status: Int

    static func invalidToken(_ message: String) -> STSError { STSError(code: "InvalidIdentityToken", message: message, status: 400) }
    static func expired(_ message: String) -> STSError { STSError(code: "ExpiredTokenException", message: message, status: 400) }
    static func denied(_ message: String) -> STSError { STSError(code: "AccessDenied", message: message, status: 403) }
    static func validation(_ message: String) -> STSError { STSError(code: "ValidationError", message: message, status: 400) }
    static func idp(_ message: String) -> STSError { STSError(code: "IDPCommunicationError", message: message, status: 400) }
}

/// Verifies web identity tokens of trusted providers with jwt-kit: the signature against the provider's key set
/// (a local JWKS file, or OpenID discovery at the issuer, cached and fetched again for an unknown `kid`), then
/// issuer, audience and times with a small leeway. Only asymmetric algorithms are accepted: `none` and HMAC (which
/// would use a public key as a shared secret) are refused before any key is looked at.
actor WebIdentityVerifier {
    static let leewaySeconds: Int64 = 60
    static let asymmetric: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

    private struct KeySet {
        let keys: JWTKeyCollection
        let kids: Set<String>
        let fetched: ContinuousClock.Instant
    }
    private var keySets: [String: KeySet] = [:]

    /// The verified claims of `token`, from one of `configuration`'s providers.
    func verify(_ token: String, configuration: STSConfiguration, now: Int64) async throws -> (WebIdentityClaims, STSConfiguration.Provider) {
        guard let (header, body) = CompactJWT.decode(token) else { throw STSError.invalidToken("The web identity token is not a JWT.") }
        guard let alg = header["alg"] as? String, Self.asymmetric.contains(alg) else {
            throw STSError.invalidToken("The web identity token's algorithm is not accepted: use RS256, ES256 or another asymmetric one.")
        }
        guard let issuer = body["iss"] as? String, let provider = configuration.provider(issuer: issuer) else {
            throw STSError.invalidToken("The web identity token's issuer is not trusted.")
        }
        let kid = header["kid"] as? String
        var keySet = try await keys(for: provider, refresh: false)
        if let kid, !keySet.kids.contains(kid) {
            // A provider rotated its keys: fetch the set again (at most every 10 s), then give up.
            keySet = try await keys(for: provider, refresh: true)
            guard keySet.kids.contains(kid) else {
                throw STSError.invalidToken("The web identity token's key (kid \(kid)) is unknown to its issuer.")
            }
        }
        let claims: WebIdentityClaims
        do {
            claims = try await keySet.keys.verify(token, as: WebIdentityClaims.self)
        } catch {
            throw STSError.invalidToken("The web identity token's signature does not verify.")
        }
        try Self.checkClaims(claims, provider: provider, now: now)
        return (claims, provider)
    }

    static func checkClaims(_ claims: WebIdentityClaims, provider: STSConfiguration.Provider, now: Int64) throws {
        guard claims.string("iss") == provider.issuer else { throw STSError.invalidToken("The web identity token's issuer is not trusted.") }
        guard claims.strings("aud").contains(where: provider.audiences.contains) else {
            throw STSError.invalidToken("The web identity token's audience is not accepted by this server.")
        }
        guard let expires = claims.seconds("exp") else { throw STSError.invalidToken("The web identity token has no expiry.") }
        if expires + leewaySeconds < now { throw STSError.expired("The web identity token has expired.") }
        if let notBefore = claims.seconds("nbf"), notBefore - leewaySeconds > now {
            throw STSError.invalidToken("The web identity token is not valid yet.")
        }
        if let issued = claims.seconds("iat"), issued - leewaySeconds > now {
            throw STSError.invalidToken("The web identity token was issued in the future.")
        }
    }

    private func keys(for provider: STSConfiguration.Provider, refresh: Bool) async throws -> KeySet {
        if let cached = keySets[provider.issuer] {
            let age = ContinuousClock.now - cached.fetched
            if !refresh && age < .seconds(3600) { return cached }
            if refresh && age < .seconds(10) { return cached }
        }
        let json = try await Self.fetchKeySet(provider)
        let collection = JWTKeyCollection()
        let parsed: JWKS
        do {
            parsed = try JSONDecoder().decode(JWKS.self, from: Data(json.utf8))
            try await collection.add(jwks: parsed)
        } catch {
            throw STSError.idp("The identity provider's key set cannot be read: \(error)")
        }
        let kids = Set(parsed.keys.compactMap { $0.keyIdentifier?.string })
        let keySet = KeySet(keys: collection, kids: kids, fetched: .now)
        keySets[provider.issuer] = keySet
        return keySet
    }

    /// The provider's JWKS: its local file, or discovery (`/.well-known/openid-configuration`, then `jwks_uri`) with
    /// bounded retries.
    private static func fetchKeySet(_ provider: STSConfiguration.Provider) async throws -> String {
        if let file = provider.jwksFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw STSError.idp("The key set file \(file) cannot be read.")
            }
            return text
        }
        let base = provider.issuer.hasSuffix("/") ? String(provider.issuer.dropLast()) : provider.issuer
        let discovery = try await get(base + "/.well-known/openid-configuration")
        guard let document = (try? JSONSerialization.jsonObject(with: Data(discovery.utf8))) as? [String: Any],
            let jwksURI = document["jwks_uri"] as? String
        else {
            throw STSError.idp("The identity provider's discovery document has no jwks_uri.")
        }
        return try await get(jwksURI)
    }

    private static func get(_ url: String) async throws -> String {
        var lastError = "no attempt"
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(200 * attempt)) }
            do {
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
                let body = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok else {
                    lastError = "HTTP \(response.status.code)"
                    continue
                }
                return String(buffer: body)
            } catch {
                lastError = "\(error)"
            }
        }
        throw STSError.idp("The identity provider could not be reached at \(url): \(lastError)")
    }
}
