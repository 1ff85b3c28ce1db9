#!/usr/bin/env python3
"""Evaluate Vega's bundled secret rules against the gitleaks conformance samples.

The harness models the VegaSecrets engine closely enough to be a feedback loop
while writing rules:

* keyword prefilter: a rule runs only around case-insensitive hits of one of its
  keywords. Its regex sees a window from the start of the hit's line (at most
  256 bytes before the hit) to the end of the following line (at most 4 KiB after
  the hit); `multiline` rules see from the start of the hit's line (at most 4 KiB
  back) to 64 KiB after the hit. Overlapping windows of a rule are merged. A rule
  with `anchor: keyword` (or `identifier`) is instead tried once, anchored at the
  hit (or at the start of the `[A-Za-z0-9_.-]` run holding it, at most 64 bytes
  back), reading at most 4 KiB (64 KiB if multiline) from there;
* regexes are PCRE2 (libpcre2-8 through ctypes, no UTF mode, raw bytes, JIT, the
  engine's match and depth limits), every non-overlapping match in a window counts;
* the secret is `secret_group` (no finding when that group did not match), else the
  first capture group that matched non-empty, else the whole match; then the
  entropy threshold, the global allowlist (on the secret), the rule allowlist
  (stopwords on the secret, regexes on the secret, match or line as `target` says,
  paths) and the inline `vega:ignore` / `gitleaks:allow` markers are applied.
  (`generic: true` only decides which rule reports a secret two rules both find,
  so it does not change whether a sample has a finding.)

These follow Sources/VegaSecrets/FragmentScanner.swift; keep them in step with it.

Each sample is scanned as its own file, named by its optional `path` field or else
`sample-<id>.txt` as in Tests/VegaSecretsTests/ConformanceTests.swift. A true
positive is found when any rule fires on it; a false-positive sample counts when
any rule fires on it. The report lists every missed sample and, for every false
positive, the rules that fired; --verbose adds recall per sample rule id and how
often each rule fired.

Usage: python3 scripts/rules-harness.py [--rules PATH] [--cases PATH] [--verbose]
Exit status: 0 when recall >= 0.97 and FP rate <= 3%, 1 when a bar is missed,
2 when the rule file is invalid.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import ctypes.util
import json
import math
import re
import sys
import time
from pathlib import Path

import yaml

RECALL_BAR = 0.97
FP_RATE_BAR = 0.03

LOOK_BEHIND = 256            # line windows start at most this far before the keyword
WINDOW_CAP = 4 * 1024        # ... and end at most this far after it
MULTILINE_CAP = 64 * 1024    # multiline windows end at most this far after it
IDENTIFIER_LOOK_BEHIND = 64  # `anchor: identifier` looks back at most this far
MATCH_LIMIT = 2_000_000
DEPTH_LIMIT = 10_000
IGNORE_MARKERS = (b"vega:ignore", b"gitleaks:allow")

SEVERITIES = {"critical", "high", "medium", "low"}
TARGETS = {"secret", "match", "line"}
RULE_KEYS = {
    "id", "title", "description", "severity", "cwe", "regex", "secret_group",
    "keywords", "entropy", "multiline", "anchor", "generic", "allowlist",
}
ANCHORS = {"keyword", "identifier"}
IDENTIFIER_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
ALLOWLIST_KEYS = {"stopwords", "regexes", "paths", "target"}
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --------------------------------------------------------------------------- PCRE2

class PCRE2:
    """Minimal ctypes binding for compiling and matching with libpcre2-8."""

    UNSET = ctypes.c_size_t(-1).value
    ERROR_NOMATCH = -1
    ANCHORED = 0x80000000
    JIT_COMPLETE = 0x00000001
    INFO_CAPTURECOUNT = 4

    def __init__(self) -> None:
        name = ctypes.util.find_library("pcre2-8") or "libpcre2-8.so.0"
        lib = ctypes.CDLL(name)
        vp, sz, u32, i32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_int
        lib.pcre2_compile_8.restype = vp
        lib.pcre2_compile_8.argtypes = [ctypes.c_char_p, sz, u32, ctypes.POINTER(i32),
                                        ctypes.POINTER(sz), vp]
        lib.pcre2_jit_compile_8.restype = i32
        lib.pcre2_jit_compile_8.argtypes = [vp, u32]
        lib.pcre2_match_data_create_from_pattern_8.restype = vp
        lib.pcre2_match_data_create_from_pattern_8.argtypes = [vp, vp]
        lib.pcre2_match_8.restype = i32
        lib.pcre2_match_8.argtypes = [vp, ctypes.c_char_p, sz, sz, u32, vp, vp]
        lib.pcre2_get_ovector_pointer_8.restype = ctypes.POINTER(sz)
        lib.pcre2_get_ovector_pointer_8.argtypes = [vp]
        lib.pcre2_pattern_info_8.restype = i32
        lib.pcre2_pattern_info_8.argtypes = [vp, u32, vp]
        lib.pcre2_get_error_message_8.restype = i32
        lib.pcre2_get_error_message_8.argtypes = [i32, ctypes.c_char_p, sz]
        lib.pcre2_code_free_8.argtypes = [vp]
        lib.pcre2_match_data_free_8.argtypes = [vp]
        lib.pcre2_match_context_create_8.restype = vp
        lib.pcre2_match_context_create_8.argtypes = [vp]
        lib.pcre2_set_match_limit_8.argtypes = [vp, u32]
        lib.pcre2_set_depth_limit_8.argtypes = [vp, u32]
        self.lib = lib
        self.context = lib.pcre2_match_context_create_8(None)
        lib.pcre2_set_match_limit_8(self.context, MATCH_LIMIT)
        lib.pcre2_set_depth_limit_8(self.context, DEPTH_LIMIT)

    def compile(self, pattern: str, anchored: bool = False) -> "Pattern":
        raw = pattern.encode("utf-8")
        err, off = ctypes.c_int(0), ctypes.c_size_t(0)
        options = self.ANCHORED if anchored else 0
        code = self.lib.pcre2_compile_8(raw, len(raw), options, ctypes.byref(err), ctypes.byref(off), None)
        if not code:
            buf = ctypes.create_string_buffer(256)
            self.lib.pcre2_get_error_message_8(err.value, buf, len(buf))
            raise ValueError(f"{buf.value.decode()} at offset {off.value}")
        self.lib.pcre2_jit_compile_8(code, self.JIT_COMPLETE)  # speed only; falls back silently
        return Pattern(self, code)


class Pattern:
    def __init__(self, pcre: PCRE2, code: int) -> None:
        self.lib = pcre.lib
        self.context = pcre.context
        self.code = code
        self.md = self.lib.pcre2_match_data_create_from_pattern_8(code, None)
        count = ctypes.c_uint32(0)
        self.lib.pcre2_pattern_info_8(code, PCRE2.INFO_CAPTURECOUNT, ctypes.byref(count))
        self.capture_count = count.value
        self.errors = 0  # matches abandoned because PCRE2 returned an error (e.g. match limit)

    def __del__(self) -> None:
        self.lib.pcre2_match_data_free_8(self.md)
        self.lib.pcre2_code_free_8(self.code)

    def _match(self, subject: bytes, length: int, start: int):
        """Offset vector [(start, end) | None, ...] of the first match at or after `start`."""
        rc = self.lib.pcre2_match_8(self.code, subject, length, start, 0, self.md, self.context)
        if rc < 0:
            if rc != PCRE2.ERROR_NOMATCH:  # match/depth limit: the engine gives up here too
                self.errors += 1
            return None
        ov = self.lib.pcre2_get_ovector_pointer_8(self.md)
        return [None if ov[2 * i] == PCRE2.UNSET else (ov[2 * i], ov[2 * i + 1]) for i in range(rc)]

    def finditer(self, subject: bytes, lo: int = 0, hi: int | None = None):
        """Yield the groups of each non-overlapping match inside subject[lo:hi] (absolute offsets)."""
        window = subject[lo:hi]
        pos = 0
        while pos <= len(window):
            groups = self._match(window, len(window), pos)
            if groups is None:
                return
            yield [g and (g[0] + lo, g[1] + lo) for g in groups]
            start, end = groups[0]
            pos = end if end > start else end + 1

    def match_at(self, subject: bytes, start: int, end: int):
        """Groups of one (anchored) match at `start` reading no further than `end`;
        text before `start` stays visible to lookbehinds and word boundaries."""
        return self._match(subject, end, start)

    def search(self, subject: bytes) -> bool:
        return self._match(subject, len(subject), 0) is not None


# --------------------------------------------------------------------------- rules

class Allowlist:
    def __init__(self, pcre: PCRE2, spec: dict | None, where: str, errors: list[str]) -> None:
        spec = spec or {}
        for key in spec:
            if key not in ALLOWLIST_KEYS:
                errors.append(f"{where}: unknown allowlist key '{key}'")
        self.target = spec.get("target", "secret")
        if self.target not in TARGETS:
            errors.append(f"{where}: allowlist target must be one of {sorted(TARGETS)}")
        words = spec.get("stopwords") or []
        for w in words:
            if not isinstance(w, str) or not w or w != w.lower():
                errors.append(f"{where}: stopword {w!r} must be a non-empty lowercase string")
        self.stopwords = [str(w).lower().encode() for w in words]
        self.regexes = self._compile(pcre, spec.get("regexes"), where, errors)
        self.paths = self._compile(pcre, spec.get("paths"), where, errors)

    @staticmethod
    def _compile(pcre, patterns, where, errors):
        out = []
        for p in patterns or []:
            try:
                out.append(pcre.compile(p))
            except ValueError as exc:
                errors.append(f"{where}: allowlist regex {p!r}: {exc}")
        return out

    def path_allowed(self, path: bytes) -> bool:
        return any(p.search(path) for p in self.paths)

    def finding_allowed(self, secret: bytes, match: bytes, line: bytes) -> bool:
        low = secret.lower()
        if any(w in low for w in self.stopwords):
            return True
        subject = {"secret": secret, "match": match, "line": line}[self.target]
        return any(r.search(subject) for r in self.regexes)


class Rule:
    def __init__(self, pcre: PCRE2, spec: dict, errors: list[str]) -> None:
        self.id = spec.get("id", "<missing id>")
        where = f"rule {self.id}"
        for key in spec:
            if key not in RULE_KEYS:
                errors.append(f"{where}: unknown key '{key}'")
        for key in ("id", "title", "description", "severity", "regex", "keywords"):
            if not spec.get(key):
                errors.append(f"{where}: missing '{key}'")
        if not ID_RE.match(str(self.id)):
            errors.append(f"{where}: id is not kebab-case")
        self.severity = spec.get("severity")
        if self.severity not in SEVERITIES:
            errors.append(f"{where}: severity must be one of {sorted(SEVERITIES)}")
        self.keywords = spec.get("keywords") or []
        for k in self.keywords:
            if not isinstance(k, str) or not k or k != k.lower():
                errors.append(f"{where}: keyword {k!r} must be a non-empty lowercase string")
        self.keywords = [str(k) for k in self.keywords]
        self.kw_bytes = [k.encode() for k in self.keywords]
        self.secret_group = spec.get("secret_group")
        self.entropy = float(spec.get("entropy") or 0)
        self.multiline = bool(spec.get("multiline", False))
        self.anchor = spec.get("anchor")
        if self.anchor is not None and self.anchor not in ANCHORS:
            errors.append(f"{where}: anchor must be one of {sorted(ANCHORS)}")
        self.allowlist = Allowlist(pcre, spec.get("allowlist"), where, errors)
        try:
            self.regex = pcre.compile(spec.get("regex") or "", anchored=self.anchor is not None)
        except ValueError as exc:
            self.regex = None
            errors.append(f"{where}: regex: {exc}")
        if self.regex is not None and self.secret_group is not None and self.secret_group > self.regex.capture_count:
            errors.append(f"{where}: secret_group {self.secret_group} but the regex has "
                          f"{self.regex.capture_count} group(s)")
        if self.anchor is not None and not self.keywords:
            errors.append(f"{where}: an anchor needs keywords to anchor at")


def load_rules(pcre: PCRE2, path: Path) -> tuple[Allowlist, list[Rule], list[str]]:
    errors: list[str] = []
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("version") != 1:
        errors.append("top level must be a mapping with version: 1")
        doc = doc if isinstance(doc, dict) else {}
    glob = Allowlist(pcre, doc.get("allowlist"), "global", errors)
    rules = [Rule(pcre, r, errors) for r in doc.get("rules") or []]
    seen = collections.Counter(r.id for r in rules)
    errors += [f"duplicate rule id '{i}'" for i, c in seen.items() if c > 1]
    return glob, rules, errors


# --------------------------------------------------------------------------- engine model

def shannon(data: bytes) -> float:
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in collections.Counter(data).values())


def line_bounds(text: bytes, pos: int) -> tuple[int, int]:
    start = text.rfind(b"\n", 0, pos) + 1
    end = text.find(b"\n", pos)
    return start, (len(text) if end < 0 else end)


def window(text: bytes, hit: int, multiline: bool) -> tuple[int, int]:
    """The bytes a windowed rule's regex sees for a keyword starting at `hit`."""
    floor = max(0, hit - (WINDOW_CAP if multiline else LOOK_BEHIND))
    start = max(text.rfind(b"\n", floor, hit) + 1, floor)
    if multiline:
        return start, min(len(text), hit + MULTILINE_CAP)
    ceiling = min(len(text), hit + WINDOW_CAP)
    first = text.find(b"\n", hit, ceiling)
    second = text.find(b"\n", first + 1, ceiling) if first >= 0 else -1
    return start, (second if second >= 0 else ceiling)


