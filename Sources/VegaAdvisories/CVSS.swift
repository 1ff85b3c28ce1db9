import Foundation
import VegaModel

/// CVSS scores computed from vector strings: v3.0 and v3.1 base scores (spec §7.1 formula with
/// each version's Roundup) and v4.0 scores with the MacroVector lookup and severity-distance
/// interpolation of FIRST's reference calculator.
public enum CVSS {
    /// Vector versions in preference order: a v4.0 vector is preferred to a v3.1 one, and that to
    /// v3.0, because later versions describe the vulnerability more precisely.
    public enum Version: Int, Comparable, Sendable, Codable {
        case v3_0, v3_1, v4_0

        public static func < (a: Version, b: Version) -> Bool { a.rawValue < b.rawValue }
    }

    /// The vector's version, from its prefix; nil for anything else (including CVSS v2).
    public static func version(of vector: String) -> Version? {
        if vector.hasPrefix("CVSS:4.0/") { return .v4_0 }
        if vector.hasPrefix("CVSS:3.1/") { return .v3_1 }
        if vector.hasPrefix("CVSS:3.0/") { return .v3_0 }
        return nil
    }

    /// The score of a vector, 0.0–10.0; nil when the vector is not a valid v3.0, v3.1 or v4.0
    /// vector. For v3 it is the base score (temporal and environmental metrics are validated but
    /// not applied: advisories publish base vectors). For v4 it is what FIRST's calculator shows
    /// for the whole vector (CVSS-B, or CVSS-BT/-BE/-BTE when threat or environmental metrics
    /// are present), since v4 folds them into one score.
    public static func score(_ vector: String) -> Double? {
        switch version(of: vector) {
        case .v4_0: V4(vector)?.score
        case .v3_1: V3(vector)?.baseScore(roundup: roundup31)
        case .v3_0: V3(vector)?.baseScore(roundup: roundup30)
        case nil: nil
        }
    }

    /// The qualitative rating of a score: 0 → info (CVSS "None"), 0.1–3.9 low, 4.0–6.9 medium,
    /// 7.0–8.9 high, 9.0–10.0 critical.
    public static func severity(forScore score: Double) -> Severity {
        switch score {
        case ..<0.05: .info
        case ..<3.95: .low
        case ..<6.95: .medium
        case ..<8.95: .high
        default: .critical
        }
    }

