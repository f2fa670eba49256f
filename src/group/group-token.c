/*
 * A group's slot and token as the application sees them (HA-GROUPS.md §7,
 * §10): the slot list of the groups' virtual backend, the synthesised slot
 * and token information, the mechanisms every member has (their
 * intersection, with the narrowest sizes and the flags all share), the
 * token's comings and goings as slot events, and what a group refuses
 * outright.
 */
#include "config.h"

#include <string.h>

#include "constants.h"
#include "group-private.h"

/* ---------------------------------------------------- slot and token */

CK_RV
p11mux_group_C_GetInfo(CK_INFO_PTR pInfo)
{
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    pInfo->cryptokiVersion = (CK_VERSION){3, 0};
    p11mux_pad_text(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "p11mux");
    p11mux_pad_text(pInfo->libraryDescription, sizeof pInfo->libraryDescription,
                    "p11mux HA groups");
    pInfo->flags = 0;
    pInfo->libraryVersion = (CK_VERSION){0, 1};
    return CKR_OK;
}

CK_RV
p11mux_group_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    P11muxGroup *group;

    p11mux_group_poll(); /* the slot list asks it: probes without a thread */
    group = p11mux_group_of_slot(slotID);
    g_autofree char *description = NULL;

    if (group == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    description = g_strdup_printf("p11mux HA group %s", group->conf->name);
    p11mux_pad_text(pInfo->slotDescription, sizeof pInfo->slotDescription, description);
    p11mux_pad_text(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "p11mux");
    pInfo->flags = p11mux_group_present(group) ? CKF_TOKEN_PRESENT : 0;
    pInfo->hardwareVersion = (CK_VERSION){0, 0};
    pInfo->firmwareVersion = (CK_VERSION){0, 0};
    return CKR_OK;
}

CK_RV
p11mux_group_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    P11muxGroup *group = p11mux_group_of_slot(slotID);
    gboolean rng = TRUE;
    guint i;

    if (group == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (!p11mux_group_present(group)) {
        return CKR_TOKEN_NOT_PRESENT;
    }
    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        CK_TOKEN_INFO info;

        if (p11mux_member_found(member) &&
            p11mux_backend_get_token_info(member->backend, member->slot, &info) == CKR_OK) {
            rng = rng && (info.flags & CKF_RNG);
        }
    }
    p11mux_pad_text(pInfo->label, sizeof pInfo->label, group->conf->label);
    p11mux_pad_text(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "p11mux");
    p11mux_pad_text(pInfo->model, sizeof pInfo->model, "HA group");
    p11mux_pad_text(pInfo->serialNumber, sizeof pInfo->serialNumber, group->conf->serial);
    pInfo->flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | group->login_flags |
                   (rng ? CKF_RNG : 0);
    pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulSessionCount = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulRwSessionCount = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulMaxPinLen = 255;
    pInfo->ulMinPinLen = 1;
    pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->hardwareVersion = (CK_VERSION){0, 0};
    pInfo->firmwareVersion = (CK_VERSION){0, 0};
    memset(pInfo->utcTime, ' ', sizeof pInfo->utcTime);
    return CKR_OK;
}

/* ------------------------------------------------------------ mechanisms */

/* The mechanisms of a found member, sorted (transfer full), NULL if it
 * cannot say. */
static GArray *
member_mechanisms(P11muxMember *member)
{
    CK_ULONG count = 0;
    GArray *list;

    if (!p11mux_member_found(member) ||
        p11mux_backend_mechanism_list(member->backend, member->slot, NULL, &count) != CKR_OK) {
        return NULL;
    }
    list = g_array_sized_new(FALSE, TRUE, sizeof(CK_MECHANISM_TYPE), count);
    g_array_set_size(list, count);
    if (p11mux_backend_mechanism_list(member->backend, member->slot,
                                      (CK_MECHANISM_TYPE_PTR)list->data, &count) != CKR_OK) {
        g_array_unref(list);
        return NULL;
    }
    g_array_set_size(list, count);
    return list;
}

static gboolean
contains(const GArray *list, CK_MECHANISM_TYPE type)
{
    guint i;

    for (i = 0; i < list->len; i++) {
        if (g_array_index(list, CK_MECHANISM_TYPE, i) == type) {
            return TRUE;
        }
    }
    return FALSE;
}

/* The mechanisms every member found has (HA-GROUPS.md §7). */
static GArray *
intersection(P11muxGroup *group)
{
    GArray *common = NULL;
    guint i, k;

    for (i = 0; i < group->members->len; i++) {
        g_autoptr(GArray) list = member_mechanisms(g_ptr_array_index(group->members, i));

        if (list == NULL) {
            continue;
        }
        if (common == NULL) {
            common = g_steal_pointer(&list);
            continue;
        }
        for (k = common->len; k-- > 0;) {
            if (!contains(list, g_array_index(common, CK_MECHANISM_TYPE, k))) {
                g_array_remove_index(common, k);
            }
        }
    }
    return common != NULL ? common : g_array_new(FALSE, FALSE, sizeof(CK_MECHANISM_TYPE));
}