def identifier_start(text: bytes, hit: int) -> int:
    start, floor = hit, max(0, hit - IDENTIFIER_LOOK_BEHIND)
    while start > floor and text[start - 1] in IDENTIFIER_BYTES:
        start -= 1
    return start


def keyword_hits(lower: bytes, keywords: list[bytes]) -> list[int]:
    hits = set()
    for kw in keywords:
        i = lower.find(kw)
        while i >= 0:
            hits.add(i)
            i = lower.find(kw, i + 1)
    return sorted(hits)


def candidate_matches(text: bytes, lower: bytes, rule: Rule):
    """Yield the groups of every match the engine would consider for `rule`."""
    hits = keyword_hits(lower, rule.kw_bytes)
    if rule.anchor is not None:
        cap = MULTILINE_CAP if rule.multiline else WINDOW_CAP
        starts = hits if rule.anchor == "keyword" else sorted({identifier_start(text, h) for h in hits})
        for start in starts:
            groups = rule.regex.match_at(text, start, min(len(text), start + cap))
            if groups is not None:
                yield groups
        return
    merged: list[list[int]] = []
    for hit in hits:
        lo, hi = window(text, hit, rule.multiline)
        if merged and merged[-1][1] >= lo:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    for lo, hi in merged:
        yield from rule.regex.finditer(text, lo, hi)


