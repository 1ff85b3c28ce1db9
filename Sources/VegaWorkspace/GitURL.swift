import Foundation

/// A remote repository address that is safe to hand to `git clone`.
struct GitURL: Sendable, Equatable {
    let url: String
    /// `url` without passwords or tokens, for messages and reports.
    let display: String
    /// git's name for the transport (`protocol.<name>.allow`).
    let transport: String
    /// Credential text to blank out of anything git prints.
    let secrets: [String]

    /// Recognises a git URL: nil when `argument` does not look like one (it may then be a
    /// local path); throws when it does but is refused.
    static func parse(_ argument: String) throws -> GitURL? {
        if let helper = remoteHelperName(argument) {
            throw WorkspaceError(
                "refusing '\(helper)::' source: git remote-helper transports such as ext:: can run arbitrary commands"
            )
        }
        if let scheme = scheme(argument) {
            try rejectUnsafeCharacters(argument, shown: scheme + "://…")
            return try parseSchemeURL(argument, scheme: scheme.lowercased())
        }
        return try parseSCPLike(argument)
    }

    /// The `<transport>` of git's `<transport>::<address>` form.
    private static func remoteHelperName(_ argument: String) -> String? {
        guard let range = argument.range(of: "::") else { return nil }
        let name = argument[..<range.lowerBound]
        return isSchemeName(name) ? String(name) : nil
    }

    private static func scheme(_ argument: String) -> String? {
        guard let range = argument.range(of: "://") else { return nil }
        let name = argument[..<range.lowerBound]
        return isSchemeName(name) ? String(name) : nil
    }

    /// RFC 3986: a letter, then letters, digits, '+', '-' or '.'.
    private static func isSchemeName(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0)) }
    }

    private static func rejectUnsafeCharacters(_ argument: String, shown: String) throws {
        if argument.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) {
            throw WorkspaceError("refusing \(shown): the URL contains whitespace or control characters")
        }
    }

    private static func parseSchemeURL(_ url: String, scheme: String) throws -> GitURL {
        let transport: String
        switch scheme {
        case "https": transport = "https"
        case "ssh", "git+ssh", "ssh+git": transport = "ssh"
        case "file": transport = "file"
        case "http":
            throw WorkspaceError("refusing plain http:// (code and credentials would travel unencrypted); use https://")
        case "git":
            throw WorkspaceError("refusing git:// (unauthenticated and unencrypted); use https:// or ssh://")
        default:
            throw WorkspaceError("unsupported URL scheme '\(scheme)://'; use https://, ssh://, git@host:path or file://")
        }
        let afterScheme = url[url.range(of: "://")!.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { "/?#".contains($0) }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        let userinfo = authority.lastIndex(of: "@").map { authority[..<$0] }
        let host = userinfo.map { authority[authority.index(after: $0.endIndex)...] } ?? authority
        let schemePart = String(url[..<afterScheme.startIndex])
        let rest = afterScheme[authorityEnd...]

        if transport != "file" {
            guard !host.isEmpty else { throw WorkspaceError("refusing \(schemePart)…: the URL has no host") }
            // A host like "-oProxyCommand=…" would reach ssh as an option.
            if host.hasPrefix("-") { throw WorkspaceError("refusing \(schemePart)…: the host begins with '-'") }
        }
        guard let userinfo, transport != "file" else {
            return GitURL(url: url, display: url, transport: transport, secrets: [])
        }
        if transport == "https" {
            // Over https a bare user name is often a token itself, so all of it goes;
            // git may echo the user name alone, so each part is blanked too.
            let parts = userinfo.split(separator: ":").map(String.init)
            return GitURL(url: url, display: schemePart + host + rest, transport: transport, secrets: [String(userinfo)] + parts)
        }
        guard let colon = userinfo.firstIndex(of: ":") else {
            return GitURL(url: url, display: url, transport: transport, secrets: [])
        }
        let user = userinfo[..<colon]
        let password = userinfo[userinfo.index(after: colon)...]
        return GitURL(
            url: url, display: schemePart + user + "@" + host + rest, transport: transport,
            secrets: password.isEmpty ? [] : [String(password)]
        )
    }

    /// scp-like `[user@]host:path`, which git reads as ssh when a ':' comes before any '/'.
    private static func parseSCPLike(_ argument: String) throws -> GitURL? {
        guard let colon = argument.firstIndex(of: ":") else { return nil }
        let before = argument[..<colon]
        guard !before.contains("/") else { return nil }
        let at = before.lastIndex(of: "@")
        let host = at.map { before[before.index(after: $0)...] } ?? before
        let path = argument[argument.index(after: colon)...]
        let hostCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
        guard !host.isEmpty, !path.isEmpty, host.allSatisfy(hostCharacters.contains) else { return nil }
        try rejectUnsafeCharacters(argument, shown: "'\(host):…'")
        if host.hasPrefix("-") { throw WorkspaceError("refusing '\(host):…': the host begins with '-'") }
        return GitURL(url: argument, display: argument, transport: "ssh", secrets: [])
    }

    /// `text` with every credential replaced, for relaying git's own messages.
    func redacting(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }
}

/// Repository addresses as the platform accepts and shows them.
public enum RepositoryAddress {
    /// Accepts a git URL that `vega scan` would clone, never a local path; `file://` only
    /// when the operator allows it (it reads the server's own disk). Returns it unchanged.
    public static func check(_ address: String, allowFile: Bool) throws -> String {
        guard let url = try GitURL.parse(address) else {
            throw WorkspaceError("'\(address)' is not a git URL (https://, ssh://, git@host:path)")
        }
        if url.transport == "file" && !allowFile {
            throw WorkspaceError("file:// repositories are disabled on this server (vega serve --allow-file-repositories)")
        }
        return address
    }

    /// The address without passwords or tokens, for every response and log line.
    public static func display(_ address: String) -> String {
        (try? GitURL.parse(address))??.display ?? address
    }
}
