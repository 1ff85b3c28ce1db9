import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An element of an XML document read by `XMLSupport.tree`.
final class XMLTreeElement {
    let name: String
    let attributes: [String: String]
    /// The element's own character data (not its descendants').
    fileprivate(set) var text = ""
    fileprivate(set) var children: [XMLTreeElement] = []
    /// Line of the start tag, for the element names the caller asked to locate.
    fileprivate(set) var line: Int?

    fileprivate init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    func child(_ name: String) -> XMLTreeElement? {
        children.first { $0.name == name }
    }

    func children(_ name: String) -> [XMLTreeElement] {
        children.filter { $0.name == name }
    }

    /// A child's text without surrounding whitespace; nil when there is no such child.
    func value(_ name: String) -> String? {
        child(name).map { XMLSupport.trimmed($0.text) }
    }
}

/// XML lockfiles and manifests through Foundation's XMLParser (libxml2), which reports
/// elements but not where their start tags begin: `StartTagLocator` finds those in the
/// raw text, in step with the parser.
enum XMLSupport {
    /// `text` without leading and trailing XML whitespace (Foundation's trimming is slow
    /// enough to show in a large POM).
    static func trimmed(_ text: String) -> String {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        let utf8 = text.utf8
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end, isSpace(utf8[start]) { start = utf8.index(after: start) }
        while end > start, isSpace(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return start == utf8.startIndex && end == utf8.endIndex ? text : String(text[start..<end])
    }

    /// Parses a whole document. Elements named in `located` get the line of their start tag.
    static func tree(_ bytes: [UInt8], path: String, located: Set<String>) throws -> XMLTreeElement {
        var stack: [XMLTreeElement] = []
        var root: XMLTreeElement?
        try stream(bytes, path: path, located: located, start: { name, attributes, line in
            let element = XMLTreeElement(name: name, attributes: attributes)
            element.line = line
            stack.last?.children.append(element)
            if stack.isEmpty { root = element }
            stack.append(element)
        }, end: {
            stack.removeLast()
        }, text: { text in
            stack.last?.text += text
        })
        guard let root else { throw LockfileError(path: path, line: 1, message: "invalid XML: no root element") }
        return root
    }

    /// Streams a document's elements in order. `start` gets the start tag's line for the
    /// element names in `located`, nil for the others.
    static func stream(
        _ bytes: [UInt8], path: String, located: Set<String>,
        start: (String, [String: String], Int?) -> Void,
        end: () -> Void = {}, text: (String) -> Void = { _ in }
    ) throws {
        try withoutActuallyEscaping(start) { start in
            try withoutActuallyEscaping(end) { end in
                try withoutActuallyEscaping(text) { text in
                    var locator = StartTagLocator(bytes)
                    let delegate = Delegate(start: { name, attributes in
                        start(name, attributes, located.contains(name) ? locator.nextLine(named: name) : nil)
                    }, end: end, text: text)
                    // From a stream, which swift-corelibs feeds libxml2 in chunks: handed the data
                    // whole, libxml2 refuses documents over 10 MB ("huge input lookup").
                    let parser = XMLParser(stream: InputStream(data: Data(bytes)))
                    parser.delegate = delegate
                    // swift-corelibs' parse() can return true after an error (a tag mismatch, say).
                    if !parser.parse() || delegate.error != nil {
                        let code = (delegate.error ?? parser.parserError).map { ($0 as NSError).code } ?? 0
                        throw LockfileError(path: path, line: delegate.errorLine, message: "invalid XML: \(reason(code))")
                    }
                }
            }
        }
    }

    /// The error codes are libxml2's (`xmlParserErrors`); corelibs' `XMLParser.ErrorCode`
    /// names them off by one, so the common ones are spelled out here.
    private static func reason(_ code: Int) -> String {
        switch code {
        case 4: "the document is empty or is not XML"
        case 5: "extra content after the root element"
        case 9: "invalid character"
        case 68: "a name was expected"
        case 73: "'>' was expected"
        case 76: "a start tag and its end tag do not match"
        case 77: "an element is not closed"
        default: "libxml2 error \(code)"
        }
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        let start: (String, [String: String]) -> Void
        let end: () -> Void
        let text: (String) -> Void
        /// The first error and its line (the parser forgets its position once `parse()` returns).
        var error: Error?
        var errorLine: Int?

        init(start: @escaping (String, [String: String]) -> Void, end: @escaping () -> Void,
             text: @escaping (String) -> Void) {
            self.start = start
            self.end = end
            self.text = text
        }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            start(elementName, attributeDict)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?) {
            end()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text(string)
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            text(String(decoding: CDATABlock, as: UTF8.self))
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            guard error == nil else { return }
            error = parseError
            errorLine = parser.lineNumber > 0 ? parser.lineNumber : nil
        }
    }
}

/// Walks the raw text's start tags forward, skipping comments, CDATA, processing
/// instructions, declarations and end tags, so the n-th `<name` it reports is the n-th
/// such element the parser reports.
struct StartTagLocator {
    private let bytes: [UInt8]
    private let lines: LineIndex
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.lines = LineIndex(bytes)
    }

    /// The line of the next start tag called `name`, nil when there is none.
    mutating func nextLine(named name: String) -> Int? {
        let wanted = Array(name.utf8)
        let count = bytes.count
        while offset < count {
            guard bytes[offset] == UInt8(ascii: "<") else { offset += 1; continue }
            let tag = offset
            if skip(ifAt: "<!--", to: "-->") || skip(ifAt: "<![CDATA[", to: "]]>") || skip(ifAt: "<?", to: "?>")
                || skip(ifAt: "<!", to: ">") || skip(ifAt: "</", to: ">") {
                continue
            }
            offset += 1
            let nameStart = offset
            while offset < count, !Self.endsName(bytes[offset]) { offset += 1 }
            if bytes[nameStart..<offset].elementsEqual(wanted) { return lines.line(at: tag) }
        }
        return nil
    }

    /// When the text at the cursor starts with `opener`, moves past the next `closer`.
    private mutating func skip(ifAt opener: StaticString, to closer: StaticString) -> Bool {
        guard matches(opener, at: offset) else { return false }
        offset += opener.utf8CodeUnitCount
        while offset < bytes.count, !matches(closer, at: offset) { offset += 1 }
        offset += closer.utf8CodeUnitCount
        return true
    }

    private func matches(_ text: StaticString, at index: Int) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return text.withUTF8Buffer { bytes[index..<index + count].elementsEqual($0) }
    }

    private static func endsName(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/")
    }
}