def secret_span(rule: Rule, groups: list) -> tuple[int, int] | None:
    if rule.secret_group is not None:
        g = groups[rule.secret_group] if rule.secret_group < len(groups) else None
        return g if g and g[1] > g[0] else None
    first = next((g for g in groups[1:] if g and g[1] > g[0]), None)
    whole = groups[0]
    return first or (whole if whole[1] > whole[0] else None)


def scan(text: bytes, path: bytes, glob: Allowlist, rules: list[Rule]) -> list[tuple[str, bytes, int]]:
    """Return (rule id, secret, byte offset of the secret) findings for one file."""
    if glob.path_allowed(path):
        return []
    lower = text.lower()
    findings = []
    for rule in rules:
        if rule.regex is None or rule.allowlist.path_allowed(path):
            continue
        seen = set()
        for groups in candidate_matches(text, lower, rule):
            span = secret_span(rule, groups)
            if span is None or span in seen:
                continue
            seen.add(span)
            secret = text[span[0]:span[1]]
            match = text[groups[0][0]:groups[0][1]]
            line = text[line_bounds(text, span[0])[0]:line_bounds(text, max(span[0], span[1] - 1))[1]]
            if rule.entropy and shannon(secret) < rule.entropy:
                continue
            if glob.finding_allowed(secret, secret, secret):
                continue
            if rule.allowlist.finding_allowed(secret, match, line):
                continue
            if any(m in line for m in IGNORE_MARKERS):
                continue
            findings.append((rule.id, secret, span[0]))
    return findings


