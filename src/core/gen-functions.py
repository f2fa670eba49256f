#!/usr/bin/env python3
"""Generate p11mux's forwarding layer from src/core/pkcs11-functions.tab.

Usage: gen-functions.py header|source|backend-calls|mock-stubs|mock-header|fault TABLE > OUTPUT

header      function ids, descriptor types, prototypes of every entry point
source      descriptor array, forwarders of routed functions, function lists,
            the typed calls into a backend
backend-calls the prototypes of those calls (p11mux_backend_C_Name)
mock-stubs  weak mock_C_* stubs answering CKR_FUNCTION_NOT_SUPPORTED and the
            mock's function lists (the mock defines the functions it implements)
mock-header the prototypes of those stubs
fault       the wrappers of the fault injector (tests/fault)

The table format is described at its top.  Errors name TABLE:LINE.
"""

import os
import re
import sys

HANDLINGS = {"route-slot", "route-session", "special"}
# roles without argument, and roles taking the name of a related parameter
PLAIN_ROLES = {
    "session", "slot", "slot-out", "bool", "mechanism", "mechanism-type",
    "key", "wrapping-key", "unwrapping-key", "exported-key",
    "object", "object-out", "max", "count", "len", "len-io",
    "info-out", "session-info-out", "session-out", "label", "user-type",
    "notify", "app", "init-args", "reserved", "function-list-out",
    "interface-name", "version", "interface-out", "count-out",
    "value", "validation-type", "function-name", "async-out",
}
REF_ROLES = {
    "slots-out", "mechanisms-out", "objects-out", "template", "template-io",
    "in", "secret-in", "out", "secret-out", "interfaces-out", "param",
    "state-in", "state-out", "flags",
}

# The caller boundary (the table's header comment): what a NULL pointer of
# each role means.  Every role is a value or has a rule.
POINTER_RULES = {
    "required": {
        "mechanism", "info-out", "session-info-out", "session-out", "object-out",
        "objects-out", "count-out", "len-io", "function-list-out", "interface-out",
        "label", "slot-out", "function-name", "async-out",
    },
    "with-length": {"template", "template-io", "in", "secret-in", "param", "state-in"},
    "optional": {
        "out", "secret-out", "state-out", "slots-out", "mechanisms-out", "interfaces-out",
        "app", "notify", "interface-name", "version",
    },
    "must-be-null": {"reserved"},
    "init-args": {"init-args"},
}
VALUE_ROLES = {
    "session", "slot", "bool", "flags", "mechanism-type", "key", "wrapping-key",
    "unwrapping-key", "exported-key", "object", "max", "count", "len", "user-type",
    "value", "validation-type",
}


# The call pipeline's steps, in the order a call runs them.  Each hook of
# P11muxRouter (src/core/router.h) that a call runs is one step with a bit in a
# function's step mask (P11MUX_SEAM_*, computed by p11mux_steps_of when the
# router is published); per_function: the hook's owner may leave the step
# out for a function (router->wanted_seams).  A function whose mask is empty
# takes the plain path.  Generation fails if router.h declares a hook that
# is neither a step nor in EVERY_PATH: a call would skip it.
STEPS = [
    ("begin", False),
    ("check", True),
    ("enter", False),
    ("after", True),
    ("end", False),
]
# Hooks every path runs whatever the mask (the plain path too).
EVERY_PATH = {"session_gone"}


def check_router_hooks(router_h):
    """Every hook member of P11muxRouter is a step or runs on every path."""
    with open(router_h, encoding="utf-8") as f:
        lines = f.read().split("\n")
    text = "\n".join(lines)
    hook_types = set(re.findall(r"typedef\s+[\w ]+?\s*\(\*\s*(P11muxCall\w+)\s*\)", text))
    if not hook_types:
        raise TableError(f"{router_h}: no P11muxCall* hook types found")
    members, inside = {}, False
    for number, line in enumerate(lines, 1):
        if re.match(r"typedef struct\s*\{", line):
            inside = True
            members = {}
            continue
        if inside and re.match(r"\}\s*P11muxRouter;", line):
            break
        if inside and line.lstrip().startswith("}"):
            inside = False
            continue
        m = re.match(r"\s*(P11muxCall\w+)\s+(\w+);", line)
        if inside and m and m.group(1) in hook_types:
            members[m.group(2)] = number
    else:
        raise TableError(f"{router_h}: struct P11muxRouter not found")
    names = {name for name, _ in STEPS} | EVERY_PATH
    for name, number in members.items():
        if name not in names:
            raise TableError(f"{router_h}:{number}: hook '{name}' is no step of the call "
                             "pipeline (STEPS in src/core/gen-functions.py): a call would skip it")
    for name in names:
        if name not in members:
            raise TableError(f"{router_h}: STEPS names hook '{name}', which P11muxRouter lacks")


def step_enum(name):
    return "P11MUX_SEAM_" + name.upper()


# The C types of routed functions' parameters, for the stepped path's
# argument slots (P11muxArgSlot): the CK_ULONG typedefs share one member,
# every pointer type has its own.  A type in neither set is refused: the
# stepped path could not carry it.
ULONG_TYPES = {
    "CK_ULONG", "CK_FLAGS", "CK_MECHANISM_TYPE", "CK_OBJECT_HANDLE", "CK_SESSION_HANDLE",
    "CK_SLOT_ID", "CK_USER_TYPE", "CK_SESSION_VALIDATION_FLAGS_TYPE",
}


