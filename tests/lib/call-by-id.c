/*
 * Any function of a 3.2 function list by its id (call-by-id.h).
 */
#include "config.h"

#include "call-by-id.h"

#include <glib.h>
#include <stddef.h>

/* where each function's entry is in a 3.2 list, from the generator's list
 * of functions (P11MUX_FOR_EACH_FUNCTION) */
#define MEMBER_OFFSET(name) [P11MUX_FN_##name] = offsetof(CK_FUNCTION_LIST_3_2, name),
static const size_t member_offsets[P11MUX_FN_COUNT] = {P11MUX_FOR_EACH_FUNCTION(MEMBER_OFFSET)};
#undef MEMBER_OFFSET

void *
call_by_id_pointer(CK_FUNCTION_LIST_3_2_PTR list, P11muxFunctionId fn)
{
    return *(void **)((char *)list + member_offsets[fn]);
}

typedef CK_ULONG A;
typedef CK_RV (*Fn0)(void);
typedef CK_RV (*Fn1)(A);
typedef CK_RV (*Fn2)(A, A);
typedef CK_RV (*Fn3)(A, A, A);
typedef CK_RV (*Fn4)(A, A, A, A);
typedef CK_RV (*Fn5)(A, A, A, A, A);
typedef CK_RV (*Fn6)(A, A, A, A, A, A);
typedef CK_RV (*Fn7)(A, A, A, A, A, A, A);
typedef CK_RV (*Fn8)(A, A, A, A, A, A, A, A);
typedef CK_RV (*Fn9)(A, A, A, A, A, A, A, A, A);
typedef CK_RV (*Fn10)(A, A, A, A, A, A, A, A, A, A);

CK_RV
call_by_id(CK_FUNCTION_LIST_3_2_PTR list, P11muxFunctionId fn, const CK_ULONG *v)
{
    void *f = call_by_id_pointer(list, fn);

    switch (p11mux_functions[fn].n_params) {
    case 0:
        return ((Fn0)f)();
    case 1:
        return ((Fn1)f)(v[0]);
    case 2:
        return ((Fn2)f)(v[0], v[1]);
    case 3:
        return ((Fn3)f)(v[0], v[1], v[2]);
    case 4:
        return ((Fn4)f)(v[0], v[1], v[2], v[3]);
    case 5:
        return ((Fn5)f)(v[0], v[1], v[2], v[3], v[4]);
    case 6:
        return ((Fn6)f)(v[0], v[1], v[2], v[3], v[4], v[5]);
    case 7:
        return ((Fn7)f)(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    case 8:
        return ((Fn8)f)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    case 9:
        return ((Fn9)f)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
    case 10: /* 3.2's C_UnwrapKeyAuthenticated */
        return ((Fn10)f)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
    default:
        g_return_val_if_reached(CKR_GENERAL_ERROR);
    }
}
