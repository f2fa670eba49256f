/*
 * The structures a call fills in, in the trace: CK_INFO, CK_SLOT_INFO,
 * CK_TOKEN_INFO, CK_MECHANISM_INFO and CK_SESSION_INFO, field by field under
 * the specification's names, padded strings without their padding, flags by
 * name for the structure they belong to.
 */
#include "config.h"

#include <string.h>

#include "trace-decoder.h"

static P11muxTraceValue *
decode_info(P11muxTraceDecoder *d, const CK_INFO *info)
{
    P11muxTraceValue *s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);

    p11mux_trace_value_add(s, "cryptokiVersion",
                           p11mux_trace_value_version(d, &info->cryptokiVersion));
    p11mux_trace_value_add(
        s, "manufacturerID",
        p11mux_trace_value_string(d, info->manufacturerID, sizeof(info->manufacturerID), TRUE));
    p11mux_trace_value_add(s, "flags",
                           p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, info->flags));
    p11mux_trace_value_add(s, "libraryDescription",
                           p11mux_trace_value_string(d, info->libraryDescription,
                                                     sizeof(info->libraryDescription), TRUE));
    p11mux_trace_value_add(s, "libraryVersion",
                           p11mux_trace_value_version(d, &info->libraryVersion));
    return s;
}

static P11muxTraceValue *
decode_slot_info(P11muxTraceDecoder *d, const CK_SLOT_INFO *info)
{
    P11muxTraceValue *s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);

    p11mux_trace_value_add(
        s, "slotDescription",
        p11mux_trace_value_string(d, info->slotDescription, sizeof(info->slotDescription), TRUE));
    p11mux_trace_value_add(
        s, "manufacturerID",
        p11mux_trace_value_string(d, info->manufacturerID, sizeof(info->manufacturerID), TRUE));
    p11mux_trace_value_add(s, "flags",
                           p11mux_trace_value_flags(d, P11MUX_FLAGS_SLOT_INFO, info->flags));
    p11mux_trace_value_add(s, "hardwareVersion",
                           p11mux_trace_value_version(d, &info->hardwareVersion));
    p11mux_trace_value_add(s, "firmwareVersion",
                           p11mux_trace_value_version(d, &info->firmwareVersion));
    return s;
}

/* Counts and sizes of CK_TOKEN_INFO: CK_UNAVAILABLE_INFORMATION by its
 * name, not as the largest CK_ULONG. */
static void
add_numbers(P11muxTraceDecoder *d, P11muxTraceValue *s, const char *const *names,
            const CK_ULONG *values, guint n)
{
    guint i;

    for (i = 0; i < n; i++) {
        p11mux_trace_value_add(s, names[i],
                               values[i] == CK_UNAVAILABLE_INFORMATION
                                   ? p11mux_trace_value_name(d, "CK_UNAVAILABLE_INFORMATION")
                                   : p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, values[i]));
    }
}

static P11muxTraceValue *
decode_token_info(P11muxTraceDecoder *d, const CK_TOKEN_INFO *info)
{
    static const char *const names[] = {
        "ulMaxSessionCount",    "ulSessionCount",      "ulMaxRwSessionCount", "ulRwSessionCount",
        "ulMaxPinLen",          "ulMinPinLen",         "ulTotalPublicMemory", "ulFreePublicMemory",
        "ulTotalPrivateMemory", "ulFreePrivateMemory",
    };
    const CK_ULONG values[] = {
        info->ulMaxSessionCount,   info->ulSessionCount,     info->ulMaxRwSessionCount,
        info->ulRwSessionCount,    info->ulMaxPinLen,        info->ulMinPinLen,
        info->ulTotalPublicMemory, info->ulFreePublicMemory, info->ulTotalPrivateMemory,
        info->ulFreePrivateMemory,
    };
    P11muxTraceValue *s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);

    G_STATIC_ASSERT(G_N_ELEMENTS(names) == G_N_ELEMENTS(values));
    p11mux_trace_value_add(s, "label",
                           p11mux_trace_value_string(d, info->label, sizeof(info->label), TRUE));
    p11mux_trace_value_add(
        s, "manufacturerID",
        p11mux_trace_value_string(d, info->manufacturerID, sizeof(info->manufacturerID), TRUE));
    p11mux_trace_value_add(s, "model",
                           p11mux_trace_value_string(d, info->model, sizeof(info->model), TRUE));
    p11mux_trace_value_add(
        s, "serialNumber",
        p11mux_trace_value_string(d, info->serialNumber, sizeof(info->serialNumber), TRUE));
    p11mux_trace_value_add(s, "flags",
                           p11mux_trace_value_flags(d, P11MUX_FLAGS_TOKEN_INFO, info->flags));
    add_numbers(d, s, names, values, G_N_ELEMENTS(names));
    p11mux_trace_value_add(s, "hardwareVersion",
                           p11mux_trace_value_version(d, &info->hardwareVersion));
    p11mux_trace_value_add(s, "firmwareVersion",
                           p11mux_trace_value_version(d, &info->firmwareVersion));
    p11mux_trace_value_add(
        s, "utcTime", p11mux_trace_value_string(d, info->utcTime, sizeof(info->utcTime), TRUE));
    return s;
}

static P11muxTraceValue *
decode_mechanism_info(P11muxTraceDecoder *d, const CK_MECHANISM_INFO *info)
{
    P11muxTraceValue *s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);

    p11mux_trace_value_add(s, "ulMinKeySize",
                           p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, info->ulMinKeySize));
    p11mux_trace_value_add(s, "ulMaxKeySize",
                           p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, info->ulMaxKeySize));
    p11mux_trace_value_add(s, "flags",
                           p11mux_trace_value_flags(d, P11MUX_FLAGS_MECHANISM_INFO, info->flags));
    return s;
}

P11muxTraceValue *
p11mux_trace_decode_info(P11muxTraceDecoder *d, const char *type, const void *info)
{
    if (strcmp(type, "CK_INFO_PTR") == 0) {
        return decode_info(d, info);
    }
    if (strcmp(type, "CK_SLOT_INFO_PTR") == 0) {
        return decode_slot_info(d, info);
    }
    if (strcmp(type, "CK_TOKEN_INFO_PTR") == 0) {
        return decode_token_info(d, info);
    }
    if (strcmp(type, "CK_MECHANISM_INFO_PTR") == 0) {
        return decode_mechanism_info(d, info);
    }
    return p11mux_trace_value_name(d, "set");
}

P11muxTraceValue *
p11mux_trace_decode_session_info(P11muxTraceDecoder *d, const CK_SESSION_INFO *info)
{
    P11muxTraceValue *s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);

    p11mux_trace_value_add(s, "slotID",
                           p11mux_trace_value_number(d, P11MUX_TRACE_ID, info->slotID));
    p11mux_trace_value_add(s, "state",
                           p11mux_trace_value_constant(d, P11MUX_CONST_CKS, info->state));
    p11mux_trace_value_add(s, "flags",
                           p11mux_trace_value_flags(d, P11MUX_FLAGS_SESSION_INFO, info->flags));
    p11mux_trace_value_add(s, "ulDeviceError",
                           p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, info->ulDeviceError));
    return s;
}