def is_pointer_type(ctype):
    return ctype.endswith("_PTR")


def slot_member(ctype):
    return "ulong" if ctype in ULONG_TYPES else "p_" + ctype


def routed_pointer_types(functions):
    return sorted({p.ctype for fn in functions if fn.handling != "special" for p in fn.params
                   if is_pointer_type(p.ctype)})


def pointer_rule(role):
    for rule, roles in POINTER_RULES.items():
        if role in roles:
            return rule
    return None


def check_roles_have_rules():
    for role in PLAIN_ROLES | REF_ROLES:
        rules = [r for r, roles in POINTER_RULES.items() if role in roles]
        if len(rules) + (role in VALUE_ROLES) != 1:
            raise TableError(f"role '{role}' needs exactly one pointer rule or to be a value")


class TableError(Exception):
    pass


class Param:
    def __init__(self, ctype, name, role, ref, line, nullable=False):
        self.ctype, self.name, self.role, self.ref, self.line = ctype, name, role, ref, line
        self.nullable = nullable


class Function:
    def __init__(self, name, since, handling, writes, line):
        self.name, self.since, self.handling = name, since, handling
        self.writes, self.line, self.params = writes, line, []

    @property
    def short(self):
        return self.name[2:]


def parse_role(text, where):
    m = re.fullmatch(r"([a-z-]+)(?:\(([A-Za-z_0-9]+)\))?", text)
    if not m:
        raise TableError(f"{where}: malformed role '{text}'")
    role, ref = m.group(1), m.group(2)
    if role in PLAIN_ROLES and ref is None:
        return role, None
    if role in REF_ROLES and ref is not None:
        return role, ref
    raise TableError(f"{where}: unknown role '{text}'")


def parse(path):
    functions, current = [], None
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            where = f"{path}:{number}"
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            words = line.split()
            if not line[0].isspace():
                current = parse_function(words, where, number)
                functions.append(current)
            elif current is None:
                raise TableError(f"{where}: parameter before any function")
            else:
                current.params.append(parse_param(words, where, number))
    check(functions, path)
    return functions


def parse_function(words, where, number):
    if len(words) not in (3, 4) or not words[0].startswith("C_"):
        raise TableError(f"{where}: expected 'C_NAME SINCE HANDLING [FLAG,...]'")
    name, since, handling = words[:3]
    if since not in VERSIONS:
        raise TableError(f"{where}: unknown version '{since}'")
    if handling not in HANDLINGS:
        raise TableError(f"{where}: unknown handling '{handling}'")
    flags = words[3].split(",") if len(words) == 4 else []
    for flag in flags:
        if flag not in ("writes", "v3-variant", "closes", "message-params", "refused"):
            raise TableError(f"{where}: unknown flag '{flag}'")
    fn = Function(name, since, handling, "writes" in flags, number)
    fn.v3_variant = "v3-variant" in flags
    fn.closes = "closes" in flags
    fn.message_params = "message-params" in flags
    fn.refused = "refused" in flags
    if fn.v3_variant and handling != "special":
        raise TableError(f"{where}: v3-variant is for special functions")
    if fn.refused and handling != "special":
        raise TableError(f"{where}: refused is for special functions")
    return fn


def parse_param(words, where, number):
    if len(words) not in (3, 4) or (len(words) == 4 and words[3] != "nullable"):
        raise TableError(f"{where}: expected 'C-TYPE NAME ROLE [nullable]' "
                         "(every parameter needs a role)")
    role, ref = parse_role(words[2], where)
    nullable = len(words) == 4
    if nullable and pointer_rule(role) != "required":
        raise TableError(f"{where}: 'nullable' is for a role whose pointer is required")
    return Param(words[0], words[1], role, ref, number, nullable)


def check(functions, path):
    seen = set()
    for fn in functions:
        if fn.name in seen:
            raise TableError(f"{path}:{fn.line}: duplicate function {fn.name}")
        seen.add(fn.name)
        names = [p.name for p in fn.params]
        if len(set(names)) != len(names):
            raise TableError(f"{path}:{fn.line}: duplicate parameter in {fn.name}")
        for p in fn.params:
            if p.ref is not None and p.role != "flags" and p.ref not in names:
                raise TableError(f"{path}:{p.line}: '{p.ref}' is not a parameter of {fn.name}")
        if fn.handling == "route-slot" and not any(p.role == "slot" for p in fn.params):
            raise TableError(f"{path}:{fn.line}: {fn.name} is route-slot without a slot parameter")
        if fn.handling == "route-session" and (not fn.params or fn.params[0].role != "session"):
            raise TableError(f"{path}:{fn.line}: {fn.name} is route-session without a leading session")
        if fn.message_params and not any(p.role == "mechanism" for p in fn.params):
            raise TableError(f"{path}:{fn.line}: message-params on {fn.name}, which takes no mechanism")
        for p in fn.params if fn.handling != "special" else []:
            if p.ctype not in ULONG_TYPES and not is_pointer_type(p.ctype):
                raise TableError(f"{path}:{p.line}: type {p.ctype} of a routed function is neither "
                                 "a CK_ULONG typedef (ULONG_TYPES) nor a pointer")