CK_RV
p11mux_group_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                         CK_ULONG_PTR pulCount)
{
    P11muxGroup *group = p11mux_group_of_slot(slotID);
    g_autoptr(GArray) common = NULL;

    if (group == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pulCount == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    common = intersection(group);
    if (pMechanismList != NULL && *pulCount < common->len) {
        *pulCount = common->len;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (pMechanismList != NULL && common->len > 0) {
        memcpy(pMechanismList, common->data, common->len * sizeof(CK_MECHANISM_TYPE));
    }
    *pulCount = common->len;
    return CKR_OK;
}

/* The largest minimum, the smallest maximum, the flags every member has. */
CK_RV
p11mux_group_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    P11muxGroup *group = p11mux_group_of_slot(slotID);
    gboolean any = FALSE;
    guint i;

    if (group == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        /* zeroed: SoftHSM2 2.6 ORs flags into what it is given (AES-CBC-PAD,
         * DES3-ECB, ...) instead of setting them */
        CK_MECHANISM_INFO info = {0, 0, 0};
        CK_RV rv;

        if (!p11mux_member_found(member)) {
            continue;
        }
        rv = p11mux_backend_C_GetMechanismInfo(member->backend, member->slot, type, &info);
        if (rv == CKR_MECHANISM_INVALID) {
            return rv;
        }
        if (rv != CKR_OK) {
            continue;
        }
        if (!any) {
            *pInfo = info;
            any = TRUE;
            continue;
        }
        pInfo->ulMinKeySize = MAX(pInfo->ulMinKeySize, info.ulMinKeySize);
        pInfo->ulMaxKeySize = MIN(pInfo->ulMaxKeySize, info.ulMaxKeySize);
        pInfo->flags &= info.flags;
    }
    return any ? CKR_OK : CKR_MECHANISM_INVALID;
}

/* The mechanisms the intersection leaves out, each with the first member
 * found that lacks it (for p11mux list and explain): one line each,
 * indented by indent; with only, that mechanism alone, said either way. */
gboolean
p11mux_group_describe_mechanisms(P11muxGroup *group, GString *out, const char *indent,
                                 const CK_MECHANISM_TYPE *only)
{
    g_autoptr(GArray) common = intersection(group);
    g_autoptr(GArray) left = g_array_new(FALSE, FALSE, sizeof(CK_MECHANISM_TYPE));
    guint i, j, shown = 0;

    for (i = 0; i < group->members->len; i++) {
        g_autoptr(GArray) list = member_mechanisms(g_ptr_array_index(group->members, i));

        for (j = 0; list != NULL && j < list->len; j++) {
            CK_MECHANISM_TYPE type = g_array_index(list, CK_MECHANISM_TYPE, j);

            if ((only == NULL || type == *only) && !contains(common, type) &&
                !contains(left, type)) {
                g_array_append_val(left, type);
            }
        }
    }
    if (only == NULL) {
        g_string_append_printf(out, "%smechanisms: %u every member has, %u left out\n", indent,
                               common->len, left->len);
    } else if (left->len == 0) {
        g_string_append_printf(
            out, "%smechanism %s: %s\n", indent, p11mux_constant_name(P11MUX_CONST_CKM, *only),
            contains(common, *only) ? "every member found has it" : "no member found has it");
    }
    for (i = 0; i < left->len && shown < 20; i++) {
        CK_MECHANISM_TYPE type = g_array_index(left, CK_MECHANISM_TYPE, i);

        for (j = 0; j < group->members->len; j++) {
            P11muxMember *member = g_ptr_array_index(group->members, j);
            g_autoptr(GArray) list = member_mechanisms(member);

            if (list != NULL && !contains(list, type)) {
                g_string_append_printf(out, "%s  %s left out: member %u (%s) lacks it\n", indent,
                                       p11mux_constant_name(P11MUX_CONST_CKM, type), member->index,
                                       member->conf->text);
                shown++;
                break;
            }
        }
    }
    if (left->len > shown) {
        g_string_append_printf(out, "%s  ... and %u more\n", indent, left->len - shown);
    }
    return only == NULL || contains(common, *only);
}

/* ----------------------------------------------------------- slot events */

/* A group's token appearing or going (HA-GROUPS.md §10): reported once per
 * change; member events stay the group's.  The router polls each group's
 * backend with CKF_DONT_BLOCK and *pSlot naming the group's slot on entry
 * (src/core/backend.h, one_slot). */
CK_RV
p11mux_group_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    P11muxGroup *group;
    gint present;

    (void)flags;
    (void)pReserved;
    if (pSlot == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    p11mux_group_poll(); /* the router polls for events: probes without a thread */
    group = p11mux_group_of_slot(*pSlot);
    if (group == NULL) {
        return CKR_NO_EVENT;
    }
    present = p11mux_group_present(group) ? 1 : 0;
    return g_atomic_int_exchange(&group->reported_present, present) != present ? CKR_OK
                                                                               : CKR_NO_EVENT;
}

/* ------------------------------------------------------- refused outright */

CK_RV
p11mux_group_C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                  CK_UTF8CHAR_PTR pLabel)
{
    (void)pPin;
    (void)ulPinLen;
    (void)pLabel;
    return p11mux_group_of_slot(slotID) != NULL ? CKR_FUNCTION_NOT_SUPPORTED : CKR_SLOT_ID_INVALID;
}
