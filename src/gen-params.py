#!/usr/bin/env python3
"""Generate p11mux's mechanism parameter layouts from src/mechanism-params.tab.

Usage: gen-params.py TABLE > p11mux-params.c

The output defines, for every structure of the table, a C structure
p11mux_NAME laid out by the compiler from the table's field types, its field
descriptors (offsets by offsetof, so the compiler computes them), and the
mechanism index p11mux_mech_params[] sorted by (vendor, value), which
src/mech-params.c searches.  The format is described at the top of the
table.  The generator refuses: an unknown field type or role, a field named
twice, a reference to a field that does not exist or is not a length, a
structure used before it is defined, a mechanism classified twice, an
unknown class.
"""

import re
import sys

SCALARS = {
    "CK_ULONG": "CK_ULONG",
    "CK_BBOOL": "CK_BBOOL",
    "CK_BYTE": "CK_BYTE",
    "CK_MECHANISM_TYPE": "CK_MECHANISM_TYPE",
    "CK_OBJECT_HANDLE": "CK_OBJECT_HANDLE",
    "CK_BYTE_PTR": "CK_BYTE_PTR",
    "CK_VOID_PTR": "CK_VOID_PTR",
    "CK_ATTRIBUTE_PTR": "CK_ATTRIBUTE_PTR",
    "CK_OBJECT_HANDLE_PTR": "CK_OBJECT_HANDLE_PTR",
    "CK_ULONG_PTR": "CK_ULONG_PTR",
}

# role -> (enum name, kinds of C type it accepts)
ROLES = {
    "value": ("VALUE", "scalar"),
    "len": ("LEN", "ulong"),
    "bytes": ("BYTES", "pointer"),
    "hash": ("HASH", "ulong"),
    "mgf": ("MGF", "ulong"),
    "kdf": ("KDF", "ulong"),
    "pbkdf2-prf": ("PBKDF2_PRF", "ulong"),
    "key": ("KEY", "handle"),
    "key-if": ("KEY", "handle"),
    "key-out": ("KEY_OUT", "handle"),
    "key-out-ptr": ("KEY_OUT_PTR", "handle-ptr"),
    "template": ("TEMPLATE", "template"),
    "struct": ("STRUCT", "struct-ptr"),
    "struct-out": ("STRUCT_OUT", "struct-ptr"),
    "array": ("ARRAY", "struct-ptr"),
    "inline": ("INLINE", "struct"),
}

# roles whose argument names a length field of the same structure
LENGTH_ARG = {"bytes", "template", "array"}
REQUIRED_ARG = {"template", "array", "key-if"}

CLASSES = {"none": "NONE", "bytes": "BYTES", "opaque": "OPAQUE"}


def fail(lineno, message):
    sys.stderr.write("mechanism-params.tab:%d: %s\n" % (lineno, message))
    sys.exit(1)


class Field:
    def __init__(self, ctype, name, role, arg, lineno):
        self.ctype, self.name, self.role, self.arg, self.lineno = ctype, name, role, arg, lineno


def type_kind(ctype, structs):
    """(kind, C declaration prefix, array suffix, nested structure name)"""
    m = re.fullmatch(r"CK_BYTE\[(\d+)\]", ctype)
    if m:
        return "bytes-array", "CK_BYTE", "[%s]" % m.group(1), None
    if ctype in SCALARS:
        if ctype == "CK_OBJECT_HANDLE":
            return "handle", ctype, "", None
        if ctype == "CK_OBJECT_HANDLE_PTR":
            return "handle-ptr", ctype, "", None
        if ctype == "CK_ATTRIBUTE_PTR":
            return "template", ctype, "", None
        if ctype.endswith("_PTR"):
            return "pointer", ctype, "", None
        if ctype in ("CK_BBOOL", "CK_BYTE"):
            return "small", ctype, "", None
        return "ulong", ctype, "", None
    name = ctype.rstrip("*")
    if name not in structs:
        return None, None, None, None
    if ctype.endswith("*"):
        return "struct-ptr", "p11mux_%s *" % name, "", name
    return "struct", "p11mux_%s" % name, "", name


def accepts(role, kind):
    want = ROLES[role][1]
    if want == "scalar":
        return kind in ("ulong", "small", "bytes-array", "handle", "pointer")
    if want == "ulong":
        return kind == "ulong"
    return want == kind