def bad_pointer_tests(fn):
    """The C conditions, one per pointer parameter, under which a call of fn
    is CKR_ARGUMENTS_BAD (POINTER_RULES)."""
    by_name = {p.name: p for p in fn.params}
    tests = []
    for p in fn.params:
        rule = pointer_rule(p.role)
        ref = by_name.get(p.ref) if p.ref else None
        if rule == "required" and not p.nullable:
            tests.append(f"{p.name} == NULL")
        elif rule == "must-be-null":
            tests.append(f"{p.name} != NULL")
        elif rule == "with-length" or (rule == "optional" and ref is not None and ref.role == "len"):
            tests.append(f"({p.name} == NULL && {ref.name} != 0)")
    return tests


def c_params(fn):
    if not fn.params:
        return "void"
    return ", ".join(f"{p.ctype} {p.name}" for p in fn.params)


def c_args(fn, route=None, prefix=""):
    """The arguments of a call; with route (how to reach the fields of a
    P11muxCall or P11muxRoute: "route." or "call->"), the session and slot
    as the backend sees them; prefix names
    the variables that hold the arguments (the stepped path's copies)."""
    out = []
    for p in fn.params:
        if route and p.role == "session":
            out.append(f"{route}real_session")
        elif route and p.role == "slot":
            out.append(f"{route}real_slot")
        else:
            out.append(prefix + p.name)
    return ", ".join(out)


def role_enum(role):
    return "P11MUX_ROLE_" + role.upper().replace("-", "_")


ALL_ROLES = sorted(PLAIN_ROLES | REF_ROLES)


# The interface versions a function may be introduced in, oldest first; each
# has its function list (CK_FUNCTION_LIST, _3_0, _3_2).
VERSIONS = ("2.40", "3.0", "3.2")


def in_version(fn, version):
    """Whether fn is a member of the function list of interface version."""
    return VERSIONS.index(fn.since) <= VERSIONS.index(version)


def emit_header(functions):
    w = sys.stdout.write
    w("/* Generated by src/core/gen-functions.py from src/core/pkcs11-functions.tab: do not edit. */\n")
    w("#ifndef P11MUX_FUNCTIONS_H\n#define P11MUX_FUNCTIONS_H\n\n")
    w("#include <glib.h>\n\n#include \"p11mux-pkcs11.h\"\n\n")
    w("typedef enum {\n")
    for fn in functions:
        w(f"    P11MUX_FN_{fn.name},\n")
    w("    P11MUX_FN_COUNT\n} P11muxFunctionId;\n\n")
    w("/* X(C_Name) for every function, in id order (tables indexed by id). */\n")
    w("#define P11MUX_FOR_EACH_FUNCTION(X) \\\n")
    w(" \\\n".join(f"    X({fn.name})" for fn in functions) + "\n\n")
    w("typedef enum {\n")
    for role in ALL_ROLES:
        w(f"    {role_enum(role)},\n")
    w("} P11muxRole;\n\n")
    w("/* A key handle the application passes, whatever its part in the call. */\n")
    w("static inline gboolean\np11mux_role_is_key(P11muxRole role)\n{\n")
    w("    return role == P11MUX_ROLE_KEY || role == P11MUX_ROLE_WRAPPING_KEY ||\n")
    w("           role == P11MUX_ROLE_UNWRAPPING_KEY || role == P11MUX_ROLE_EXPORTED_KEY;\n}\n\n")
    w("/* The steps of the call pipeline, one bit each in a function's mask\n"
      " * (src/core/router.h's hooks, src/core/call.h). */\n")
    w("typedef enum {\n")
    for i, (name, _) in enumerate(STEPS):
        w(f"    {step_enum(name)} = 1 << {i},\n")
    w("} P11muxSeam;\n\n")
    w("typedef enum {\n    P11MUX_HANDLING_ROUTE_SLOT,\n    P11MUX_HANDLING_ROUTE_SESSION,\n"
      "    P11MUX_HANDLING_SPECIAL,\n} P11muxHandling;\n\n")
    ptypes = routed_pointer_types(functions)
    w("/* One argument, as the stepped path holds it (passed by value, in the\n"
      " * register the argument itself came in): call->args[i] points at the\n"
      " * member of its type. */\n")
    w("typedef union {\n    CK_ULONG ulong;\n")
    for t in ptypes:
        w(f"    {t} {slot_member(t)};\n")
    w("} P11muxArgSlot;\n\n")
    w("typedef struct {\n"
      "    const char *type;     /* C type as in the specification */\n"
      "    const char *name;     /* specification parameter name */\n"
      "    P11muxRole role;\n"
      "    int ref;              /* index of the related parameter (length, count), or -1 */\n"
      "    const char *ref_name; /* the related parameter's name or the flags kind, or NULL */\n"
      "} P11muxParamDesc;\n\n")
    w("typedef struct {\n"
      "    const char *name;\n"
      "    P11muxFunctionId id;\n"
      "    CK_BYTE major;        /* interface version that introduced it */\n"
      "    CK_BYTE minor;\n"
      "    P11muxHandling handling;\n"
      "    gboolean writes;      /* may change a token */\n"
      "    guint n_params;\n"
      "    const P11muxParamDesc *params;\n"
      "    int target;           /* a routed function's session or slot parameter, else -1 */\n"
      "    gboolean closes;      /* ends the session, or every session of the slot, it names */\n"
      "    gboolean message_params; /* its mechanism's parameter is the per-message one\n"
      "                                (CK_GCM_MESSAGE_PARAMS, ...), not the mechanism's own */\n"
      "} P11muxFunctionDesc;\n\n")
    w("/* Indexed by P11muxFunctionId. */\n")
    w("extern const P11muxFunctionDesc p11mux_functions[P11MUX_FN_COUNT];\n\n")
    w("/* The entry points: generated for routed functions, hand-written for special ones. */\n")
    for fn in functions:
        w(f"CK_RV p11mux_fwd_{fn.name}({c_params(fn)});\n")
        if fn.v3_variant:
            w(f"CK_RV p11mux_fwd_{fn.name}_3_0({c_params(fn)});\n")
            w(f"CK_RV p11mux_fwd_{fn.name}_3_2({c_params(fn)});\n")
    emit_arg_checks(functions)
    w("\n/* The interface versions p11mux offers and takes from a backend. */\n")
    w("typedef enum {\n    P11MUX_INTERFACE_2_40,\n    P11MUX_INTERFACE_3_0,\n"
      "    P11MUX_INTERFACE_3_2,\n} P11muxInterface;\n")
    w("\n/* The backend boundary: out becomes p11mux's copy of a backend's list, in\n"
      " * which every entry is callable: a NULL entry of list, every 3.0 entry\n"
      " * unless interface is 3.0 or later (list is then a CK_FUNCTION_LIST_3_0)\n"
      " * and every 3.2 entry unless it is 3.2 (a CK_FUNCTION_LIST_3_2) answers\n"
      " * CKR_FUNCTION_NOT_SUPPORTED.  out->version is list's. */\n")
    w("void p11mux_functions_normalise(CK_FUNCTION_LIST_3_2 *out, const CK_FUNCTION_LIST *list,\n"
      "                               P11muxInterface interface);\n")
    w("\nextern CK_FUNCTION_LIST p11mux_function_list;\n")
    w("extern CK_FUNCTION_LIST_3_0 p11mux_function_list_3_0;\n")
    w("extern CK_FUNCTION_LIST_3_2 p11mux_function_list_3_2;\n")
    w("\n#endif /* P11MUX_FUNCTIONS_H */\n")


