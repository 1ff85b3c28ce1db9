/// Python package names.
enum PyPIName {
    /// The distribution name a PEP 508 requirement starts with: `Foo[bar]>=1; …` → `Foo`.
    static func requirementName(_ requirement: String) -> String? {
        let trimmed = requirement.drop { $0 == " " || $0 == "\t" }
        let name = trimmed.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
        return name.isEmpty ? nil : String(name)
    }

    /// PEP 503 normal form: lowercase, each run of `-`, `_` and `.` becomes one `-`.
    static func normalize(_ name: String) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        var inSeparatorRun = false
        for scalar in name.unicodeScalars {
            if scalar == "-" || scalar == "_" || scalar == "." {
                if !inSeparatorRun { out.unicodeScalars.append("-") }
                inSeparatorRun = true
            } else {
                if scalar.isASCII {
                    let v = scalar.value
                    out.unicodeScalars.append(v >= 65 && v <= 90 ? Unicode.Scalar(v + 32)! : scalar)
                } else {
                    out.unicodeScalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
                inSeparatorRun = false
            }
        }
        return out
    }
}

/// Package indices by normal-form name, for Python lockfiles whose dependency lists name
/// packages without saying which version.
struct PyPINameIndex {
    private var indices: [String: [Int]] = [:]

    mutating func add(_ name: String, _ index: Int) {
        indices[PyPIName.normalize(name), default: []].append(index)
    }

    subscript(name: String) -> [Int] { indices[PyPIName.normalize(name)] ?? [] }
}
