#!/usr/bin/env python3
"""Generate p11mux's PKCS #11 constant name tables from the header it compiles against.

Usage: gen-constants.py DEFINES-FILE > p11mux-constants-table.c

DEFINES-FILE is the output of `$(CC) -E -dD` run on a file that includes
"p11mux-pkcs11.h".  -dD (rather than -dM) is used because it lists the
#define and #undef directives in header order, which the alias rule below
needs; -dM lists them in hash order.  Every other line is ignored.

For each kind (CKA_, CKM_, CKR_, ...) the output has
  - a table sorted by value, one canonical name per value, for printing
    (binary search);
  - an index sorted by name (strcmp order) holding every name, aliases
    included and flagged, for parsing and globbing;
and one array of every CKF_ name the header defines, in header order, which
the unit tests compare with the hand-written CKF_ lists in constants.c.

Entries are written as { CKM_AES_GCM, "CKM_AES_GCM", flags } so that the
compiler supplies the values.  The generator evaluates the definitions
itself only to sort; a _Static_assert per constant makes the compiler
check every value the generator computed.

Rules:
  - Function-like macros are skipped; so is a definition that is not an
    integer constant expression (a warning is written to stderr).
  - <PREFIX>VENDOR_DEFINED is the base of the vendor range: it is accepted
    when parsing (flag VENDOR_BASE) but never printed or globbed.
  - Aliases (two names, one value): a name defined as just another name of
    the same kind (`#define CKA_SUB_PRIME_BITS CKA_SUBPRIME_BITS`) is an
    alias of that name.  Among the remaining names sharing a value, only
    those defined in the same header file as the first of them compete (a
    later vendor extension header never renames a standard constant: NSS's
    CKA_FLAGS_ONLY does not displace CKA_CLASS), and of those the one
    defined LAST in header order is canonical: PKCS #11 headers (OASIS and
    p11-kit alike) keep the deprecated spelling and define the current one
    below it (CKK_ECDSA then CKK_EC, CKM_CAST5_* then CKM_CAST128_*,
    CKM_ECDSA_KEY_PAIR_GEN then CKM_EC_KEY_PAIR_GEN).  The unit tests pin
    these choices, so a header that flips one fails `make check`.
  - Some prefixes name two unrelated namespaces in newer headers; the names
    of the other namespace are left out of the kind (EXCLUDED below).
"""

import re
import sys

# Kind suffix (P11MUX_CONST_<suffix>) and prefix, in enum order.
KINDS = [
    ("CKA", "CKA_"),
    ("CKM", "CKM_"),
    ("CKR", "CKR_"),
    ("CKO", "CKO_"),
    ("CKK", "CKK_"),
    ("CKC", "CKC_"),
    ("CKU", "CKU_"),
    ("CKS", "CKS_"),
    ("CKD", "CKD_"),
    ("CKG", "CKG_"),
    ("CKZ", "CKZ_"),
    ("CKH", "CKH_"),
    ("CKN", "CKN_"),
    ("CKP", "CKP_"),
    ("CKS_VALIDATION", "CKS_"),
]

# Kinds that share their prefix with an older kind and hold only the names
# that match (the older kind excludes them, EXCLUDED).
ONLY = {
    # 3.2 CK_SESSION_VALIDATION_FLAGS_TYPE (C_GetSessionValidationFlags)
    "CKS_VALIDATION": re.compile(r"CKS_LAST_VALIDATION_OK$"),
}

# Names that share a kind's prefix but belong to another field, by kind.
EXCLUDED = {
    # 3.0 IV generators (CK_GENERATOR_FUNCTION), not MGFs
    "CKG": re.compile(r"CKG_(NO_GENERATE|GENERATE\w*)$"),
    # PBKDF2 PRFs (CK_PKCS5_PBKDF2_PSEUDO_RANDOM_FUNCTION_TYPE) and 3.2
    # parameter sets (CKA_PARAMETER_SET of ML-KEM, ML-DSA, SLH-DSA keys),
    # not profiles
    "CKP": re.compile(r"CKP_(PKCS5_\w+|ML_KEM_\w+|ML_DSA_\w+|SLH_DSA_\w+)$"),
    # 3.2 CK_HEDGE_TYPE, not hardware features
    "CKH": re.compile(r"CKH_(HEDGE_\w+|DETERMINISTIC_REQUIRED)$"),
    # 3.2 CK_SESSION_VALIDATION_FLAGS_TYPE, not session states
    "CKS": re.compile(r"CKS_LAST_VALIDATION_OK$"),
    # PBKDF2 salt source, not the OAEP source
    "CKZ": re.compile(r"CKZ_SALT_\w+$"),
}