def emit_arg_checks(functions):
    w = sys.stdout.write
    w("\n/* The caller boundary (src/core/pkcs11-functions.tab): CKR_ARGUMENTS_BAD when\n"
      " * a pointer the specification requires is NULL, else CKR_OK.  Pure: no\n"
      " * pointer is read.  Inline for the plain path; p11mux_args_check runs\n"
      " * the same test on a call's argument array (p11mux_call_begin*,\n"
      " * through the function's tail, p11mux_call_tails in src/core/call.h). */\n")
    for fn in functions:
        tests = bad_pointer_tests(fn)
        w(f"G_ALWAYS_INLINE static inline CK_RV\np11mux_args_check_{fn.name}({c_params(fn)})\n{{\n")
        for p in fn.params:
            w(f"    (void){p.name};\n")
        if tests:
            w(f"    return G_UNLIKELY({' || '.join(tests)}) ? CKR_ARGUMENTS_BAD : CKR_OK;\n}}\n\n")
        else:
            w("    return CKR_OK;\n}\n\n")
    w("/* p11mux_args_check_<fn> on args (pointers to the parameters, in table order). */\n")
    w("CK_RV p11mux_args_check(P11muxFunctionId fn, void *const *args);\n")


def emit_args_dispatch(functions):
    """p11mux_args_check over the tails' table (emit_call_tails)."""
    w = sys.stdout.write
    w("CK_RV\np11mux_args_check(P11muxFunctionId fn, void *const *args)\n{\n")
    w("    return p11mux_call_tails[fn].check_args(args);\n}\n\n")


def emit_descriptors(functions):
    w = sys.stdout.write
    for fn in functions:
        if not fn.params:
            continue
        w(f"static const P11muxParamDesc params_{fn.name}[] = {{\n")
        names = [p.name for p in fn.params]
        for p in fn.params:
            ref = names.index(p.ref) if p.ref in names else -1
            ref_name = f'"{p.ref}"' if p.ref else "NULL"
            w(f'    {{ "{p.ctype}", "{p.name}", {role_enum(p.role)}, {ref}, {ref_name} }},\n')
        w("};\n\n")
    w("const P11muxFunctionDesc p11mux_functions[P11MUX_FN_COUNT] = {\n")
    for fn in functions:
        major, minor = fn.since.split(".")
        handling = "P11MUX_HANDLING_" + fn.handling.upper().replace("-", "_")
        params = f"params_{fn.name}" if fn.params else "NULL"
        writes = "TRUE" if fn.writes else "FALSE"
        target = -1
        if fn.handling != "special":
            role = "session" if fn.handling == "route-session" else "slot"
            target = next(i for i, p in enumerate(fn.params) if p.role == role)
        closes = "TRUE" if fn.closes else "FALSE"
        message = "TRUE" if fn.message_params else "FALSE"
        w(f'    {{ "{fn.name}", P11MUX_FN_{fn.name}, {major}, {minor}, {handling}, {writes}, '
          f"{len(fn.params)}, {params}, {target}, {closes}, {message} }},\n")
    w("};\n\n")