def parse(path):
    structs = {}  # name -> [Field]
    order = []
    mechs = []  # (value expr, vendor or None, class, layout, name, lineno)
    seen = {}
    current = None
    for lineno, raw in enumerate(open(path), 1):
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            current = None if not raw.strip() else current
            continue
        words = line.split()
        if raw[0].isspace():
            if current is None:
                fail(lineno, "a field outside a structure")
            if len(words) != 3:
                fail(lineno, "a field is: C-TYPE NAME ROLE")
            ctype, name, role_text = words
            m = re.fullmatch(r"([a-z0-9-]+)(?:\((.*)\))?", role_text)
            if m is None or m.group(1) not in ROLES:
                fail(lineno, "unknown role '%s'" % role_text)
            role, arg = m.group(1), m.group(2)
            kind = type_kind(ctype, structs)[0]
            if kind is None:
                fail(lineno, "unknown type '%s' (a structure must be defined before use)" % ctype)
            if not accepts(role, kind):
                fail(lineno, "role '%s' does not fit type '%s'" % (role, ctype))
            if role in REQUIRED_ARG and arg is None:
                fail(lineno, "role '%s' needs an argument" % role)
            if any(f.name == name for f in structs[current]):
                fail(lineno, "field '%s' named twice" % name)
            structs[current].append(Field(ctype, name, role, arg, lineno))
            continue
        if words[0] == "struct":
            if len(words) != 2 or words[1] in structs:
                fail(lineno, "a structure is: struct NAME (once)")
            current = words[1]
            structs[current] = []
            order.append(current)
            continue
        current = None
        klass, rest = words[0], words[1:]
        optional = klass.endswith("?")
        base = klass.rstrip("?")
        if base not in CLASSES and base not in structs:
            fail(lineno, "unknown class '%s'" % klass)
        vendor = None
        for word in re.findall(r'vendor="[^"]*"|\S+', line)[1:]:
            if word.startswith("vendor="):
                vendor = word[len('vendor="'):-1]
                continue
            if "=" in word:
                value, name = word.split("=", 1)
                if not re.fullmatch(r"0x[0-9a-f]+", value) or vendor is None:
                    fail(lineno, "a vendor mechanism is 0xVALUE=NAME after vendor=\"...\"")
                expr = value + "UL"
            else:
                if not re.fullmatch(r"CKM_[A-Z0-9_]+", word):
                    fail(lineno, "not a mechanism name: '%s'" % word)
                name, expr = word, word
            key = (vendor, name)
            if key in seen:
                fail(lineno, "%s is classified twice (line %d)" % (name, seen[key]))
            seen[key] = lineno
            mechs.append((expr, vendor, base, optional, name, lineno))
    return structs, order, mechs


def check_refs(structs):
    for sname, fields in structs.items():
        names = {f.name: f for f in fields}
        for f in fields:
            if f.arg is None:
                continue
            ref = f.arg.split("=", 1)[0]
            if ref not in names:
                fail(f.lineno, "'%s' names no field of %s" % (ref, sname))
            if f.role in LENGTH_ARG and names[ref].role != "len":
                fail(f.lineno, "'%s' is not a len field" % ref)


def emit(structs, order, mechs):
    out = []
    w = out.append
    w("/* Generated by src/gen-params.py from src/mechanism-params.tab: do not edit. */")
    w('#include "config.h"\n')
    w("#include <stddef.h>\n")
    w('#include "mech-params.h"\n')
    for sname in order:
        w("typedef struct {")
        for f in structs[sname]:
            _, decl, suffix, _ = type_kind(f.ctype, structs)
            w("    %s %s%s;" % (decl, f.name, suffix))
        w("} p11mux_%s;\n" % sname)
    for sname in order:
        fields = structs[sname]
        index = {f.name: i for i, f in enumerate(fields)}
        w("static const P11muxParamField fields_%s[] = {" % sname)
        for f in fields:
            kind, _, _, nested = type_kind(f.ctype, structs)
            ref, cond, has_cond = -1, "0", "FALSE"
            if f.arg is not None:
                refname = f.arg.split("=", 1)[0]
                ref = index[refname]
                if "=" in f.arg:
                    cond, has_cond = f.arg.split("=", 1)[1], "TRUE"
            width = "sizeof(((p11mux_%s *)0)->%s)" % (sname, f.name)
            layout = "&p11mux_layout_%s" % nested if nested else "NULL"
            w('    { "%s", P11MUX_FIELD_%s, offsetof(p11mux_%s, %s), %s, %d, %s, %s, %s },'
              % (f.name, ROLES[f.role][0], sname, f.name, width, ref, has_cond, cond, layout))
        w("};\n")
        w("const P11muxParamLayout p11mux_layout_%s = {" % sname)
        w('    "%s", sizeof(p11mux_%s), G_N_ELEMENTS(fields_%s), fields_%s,' % (sname, sname, sname, sname))
        w("};\n")
    w("const P11muxParamLayout *const p11mux_param_layouts[] = {")
    for sname in order:
        w("    &p11mux_layout_%s," % sname)
    w("};")
    w("const gsize p11mux_n_param_layouts = G_N_ELEMENTS(p11mux_param_layouts);\n")
    vendors = []
    for m in mechs:
        if m[1] is not None and m[1] not in vendors:
            vendors.append(m[1])
    w("const char *const p11mux_param_vendors[] = {")
    for v in vendors:
        w('    "%s",' % v)
    w("    NULL,")
    w("};\n")
    w("/* sorted by p11mux_mech_params_sort() at first use: values are not known here */")
    w("P11muxMechParams p11mux_mech_params[] = {")
    for expr, vendor, klass, optional, name, _ in mechs:
        vid = 0 if vendor is None else vendors.index(vendor) + 1
        if klass in CLASSES:
            cls, layout = "P11MUX_PARAM_" + CLASSES[klass], "NULL"
        else:
            cls = "P11MUX_PARAM_STRUCT_OR_NONE" if optional else "P11MUX_PARAM_STRUCT"
            layout = "&p11mux_layout_%s" % klass
        w('    { %s, %d, %s, %s, "%s" },' % (expr, vid, cls, layout, name))
    w("};")
    w("const gsize p11mux_n_mech_params = G_N_ELEMENTS(p11mux_mech_params);")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: gen-params.py TABLE\n")
        sys.exit(2)
    structs, order, mechs = parse(sys.argv[1])
    check_refs(structs)
    sys.stdout.write(emit(structs, order, mechs))


if __name__ == "__main__":
    main()