FLAG_ALIAS = "P11MUX_CONSTANT_ALIAS"
FLAG_VENDOR_BASE = "P11MUX_CONSTANT_VENDOR_BASE"

ULONG_MASK = (1 << 64) - 1

TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(?P<id>[A-Za-z_]\w*)"
    r"|(?P<op><<|>>|[-+~*/%|&^()]))"
)

CAST_TYPES = {"unsigned", "long", "int", "signed"}


class NotConstant(Exception):
    pass


def read_defines(path):
    """Return (names, bodies, files): names in first-definition order, their
    bodies, and the header each was first defined in (from the line markers)."""
    order = {}
    bodies = {}
    files = {}
    current = None
    define_re = re.compile(r"#\s*define\s+([A-Za-z_]\w*)(\(?)\s*(.*)$")
    undef_re = re.compile(r"#\s*undef\s+([A-Za-z_]\w*)")
    marker_re = re.compile(r'#\s*(?:line\s+)?\d+\s+"([^"]*)"')
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = define_re.match(line)
            if m:
                if m.group(2) == "(":
                    bodies.pop(m.group(1), None)  # function-like: skip
                    continue
                order.setdefault(m.group(1), len(order))
                files.setdefault(m.group(1), current)
                bodies[m.group(1)] = m.group(3).strip()
                continue
            m = undef_re.match(line)
            if m:
                bodies.pop(m.group(1), None)
                continue
            m = marker_re.match(line)
            if m:
                current = m.group(1)
    if current is None:
        raise SystemExit("gen-constants: %s has no line markers: the alias rule "
                         "needs header order, give it `$(CC) -E -dD` output, not -dM" % path)
    names = sorted(bodies, key=lambda n: order[n])
    return names, bodies, files


def tokenize(text):
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise NotConstant(text)
        pos = m.end()
        if m.group("num") is not None:
            digits = m.group("num")
            if digits.startswith(("0x", "0X")):
                tokens.append(("num", int(digits, 16)))
            elif len(digits) > 1 and digits.startswith("0"):
                tokens.append(("num", int(digits, 8)))
            else:
                tokens.append(("num", int(digits)))
        elif m.group("id") is not None:
            tokens.append(("id", m.group("id")))
        else:
            tokens.append(("op", m.group("op")))
    return tokens


class Evaluator:
    """Evaluates macros as C integer constant expressions of unsigned long (64 bits).

    Only literals, macro names, casts to integer types and the arithmetic
    and bitwise operators are accepted; nothing is passed to eval().
    """

    def __init__(self, bodies):
        self.bodies = bodies
        self.cache = {}
        self.active = set()

    def value(self, name):
        if name in self.cache:
            return self.cache[name]
        if name not in self.bodies or name in self.active:
            raise NotConstant(name)
        self.active.add(name)
        try:
            result = Parser(self.bodies[name], self).parse()
        finally:
            self.active.discard(name)
        self.cache[name] = result
        return result


