/*
 * Calling any function of a PKCS #11 3.0 function list by its id in the
 * function table (p11mux_functions[]), with its arguments as CK_ULONGs:
 * shared by the bad-input matrix and the fuzz targets.
 *
 * Every parameter of every PKCS #11 function is a pointer or an integer of
 * at most 64 bits (CK_BBOOL included), so on the ABIs p11mux runs on one
 * call through a function pointer of CK_ULONG parameters reaches them all.
 */
#ifndef P11MUX_CALL_BY_ID_H
#define P11MUX_CALL_BY_ID_H

#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"

/* The most parameters a function of the table has. */
#define CALL_BY_ID_MAX_PARAMS 10

/* The pointer to fn in list (transfer none). */
void *call_by_id_pointer(CK_FUNCTION_LIST_3_2_PTR list, P11muxFunctionId fn);

/* Calls fn of list with v[0 .. n_params-1]. */
CK_RV call_by_id(CK_FUNCTION_LIST_3_2_PTR list, P11muxFunctionId fn, const CK_ULONG *v);

#endif /* P11MUX_CALL_BY_ID_H */
