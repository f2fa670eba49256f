/*
 * fuzz-policy's URIs (src/policy/policy-uri.c): see fuzz-policy.c for the input
 * and the invariants.
 */
#include "config.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-policy.h"

static GPtrArray *match_all; /* "pkcs11:" */

/* p11mux_uri_parse_list, its contract checked; NULL when refused. */
static GPtrArray *
parse_uris(const char *text, P11muxUriKind kind)
{
    GPtrArray *uris = NULL;
    g_autofree char *problem = p11mux_uri_parse_list(text, kind, &uris);

    if (problem != NULL) {
        if (uris != NULL || *problem == '\0') {
            fuzz_fail("'%s' refused without a message or with a list", text);
        }
        return NULL;
    }
    if (uris == NULL) {
        fuzz_fail("'%s' accepted without a list", text);
    }
    return uris;
}

/* One object and where it lives. */
typedef struct {
    CK_ATTRIBUTE attrs[3]; /* CKA_CLASS, CKA_LABEL, CKA_ID; absent ones not counted */
    CK_ULONG n;
    CK_INFO module;
    CK_SLOT_INFO slot;
    CK_TOKEN_INFO token;
    P11muxUriPlace place;
} Object;

/* A blank-padded field of the input's bytes. */
static void
take_field(FuzzInput *in, guint8 *field, gsize size)
{
    gsize n = fuzz_below(in, (guint)size + 1);

    memset(field, ' ', size);
    for (gsize i = 0; i < n; i++) {
        field[i] = fuzz_byte(in);
    }
}

static void
take_place(FuzzInput *in, Object *object)
{
    guint present = fuzz_byte(in);

    memset(&object->module, ' ', sizeof object->module);
    memset(&object->slot, ' ', sizeof object->slot);
    memset(&object->token, ' ', sizeof object->token);
    take_field(in, object->module.manufacturerID, sizeof object->module.manufacturerID);
    take_field(in, object->module.libraryDescription, sizeof object->module.libraryDescription);
    object->module.libraryVersion = (CK_VERSION){fuzz_below(in, 4), fuzz_below(in, 4)};
    take_field(in, object->slot.manufacturerID, sizeof object->slot.manufacturerID);
    take_field(in, object->slot.slotDescription, sizeof object->slot.slotDescription);
    take_field(in, object->token.label, sizeof object->token.label);
    take_field(in, object->token.manufacturerID, sizeof object->token.manufacturerID);
    take_field(in, object->token.model, sizeof object->token.model);
    take_field(in, object->token.serialNumber, sizeof object->token.serialNumber);
    object->place.module = present & 1 ? &object->module : NULL;
    object->place.slot = present & 2 ? &object->slot : NULL;
    object->place.token = present & 4 ? &object->token : NULL;
    object->place.slot_id = fuzz_below(in, 4);
}

static const CK_OBJECT_CLASS classes[] = {CKO_DATA, CKO_CERTIFICATE, CKO_PUBLIC_KEY,
                                          CKO_PRIVATE_KEY, CKO_SECRET_KEY};

static void
take_object(FuzzInput *in, Object *object)
{
    guint choice = fuzz_below(in, G_N_ELEMENTS(classes) + 3);
    CK_OBJECT_CLASS klass = choice < G_N_ELEMENTS(classes) ? classes[choice] : fuzz_ulong(in);
    static const CK_ATTRIBUTE_TYPE byte_types[] = {CKA_LABEL, CKA_ID};

    memset(object, 0, sizeof *object);
    if (choice <= G_N_ELEMENTS(classes)) {
        object->attrs[object->n++] =
            (CK_ATTRIBUTE){CKA_CLASS, fuzz_policy_copy(&klass, sizeof klass), sizeof klass};
    } else if (choice == G_N_ELEMENTS(classes) + 1) {
        object->attrs[object->n++] = (CK_ATTRIBUTE){CKA_CLASS, NULL, CK_UNAVAILABLE_INFORMATION};
    }
    for (gsize t = 0; t < G_N_ELEMENTS(byte_types); t++) {
        guint length = fuzz_byte(in);

        if (length < 0xf0) { /* else absent */
            length %= 65;
            object->attrs[object->n++] =
                (CK_ATTRIBUTE){byte_types[t], fuzz_policy_take(in, length), length};
        }
    }
    take_place(in, object);
}

