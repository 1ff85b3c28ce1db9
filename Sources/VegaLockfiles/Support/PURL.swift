/// Builds package URLs (https://github.com/package-url/purl-spec).
enum PURL {
    /// `pkg:type/namespace/name@version`; each component is percent-encoded, the
    /// namespace per `/`-separated segment. An empty version is left out.
    static func make(type: String, namespace: String? = nil, name: String, version: String) -> String {
        var purl = "pkg:" + type.lowercased() + "/"
        if let namespace, !namespace.isEmpty {
            purl += namespace.split(separator: "/", omittingEmptySubsequences: true)
                .map { encode(String($0)) }.joined(separator: "/") + "/"
        }
        purl += encode(name)
        if !version.isEmpty { purl += "@" + encode(version) }
        return purl
    }

    /// npm: the scope is the namespace (`pkg:npm/%40babel/core@7.0.0`); npm names are lowercase.
    static func npm(name: String, version: String) -> String {
        let lower = name.lowercased()
        if lower.hasPrefix("@"), let slash = lower.firstIndex(of: "/") {
            return make(type: "npm", namespace: String(lower[..<slash]),
                        name: String(lower[lower.index(after: slash)...]), version: version)
        }
        return make(type: "npm", name: lower, version: version)
    }

    /// PyPI: the name in its PEP 503 normal form (`pkg:pypi/zope-interface@5.0`).
    static func pypi(name: String, version: String) -> String {
        make(type: "pypi", name: PyPIName.normalize(name), version: version)
    }

    private static let hexDigits = Array("0123456789ABCDEF".unicodeScalars)

    /// Percent-encodes everything but ASCII letters, digits and `.-_~:` (UTF-8 bytes).
    static func encode(_ component: String) -> String {
        var out = ""
        out.reserveCapacity(component.utf8.count)
        for byte in component.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hexDigits[Int(byte >> 4)])
                out.unicodeScalars.append(hexDigits[Int(byte & 0xF)])
            }
        }
        return out
    }
}