# --------------------------------------------------------------------------- report

def main() -> int:
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=Path, default=root / "Sources/VegaSecrets/Resources/rules.yaml")
    ap.add_argument("--cases", type=Path, default=root / "../shared/secrets/gitleaks-cases.jsonl")
    ap.add_argument("--verbose", action="store_true",
                    help="also print per-sample-rule recall and how often each rule fires")
    args = ap.parse_args()

    started = time.monotonic()
    pcre = PCRE2()
    glob, rules, errors = load_rules(pcre, args.rules)
    if errors:
        print(f"{args.rules}: {len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        return 2

    cases = [json.loads(line) for line in args.cases.read_text(encoding="utf-8").splitlines() if line.strip()]
    per_rule = collections.defaultdict(lambda: [0, 0])  # sample rule_id -> [found, total] (tp)
    misses, fps = [], []
    fired = collections.Counter()
    tp_total = tp_found = fp_total = fp_fired = 0
    for case in cases:
        text = case["text"].encode("utf-8", "surrogatepass")
        path = case.get("path") or f"sample-{case['id']}.txt"   # as Tests/VegaSecretsTests/ConformanceTests.swift
        findings = scan(text, path.encode(), glob, rules)
        ids = sorted({f[0] for f in findings})
        fired.update(ids)
        if case["label"] == "tp":
            tp_total += 1
            per_rule[case["rule_id"]][1] += 1
            if ids:
                tp_found += 1
                per_rule[case["rule_id"]][0] += 1
            else:
                misses.append(case)
        else:
            fp_total += 1
            if ids:
                fp_fired += 1
                fps.append((case, findings))

    def snippet(s: str) -> str:
        return json.dumps(s[:120])[1:-1]

    if misses:
        print(f"Missed true positives ({len(misses)}):")
        for c in sorted(misses, key=lambda c: (c["rule_id"], c["id"])):
            print(f"  {c['rule_id']:<44} #{c['id']:<5} {snippet(c['text'])}")
    if fps:
        print(f"\nFalse positives ({len(fps)}):")
        for c, found in sorted(fps, key=lambda x: (x[0]["rule_id"], x[0]["id"])):
            by = ", ".join(sorted({f"{rid}={sec[:40].decode('utf-8', 'replace')!r}" for rid, sec, _ in found}))
            print(f"  {c['rule_id']:<44} #{c['id']:<5} {snippet(c['text'])}\n      fired: {by}")

    if args.verbose:
        print("\nRecall by sample rule id:")
        for rid in sorted(per_rule):
            found, total = per_rule[rid]
            flag = "" if found == total else "  <"
            print(f"  {rid:<44} {found:>4}/{total:<4}{flag}")
        print("\nSamples each rule fired on (tp+fp):")
        for r in rules:
            print(f"  {r.id:<44} {fired[r.id]}")
        silent = [r.id for r in rules if not fired[r.id]]
        if silent:
            print(f"\nRules that never fired: {', '.join(silent)}")

    for r in rules:
        if r.regex is not None and r.regex.errors:
            print(f"warning: rule {r.id}: PCRE2 gave up on {r.regex.errors} window(s) (match limit?)")

    recall = tp_found / tp_total if tp_total else 0.0
    fp_rate = fp_fired / fp_total if fp_total else 0.0
    ok = recall >= RECALL_BAR and fp_rate <= FP_RATE_BAR
    print(f"\nrules: {len(rules)}   samples: {tp_total} tp / {fp_total} fp   "
          f"({time.monotonic() - started:.1f}s)")
    print(f"recall:  {recall:.4f}  ({tp_found}/{tp_total})   bar >= {RECALL_BAR}")
    print(f"FP rate: {fp_rate:.4f}  ({fp_fired}/{fp_total})   bar <= {FP_RATE_BAR}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
