/*
 * Sound arguments by parameter role (bad-args.h).
 */
#include "config.h"

#include "bad-args.h"

#include <string.h>

static CK_FLAGS
sound_flags(const char *kind)
{
    if (strcmp(kind, "session") == 0) {
        return CKF_SERIAL_SESSION | CKF_RW_SESSION;
    }
    if (strcmp(kind, "wait") == 0) {
        return CKF_DONT_BLOCK; /* never block the matrix */
    }
    return 0;
}

/* An output buffer and its length (a plain length for C_GenerateRandom). */
static void
sound_output(BadArgs *args, const P11muxFunctionDesc *desc, guint i)
{
    const P11muxParamDesc *p = &desc->params[i];

    args->v[i] = (CK_ULONG)args->buffers[i];
    if (desc->params[p->ref].role == P11MUX_ROLE_LEN) {
        args->v[p->ref] = 32;
        return;
    }
    args->cells[p->ref] = BAD_ARGS_BUFFER_SIZE / 32; /* fits any element size */
    if (p->role == P11MUX_ROLE_OUT || p->role == P11MUX_ROLE_SECRET_OUT ||
        p->role == P11MUX_ROLE_STATE_OUT) {
        args->cells[p->ref] = BAD_ARGS_BUFFER_SIZE;
    }
    args->v[p->ref] = (CK_ULONG)&args->cells[p->ref];
}

/* Parameter i of fn.  Every role is named, so that a new one fails the
 * build until it has a sound value here. */
static void
sound_param(BadArgs *args, P11muxFunctionId fn, guint i, const BadArgsWorld *world)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[fn];
    const P11muxParamDesc *p = &desc->params[i];
    CK_ULONG *v = &args->v[i];
    guint8 *buffer = args->buffers[i];

    switch (p->role) {
    case P11MUX_ROLE_SESSION:
        *v = world->session;
        break;
    case P11MUX_ROLE_SLOT:
        *v = world->slot;
        break;
    case P11MUX_ROLE_BOOL:
        *v = CK_TRUE;
        break;
    case P11MUX_ROLE_FLAGS:
        *v = sound_flags(p->ref_name);
        break;
    case P11MUX_ROLE_MECHANISM:
        args->mechanism.mechanism =
            world->mechanism_for != NULL ? world->mechanism_for(fn) : CKM_SHA256;
        *v = (CK_ULONG)&args->mechanism;
        break;
    case P11MUX_ROLE_MECHANISM_TYPE:
        *v = CKM_SHA256;
        break;
    case P11MUX_ROLE_KEY:
    case P11MUX_ROLE_WRAPPING_KEY:
    case P11MUX_ROLE_UNWRAPPING_KEY:
    case P11MUX_ROLE_EXPORTED_KEY:
        *v = world->key;
        break;
    case P11MUX_ROLE_OBJECT:
        *v = world->object;
        break;
    case P11MUX_ROLE_USER_TYPE:
        *v = CKU_USER;
        break;
    case P11MUX_ROLE_VALUE:
    case P11MUX_ROLE_VALIDATION_TYPE:
        *v = 1;
        break;
    case P11MUX_ROLE_MAX:
        *v = BAD_ARGS_BUFFER_SIZE / sizeof(CK_ULONG);
        break;
    case P11MUX_ROLE_TEMPLATE:
    case P11MUX_ROLE_TEMPLATE_IO:
        world->template_for(args, i, fn, &args->v[p->ref]);
        *v = (CK_ULONG)args->templates[i];
        break;
    case P11MUX_ROLE_SECRET_IN:
        /* a PIN that is wrong: no case changes the tokens' PINs */
        memcpy(buffer, "9999", 4);
        args->v[p->ref] = 4;
        *v = (CK_ULONG)buffer;
        break;
    case P11MUX_ROLE_IN:
    case P11MUX_ROLE_PARAM:
    case P11MUX_ROLE_STATE_IN:
        memset(buffer, 0x5a, 64);
        args->v[p->ref] = 64;
        *v = (CK_ULONG)buffer;
        break;
    case P11MUX_ROLE_OUT:
    case P11MUX_ROLE_SECRET_OUT:
    case P11MUX_ROLE_STATE_OUT:
    case P11MUX_ROLE_SLOTS_OUT:
    case P11MUX_ROLE_MECHANISMS_OUT:
    case P11MUX_ROLE_OBJECTS_OUT:
    case P11MUX_ROLE_INTERFACES_OUT:
        sound_output(args, desc, i);
        break;
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_COUNT_OUT:
        if (*v == 0) {
            /* a length nobody refers to: C_GetObjectSize's pulSize */
            *v = (CK_ULONG)&args->cells[i];
        }
        break;
    case P11MUX_ROLE_SLOT_OUT:
    case P11MUX_ROLE_OBJECT_OUT:
    case P11MUX_ROLE_SESSION_OUT:
    case P11MUX_ROLE_INFO_OUT:
    case P11MUX_ROLE_SESSION_INFO_OUT:
    case P11MUX_ROLE_FUNCTION_LIST_OUT:
    case P11MUX_ROLE_INTERFACE_OUT:
    case P11MUX_ROLE_ASYNC_OUT:
        *v = (CK_ULONG)buffer;
        break;
    case P11MUX_ROLE_FUNCTION_NAME:
        *v = (CK_ULONG) "C_EncapsulateKey";
        break;
    case P11MUX_ROLE_LABEL:
        memset(buffer, ' ', 32);
        memcpy(buffer, world->label, strlen(world->label));
        *v = (CK_ULONG)buffer;
        break;
    case P11MUX_ROLE_INTERFACE_NAME:
        *v = (CK_ULONG) "PKCS 11";
        break;
    case P11MUX_ROLE_VERSION:
        args->version = (CK_VERSION){3, 0};
        *v = (CK_ULONG)&args->version;
        break;
    case P11MUX_ROLE_LEN:
    case P11MUX_ROLE_COUNT:
        /* set by the buffer or template that refers to it */
        break;
    case P11MUX_ROLE_NOTIFY:
    case P11MUX_ROLE_APP:
    case P11MUX_ROLE_INIT_ARGS:
    case P11MUX_ROLE_RESERVED:
        *v = 0;
        break;
    }
}

void
bad_args_build(BadArgs *args, P11muxFunctionId fn, const BadArgsWorld *world)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[fn];

    memset(args, 0, sizeof *args);
    memset(args->buffers, world->fill, sizeof args->buffers);
    for (guint i = 0; i < desc->n_params; i++) {
        sound_param(args, fn, i, world);
    }
}

void
bad_args_data_object(BadArgs *args, guint i, CK_ULONG *count)
{
    CK_ATTRIBUTE *t = args->templates[i];

    args->klass = CKO_DATA;
    args->no = CK_FALSE;
    t[0] = (CK_ATTRIBUTE){CKA_CLASS, &args->klass, sizeof args->klass};
    t[1] = (CK_ATTRIBUTE){CKA_TOKEN, &args->no, sizeof args->no};
    t[2] = (CK_ATTRIBUTE){CKA_LABEL, (void *)"matrix", 6};
    *count = 3;
}

gboolean
bad_args_is_pointer(const P11muxParamDesc *p)
{
    return g_str_has_suffix(p->type, "_PTR") || strchr(p->type, '*') != NULL ||
           p->role == P11MUX_ROLE_NOTIFY;
}

int
bad_args_buffer_of(const P11muxFunctionDesc *desc, guint param)
{
    for (guint i = 0; i < desc->n_params; i++) {
        if (desc->params[i].ref == (int)param) {
            return (int)i;
        }
    }
    return -1;
}
