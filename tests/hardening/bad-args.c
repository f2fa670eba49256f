/*
 * Sound arguments by parameter role (bad-args.h): the values of the shared
 * builder (args.h).
 */
#include "config.h"

#include "bad-args.h"

#include "args.h"

#include <string.h>

/* What the callbacks of the sound source work on. */
typedef struct {
    BadArgs *args;
    const BadArgsWorld *world;
} Sound;

static CK_ULONG
sound_handle(void *data, P11muxRole role)
{
    const BadArgsWorld *world = ((Sound *)data)->world;

    switch (role) {
    case P11MUX_ROLE_SESSION:
        return world->session;
    case P11MUX_ROLE_SLOT:
        return world->slot;
    case P11MUX_ROLE_OBJECT:
        return world->object;
    default:
        return world->key; /* every key role */
    }
}

static CK_ULONG
sound_boolean(void *data G_GNUC_UNUSED)
{
    return CK_TRUE;
}

static CK_ULONG
sound_flags(void *data G_GNUC_UNUSED, const char *kind)
{
    if (strcmp(kind, "session") == 0) {
        return CKF_SERIAL_SESSION | CKF_RW_SESSION;
    }
    if (strcmp(kind, "wait") == 0) {
        return CKF_DONT_BLOCK; /* never block the matrix */
    }
    return 0;
}

static CK_ULONG
sound_mechanism(void *data, P11muxFunctionId fn)
{
    Sound *sound = data;

    sound->args->mechanism.mechanism =
        sound->world->mechanism_for != NULL ? sound->world->mechanism_for(fn) : CKM_SHA256;
    return (CK_ULONG)&sound->args->mechanism;
}

static CK_ULONG
sound_mechanism_type(void *data G_GNUC_UNUSED)
{
    return CKM_SHA256;
}

static CK_ULONG
sound_number(void *data G_GNUC_UNUSED, P11muxRole role)
{
    return role == P11MUX_ROLE_USER_TYPE ? CKU_USER : 1;
}

static CK_ULONG
sound_template(void *data, P11muxFunctionId fn, guint i, gboolean io G_GNUC_UNUSED, CK_ULONG *count)
{
    Sound *sound = data;

    sound->world->template_for(sound->args, i, fn, count);
    return (CK_ULONG)sound->args->templates[i];
}

static CK_ULONG
sound_input(void *data, guint i, P11muxRole role, CK_ULONG *length)
{
    guint8 *buffer = ((Sound *)data)->args->buffers[i];

    if (role == P11MUX_ROLE_SECRET_IN) {
        /* a PIN that is wrong: no case changes the tokens' PINs */
        memcpy(buffer, "9999", 4);
        *length = 4;
        return (CK_ULONG)buffer;
    }
    memset(buffer, 0x5a, 64);
    *length = 64;
    return (CK_ULONG)buffer;
}

/* An output buffer and its length (a plain length for C_GenerateRandom). */
static void
sound_output(void *data, CK_ULONG *v, guint i, guint ref, P11muxRole role,
             gsize element G_GNUC_UNUSED, gboolean plain_length)
{
    BadArgs *args = ((Sound *)data)->args;

    v[i] = (CK_ULONG)args->buffers[i];
    if (plain_length) {
        v[ref] = 32;
        return;
    }
    args->cells[ref] = BAD_ARGS_BUFFER_SIZE / 32; /* fits any element size */
    if (role == P11MUX_ROLE_OUT || role == P11MUX_ROLE_SECRET_OUT ||
        role == P11MUX_ROLE_STATE_OUT) {
        args->cells[ref] = BAD_ARGS_BUFFER_SIZE;
    }
    v[ref] = (CK_ULONG)&args->cells[ref];
}

static CK_ULONG
sound_max(void *data G_GNUC_UNUSED, CK_ULONG room G_GNUC_UNUSED)
{
    return BAD_ARGS_BUFFER_SIZE / sizeof(CK_ULONG);
}

static CK_ULONG
sound_cell(void *data, guint i)
{
    return (CK_ULONG) & ((Sound *)data)->args->cells[i];
}

static CK_ULONG
sound_out_pointer(void *data, guint i, gsize size G_GNUC_UNUSED)
{
    return (CK_ULONG)((Sound *)data)->args->buffers[i];
}

static CK_ULONG
sound_label(void *data, guint i)
{
    Sound *sound = data;
    guint8 *buffer = sound->args->buffers[i];

    memset(buffer, ' ', 32);
    memcpy(buffer, sound->world->label, strlen(sound->world->label));
    return (CK_ULONG)buffer;
}

static CK_ULONG
sound_name(void *data G_GNUC_UNUSED, P11muxRole role)
{
    return role == P11MUX_ROLE_INTERFACE_NAME ? (CK_ULONG) "PKCS 11" : (CK_ULONG) "C_EncapsulateKey";
}

static CK_ULONG
sound_version(void *data)
{
    BadArgs *args = ((Sound *)data)->args;

    args->version = (CK_VERSION){3, 0};
    return (CK_ULONG)&args->version;
}

static const ArgsSource sound_source = ARGS_SOURCE_OF(sound);

void
bad_args_build(BadArgs *args, P11muxFunctionId fn, const BadArgsWorld *world)
{
    Sound sound = {args, world};

    memset(args, 0, sizeof *args);
    memset(args->buffers, world->fill, sizeof args->buffers);
    args_build(args->v, fn, &sound_source, &sound);
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