def emit_backend_call(fn, route, indent, prefix=""):
    """The backend call of a routed function and the fix-up of its outputs,
    the same on both paths (route: "route." or "call->"; prefix: the variables
    holding the arguments).  Through the backend door (src/core/backend.h):
    p11mux_backend_routed is an inline read of the backend's normalised
    list, in which every entry is callable, so the routed path pays no more
    than a direct call; what is no answer (CKR_PENDING) is mapped after it,
    off the path of CKR_OK (p11mux_backend_answer)."""
    w = sys.stdout.write
    pad = " " * indent
    bounded = next((p for p in fn.params if p.role == "mechanisms-out"), None)
    if bounded is not None:
        # the backend writes only into a list p11mux sized from its own count
        w(f"{pad}rv = p11mux_backend_mechanism_list({route}backend, {route}real_slot, "
          f"{prefix}{bounded.name}, {prefix}{bounded.ref});\n")
    else:
        # p11mux_call_end (stepped) and p11mux_route_end_* (plain) map what is
        # no answer (CKR_PENDING) where they test rv anyway, off the path of
        # CKR_OK
        w(f"{pad}rv = p11mux_backend_routed({route}backend)->{fn.name}"
          f"({c_args(fn, route, prefix)});\n")
    for p in fn.params:
        if p.role == "session-info-out":
            w(f"{pad}if (rv == CKR_OK) {{\n")
            w(f"{pad}    {prefix}{p.name}->slotID = {route}slot;\n{pad}}}\n")
        if p.role == "info-out" and p.ctype == "CK_TOKEN_INFO_PTR":
            # p11mux opens no asynchronous session (src/core/module-sessions.c)
            w(f"{pad}if (rv == CKR_OK) {{\n")
            w(f"{pad}    {prefix}{p.name}->flags &= ~(CK_FLAGS)CKF_ASYNC_SESSION_SUPPORTED;\n"
              f"{pad}}}\n")


def emit_steps_of():
    """The step mask of a function under a router, from STEPS."""
    w = sys.stdout.write
    w("guint\np11mux_steps_of(const P11muxRouter *router, P11muxFunctionId fn)\n{\n")
    w("    guint wanted = router->wanted_seams != NULL ? router->wanted_seams[fn] : ~0u;\n")
    w("    guint steps = 0;\n\n")
    for name, per_function in STEPS:
        cond = f"router->{name} != NULL" + (f" && (wanted & {step_enum(name)})" if per_function else "")
        w(f"    if ({cond}) {{\n        steps |= {step_enum(name)};\n    }}\n")
    w("    return steps;\n}\n\n")


def emit_forwarder(fn):
    """One body per routed function.  When the function's step mask is
    empty (src/core/call.h), the plain path: hold the router, check the
    arguments, route, call the backend, test for a lost session, inline,
    with no P11muxCall and no argument array.  Otherwise (a step to run, not
    initialised, a call inside a call) the call goes on to the stepped
    pipeline, p11mux_call_stepped: begin -> route -> the steps of the mask
    -> backend (the function's tail, p11mux_call_tails) -> end, the same
    for every function."""
    w = sys.stdout.write
    route = "session" if fn.handling == "route-session" else "slot"
    target = next(p.name for p in fn.params if p.role == route)
    names = [p.name for p in fn.params]
    w(f"CK_RV\np11mux_fwd_{fn.name}({c_params(fn)})\n{{\n")
    w("    P11muxPlain plain;\n")
    w(f"    P11muxRouter *router = p11mux_call_plain_router(&plain, P11MUX_FN_{fn.name});\n")
    w("    P11muxRoute route;\n    CK_RV rv;\n\n")
    w("    if (G_UNLIKELY(router == NULL)) {\n")
    slots = ", ".join(f"(P11muxArgSlot){{.{slot_member(p.ctype)} = {p.name}}}" for p in fn.params)
    w(f"        return p11mux_call_stepped_{len(fn.params)}(P11MUX_FN_{fn.name}, {slots});\n    }}\n")
    w(f"    rv = p11mux_args_check_{fn.name}({', '.join(names)});\n")
    w("    if (G_LIKELY(rv == CKR_OK)) {\n")
    w(f"        rv = p11mux_route_{route}(router, {target}, &route);\n    }}\n")
    w("    if (rv == CKR_OK) {\n")
    emit_backend_call(fn, "route.", 8)
    if route == "session":
        w(f"        rv = p11mux_route_end_session(router, P11MUX_FN_{fn.name}, {target}, rv);\n")
    else:
        w("        rv = p11mux_route_end_slot(rv);\n")
    w("    }\n    p11mux_call_plain_release(&plain);\n    return rv;\n}\n\n")


