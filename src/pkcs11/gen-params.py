#!/usr/bin/env python3
"""Generate p11mux's mechanism parameter layouts from src/pkcs11/mechanism-params.tab.

Usage: gen-params.py TABLE > p11mux-params.c

The output defines, for every structure of the table, a C structure
p11mux_NAME laid out by the compiler from the table's field types, its field
descriptors (offsets by offsetof, so the compiler computes them), and the
mechanism list p11mux_mech_params[], which src/pkcs11/mech-params.c indexes by
(vendor, value) at first use.  The format is described at the top of the
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
    "one-of": ("ONE_OF", "ulong"),
    "data-or-key": ("DATA_OR_KEY", "pointer"),
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
REQUIRED_ARG = {"template", "array", "key-if", "one-of", "data-or-key"}

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
                if int(value, 16) < 0x80000000:
                    fail(lineno, "%s is not in the vendor range (CKM_VENDOR_DEFINED and up)" % value)
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
            if f.arg is None or f.role == "one-of":
                if f.role == "one-of" and not all(re.fullmatch(r"0x[0-9a-fA-F]+|[0-9]+", v)
                                                  for v in f.arg.split(",")):
                    fail(f.lineno, "one-of takes numbers")
                continue
            if f.role == "data-or-key":
                length, _, cond = f.arg.partition(",")
                if length not in names or names[length].role != "len":
                    fail(f.lineno, "'%s' is not a len field of %s" % (length, sname))
                if cond.split("=", 1)[0] not in names or "=" not in cond:
                    fail(f.lineno, "data-or-key(LEN,FIELD=CONST) names no field of %s" % sname)
                continue
            ref = f.arg.split("=", 1)[0]
            if ref not in names:
                fail(f.lineno, "'%s' names no field of %s" % (ref, sname))
            if f.role in LENGTH_ARG and names[ref].role != "len":
                fail(f.lineno, "'%s' is not a len field" % ref)


def field_call(sname, f, structs):
    """The C expression that checks field f of the structure read into v,
    or None when the field has no rule."""
    _, _, _, nested = type_kind(f.ctype, structs)
    at = "offsetof(p11mux_%s, %s)" % (sname, f.name)
    copy_at = "copy != NULL ? copy + %s : NULL" % at
    if f.role in ("value", "len"):
        return None
    if f.role == "bytes":
        if f.arg is None:
            return None
        return "p11mux_param_data(v.%s, v.%s)" % (f.name, f.arg)
    if f.role == "hash":
        return "p11mux_param_algorithm(walk, v.%s)" % f.name
    if f.role in ("mgf", "kdf", "pbkdf2-prf"):
        return "p11mux_param_selector(walk, P11MUX_FIELD_%s, v.%s)" % (ROLES[f.role][0], f.name)
    if f.role == "one-of":
        test = " || ".join("v.%s == %sUL" % (f.name, v) for v in f.arg.split(","))
        return "%s ? CKR_OK : CKR_MECHANISM_PARAM_INVALID" % test
    if f.role == "data-or-key":
        length, _, cond = f.arg.partition(",")
        field, _, value = cond.partition("=")
        return ("v.%s == %s ? p11mux_param_key_at(walk, v.%s, v.%s)\n"
                "                        : p11mux_param_data(v.%s, v.%s)"
                % (field, value, f.name, length, f.name, length))
    if f.role == "key":
        return "p11mux_param_key(walk, v.%s)" % f.name
    if f.role == "key-if":
        ref, _, cond = f.arg.partition("=")
        test = "v.%s == %s" % (ref, cond) if cond else "v.%s" % ref
        return "%s ? p11mux_param_key(walk, v.%s) : CKR_OK" % (test, f.name)
    if f.role == "key-out":
        return "p11mux_param_key_out(walk, (CK_OBJECT_HANDLE *)(in + %s))" % at
    if f.role == "key-out-ptr":
        return "p11mux_param_key_out(walk, v.%s)" % f.name
    if f.role == "template":
        count_at = "offsetof(p11mux_%s, %s)" % (sname, f.arg)
        return ("p11mux_param_template(walk, v.%s, v.%s, %s,\n"
                "                              copy != NULL ? copy + %s : NULL)"
                % (f.name, f.arg, copy_at, count_at))
    if f.role == "struct":
        return ("p11mux_param_nested(walk, &p11mux_layout_%s, v.%s, 1, TRUE, depth, %s)"
                % (nested, f.name, copy_at))
    if f.role == "array":
        return ("p11mux_param_nested(walk, &p11mux_layout_%s, v.%s, v.%s, FALSE, depth, %s)"
                % (nested, f.name, f.arg, copy_at))
    if f.role == "struct-out":
        return "p11mux_param_struct_out(walk, &p11mux_layout_%s, v.%s, depth)" % (nested, f.name)
    if f.role == "inline":
        return ("walk_%s(walk, in + %s, %s, depth + 1)" % (nested, at, copy_at))
    raise AssertionError(f.role)


def array_statement(sname, f, structs):
    """An array's check: the walker loops over the elements itself (direct
    calls), except in a copying walk, where the helper copies them."""
    _, _, _, nested = type_kind(f.ctype, structs)
    at = "offsetof(p11mux_%s, %s)" % (sname, f.name)
    return ("if (copy == NULL) {\n"
            "        rv = p11mux_param_count(v.%(f)s, v.%(n)s, depth);\n"
            "        for (CK_ULONG i = 0; rv == CKR_OK && i < v.%(n)s; i++) {\n"
            "            rv = walk_%(t)s(walk, (const guint8 *)v.%(f)s + i * sizeof(p11mux_%(t)s), "
            "NULL,\n                            depth + 1);\n"
            "        }\n"
            "    } else {\n"
            "        rv = p11mux_param_nested(walk, &p11mux_layout_%(t)s, v.%(f)s, v.%(n)s, FALSE, "
            "depth,\n                                 copy + %(at)s);\n"
            "    }" % {"f": f.name, "n": f.arg, "t": nested, "at": at})


def emit_walker(w, sname, structs):
    """One walker per structure, straight-line from its fields: the
    structure is read with one memcpy (a caller's need not be aligned)."""
    calls = []
    for f in structs[sname]:
        if f.role == "array":
            calls.append(array_statement(sname, f, structs))
        else:
            c = field_call(sname, f, structs)
            if c:
                calls.append("rv = %s;" % c)
    w("static CK_RV")
    w("walk_%s(const P11muxParamWalk *walk, const guint8 *in, guint8 *copy, guint depth)" % sname)
    w("{")
    if not calls:
        w("    (void)walk;\n    (void)in;\n    (void)copy;\n    (void)depth;")
        w("    return CKR_OK;")
        w("}\n")
        return
    w("    p11mux_%s v;" % sname)
    w("    CK_RV rv;\n")
    w("    (void)walk;\n    (void)copy;\n    (void)depth;")
    w("    memcpy(&v, in, sizeof v);")
    for i, c in enumerate(calls):
        w("    %s" % c)
        if i + 1 < len(calls):
            w("    if (rv != CKR_OK) {\n        return rv;\n    }")
    w("    return rv;")
    w("}\n")


def emit(structs, order, mechs):
    out = []
    w = out.append
    w("/* Generated by src/pkcs11/gen-params.py from src/pkcs11/mechanism-params.tab: do not edit. */")
    w('#include "config.h"\n')
    w("#include <stddef.h>")
    w("#include <string.h>\n")
    w('#include "mech-params.h"\n')
    for sname in order:
        w("typedef struct {")
        for f in structs[sname]:
            _, decl, suffix, _ = type_kind(f.ctype, structs)
            w("    %s %s%s;" % (decl, f.name, suffix))
        w("} p11mux_%s;\n" % sname)
    for sname in order:
        w("extern const P11muxParamLayout p11mux_layout_%s;" % sname)
    w("")
    for sname in order:
        emit_walker(w, sname, structs)
    for sname in order:
        fields = structs[sname]
        index = {f.name: i for i, f in enumerate(fields)}
        w("static const P11muxParamField fields_%s[] = {" % sname)
        for f in fields:
            kind, _, _, nested = type_kind(f.ctype, structs)
            ref, cond, has_cond = -1, "0", "FALSE"
            if f.role == "data-or-key":
                ref = index[f.arg.split(",", 1)[0]]
            elif f.arg is not None and f.role != "one-of":
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
        w('    "%s", sizeof(p11mux_%s), G_N_ELEMENTS(fields_%s), fields_%s, walk_%s,'
          % (sname, sname, sname, sname, sname))
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
    w("/* in the table's order; src/pkcs11/mech-params.c indexes it at first use */")
    w("const P11muxMechParams p11mux_mech_params[] = {")
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
