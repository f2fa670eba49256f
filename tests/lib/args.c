/*
 * Arguments by parameter role (args.h).
 */
#include "config.h"

#include "args.h"

gsize
args_element_size(P11muxRole role)
{
    switch (role) {
    case P11MUX_ROLE_OUT:
    case P11MUX_ROLE_SECRET_OUT:
    case P11MUX_ROLE_STATE_OUT:
        return 1;
    case P11MUX_ROLE_SLOTS_OUT:
    case P11MUX_ROLE_MECHANISMS_OUT:
    case P11MUX_ROLE_OBJECTS_OUT:
        return sizeof(CK_ULONG);
    case P11MUX_ROLE_INTERFACES_OUT:
        return sizeof(CK_INTERFACE);
    default:
        return 0;
    }
}

/* The elements the objects-out buffer of desc holds, as its count cell
 * says; 0 if the buffer or the cell is NULL. */
static CK_ULONG
objects_room(const P11muxFunctionDesc *desc, const CK_ULONG *v)
{
    for (guint k = 0; k < desc->n_params; k++) {
        const P11muxParamDesc *p = &desc->params[k];

        if (p->role == P11MUX_ROLE_OBJECTS_OUT) {
            const CK_ULONG *cell = (const CK_ULONG *)v[p->ref];

            return v[k] != 0 && cell != NULL ? *cell : 0;
        }
    }
    return 0;
}

/* Parameter i of fn.  Every role is named, so that a new one fails the
 * build until it has a value here. */
static void
build_param(CK_ULONG *v, P11muxFunctionId fn, guint i, const ArgsSource *source, void *data)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[fn];
    const P11muxParamDesc *p = &desc->params[i];

    switch (p->role) {
    case P11MUX_ROLE_OBJECT:
    case P11MUX_ROLE_KEY:
    case P11MUX_ROLE_WRAPPING_KEY:
    case P11MUX_ROLE_UNWRAPPING_KEY:
    case P11MUX_ROLE_EXPORTED_KEY:
    case P11MUX_ROLE_SESSION:
    case P11MUX_ROLE_SLOT:
        v[i] = source->handle(data, p->role);
        break;
    case P11MUX_ROLE_BOOL:
        v[i] = source->boolean(data);
        break;
    case P11MUX_ROLE_FLAGS:
        v[i] = source->flags(data, p->ref_name);
        break;
    case P11MUX_ROLE_MECHANISM:
        v[i] = source->mechanism(data, fn);
        break;
    case P11MUX_ROLE_TEMPLATE:
    case P11MUX_ROLE_TEMPLATE_IO:
        v[i] = source->template_for(data, fn, i, p->role == P11MUX_ROLE_TEMPLATE_IO, &v[p->ref]);
        break;
    case P11MUX_ROLE_MECHANISM_TYPE:
        v[i] = source->mechanism_type(data);
        break;
    case P11MUX_ROLE_IN:
    case P11MUX_ROLE_SECRET_IN:
    case P11MUX_ROLE_PARAM:
    case P11MUX_ROLE_STATE_IN:
        v[i] = source->input(data, i, p->role, &v[p->ref]);
        break;
    case P11MUX_ROLE_USER_TYPE:
    case P11MUX_ROLE_VALUE:
    case P11MUX_ROLE_VALIDATION_TYPE:
        v[i] = source->number(data, p->role);
        break;
    case P11MUX_ROLE_OUT:
    case P11MUX_ROLE_SECRET_OUT:
    case P11MUX_ROLE_STATE_OUT:
    case P11MUX_ROLE_SLOTS_OUT:
    case P11MUX_ROLE_MECHANISMS_OUT:
    case P11MUX_ROLE_OBJECTS_OUT:
    case P11MUX_ROLE_INTERFACES_OUT:
        source->output(data, v, i, (guint)p->ref, p->role, args_element_size(p->role),
                       desc->params[p->ref].role == P11MUX_ROLE_LEN);
        break;
    case P11MUX_ROLE_MAX:
        v[i] = source->max(data, objects_room(desc, v));
        break;
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_COUNT_OUT:
        if (v[i] == 0) {
            /* nobody refers to it: C_GetObjectSize's pulSize */
            v[i] = source->cell(data, i);
        }
        break;
    case P11MUX_ROLE_LABEL:
        v[i] = source->label(data, i);
        break;
    case P11MUX_ROLE_SLOT_OUT:
    case P11MUX_ROLE_OBJECT_OUT:
    case P11MUX_ROLE_SESSION_OUT:
    case P11MUX_ROLE_FUNCTION_LIST_OUT:
    case P11MUX_ROLE_INTERFACE_OUT:
        v[i] = source->out_pointer(data, i, sizeof(CK_ULONG));
        break;
    case P11MUX_ROLE_INFO_OUT:
    case P11MUX_ROLE_SESSION_INFO_OUT:
    case P11MUX_ROLE_ASYNC_OUT:
        v[i] = source->out_pointer(data, i, 512);
        break;
    case P11MUX_ROLE_INTERFACE_NAME:
    case P11MUX_ROLE_FUNCTION_NAME:
        v[i] = source->name(data, p->role);
        break;
    case P11MUX_ROLE_LEN:
    case P11MUX_ROLE_COUNT:
        /* set with the buffer, list or template they describe */
        break;
    case P11MUX_ROLE_VERSION:
        v[i] = source->version(data);
        break;
    case P11MUX_ROLE_NOTIFY:
    case P11MUX_ROLE_APP:
    case P11MUX_ROLE_INIT_ARGS:
    case P11MUX_ROLE_RESERVED:
        v[i] = 0;
        break;
    }
}

void
args_build(CK_ULONG *v, P11muxFunctionId fn, const ArgsSource *source, void *data)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[fn];

    for (guint i = 0; i < desc->n_params; i++) {
        build_param(v, fn, i, source, data);
    }
}