def emit_refused(fn):
    """A function p11mux refuses (flag refused): its session (or slot)
    checked and the call traced like any, then CKR_FUNCTION_NOT_SUPPORTED;
    no backend sees it."""
    w = sys.stdout.write
    target = next((p for p in fn.params if p.role in ("session", "slot")), None)
    if target is None:
        raise TableError(f"{fn.name}: refused needs a session or slot parameter")
    begin = "p11mux_call_begin_session" if target.role == "session" else "p11mux_call_begin_slot"
    args = ", ".join(f"&{p.name}" for p in fn.params)
    w(f"CK_RV\np11mux_fwd_{fn.name}({c_params(fn)})\n{{\n")
    w(f"    P11muxCall call;\n    void *args[] = {{{args}}};\n")
    w(f"    CK_RV rv = {begin}(&call, P11MUX_FN_{fn.name}, {target.name}, args);\n\n")
    w("    return p11mux_call_end(&call, rv == CKR_OK ? CKR_FUNCTION_NOT_SUPPORTED : rv);\n}\n\n")


def emit_stepped_support(functions):
    """The stepped pipeline's generated parts: its entries by number of
    arguments (the forwarders pass each argument as a P11muxArgSlot, in the
    register it came in), and per function its tail (P11muxCallTail,
    src/core/call.h): the argument check over an argument array, and for a
    routed function the backend call over call->args, which
    p11mux_call_stepped reaches by the function's id, through one table."""
    w = sys.stdout.write
    for n in sorted({len(fn.params) for fn in functions if fn.handling != "special"}):
        params = ", ".join(f"P11muxArgSlot a{i}" for i in range(n))
        w(f"static G_NO_INLINE CK_RV\np11mux_call_stepped_{n}(P11muxFunctionId fn, {params})\n{{\n")
        w(f"    P11muxArgSlot slots[] = {{ {', '.join(f'a{i}' for i in range(n))} }};\n")
        w(f"    void *args[] = {{ {', '.join(f'&slots[{i}]' for i in range(n))} }};\n\n")
        w("    return p11mux_call_stepped(fn, slots, args);\n}\n\n")
    w("static CK_RV\nargs_none(void *const *args)\n{\n    (void)args;\n    return CKR_OK;\n}\n\n")
    w("static CK_RV\ninvoke_special(P11muxCall *call)\n{\n    (void)call;\n"
      "    return CKR_FUNCTION_NOT_SUPPORTED;\n}\n\n")
    for fn in functions:
        if bad_pointer_tests(fn):
            unpacked = ", ".join(f"*({p.ctype} *)args[{i}]" for i, p in enumerate(fn.params))
            w(f"static CK_RV\nargs_{fn.name}(void *const *args)\n{{\n")
            w(f"    return p11mux_args_check_{fn.name}({unpacked});\n}}\n\n")
        if fn.handling == "special":
            continue
        w(f"static CK_RV\ninvoke_{fn.name}(P11muxCall *call)\n{{\n")
        if any(p.role not in ("session", "slot") for p in fn.params):
            w("    void **args = call->args;\n")
        for k, p in enumerate(fn.params):
            if p.role not in ("session", "slot"):
                w(f"    {p.ctype} a_{p.name} = *({p.ctype} *)args[{k}];\n")
        w("    CK_RV rv;\n\n")
        emit_backend_call(fn, "call->", 4, "a_")
        w("    return rv;\n}\n\n")
    w("const P11muxCallTail p11mux_call_tails[P11MUX_FN_COUNT] = {\n")
    for fn in functions:
        check = f"args_{fn.name}" if bad_pointer_tests(fn) else "args_none"
        if fn.handling == "special":
            w(f"    {{ {check}, invoke_special, P11MUX_HANDLING_SPECIAL, 0 }},\n")
            continue
        role = "session" if fn.handling == "route-session" else "slot"
        target = next(i for i, p in enumerate(fn.params) if p.role == role)
        handling = "P11MUX_HANDLING_" + fn.handling.upper().replace("-", "_")
        w(f"    {{ {check}, invoke_{fn.name}, {handling}, {target} }},\n")
    w("};\n\n")


def emit_list(functions, name, ctype, prefix, version):
    """The function list of interface version ("2.40", "3.0", "3.2"); a
    v3-variant's entry in a 3.x list is its own p11mux_fwd_NAME_3_x."""
    w = sys.stdout.write
    major, minor = version.split(".")
    w(f"{ctype} {name} = {{\n    {{ {major}, {minor} }},\n")
    for fn in functions:
        if not in_version(fn, version):
            continue
        suffix = ""
        if version != "2.40" and prefix == "p11mux_fwd_" and fn.v3_variant:
            suffix = "_" + version.replace(".", "_")
        w(f"    .{fn.name} = {prefix}{fn.name}{suffix},\n")
    w("};\n\n")


def emit_source(functions):
    w = sys.stdout.write
    w("/* Generated by src/core/gen-functions.py from src/core/pkcs11-functions.tab: do not edit. */\n")
    w('#include "config.h"\n\n#include <string.h>\n\n#include "p11mux-functions.h"\n#include "call.h"\n#include "backend.h"\n\n')
    emit_descriptors(functions)
    emit_args_dispatch(functions)
    emit_steps_of()
    emit_stepped_support(functions)
    for fn in functions:
        if fn.handling != "special":
            emit_forwarder(fn)
        elif fn.refused:
            emit_refused(fn)
    emit_list(functions, "p11mux_function_list", "CK_FUNCTION_LIST", "p11mux_fwd_", "2.40")
    emit_list(functions, "p11mux_function_list_3_0", "CK_FUNCTION_LIST_3_0", "p11mux_fwd_", "3.0")
    emit_list(functions, "p11mux_function_list_3_2", "CK_FUNCTION_LIST_3_2", "p11mux_fwd_", "3.2")
    emit_normalise(functions)
    emit_backend_calls(functions)


