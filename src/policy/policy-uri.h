/*
 * Token and object URI rules (policy-uri.c): allow and deny lists of
 * PKCS #11 URIs, parsed by p11-kit, matched against a token or an object.
 */
#ifndef P11MUX_POLICY_URI_H
#define P11MUX_POLICY_URI_H

#include <glib.h>
#include <p11-kit/uri.h>

#include "p11mux-pkcs11.h"
#include "policy-decide.h"

G_BEGIN_DECLS

/*
 * URI lists (GPtrArray of P11KitUri*, shared by reference between combined
 * policies): allowed when every allow-list has a match (a policy combined
 * from two layers has two), and denied when any deny-list has one.
 */
typedef struct {
    GPtrArray *allow_sets; /* GPtrArray* of P11KitUri* */
    GPtrArray *deny_sets;  /* GPtrArray* of P11KitUri* */
} P11muxUriRules;

void p11mux_uri_rules_init(P11muxUriRules *rules);
void p11mux_uri_rules_clear(P11muxUriRules *rules);
gboolean p11mux_uri_rules_empty(const P11muxUriRules *rules);
/* Add more's lists to rules (by reference). */
void p11mux_uri_rules_add(P11muxUriRules *rules, const P11muxUriRules *more);

typedef enum {
    P11MUX_URI_TOKEN,  /* tokens, deny-tokens: no object attributes */
    P11MUX_URI_OBJECT, /* objects, deny-objects */
} P11muxUriKind;

/* Parse a white-space separated list; NULL on success, else why not
 * (transfer full).  *uris: P11KitUri*, transfer full. */
char *p11mux_uri_parse_list(const char *text, P11muxUriKind kind, GPtrArray **uris);

/* What a token or object is matched against (policy-decide.h). */
typedef P11muxPolicyPlace P11muxUriPlace;

/* Allowed (every allow layer has a match, or there are none) and not denied. */
gboolean p11mux_uri_rules_allow_token(const P11muxUriRules *rules, const P11muxUriPlace *place);

/* The same for an object: attrs hold CKA_CLASS, CKA_LABEL and CKA_ID (an
 * absent one is matched as empty); place says where it lives. */
gboolean p11mux_uri_rules_allow_object(const P11muxUriRules *rules, const P11muxUriPlace *place,
                                       const CK_ATTRIBUTE *attrs, CK_ULONG n);

/* Where rules decide: the list that refuses (deny: the first deny list with
 * a match, and the index of the URI that matched; else the first allow list
 * without one, uri -1).  TRUE (allowed) when none refuses. */
typedef struct {
    gboolean denied; /* by a deny list; else by an allow list */
    guint list;      /* index in deny_sets or allow_sets */
    int uri;         /* deny: the URI that matched; -1 otherwise */
} P11muxUriRefusal;

gboolean p11mux_uri_rules_judge_token(const P11muxUriRules *rules, const P11muxUriPlace *place,
                                      P11muxUriRefusal *refusal);
gboolean p11mux_uri_rules_judge_object(const P11muxUriRules *rules, const P11muxUriPlace *place,
                                       const CK_ATTRIBUTE *attrs, CK_ULONG n,
                                       P11muxUriRefusal *refusal);

G_END_DECLS

#endif /* P11MUX_POLICY_URI_H */