    /// Splits "CVSS:x.y/K:V/…" into its metrics; nil on a duplicate metric or a malformed part.
    static func metrics(_ vector: String) -> [Substring: Substring]? {
        var result: [Substring: Substring] = [:]
        for part in vector.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let colon = part.firstIndex(of: ":") else { return nil }
            let key = part[..<colon], value = part[part.index(after: colon)...]
            guard !key.isEmpty, !value.isEmpty, result.updateValue(value, forKey: key) == nil else { return nil }
        }
        return result
    }

    // MARK: - v3

    /// CVSS v3.1 Roundup (spec Appendix A): works on an integer so that 4.000000000001 does not
    /// round up to 4.1.
    static func roundup31(_ x: Double) -> Double {
        let scaled = Int((x * 100_000).rounded())
        return scaled % 10_000 == 0 ? Double(scaled) / 100_000 : Double(scaled / 10_000 + 1) / 10
    }

    /// CVSS v3.0 Roundup: the smallest one-decimal number ≥ x, as the v3.0 specification says.
    static func roundup30(_ x: Double) -> Double { (x * 10).rounded(.up) / 10 }

    struct V3 {
        let av, ac, pr, ui, c, i, a: Double
        let scopeChanged: Bool

        /// The values each metric may take (v3.0 and v3.1 share them); base metrics are required.
        private static let allowed: [Substring: Set<Substring>] = [
            "AV": ["N", "A", "L", "P"], "AC": ["L", "H"], "PR": ["N", "L", "H"], "UI": ["N", "R"],
            "S": ["U", "C"], "C": ["N", "L", "H"], "I": ["N", "L", "H"], "A": ["N", "L", "H"],
            "E": ["X", "U", "P", "F", "H"], "RL": ["X", "O", "T", "W", "U"], "RC": ["X", "U", "R", "C"],
            "CR": ["X", "L", "M", "H"], "IR": ["X", "L", "M", "H"], "AR": ["X", "L", "M", "H"],
            "MAV": ["X", "N", "A", "L", "P"], "MAC": ["X", "L", "H"], "MPR": ["X", "N", "L", "H"],
            "MUI": ["X", "N", "R"], "MS": ["X", "U", "C"],
            "MC": ["X", "N", "L", "H"], "MI": ["X", "N", "L", "H"], "MA": ["X", "N", "L", "H"],
        ]
        private static let base: [Substring] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"]

        init?(_ vector: String) {
            guard let m = CVSS.metrics(vector),
                  m.allSatisfy({ Self.allowed[$0.key]?.contains($0.value) == true }),
                  Self.base.allSatisfy({ m[$0] != nil })
            else { return nil }
            scopeChanged = m["S"] == "C"
            av = ["N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2][m["AV"]!]!
            ac = m["AC"] == "L" ? 0.77 : 0.44
            pr = switch m["PR"]! {
            case "N": 0.85
            case "L": scopeChanged ? 0.68 : 0.62
            default: scopeChanged ? 0.5 : 0.27
            }
            ui = m["UI"] == "N" ? 0.85 : 0.62
            let cia: [Substring: Double] = ["H": 0.56, "L": 0.22, "N": 0]
            c = cia[m["C"]!]!
            i = cia[m["I"]!]!
            a = cia[m["A"]!]!
        }

        func baseScore(roundup: (Double) -> Double) -> Double {
            let iss = 1 - (1 - c) * (1 - i) * (1 - a)
            let impact = scopeChanged ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss
            guard impact > 0 else { return 0 }
            let exploitability = 8.22 * av * ac * pr * ui
            return scopeChanged
                ? roundup(min(1.08 * (impact + exploitability), 10))
                : roundup(min(impact + exploitability, 10))
        }
    }

    // MARK: - v4

    /// A CVSS v4.0 vector, scored as FIRST's reference calculator (cvss40.js) does it: the
    /// MacroVector (EQ1–EQ6) gives the score of its most severe vector from the lookup table;
    /// the vector's severity distance from that most severe vector, proportional to the score
    /// gap to the next lower MacroVector in each EQ, is averaged and subtracted.
    struct V4 {
        private static let allowed: [Substring: Set<Substring>] = {
            let cia: Set<Substring> = ["H", "L", "N"], modifiedCIA: Set<Substring> = ["X", "H", "L", "N"]
            let requirement: Set<Substring> = ["X", "H", "M", "L"]
            return [
                "AV": ["N", "A", "L", "P"], "AC": ["L", "H"], "AT": ["N", "P"], "PR": ["N", "L", "H"],
                "UI": ["N", "P", "A"], "VC": cia, "VI": cia, "VA": cia, "SC": cia, "SI": cia, "SA": cia,
                "E": ["X", "A", "P", "U"], "CR": requirement, "IR": requirement, "AR": requirement,
                "MAV": ["X", "N", "A", "L", "P"], "MAC": ["X", "L", "H"], "MAT": ["X", "N", "P"],
                "MPR": ["X", "N", "L", "H"], "MUI": ["X", "N", "P", "A"],
                "MVC": modifiedCIA, "MVI": modifiedCIA, "MVA": modifiedCIA, "MSC": modifiedCIA,
                "MSI": ["X", "S", "H", "L", "N"], "MSA": ["X", "S", "H", "L", "N"],
                "S": ["X", "N", "P"], "AU": ["X", "N", "Y"], "R": ["X", "A", "U", "I"], "V": ["X", "D", "C"],
                "RE": ["X", "L", "M", "H"], "U": ["X", "Clear", "Green", "Amber", "Red"],
            ]
        }()
        private static let base: [Substring] = ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"]
        /// Unset threat and requirement metrics score as their worst case.
        private static let worstCase: [Substring: Substring] = ["E": "A", "CR": "H", "IR": "H", "AR": "H"]

        private let metrics: [Substring: Substring]

        init?(_ vector: String) {
            guard let m = CVSS.metrics(vector),
                  m.allSatisfy({ Self.allowed[$0.key]?.contains($0.value) == true }),
                  Self.base.allSatisfy({ m[$0] != nil })
            else { return nil }
            metrics = m
        }

        /// The value scoring uses: a modified (M…) environmental metric overrides its base metric.
        private func value(_ metric: Substring) -> Substring {
            let own = metrics[metric] ?? "X"
            if own == "X", let worst = Self.worstCase[metric] { return worst }
            if let modified = metrics["M" + metric], modified != "X" { return modified }
            return own
        }

        private var macroVector: [Int] {
            let av = value("AV"), pr = value("PR"), ui = value("UI")
            let eq1 = av == "N" && pr == "N" && ui == "N" ? 0 : (av == "N" || pr == "N" || ui == "N") && av != "P" ? 1 : 2
            let eq2 = value("AC") == "L" && value("AT") == "N" ? 0 : 1
            let vc = value("VC"), vi = value("VI"), va = value("VA")
            let eq3 = vc == "H" && vi == "H" ? 0 : vc == "H" || vi == "H" || va == "H" ? 1 : 2
            let eq4 = value("MSI") == "S" || value("MSA") == "S" ? 0
                : value("SC") == "H" || value("SI") == "H" || value("SA") == "H" ? 1 : 2
            let eq5 = ["A": 0, "P": 1, "U": 2][value("E")]!
            let eq6 = (value("CR") == "H" && vc == "H") || (value("IR") == "H" && vi == "H")
                || (value("AR") == "H" && va == "H") ? 0 : 1
            return [eq1, eq2, eq3, eq4, eq5, eq6]
        }

        var score: Double {
            if ["VC", "VI", "VA", "SC", "SI", "SA"].allSatisfy({ value($0) == "N" }) { return 0 }
            let macro = macroVector
            let (eq1, eq2, eq3, eq4, eq5, eq6) = (macro[0], macro[1], macro[2], macro[3], macro[4], macro[5])
            let macroScore = Self.lookup(macro)!

            // The next lower MacroVector in each EQ (nil where there is none). EQ3 and EQ6 move
            // together: 00 can go to 01 or 10 (the higher-scoring one counts), 01 and 11 go to
            // the next EQ3 level, 10 goes to 11.
            let lowerEQ3EQ6: Double? = switch (eq3, eq6) {
            case (0, 0):
                Self.lookup([eq1, eq2, 0, eq4, eq5, 1]).flatMap { left in
                    Self.lookup([eq1, eq2, 1, eq4, eq5, 0]).map { max(left, $0) }
                }
            case (1, 0): Self.lookup([eq1, eq2, 1, eq4, eq5, 1])
            default: Self.lookup([eq1, eq2, eq3 + 1, eq4, eq5, eq6])
            }
            let lower: [Double?] = [
                Self.lookup([eq1 + 1, eq2, eq3, eq4, eq5, eq6]),
                Self.lookup([eq1, eq2 + 1, eq3, eq4, eq5, eq6]),
                lowerEQ3EQ6,
                Self.lookup([eq1, eq2, eq3, eq4 + 1, eq5, eq6]),
                Self.lookup([eq1, eq2, eq3, eq4, eq5 + 1, eq6]),
            ]

            // The first of the MacroVector's most severe vectors that is at least as severe as
            // this one in every metric; distances are in the calculator's 0.1 steps.
            var distances: [Substring: Double] = [:]
            search: for v1 in Self.maxEQ1[eq1] {
                for v2 in Self.maxEQ2[eq2] {
                    for v36 in Self.maxEQ3EQ6[eq3][eq6] ?? [] {
                        for v4 in Self.maxEQ4[eq4] {
                            let candidate = v1.merging(v2) { a, _ in a }.merging(v36) { a, _ in a }
                                .merging(v4) { a, _ in a }.merging(["E": Self.maxEQ5[eq5]]) { a, _ in a }
                            distances = Self.levelOrder.reduce(into: [:]) { result, metric in
                                result[metric] = Self.levels[metric]![self.value(metric)]! - Self.levels[metric]![candidate[metric]!]!
                            }
                            if distances.values.allSatisfy({ $0 >= 0 }) { break search }
                        }
                    }
                }
            }
            let d = distances
            let current: [Double] = [
                d["AV"]! + d["PR"]! + d["UI"]!,
                d["AC"]! + d["AT"]!,
                d["VC"]! + d["VI"]! + d["VA"]! + d["CR"]! + d["IR"]! + d["AR"]!,
                d["SC"]! + d["SI"]! + d["SA"]!,
                0,
            ]
            let step = 0.1
            let depth: [Double] = [
                Double(Self.depthEQ1[eq1]) * step,
                Double(Self.depthEQ2[eq2]) * step,
                Double(Self.depthEQ3EQ6[eq3][eq6] ?? 1) * step,
                Double(Self.depthEQ4[eq4]) * step,
                1 * step,
            ]
            var sum = 0.0, existing = 0
            for index in 0..<5 {
                guard let lowerScore = lower[index] else { continue }
                existing += 1
                sum += (macroScore - lowerScore) * (current[index] / depth[index])
            }
            let mean = existing == 0 ? 0 : sum / Double(existing)
            // Half up at one decimal, after lifting by 1e-6 as FIRST's calculator does: the
            // interpolation can land one ULP below a tie (5.6499999999999995 for 5.65).
            return ((max(0, min(10, macroScore - mean)) + 1e-6) * 10).rounded(.toNearestOrAwayFromZero) / 10
        }

        // The tables below are the CVSS v4.0 specification's data as the reference calculator
        // encodes them.

        private static func lookup(_ eqs: [Int]) -> Double? {
            macroVectorScores[eqs.map(String.init).joined()]
        }

        /// Metric value levels for severity distances (lower is more severe).
        private static let levels: [Substring: [Substring: Double]] = [
            "AV": ["N": 0.0, "A": 0.1, "L": 0.2, "P": 0.3], "PR": ["N": 0.0, "L": 0.1, "H": 0.2],
            "UI": ["N": 0.0, "P": 0.1, "A": 0.2], "AC": ["L": 0.0, "H": 0.1], "AT": ["N": 0.0, "P": 0.1],
            "VC": ["H": 0.0, "L": 0.1, "N": 0.2], "VI": ["H": 0.0, "L": 0.1, "N": 0.2],
            "VA": ["H": 0.0, "L": 0.1, "N": 0.2], "SC": ["H": 0.1, "L": 0.2, "N": 0.3],
            "SI": ["S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3], "SA": ["S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3],
            "CR": ["H": 0.0, "M": 0.1, "L": 0.2], "IR": ["H": 0.0, "M": 0.1, "L": 0.2],
            "AR": ["H": 0.0, "M": 0.1, "L": 0.2], "E": ["U": 0.2, "P": 0.1, "A": 0.0],
        ]
        private static let levelOrder: [Substring] = ["AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR", "E"]

        /// The most severe vectors of each EQ level (EQ3 and EQ6 jointly), tried in this order.
        private static let maxEQ1: [[[Substring: Substring]]] = [
            [["AV": "N", "PR": "N", "UI": "N"]],
            [["AV": "A", "PR": "N", "UI": "N"], ["AV": "N", "PR": "L", "UI": "N"], ["AV": "N", "PR": "N", "UI": "P"]],
            [["AV": "P", "PR": "N", "UI": "N"], ["AV": "A", "PR": "L", "UI": "P"]],
        ]
        private static let maxEQ2: [[[Substring: Substring]]] = [
            [["AC": "L", "AT": "N"]],
            [["AC": "H", "AT": "N"], ["AC": "L", "AT": "P"]],
        ]
        private static let maxEQ3EQ6: [[Int: [[Substring: Substring]]]] = {
            func v(_ s: String) -> [Substring: Substring] {
                Dictionary(uniqueKeysWithValues: s.split(separator: "/").map {
                    let kv = $0.split(separator: ":")
                    return (kv[0], kv[1])
                })
            }
            return [
                [0: [v("VC:H/VI:H/VA:H/CR:H/IR:H/AR:H")],
                 1: [v("VC:H/VI:H/VA:L/CR:M/IR:M/AR:H"), v("VC:H/VI:H/VA:H/CR:M/IR:M/AR:M")]],
                [0: [v("VC:L/VI:H/VA:H/CR:H/IR:H/AR:H"), v("VC:H/VI:L/VA:H/CR:H/IR:H/AR:H")],
                 1: [v("VC:L/VI:H/VA:L/CR:H/IR:M/AR:H"), v("VC:L/VI:H/VA:H/CR:H/IR:M/AR:M"),
                     v("VC:H/VI:L/VA:H/CR:M/IR:H/AR:M"), v("VC:H/VI:L/VA:L/CR:M/IR:H/AR:H"),
                     v("VC:L/VI:L/VA:H/CR:H/IR:H/AR:M")]],
                [1: [v("VC:L/VI:L/VA:L/CR:H/IR:H/AR:H")]],
            ]
        }()
        private static let maxEQ4: [[[Substring: Substring]]] = [
            [["SC": "H", "SI": "S", "SA": "S"]],
            [["SC": "H", "SI": "H", "SA": "H"]],
            [["SC": "L", "SI": "L", "SA": "L"]],
        ]
        private static let maxEQ5: [Substring] = ["A", "P", "U"]

        /// Severity depth of each EQ level (the spec's "max severity" distances, in 0.1 steps).
        private static let depthEQ1 = [1, 4, 5]
        private static let depthEQ2 = [1, 2]
        private static let depthEQ3EQ6: [[Int: Int]] = [[0: 7, 1: 6], [0: 8, 1: 8], [1: 10]]
        private static let depthEQ4 = [6, 5, 4]

        /// Score of each MacroVector (EQ1…EQ6), from the specification's expert-ranked table.
        private static let macroVectorScores: [String: Double] = [
        "000000": 10, "000001": 9.9, "000010": 9.8, "000011": 9.5, "000020": 9.5, "000021": 9.2, "000100": 10, "000101": 9.6,
        "000110": 9.3, "000111": 8.7, "000120": 9.1, "000121": 8.1, "000200": 9.3, "000201": 9, "000210": 8.9, "000211": 8,
        "000220": 8.1, "000221": 6.8, "001000": 9.8, "001001": 9.5, "001010": 9.5, "001011": 9.2, "001020": 9, "001021": 8.4,
        "001100": 9.3, "001101": 9.2, "001110": 8.9, "001111": 8.1, "001120": 8.1, "001121": 6.5, "001200": 8.8, "001201": 8,
        "001210": 7.8, "001211": 7, "001220": 6.9, "001221": 4.8, "002001": 9.2, "002011": 8.2, "002021": 7.2, "002101": 7.9,
        "002111": 6.9, "002121": 5, "002201": 6.9, "002211": 5.5, "002221": 2.7, "010000": 9.9, "010001": 9.7, "010010": 9.5,
        "010011": 9.2, "010020": 9.2, "010021": 8.5, "010100": 9.5, "010101": 9.1, "010110": 9, "010111": 8.3, "010120": 8.4,
        "010121": 7.1, "010200": 9.2, "010201": 8.1, "010210": 8.2, "010211": 7.1, "010220": 7.2, "010221": 5.3, "011000": 9.5,
        "011001": 9.3, "011010": 9.2, "011011": 8.5, "011020": 8.5, "011021": 7.3, "011100": 9.2, "011101": 8.2, "011110": 8,
        "011111": 7.2, "011120": 7, "011121": 5.9, "011200": 8.4, "011201": 7, "011210": 7.1, "011211": 5.2, "011220": 5,
        "011221": 3, "012001": 8.6, "012011": 7.5, "012021": 5.2, "012101": 7.1, "012111": 5.2, "012121": 2.9, "012201": 6.3,
        "012211": 2.9, "012221": 1.7, "100000": 9.8, "100001": 9.5, "100010": 9.4, "100011": 8.7, "100020": 9.1, "100021": 8.1,
        "100100": 9.4, "100101": 8.9, "100110": 8.6, "100111": 7.4, "100120": 7.7, "100121": 6.4, "100200": 8.7, "100201": 7.5,
        "100210": 7.4, "100211": 6.3, "100220": 6.3, "100221": 4.9, "101000": 9.4, "101001": 8.9, "101010": 8.8, "101011": 7.7,
        "101020": 7.6, "101021": 6.7, "101100": 8.6, "101101": 7.6, "101110": 7.4, "101111": 5.8, "101120": 5.9, "101121": 5,
        "101200": 7.2, "101201": 5.7, "101210": 5.7, "101211": 5.2, "101220": 5.2, "101221": 2.5, "102001": 8.3, "102011": 7,
        "102021": 5.4, "102101": 6.5, "102111": 5.8, "102121": 2.6, "102201": 5.3, "102211": 2.1, "102221": 1.3, "110000": 9.5,
        "110001": 9, "110010": 8.8, "110011": 7.6, "110020": 7.6, "110021": 7, "110100": 9, "110101": 7.7, "110110": 7.5,
        "110111": 6.2, "110120": 6.1, "110121": 5.3, "110200": 7.7, "110201": 6.6, "110210": 6.8, "110211": 5.9, "110220": 5.2,
        "110221": 3, "111000": 8.9, "111001": 7.8, "111010": 7.6, "111011": 6.7, "111020": 6.2, "111021": 5.8, "111100": 7.4,
        "111101": 5.9, "111110": 5.7, "111111": 5.7, "111120": 4.7, "111121": 2.3, "111200": 6.1, "111201": 5.2, "111210": 5.7,
        "111211": 2.9, "111220": 2.4, "111221": 1.6, "112001": 7.1, "112011": 5.9, "112021": 3, "112101": 5.8, "112111": 2.6,
        "112121": 1.5, "112201": 2.3, "112211": 1.3, "112221": 0.6, "200000": 9.3, "200001": 8.7, "200010": 8.6, "200011": 7.2,
        "200020": 7.5, "200021": 5.8, "200100": 8.6, "200101": 7.4, "200110": 7.4, "200111": 6.1, "200120": 5.6, "200121": 3.4,
        "200200": 7, "200201": 5.4, "200210": 5.2, "200211": 4, "200220": 4, "200221": 2.2, "201000": 8.5, "201001": 7.5,
        "201010": 7.4, "201011": 5.5, "201020": 6.2, "201021": 5.1, "201100": 7.2, "201101": 5.7, "201110": 5.5, "201111": 4.1,
        "201120": 4.6, "201121": 1.9, "201200": 5.3, "201201": 3.6, "201210": 3.4, "201211": 1.9, "201220": 1.9, "201221": 0.8,
        "202001": 6.4, "202011": 5.1, "202021": 2, "202101": 4.7, "202111": 2.1, "202121": 1.1, "202201": 2.4, "202211": 0.9,
        "202221": 0.4, "210000": 8.8, "210001": 7.5, "210010": 7.3, "210011": 5.3, "210020": 6, "210021": 5, "210100": 7.3,
        "210101": 5.5, "210110": 5.9, "210111": 4, "210120": 4.1, "210121": 2, "210200": 5.4, "210201": 4.3, "210210": 4.5,
        "210211": 2.2, "210220": 2, "210221": 1.1, "211000": 7.5, "211001": 5.5, "211010": 5.8, "211011": 4.5, "211020": 4,
        "211021": 2.1, "211100": 6.1, "211101": 5.1, "211110": 4.8, "211111": 1.8, "211120": 2, "211121": 0.9, "211200": 4.6,
        "211201": 1.8, "211210": 1.7, "211211": 0.7, "211220": 0.8, "211221": 0.2, "212001": 5.3, "212011": 2.4, "212021": 1.4,
        "212101": 2.4, "212111": 1.2, "212121": 0.5, "212201": 1, "212211": 0.3, "212221": 0.1,
        ]
    }
}