# The calls p11mux's own code makes into a backend are typed wrappers of
# its normalised list; the hand-written ones of src/core/backend.c keep their
# own names.
def backend_call_params(fn):
    params = ", ".join(f"{p.ctype} {p.name}" for p in fn.params)
    return "const P11muxBackend *backend" + (", " + params if params else "")


def emit_backend_calls_header(functions):
    """Declarations of the typed calls into a backend (backend.h includes
    them once P11muxBackend is declared)."""
    w = sys.stdout.write
    w("/* Generated by src/core/gen-functions.py from src/core/pkcs11-functions.tab: do not edit. */\n")
    w("/* Every function of a backend's normalised list, typed, through the\n"
      " * backend boundary; what is no answer (CKR_PENDING) mapped as on every\n"
      " * path (p11mux_backend_answer), through the backend's gate\n"
      " * (p11mux_backend_enter: one at a time into p11-kit's RPC client, and a\n"
      " * SIGPIPE it raises kept from the application): the calls of the HA groups\n"
      " * into members that may be remote.  Included by src/core/backend.h. */\n")
    for fn in functions:
        w(f"CK_RV p11mux_backend_{fn.name}({backend_call_params(fn)});\n")


def emit_backend_calls(functions):
    w = sys.stdout.write
    for fn in functions:
        w(f"CK_RV\np11mux_backend_{fn.name}({backend_call_params(fn)})\n{{\n")
        w("    P11muxSigpipe guard;\n    CK_RV rv;\n\n")
        w("    if (!p11mux_backend_enter(backend, &guard)) {\n")
        w("        return CKR_DEVICE_ERROR; /* the gate stayed shut: a call of its hangs */\n    }\n")
        w(f"    rv = p11mux_backend_routed(backend)->{fn.name}({c_args(fn)});\n")
        w("    p11mux_backend_leave(backend, &guard);\n")
        w("    return p11mux_backend_answer(rv);\n}\n\n")


def emit_normalise(functions):
    """The backend boundary: a stub for every function, and the copy of a
    backend's list in which each NULL entry (and each entry newer than the
    backend's interface) is the stub."""
    w = sys.stdout.write
    w("/* The backend boundary: what a backend's missing entry answers. */\n")
    for fn in functions:
        w(f"static CK_RV\nmissing_{fn.name}({c_params(fn)})\n{{\n")
        for p in fn.params:
            w(f"    (void){p.name};\n")
        w("    return CKR_FUNCTION_NOT_SUPPORTED;\n}\n\n")
    w("void\np11mux_functions_normalise(CK_FUNCTION_LIST_3_2 *out, const CK_FUNCTION_LIST *list,\n"
      "                           P11muxInterface interface)\n{\n")
    w("    const CK_FUNCTION_LIST_3_0 *list_3_0 =\n"
      "        interface >= P11MUX_INTERFACE_3_0 ? (const CK_FUNCTION_LIST_3_0 *)list : NULL;\n")
    w("    const CK_FUNCTION_LIST_3_2 *list_3_2 =\n"
      "        interface >= P11MUX_INTERFACE_3_2 ? (const CK_FUNCTION_LIST_3_2 *)list : NULL;\n\n")
    w("    memset(out, 0, sizeof *out);\n")
    w("    out->version = list->version;\n")
    for fn in functions:
        src = {"2.40": "list", "3.0": "list_3_0", "3.2": "list_3_2"}[fn.since]
        guard = "" if fn.since == "2.40" else f"{src} != NULL && "
        w(f"    out->{fn.name} = {guard}{src}->{fn.name} != NULL ? {src}->{fn.name} : missing_{fn.name};\n")
    w("}\n")


def emit_mock_stubs(functions):
    w = sys.stdout.write
    w("/* Generated by src/core/gen-functions.py from src/core/pkcs11-functions.tab: do not edit. */\n")
    w('#include "config.h"\n\n#include "p11mux-pkcs11.h"\n#include "mock-stubs.h"\n\n')
    w("/* Defaults: the mock defines (strong) every function it implements. */\n")
    for fn in functions:
        w(f"__attribute__((weak)) CK_RV\nmock_{fn.name}({c_params(fn)})\n{{\n")
        for p in fn.params:
            w(f"    (void){p.name};\n")
        w("    return CKR_FUNCTION_NOT_SUPPORTED;\n}\n\n")
    emit_list(functions, "mock_function_list", "CK_FUNCTION_LIST", "mock_", "2.40")
    emit_list(functions, "mock_function_list_3_0", "CK_FUNCTION_LIST_3_0", "mock_", "3.0")
    emit_list(functions, "mock_function_list_3_2", "CK_FUNCTION_LIST_3_2", "mock_", "3.2")