static gboolean
object_allowed(GPtrArray *uris, gboolean deny, const Object *object, const CK_ATTRIBUTE *attrs,
               CK_ULONG n)
{
    P11muxUriRules rules;
    gboolean allowed;

    p11mux_uri_rules_init(&rules);
    g_ptr_array_add(deny ? rules.deny_sets : rules.allow_sets, g_ptr_array_ref(uris));
    allowed = attrs != NULL ? p11mux_uri_rules_allow_object(&rules, &object->place, attrs, n)
                            : p11mux_uri_rules_allow_token(&rules, &object->place);
    p11mux_uri_rules_clear(&rules);
    return allowed;
}

/* The object's attributes reordered, with an unrelated attribute, absent
 * entries first and absent attributes as empty values. */
static CK_ULONG
variant_of(const Object *object, CK_ATTRIBUTE *variant)
{
    static const CK_ATTRIBUTE_TYPE types[] = {CKA_CLASS, CKA_LABEL, CKA_ID};
    static const CK_BBOOL yes = CK_TRUE;
    CK_ULONG n = 0;

    for (gsize t = 0; t < G_N_ELEMENTS(types); t++) {
        variant[n++] = (CK_ATTRIBUTE){types[t], NULL, CK_UNAVAILABLE_INFORMATION};
    }
    variant[n++] = (CK_ATTRIBUTE){CKA_TOKEN, (void *)&yes, sizeof yes};
    for (CK_ULONG i = object->n; i-- > 0;) {
        variant[n++] = object->attrs[i];
    }
    for (gsize t = 1; t < G_N_ELEMENTS(types); t++) {
        if (p11mux_template_find(object->attrs, object->n, types[t]) == NULL) {
            variant[n++] = (CK_ATTRIBUTE){types[t], fuzz_policy_alloc(0), 0};
        }
    }
    return n;
}

static gboolean
names_attributes(GPtrArray *uris)
{
    for (guint i = 0; i < uris->len; i++) {
        CK_ULONG n = 0;

        p11_kit_uri_get_attributes(g_ptr_array_index(uris, i), &n);
        if (n > 0) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Allow and deny decide oppositely, alike for a variant of the object and
 * for the list parsed again; a list naming no attribute decides an object
 * as its token. */
static void
check_decisions(const char *text, GPtrArray *uris, const Object *object)
{
    g_autoptr(GPtrArray) again = parse_uris(text, P11MUX_URI_OBJECT);
    CK_ATTRIBUTE variant[12];
    CK_ULONG n_variant = variant_of(object, variant);
    gboolean allowed = object_allowed(uris, FALSE, object, object->attrs, object->n);
    gboolean token_allowed = object_allowed(uris, FALSE, object, NULL, 0);

    if (again == NULL) {
        fuzz_fail("'%s' accepted once, then refused", text);
    }
    if (object_allowed(uris, TRUE, object, object->attrs, object->n) == allowed ||
        object_allowed(uris, TRUE, object, NULL, 0) == token_allowed) {
        fuzz_fail("'%s' allows and denies alike", text);
    }
    if (object_allowed(again, FALSE, object, object->attrs, object->n) != allowed ||
        object_allowed(again, FALSE, object, NULL, 0) != token_allowed) {
        fuzz_fail("'%s' decides otherwise when parsed again", text);
    }
    if (object_allowed(uris, FALSE, object, variant, n_variant) != allowed) {
        fuzz_fail("'%s' decides otherwise on the attributes reordered", text);
    }
    if (!names_attributes(uris) && allowed != token_allowed) {
        fuzz_fail("'%s' names no attribute, yet decides an object unlike its token", text);
    }
}

/* A URI of the object's own label, id, class, token, slot and module
 * matches it, as an object and (without the attributes) as a token. */
static void
check_own_uri(const Object *object)
{
    P11KitUri *uri = p11_kit_uri_new();
    char *text = NULL;
    g_autoptr(GPtrArray) uris = NULL;

    for (CK_ULONG i = 0; i < object->n; i++) {
        if (object->attrs[i].ulValueLen != CK_UNAVAILABLE_INFORMATION) {
            p11_kit_uri_set_attribute(uri, (CK_ATTRIBUTE *)&object->attrs[i]);
        }
    }
    if (object->place.module != NULL) {
        CK_INFO *info = p11_kit_uri_get_module_info(uri);

        memcpy(info->manufacturerID, object->module.manufacturerID, sizeof info->manufacturerID);
        memcpy(info->libraryDescription, object->module.libraryDescription,
               sizeof info->libraryDescription);
        info->libraryVersion = object->module.libraryVersion;
    }
    if (object->place.slot != NULL) {
        CK_SLOT_INFO *info = p11_kit_uri_get_slot_info(uri);

        memcpy(info->manufacturerID, object->slot.manufacturerID, sizeof info->manufacturerID);
        memcpy(info->slotDescription, object->slot.slotDescription, sizeof info->slotDescription);
    }
    if (object->place.token != NULL) {
        *p11_kit_uri_get_token_info(uri) = object->token;
    }
    p11_kit_uri_set_slot_id(uri, object->place.slot_id);
    if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_ANY, &text) != P11_KIT_URI_OK) {
        fuzz_fail("p11-kit cannot format an object's URI");
    }
    p11_kit_uri_free(uri);
    uris = parse_uris(text, P11MUX_URI_OBJECT);
    if (uris == NULL || !object_allowed(uris, FALSE, object, object->attrs, object->n) ||
        !object_allowed(uris, FALSE, object, NULL, 0)) {
        fuzz_fail("the object's own URI '%s' does not match it", text);
    }
    free(text);
}