class Parser:
    """Recursive descent over one macro body, with C's operator precedence."""

    BINARY = [
        ("|",),
        ("^",),
        ("&",),
        ("<<", ">>"),
        ("+", "-"),
        ("*", "/", "%"),
    ]

    def __init__(self, text, evaluator):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.evaluator = evaluator

    def parse(self):
        if not self.tokens:
            raise NotConstant(self.text)
        result = self.binary(0)
        if self.pos != len(self.tokens):
            raise NotConstant(self.text)
        return result & ULONG_MASK

    def peek(self):
        if self.pos < len(self.tokens):
            return self.tokens[self.pos]
        return (None, None)

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def binary(self, level):
        if level == len(self.BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.BINARY[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = apply_binary(op, left, right)
        return left

    def unary(self):
        kind, text = self.peek()
        if kind == "op" and text in ("~", "-", "+"):
            self.take()
            operand = self.unary()
            return {"~": ~operand, "-": -operand, "+": operand}[text] & ULONG_MASK
        if kind == "op" and text == "(" and self.is_cast():
            while self.take() != ("op", ")"):
                pass
            return self.unary()
        return self.primary()

    def is_cast(self):
        """'(' type-name ')': C integer keywords, or a CK_ type that is no macro."""
        end = self.pos + 1
        while end < len(self.tokens) and self.tokens[end][0] == "id":
            end += 1
        if end == self.pos + 1 or end >= len(self.tokens) or self.tokens[end] != ("op", ")"):
            return False
        words = [t[1] for t in self.tokens[self.pos + 1:end]]
        if all(w in CAST_TYPES for w in words):
            return True
        return (len(words) == 1 and re.match(r"CK_[A-Z_]+$", words[0]) is not None
                and words[0] not in self.evaluator.bodies)

    def primary(self):
        kind, text = self.take()
        if kind == "num":
            return text
        if kind == "id":
            return self.evaluator.value(text)
        if (kind, text) == ("op", "("):
            result = self.binary(0)
            if self.take() != ("op", ")"):
                raise NotConstant(self.text)
            return result
        raise NotConstant(self.text)


def apply_binary(op, left, right):
    if op in ("/", "%") and right == 0:
        raise NotConstant("division by zero")
    if op in ("<<", ">>") and right >= 64:
        raise NotConstant("shift too wide")
    result = {
        "|": lambda: left | right,
        "^": lambda: left ^ right,
        "&": lambda: left & right,
        "<<": lambda: left << right,
        ">>": lambda: left >> right,
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "/": lambda: left // right,
        "%": lambda: left % right,
    }[op]()
    return result & ULONG_MASK


class Constant:
    def __init__(self, name, value, position, target, header):
        self.name = name
        self.value = value
        self.position = position
        self.target = target  # the name this one is defined as, if any
        self.header = header  # the file it was first defined in
        self.flags = []


def kind_of(name):
    for suffix, prefix in KINDS:
        if not name.startswith(prefix) or len(name) <= len(prefix):
            continue
        only = ONLY.get(suffix)
        if only is not None and not only.match(name):
            continue
        excluded = EXCLUDED.get(suffix)
        if excluded is not None and excluded.match(name):
            continue
        return suffix
    return None


def collect(names, bodies, files):
    """Return ({kind: [Constant]}, [CKF_ Constant]) in header order."""
    evaluator = Evaluator(bodies)
    kinds = {suffix: [] for suffix, _ in KINDS}
    ckf = []
    for position, name in enumerate(names):
        kind = kind_of(name)
        if kind is None and not name.startswith("CKF_"):
            continue
        try:
            value = evaluator.value(name)
        except NotConstant:
            sys.stderr.write("gen-constants: skipping %s: not a constant\n" % name)
            continue
        body = bodies[name].strip("() \t")
        is_name = re.fullmatch(r"[A-Za-z_]\w*", body) is not None
        target = body if is_name and kind is not None and kind_of(body) == kind else None
        constant = Constant(name, value, position, target, files.get(name))
        if kind is None:
            ckf.append(constant)
        else:
            kinds[kind].append(constant)
    return kinds, ckf


def pick_canonical(group):
    """The alias rule: see the top of this file."""
    plain = [c for c in group if c.target is None] or group
    first = min(plain, key=lambda c: c.position)
    plain = [c for c in plain if c.header == first.header]
    return max(plain, key=lambda c: c.position)


def mark_aliases(constants, prefix):
    """Flag the vendor base and every non-canonical name; return the printing table."""
    by_value = {}
    for c in constants:
        if c.name == prefix + "VENDOR_DEFINED":
            c.flags.append(FLAG_VENDOR_BASE)
            continue
        by_value.setdefault(c.value, []).append(c)
    table = []
    for value in sorted(by_value):
        group = by_value[value]
        canonical = pick_canonical(group)
        for c in group:
            if c is not canonical:
                c.flags.append(FLAG_ALIAS)
        table.append(canonical)
    return table


def c_entry(c):
    flags = " | ".join(c.flags) if c.flags else "0"
    return "    { %s, \"%s\", %s }," % (c.name, c.name, flags)


def emit_array(out, name, entries):
    if not entries:
        return
    out.append("static const P11muxConstant %s[] = {" % name)
    out.extend(c_entry(c) for c in entries)
    out.append("};")
    out.append("")


def emit_asserts(out, constants):
    for c in constants:
        out.append("_Static_assert(%s == 0x%xUL, \"gen-constants.py: %s\");"
                   % (c.name, c.value, c.name))
    out.append("")


def array_ref(name, entries):
    if not entries:
        return "NULL, 0"
    return "%s, G_N_ELEMENTS(%s)" % (name, name)


def emit_kinds(out, kinds):
    refs = []
    for suffix, prefix in KINDS:
        constants = kinds[suffix]
        table = mark_aliases(constants, prefix)
        index = sorted(constants, key=lambda c: c.name.encode())
        lower = suffix.lower()
        out.append("/* %s: %d names, %d values */" % (prefix, len(index), len(table)))
        emit_asserts(out, constants)
        emit_array(out, lower + "_by_value", table)
        emit_array(out, lower + "_by_name", index)
        refs.append("    [P11MUX_CONST_%s] = { %s, %s }," % (
            suffix, array_ref(lower + "_by_value", table), array_ref(lower + "_by_name", index)))
    out.append("static const struct {")
    out.append("    const P11muxConstant *by_value;")
    out.append("    gsize n_by_value;")
    out.append("    const P11muxConstant *by_name;")
    out.append("    gsize n_by_name;")
    out.append("} kinds[P11MUX_CONST_N_KINDS] = {")
    out.extend(refs)
    out.append("};")
    out.append("")


ACCESSORS = """\
const P11muxConstant *
p11mux_constant_table(P11muxConstantKind kind, gsize *n_entries)
{
    g_return_val_if_fail(kind < P11MUX_CONST_N_KINDS, NULL);
    g_return_val_if_fail(n_entries != NULL, NULL);

    *n_entries = kinds[kind].n_by_value;
    return kinds[kind].by_value;
}

const P11muxConstant *
p11mux_constant_index(P11muxConstantKind kind, gsize *n_entries)
{
    g_return_val_if_fail(kind < P11MUX_CONST_N_KINDS, NULL);
    g_return_val_if_fail(n_entries != NULL, NULL);

    *n_entries = kinds[kind].n_by_name;
    return kinds[kind].by_name;
}

const P11muxConstant *
p11mux_flags_header_names(gsize *n_entries)
{
    g_return_val_if_fail(n_entries != NULL, NULL);

    *n_entries = G_N_ELEMENTS(ckf_header_names);
    return ckf_header_names;
}
"""


def generate(path):
    names, bodies, files = read_defines(path)
    kinds, ckf = collect(names, bodies, files)
    if not kinds["CKR"] or not kinds["CKM"] or not ckf:
        raise SystemExit("gen-constants: %s holds no PKCS #11 definitions "
                         "(is it `$(CPP) -dD` output?)" % path)
    out = [
        "/* Generated by src/pkcs11/gen-constants.py from the PKCS #11 headers: do not edit. */",
        "#include \"config.h\"",
        "",
        "#include \"constants.h\"",
        "",
    ]
    emit_kinds(out, kinds)
    out.append("/* every CKF_ name the header defines, in header order */")
    emit_asserts(out, ckf)
    emit_array(out, "ckf_header_names", ckf)
    out.append(ACCESSORS)
    return "\n".join(out)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s DEFINES-FILE > p11mux-constants-table.c\n" % argv[0])
        return 2
    sys.stdout.write(generate(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