def emit_mock_header(functions):
    w = sys.stdout.write
    w("/* Generated by src/core/gen-functions.py from src/core/pkcs11-functions.tab: do not edit. */\n")
    w("#ifndef MOCK_STUBS_H\n#define MOCK_STUBS_H\n\n#include \"p11mux-pkcs11.h\"\n\n")
    for fn in functions:
        w(f"CK_RV mock_{fn.name}({c_params(fn)});\n")
    w("\nextern CK_FUNCTION_LIST mock_function_list;\n")
    w("extern CK_FUNCTION_LIST_3_0 mock_function_list_3_0;\n")
    w("extern CK_FUNCTION_LIST_3_2 mock_function_list_3_2;\n\n#endif\n")


def emit_fault(functions):
    """The fault injector's wrappers (tests/fault/p11fault.h, README.md): one
    body per function that p11fault.c does not write by hand, the stubs of
    what the wrapped module lacks, its normalised copy, and the 2.40 and 3.0
    function lists.  Each wrapper asks p11fault_enter (rules, counts) with the
    slot or session the call names, then calls the wrapped module; the
    functions that change the session or label maps tell p11fault_after_*."""
    # the wrapper offers the 2.40 and 3.0 lists: the modules it wraps in the
    # tests (SoftHSM2, NSS softoken) stop at 3.0
    functions = [fn for fn in functions if fn.since in ("2.40", "3.0")]
    hand = {"C_Initialize", "C_Finalize", "C_GetFunctionList", "C_GetInterfaceList",
            "C_GetInterface"}
    after = {"C_OpenSession", "C_CloseSession", "C_CloseAllSessions", "C_InitToken",
             "C_GetTokenInfo"}
    w = sys.stdout.write
    w("/* Generated by src/core/gen-functions.py from src/core/pkcs11-functions.tab: do not edit. */\n")
    w('#include "config.h"\n\n#include <string.h>\n\n#include "p11fault.h"\n\n')
    w("/* What a function the wrapped module lacks answers. */\n")
    for fn in functions:
        w(f"static CK_RV\nmissing_{fn.name}({c_params(fn)})\n{{\n")
        for p in fn.params:
            w(f"    (void){p.name};\n")
        w("    return CKR_FUNCTION_NOT_SUPPORTED;\n}\n\n")
    w("void\np11fault_normalise(CK_FUNCTION_LIST_3_0 *out, const CK_FUNCTION_LIST *list, gboolean is_3_0)\n{\n")
    w("    const CK_FUNCTION_LIST_3_0 *list_3_0 = is_3_0 ? (const CK_FUNCTION_LIST_3_0 *)list : NULL;\n\n")
    w("    memset(out, 0, sizeof *out);\n    out->version = list->version;\n")
    for fn in functions:
        src = "list" if fn.since == "2.40" else "list_3_0"
        guard = "" if fn.since == "2.40" else "list_3_0 != NULL && "
        w(f"    out->{fn.name} = {guard}{src}->{fn.name} != NULL ? {src}->{fn.name} : missing_{fn.name};\n")
    w("}\n\n")
    for fn in functions:
        if fn.name in hand:
            continue
        if fn.params and fn.params[0].role == "session":
            target = f"P11FAULT_TARGET_SESSION, {fn.params[0].name}"
        else:
            slot = [p for p in fn.params if p.role == "slot"]
            target = f"P11FAULT_TARGET_SLOT, {slot[0].name}" if slot else "P11FAULT_TARGET_NONE, 0"
        w(f"static CK_RV\nfault_{fn.name}({c_params(fn)})\n{{\n")
        w(f'    CK_RV rv = p11fault_enter("{fn.name}", {target});\n\n')
        w("    if (rv != CKR_OK) {\n        return rv;\n    }\n")
        w(f"    rv = p11fault_wrapped.{fn.name}({c_args(fn)});\n")
        if fn.name in after:
            sep = ", " if fn.params else ""
            w(f"    p11fault_after_{fn.name}(rv{sep}{c_args(fn)});\n")
        w("    return rv;\n}\n\n")
    for name, ctype, version, v3 in (("p11fault_function_list", "CK_FUNCTION_LIST", (2, 40), False),
                                     ("p11fault_function_list_3_0", "CK_FUNCTION_LIST_3_0", (3, 0), True)):
        w(f"{ctype} {name} = {{\n    {{ {version[0]}, {version[1]} }},\n")
        for fn in functions:
            if fn.since == "3.0" and not v3:
                continue
            prefix = "p11fault_" if fn.name in hand else "fault_"
            w(f"    .{fn.name} = {prefix}{fn.name},\n")
        w("};\n\n")


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        check_roles_have_rules()
        functions = parse(sys.argv[2])
        if sys.argv[1] in ("header", "source"):
            check_router_hooks(os.path.join(os.path.dirname(sys.argv[2]), "router.h"))
    except (TableError, OSError) as e:
        sys.stderr.write(f"gen-functions.py: {e}\n")
        return 1
    emitters = {"header": emit_header, "source": emit_source,
                "backend-calls": emit_backend_calls_header,
                "mock-stubs": emit_mock_stubs, "mock-header": emit_mock_header,
                "fault": emit_fault}
    if sys.argv[1] not in emitters:
        sys.stderr.write(__doc__)
        return 2
    emitters[sys.argv[1]](functions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