/* Nothing of an accepted URI goes unmatched: formatted, it is what its
 * module, slot and token info, slot id and attributes make (p11mux ignores
 * module-name=, module-path= and vendor query attributes, so a policy
 * naming them would match more than it says). */
static void
check_matched_parts(GPtrArray *uris)
{
    for (guint i = 0; i < uris->len; i++) {
        P11KitUri *uri = g_ptr_array_index(uris, i);
        P11KitUri *part = p11_kit_uri_new();
        CK_ULONG n = 0;
        CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(uri, &n);
        char *whole = NULL;
        char *matched = NULL;

        *p11_kit_uri_get_module_info(part) = *p11_kit_uri_get_module_info(uri);
        *p11_kit_uri_get_slot_info(part) = *p11_kit_uri_get_slot_info(uri);
        *p11_kit_uri_get_token_info(part) = *p11_kit_uri_get_token_info(uri);
        p11_kit_uri_set_slot_id(part, p11_kit_uri_get_slot_id(uri));
        p11_kit_uri_set_attributes(part, attrs, n);
        if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_ANY, &whole) != P11_KIT_URI_OK ||
            p11_kit_uri_format(part, P11_KIT_URI_FOR_ANY, &matched) != P11_KIT_URI_OK ||
            strcmp(whole, matched) != 0) {
            fuzz_fail("an accepted URI holds more than p11mux matches on: '%s' is '%s' to it",
                      whole, matched);
        }
        free(whole);
        free(matched);
        p11_kit_uri_free(part);
    }
}

void
fuzz_policy_uris(FuzzInput *in)
{
    g_autofree char *text = fuzz_take_line(in);
    g_autoptr(GPtrArray) objects = parse_uris(text, P11MUX_URI_OBJECT);
    g_autoptr(GPtrArray) tokens = parse_uris(text, P11MUX_URI_TOKEN);
    Object object;

    if (match_all == NULL) {
        match_all = parse_uris("pkcs11:", P11MUX_URI_OBJECT);
    }
    take_object(in, &object);
    if (tokens != NULL && objects == NULL) {
        fuzz_fail("'%s' is a token list but no object list", text);
    }
    if (objects != NULL && tokens == NULL && !names_attributes(objects)) {
        fuzz_fail("'%s' names no object attribute but is no token list", text);
    }
    if (!object_allowed(match_all, FALSE, &object, object.attrs, object.n) ||
        !object_allowed(match_all, FALSE, &object, NULL, 0) ||
        object_allowed(match_all, TRUE, &object, object.attrs, object.n) ||
        object_allowed(match_all, TRUE, &object, NULL, 0)) {
        fuzz_fail("'pkcs11:' does not match everything");
    }
    if (objects != NULL) {
        check_decisions(text, objects, &object);
        check_matched_parts(objects);
    }
    check_own_uri(&object);
}
