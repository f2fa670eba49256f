/*
 * Unit tests of the policy matchers and of compiling policies
 * (src/policy/): mechanism lists and globs, what mechanism parameters
 * name, key sizes from templates and key attributes, curves, URI matching
 * against object attributes and tokens, and the policy set (undefined
 * names, stricter-only combination), and the decisions with the rules they
 * cite (src/policy/policy-decide.c).
 */
#include "config.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "check-helpers.h"
#include "policy-private.h"
#include "scratch.h"

#define assert_no_error(error)                                                                     \
    ck_assert_msg((error) == NULL, "unexpected error: %s", (error) != NULL ? (error)->message : "")

static char *tmpdir;

static void
setup_tmpdir(void)
{
    tmpdir = g_dir_make_tmp("p11mux-test-policy-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
}

static void
teardown_tmpdir(void)
{
    scratch_remove_tree(tmpdir);
    g_clear_pointer(&tmpdir, g_free);
}

static char *
write_tmp(const char *name, const char *text)
{
    char *path = g_build_filename(tmpdir, name, NULL);

    ck_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

/* A policy from "key = value" lines, through the configuration loader. */
static P11muxPolicySet *
set_from_text(const char *text, GError **error)
{
    g_autofree char *path = write_tmp("p11mux.conf", text);
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, error);

    return conf != NULL ? p11mux_policy_set_new(conf, error) : NULL;
}

/* The policy of backend "b" in a configuration whose [policy p] is body. */
static const P11muxPolicy *
policy_of(P11muxPolicySet **set, const char *body)
{
    g_autofree char *text = g_strdup_printf(
        "[backend b]\nmodule = /nonexistent/b.so\npolicy = p\n[policy p]\n%s", body);
    g_autoptr(GError) error = NULL;

    *set = set_from_text(text, &error);
    assert_no_error(error);
    return p11mux_policy_set_lookup(*set, "b");
}

/* ------------------------------------------------------------ mechanisms */

START_TEST(test_policy_mechanism_list_names_numbers_globs)
{
    g_autoptr(GArray) set = NULL;
    g_autofree char *problem =
        p11mux_mech_parse_list("CKM_ECDSA  CKM_*DES3* 0x1 CKM_VENDOR_DEFINED+5\tCKM_ECDSA", &set);

    ck_assert_ptr_null(problem);
    ck_assert(p11mux_mech_set_contains(set, CKM_ECDSA));
    ck_assert(p11mux_mech_set_contains(set, CKM_DES3_CBC));
    ck_assert(p11mux_mech_set_contains(set, CKM_DES3_KEY_GEN));
    ck_assert(p11mux_mech_set_contains(set, CKM_RSA_PKCS)); /* 0x1 */
    ck_assert(p11mux_mech_set_contains(set, CKM_VENDOR_DEFINED + 5));
    ck_assert(!p11mux_mech_set_contains(set, CKM_DES_CBC));
    ck_assert(!p11mux_mech_set_contains(set, CKM_AES_CBC));
    for (guint i = 1; i < set->len; i++) {
        ck_assert_uint_lt(g_array_index(set, CK_ULONG, i - 1), g_array_index(set, CK_ULONG, i));
    }
}
END_TEST

START_TEST(test_policy_mechanism_list_errors)
{
    g_autoptr(GArray) set = NULL;
    g_autofree char *unknown = p11mux_mech_parse_list("CKM_ECDSA CKM_NOPE", &set);
    g_autofree char *nothing = p11mux_mech_parse_list("CKM_*NOTHING*", &set);

    ck_assert_str_eq(unknown, "unknown mechanism 'CKM_NOPE'");
    ck_assert_str_eq(nothing, "mechanism glob 'CKM_*NOTHING*' matches no known mechanism");
    ck_assert_ptr_null(set);
}
END_TEST

/* A list has a bounded size; an item given twice is read once. */
START_TEST(test_policy_mechanism_list_is_bounded)
{
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GArray) set = NULL;
    g_autofree char *too_long = NULL;
    g_autofree char *fine = NULL;
    guint i;

    for (i = 0; i < P11MUX_MECH_LIST_MAX; i++) {
        g_string_append(text, i % 2 ? "CKM_SHA25? " : "CKM_MD5 ");
    }
    fine = p11mux_mech_parse_list(text->str, &set);
    ck_assert_ptr_null(fine);
    ck_assert_uint_eq(set->len, 2); /* CKM_MD5, CKM_SHA256 */
    g_string_append(text, "CKM_SHA256");
    too_long = p11mux_mech_parse_list(text->str, &set);
    ck_assert_str_eq(too_long, "a mechanism list holds 100001 items; at most 100000 are read");
}
END_TEST

START_TEST(test_policy_deny_wins_over_allow)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "mechanisms = CKM_SHA256 CKM_SHA_1 CKM_ECDSA\n"
                                                 "deny-mechanisms = CKM_SHA_1 CKM_MD5\n");

    ck_assert(p11mux_policy_allows_mechanism(policy, CKM_SHA256));
    ck_assert(!p11mux_policy_allows_mechanism(policy, CKM_SHA_1));
    ck_assert(!p11mux_policy_allows_mechanism(policy, CKM_MD5));
    ck_assert(!p11mux_policy_allows_mechanism(policy, CKM_AES_CBC)); /* not allowed */
    ck_assert(policy->has_mechanism_rules);
}
END_TEST

/* PKCS #11 3.0 mechanisms are known by name, singly and by glob. */
START_TEST(test_policy_deny_3_0_mechanisms)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy =
        policy_of(&set, "deny-mechanisms = CKM_CHACHA20_POLY1305 CKM_SHA3_*\n");
    /* CK_HKDF_PARAMS as the policy reads it: the two CK_BBOOLs share slot 0 */
    CK_ULONG hkdf[8] = {0, CKM_SHA3_256, CKF_HKDF_SALT_NULL, 0, 0, 0, 0, 0};
    CK_MECHANISM with_hkdf = {CKM_HKDF_DERIVE, hkdf, sizeof hkdf};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA3_256, 32};
    CK_MECHANISM with_pss = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof pss};
    P11muxMechUse use;

    ck_assert(!p11mux_policy_allows_mechanism(policy, 0x4021)); /* CKM_CHACHA20_POLY1305 */
    ck_assert(!p11mux_policy_allows_mechanism(policy, 0x2b0));  /* CKM_SHA3_256 */
    ck_assert(!p11mux_policy_allows_mechanism(policy, CKM_SHA3_224));
    ck_assert(!p11mux_policy_allows_mechanism(policy, CKM_SHA3_512_HMAC));
    ck_assert(!p11mux_policy_allows_mechanism(policy, CKM_SHA3_384_RSA_PKCS_PSS));
    ck_assert(p11mux_policy_allows_mechanism(policy, CKM_CHACHA20));
    ck_assert(p11mux_policy_allows_mechanism(policy, CKM_SHA256));
    ck_assert(p11mux_policy_allows_mechanism(policy, CKM_DSA_SHA3_256));
    ck_assert(p11mux_policy_allows_mechanism(policy, CKM_HKDF_DERIVE));
    ck_assert(p11mux_policy_allows_mechanism(policy, CKM_AES_GCM));
    /* a denied SHA-3 named by a parameter denies the mechanism */
    ck_assert_rv(p11mux_policy_check_mechanism(policy, &with_hkdf, &use), CKR_MECHANISM_INVALID);
    hkdf[1] = CKM_SHA256;
    ck_assert_rv_ok(p11mux_policy_check_mechanism(policy, &with_hkdf, &use));
    ck_assert_rv(p11mux_policy_check_mechanism(policy, &with_pss, &use), CKR_MECHANISM_INVALID);
}
END_TEST

START_TEST(test_policy_mechanism_list_3_0_names)
{
    g_autoptr(GArray) set = NULL;
    g_autofree char *problem =
        p11mux_mech_parse_list("CKM_XEDDSA CKM_EC_MONTGOMERY_KEY_PAIR_GEN CKM_HKDF_* "
                               "CKM_SHA3_256_KEY_DERIVE",
                               &set);

    ck_assert_ptr_null(problem);
    ck_assert_uint_eq(set->len, 6);
    ck_assert(p11mux_mech_set_contains(set, 0x4029)); /* CKM_XEDDSA */
    ck_assert(p11mux_mech_set_contains(set, 0x1056)); /* montgomery key pairs */
    ck_assert(p11mux_mech_set_contains(set, CKM_HKDF_DERIVE));
    ck_assert(p11mux_mech_set_contains(set, CKM_HKDF_DATA));
    ck_assert(p11mux_mech_set_contains(set, CKM_HKDF_KEY_GEN));
    ck_assert(p11mux_mech_set_contains(set, CKM_SHA3_256_KEY_DERIVATION)); /* an alias */
}
END_TEST

START_TEST(test_policy_oaep_names_hash_and_mgf)
{
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM mechanism = {CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    P11muxMechUse use;

    ck_assert_rv_ok(p11mux_mech_inspect(&mechanism, &use));
    ck_assert_uint_eq(use.n_algorithms, 2);
    ck_assert_uint_eq(use.algorithms[0], CKM_SHA256);
    ck_assert_uint_eq(use.algorithms[1], CKM_SHA_1);
    mechanism.ulParameterLen = sizeof oaep - 1;
    ck_assert_rv(p11mux_mech_inspect(&mechanism, &use), CKR_MECHANISM_PARAM_INVALID);
    mechanism.pParameter = NULL;
    mechanism.ulParameterLen = sizeof oaep;
    ck_assert_rv(p11mux_mech_inspect(&mechanism, &use), CKR_MECHANISM_PARAM_INVALID);
    oaep.mgf = 0x77;
    mechanism.pParameter = &oaep;
    ck_assert_rv(p11mux_mech_inspect(&mechanism, &use), CKR_MECHANISM_PARAM_INVALID);
}
END_TEST

START_TEST(test_policy_denied_hash_denies_oaep_and_pss)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "deny-mechanisms = CKM_SHA_1\n");
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM with_oaep = {CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    CK_MECHANISM with_pss = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof pss};
    P11muxMechUse use;

    ck_assert_rv(p11mux_policy_check_mechanism(policy, &with_oaep, &use), CKR_MECHANISM_INVALID);
    oaep.hashAlg = CKM_SHA256;
    ck_assert_rv(p11mux_policy_check_mechanism(policy, &with_oaep, &use), CKR_MECHANISM_INVALID);
    oaep.mgf = CKG_MGF1_SHA256;
    ck_assert_rv_ok(p11mux_policy_check_mechanism(policy, &with_oaep, &use));
    ck_assert_rv_ok(p11mux_policy_check_mechanism(policy, &with_pss, &use));
    pss.mgf = CKG_MGF1_SHA1;
    ck_assert_rv(p11mux_policy_check_mechanism(policy, &with_pss, &use), CKR_MECHANISM_INVALID);
}
END_TEST

START_TEST(test_policy_kdfs_and_keys_in_parameters)
{
    CK_ECDH1_DERIVE_PARAMS ecdh = {CKD_SHA1_KDF, 0, NULL, 0, NULL};
    CK_MECHANISM derive = {CKM_ECDH1_DERIVE, &ecdh, sizeof ecdh};
    CK_OBJECT_HANDLE other = 0x1234;
    CK_MECHANISM concatenate = {CKM_CONCATENATE_BASE_AND_KEY, &other, sizeof other};
    CK_ULONG hkdf[8] = {0, CKM_SHA384, CKF_HKDF_SALT_KEY, 0, 0, 0x99, 0, 0};
    CK_MECHANISM with_hkdf = {CKM_HKDF_DERIVE, hkdf, sizeof hkdf};
    P11muxMechUse use;

    ck_assert_rv_ok(p11mux_mech_inspect(&derive, &use));
    ck_assert_uint_eq(use.n_algorithms, 1);
    ck_assert_uint_eq(use.algorithms[0], CKM_SHA_1);
    ecdh.kdf = CKD_NULL;
    ck_assert_rv_ok(p11mux_mech_inspect(&derive, &use));
    ck_assert_uint_eq(use.n_algorithms, 0);
    ecdh.kdf = 0x7777;
    ck_assert_rv(p11mux_mech_inspect(&derive, &use), CKR_MECHANISM_PARAM_INVALID);
    ck_assert_rv_ok(p11mux_mech_inspect(&concatenate, &use));
    ck_assert_uint_eq(use.n_keys, 1);
    ck_assert_uint_eq(use.keys[0], 0x1234);
    ck_assert_rv_ok(p11mux_mech_inspect(&with_hkdf, &use));
    ck_assert_uint_eq(use.algorithms[0], CKM_SHA384);
    ck_assert_uint_eq(use.n_keys, 1);
    ck_assert_uint_eq(use.keys[0], 0x99);
    hkdf[2] = CKF_HKDF_SALT_NULL; /* no key */
    ck_assert_rv_ok(p11mux_mech_inspect(&with_hkdf, &use));
    ck_assert_uint_eq(use.n_keys, 0);
}
END_TEST

/* -------------------------------------------------------------- key sizes */

static const guint8 p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const guint8 p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const guint8 p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
static const guint8 p192[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01};
static const guint8 ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const guint8 ed448_name[] = "\x13\x0a"
                                   "edwards448";
static const guint8 x25519[] = {0x06, 0x03, 0x2b, 0x65, 0x6e};
static const guint8 x448[] = {0x06, 0x03, 0x2b, 0x65, 0x6f};

START_TEST(test_policy_curve_bits)
{
    ck_assert_uint_eq(p11mux_key_curve_bits(p256, sizeof p256), 256);
    ck_assert_uint_eq(p11mux_key_curve_bits(p384, sizeof p384), 384);
    ck_assert_uint_eq(p11mux_key_curve_bits(p521, sizeof p521), 521);
    ck_assert_uint_eq(p11mux_key_curve_bits(p192, sizeof p192), 192);
    ck_assert_uint_eq(p11mux_key_curve_bits(ed25519, sizeof ed25519), 255);
    ck_assert_uint_eq(p11mux_key_curve_bits(ed448_name, sizeof ed448_name - 1), 448);
    ck_assert_uint_eq(p11mux_key_curve_bits(x25519, sizeof x25519), 255);
    ck_assert_uint_eq(p11mux_key_curve_bits(x448, sizeof x448), 448);
    ck_assert_uint_eq(p11mux_key_curve_bits(p256, sizeof p256 - 1), 0);
    ck_assert_uint_eq(p11mux_key_curve_bits(NULL, 0), 0);
}
END_TEST

START_TEST(test_policy_key_bits_from_templates)
{
    CK_ULONG modulus_bits = 1024, value_len = 16;
    guint8 modulus[256] = {0};
    CK_ATTRIBUTE generate_rsa[] = {{CKA_MODULUS_BITS, &modulus_bits, sizeof modulus_bits}};
    CK_ATTRIBUTE import_rsa[] = {{CKA_MODULUS, modulus, sizeof modulus}};
    CK_ATTRIBUTE generate_ec[] = {{CKA_EC_PARAMS, (void *)p384, sizeof p384}};
    CK_ATTRIBUTE generate_aes[] = {{CKA_VALUE_LEN, &value_len, sizeof value_len}};
    CK_ATTRIBUTE import_aes[] = {{CKA_VALUE, modulus, 24}};
    CK_ATTRIBUTE absent[] = {{CKA_VALUE_LEN, NULL, CK_UNAVAILABLE_INFORMATION}};

    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_RSA, generate_rsa, 1), 1024);
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_RSA, import_rsa, 1), 2048);
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_EC, generate_ec, 1), 384);
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_AES, generate_aes, 1), 128);
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_AES, import_aes, 1), 192);
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_GENERIC, absent, 1), 0);
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_RSA, generate_aes, 1), 0);
}
END_TEST

START_TEST(test_policy_key_bits_from_attributes_read)
{
    /* as p11mux reads a private key: no CKA_MODULUS_BITS, CKA_MODULUS by length only */
    CK_ULONG unknown = CK_UNAVAILABLE_INFORMATION;
    CK_ATTRIBUTE read[] = {
        {CKA_MODULUS_BITS, &unknown, CK_UNAVAILABLE_INFORMATION},
        {CKA_MODULUS, NULL, 384},
    };

    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_RSA, read, G_N_ELEMENTS(read)), 3072);
}
END_TEST

START_TEST(test_policy_min_key_bits_items)
{
    P11muxKeyFamily family;
    CK_ULONG bits;
    g_autofree char *no_colon = p11mux_key_parse_min("rsa2048", &family, &bits);
    g_autofree char *unknown = p11mux_key_parse_min("dsa2:1024", &family, &bits);
    g_autofree char *zero = p11mux_key_parse_min("aes:0", &family, &bits);

    ck_assert_ptr_null(p11mux_key_parse_min("ec-edwards:255", &family, &bits));
    ck_assert_int_eq(family, P11MUX_KEY_EC_EDWARDS);
    ck_assert_uint_eq(bits, 255);
    ck_assert_str_eq(no_colon, "min-key-bits item 'rsa2048' is not FAMILY:BITS");
    ck_assert(g_str_has_prefix(unknown, "min-key-bits item 'dsa2:1024': unknown key family"));
    ck_assert_str_eq(zero, "min-key-bits item 'aes:0': '0' is not a number of bits from 1 to "
                           "1048576");
}
END_TEST

/* The post-quantum families are sized by parameter set: the number in the
 * set's name, and only those numbers. */
START_TEST(test_policy_min_key_bits_parameter_sets)
{
    P11muxKeyFamily family;
    CK_ULONG bits, set = CKP_SLH_DSA_SHAKE_192F;
    CK_ATTRIBUTE slh[] = {{CKA_PARAMETER_SET, &set, sizeof set}};
    g_autofree char *kem = p11mux_key_parse_min("ml-kem:700", &family, &bits);
    g_autofree char *dsa = p11mux_key_parse_min("ml-dsa:2048", &family, &bits);
    g_autofree char *slh_bad = p11mux_key_parse_min("slh-dsa:129", &family, &bits);

    ck_assert_ptr_null(p11mux_key_parse_min("ml-kem:768", &family, &bits));
    ck_assert_int_eq(family, P11MUX_KEY_ML_KEM);
    ck_assert_uint_eq(bits, 768);
    ck_assert(p11mux_key_family_by_parameter_set(P11MUX_KEY_ML_KEM));
    ck_assert(!p11mux_key_family_by_parameter_set(P11MUX_KEY_RSA));
    ck_assert_str_eq(kem, "min-key-bits item 'ml-kem:700': the ml-kem parameter sets are 512, "
                          "768 or 1024");
    ck_assert_str_eq(dsa, "min-key-bits item 'ml-dsa:2048': the ml-dsa parameter sets are 44, "
                          "65 or 87");
    ck_assert_str_eq(slh_bad, "min-key-bits item 'slh-dsa:129': the slh-dsa parameter sets are "
                              "128, 192 or 256");
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_SLH_DSA, slh, 1), 192);
    set = CKP_ML_DSA_87;
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_ML_DSA, slh, 1), 87);
    set = 99; /* no such set */
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_ML_KEM, slh, 1), 0);
    ck_assert_int_eq(p11mux_key_family_of_type(CKK_ML_KEM), P11MUX_KEY_ML_KEM);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_HASH_ML_DSA_SHA256, &(gboolean){0}),
                     P11MUX_KEY_ML_DSA);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_SLH_DSA_KEY_PAIR_GEN, &(gboolean){0}),
                     P11MUX_KEY_SLH_DSA);
}
END_TEST

START_TEST(test_policy_mechanism_families)
{
    gboolean in_bytes;

    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_SHA256_RSA_PKCS, &in_bytes),
                     P11MUX_KEY_RSA);
    ck_assert(!in_bytes);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_RSA_PKCS_KEY_PAIR_GEN, &in_bytes),
                     P11MUX_KEY_RSA);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_AES_GCM, &in_bytes), P11MUX_KEY_AES);
    ck_assert(in_bytes);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_ECDSA, &in_bytes), P11MUX_KEY_EC);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_EC_MONTGOMERY_KEY_PAIR_GEN, &in_bytes),
                     P11MUX_KEY_EC_MONTGOMERY);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_SHA256, &in_bytes), P11MUX_KEY_NONE);
    /* 3.0 mechanisms join the families their names match */
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_SHA3_256_RSA_PKCS_PSS, &in_bytes),
                     P11MUX_KEY_RSA);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_ECDSA_SHA3_384, &in_bytes), P11MUX_KEY_EC);
    ck_assert_int_eq(p11mux_key_family_of_type(CKK_EC_MONTGOMERY), P11MUX_KEY_EC_MONTGOMERY);
    ck_assert_int_eq(p11mux_key_family_of_type(CKK_EC_EDWARDS), P11MUX_KEY_EC_EDWARDS);
    ck_assert_int_eq(p11mux_key_family_of_type(CKK_GENERIC_SECRET), P11MUX_KEY_GENERIC);
    ck_assert_int_eq(p11mux_key_family_of_type(CKK_DES3), P11MUX_KEY_NONE);
    /* XTS keys are double length: their own family, not AES's */
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_AES_XTS, &in_bytes), P11MUX_KEY_AES_XTS);
    ck_assert(in_bytes);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_AES_XTS_KEY_GEN, &in_bytes),
                     P11MUX_KEY_AES_XTS);
    ck_assert_int_eq(p11mux_key_family_of_mechanism(CKM_AES_KEY_GEN, &in_bytes), P11MUX_KEY_AES);
    ck_assert_int_eq(p11mux_key_family_of_type(CKK_AES_XTS), P11MUX_KEY_AES_XTS);
}
END_TEST

START_TEST(test_policy_aes_xts_sizes)
{
    CK_ULONG xts_128 = 32; /* two AES-128 keys */
    CK_ATTRIBUTE generate[] = {{CKA_VALUE_LEN, &xts_128, sizeof xts_128}};
    P11muxKeyFamily family;
    CK_ULONG bits;

    ck_assert_ptr_null(p11mux_key_parse_min("aes-xts:512", &family, &bits));
    ck_assert_int_eq(family, P11MUX_KEY_AES_XTS);
    ck_assert_uint_eq(bits, 512);
    /* below aes-xts:512, though as many bits as AES-256 */
    ck_assert_uint_eq(p11mux_key_bits(P11MUX_KEY_AES_XTS, generate, 1), 256);
}
END_TEST

/* ------------------------------------------------------------------ URIs */

static CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
static CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;

START_TEST(test_policy_object_uris_match_attributes)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy =
        policy_of(&set, "objects = pkcs11:type=private pkcs11:type=secret-key;id=%01%02\n"
                        "deny-objects = pkcs11:object=backup-key\n");
    CK_ATTRIBUTE signing[] = {{CKA_CLASS, &private_class, sizeof private_class},
                              {CKA_LABEL, "signing", 7}};
    CK_ATTRIBUTE backup[] = {{CKA_CLASS, &private_class, sizeof private_class},
                             {CKA_LABEL, "backup-key", 10}};
    CK_ATTRIBUTE secret_right_id[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                                      {CKA_ID, "\x01\x02", 2}};
    CK_ATTRIBUTE secret_other_id[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                                      {CKA_ID, "\x01\x03", 2}};
    CK_ATTRIBUTE secret_no_id[] = {{CKA_CLASS, &secret_class, sizeof secret_class}};
    P11muxUriPlace place = {0};

    ck_assert(p11mux_uri_rules_allow_object(&policy->objects, &place, signing, 2));
    ck_assert(!p11mux_uri_rules_allow_object(&policy->objects, &place, backup, 2));
    ck_assert(p11mux_uri_rules_allow_object(&policy->objects, &place, secret_right_id, 2));
    ck_assert(!p11mux_uri_rules_allow_object(&policy->objects, &place, secret_other_id, 2));
    /* p11-kit alone would match an absent CKA_ID; p11mux matches it as empty */
    ck_assert(!p11mux_uri_rules_allow_object(&policy->objects, &place, secret_no_id, 1));
}
END_TEST

static void
pad(CK_UTF8CHAR *field, gsize size, const char *text)
{
    memset(field, ' ', size);
    memcpy(field, text, strlen(text));
}

START_TEST(test_policy_token_uris)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "tokens = pkcs11:manufacturer=SoftHSM%20project\n"
                                                 "deny-tokens = pkcs11:token=scratch\n");
    CK_TOKEN_INFO token;
    P11muxUriPlace place = {.token = &token, .slot_id = 7};

    memset(&token, ' ', sizeof token);
    pad(token.manufacturerID, sizeof token.manufacturerID, "SoftHSM project");
    pad(token.label, sizeof token.label, "alpha");
    ck_assert(p11mux_uri_rules_allow_token(&policy->tokens, &place));
    pad(token.label, sizeof token.label, "scratch");
    ck_assert(!p11mux_uri_rules_allow_token(&policy->tokens, &place));
    pad(token.label, sizeof token.label, "alpha");
    pad(token.manufacturerID, sizeof token.manufacturerID, "Mozilla Foundation");
    ck_assert(!p11mux_uri_rules_allow_token(&policy->tokens, &place));
}
END_TEST

START_TEST(test_policy_uri_errors)
{
    GPtrArray *uris = NULL;
    g_autofree char *scheme = p11mux_uri_parse_list("notauri", P11MUX_URI_OBJECT, &uris);
    g_autofree char *pin =
        p11mux_uri_parse_list("pkcs11:token=a?pin-value=1234", P11MUX_URI_TOKEN, &uris);
    g_autofree char *type = p11mux_uri_parse_list("pkcs11:type=bogus", P11MUX_URI_OBJECT, &uris);
    /* ignored, these would widen an allow-list to every token */
    g_autofree char *module =
        p11mux_uri_parse_list("pkcs11:?module-name=softhsm2", P11MUX_URI_TOKEN, &uris);
    g_autofree char *path =
        p11mux_uri_parse_list("pkcs11:token=a?module-path=/x.so", P11MUX_URI_TOKEN, &uris);
    g_autofree char *vendor = p11mux_uri_parse_list("pkcs11:token=a?x-y=z", P11MUX_URI_TOKEN, &uris);

    ck_assert_str_eq(module, "URI 'pkcs11:?module-name=softhsm2' holds module-name=, module-path= "
                             "or a query attribute, which a policy URI cannot match on");
    ck_assert_ptr_nonnull(path);
    ck_assert_ptr_nonnull(strstr(path, "module-path="));
    ck_assert_ptr_nonnull(vendor);
    ck_assert_str_eq(scheme, "bad URI 'notauri': URI scheme must be 'pkcs11:'");
    ck_assert_str_eq(pin, "URI 'pkcs11:token=a?pin-value=1234' holds a PIN: a policy URI must not");
    ck_assert(g_str_has_prefix(type, "URI 'pkcs11:type=bogus' holds an attribute or value"));
    ck_assert_ptr_null(uris);
}
END_TEST

/* ----------------------------------------------------------- policy sets */

START_TEST(test_policy_undefined_name_cites_line)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxPolicySet) set =
        set_from_text("[global]\npolicy = strict\n[backend b]\nmodule = /nonexistent/b.so\n"
                      "policy = missing\n[policy strict]\nread-only = true\n",
                      &error);
    g_autofree char *expected = g_strdup_printf(
        "%s/p11mux.conf:5: policy 'missing' is not defined (no [policy missing] group)", tmpdir);

    ck_assert_ptr_null(set);
    ck_assert_ptr_nonnull(error);
    ck_assert_str_eq(error->message, expected);
}
END_TEST

/* The loader takes a policy's values as text; compiling them is their only
 * check, so a bad value fails p11mux_policy_set_new, not the loader, and
 * with its file and line (a policy no backend uses included). */
START_TEST(test_policy_values_checked_only_by_compiling)
{
    static const char *const cases[][2] = {
        {"mechanisms = CKM_ECDSA CKM_NOPE", "key 'mechanisms' in [policy unused]: unknown "
                                            "mechanism 'CKM_NOPE'"},
        {"deny-mechanisms = CKM_*NOTHING*", "key 'deny-mechanisms' in [policy unused]: mechanism "
                                            "glob 'CKM_*NOTHING*' matches no known mechanism"},
        {"objects = notauri",
         "key 'objects' in [policy unused]: bad URI 'notauri': URI scheme must be 'pkcs11:'"},
        {"min-key-bits = rsa2048",
         "key 'min-key-bits' in [policy unused]: min-key-bits item 'rsa2048' is not FAMILY:BITS"},
        {"deny-functions = C_Nothing",
         "key 'deny-functions' in [policy unused]: unknown function 'C_Nothing'"},
    };
    gsize i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("[global]\n[policy unused]\n%s\n", cases[i][0]);
        g_autofree char *path = write_tmp("p11mux.conf", text);
        g_autofree char *expected = g_strdup_printf("%s:3: %s", path, cases[i][1]);
        g_autoptr(GError) error = NULL;
        g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
        g_autoptr(P11muxPolicySet) set = NULL;

        ck_assert_msg(conf != NULL, "%s: the loader refused it: %s", cases[i][0],
                      error != NULL ? error->message : "");
        set = p11mux_policy_set_new(conf, &error);
        ck_assert_msg(set == NULL, "%s compiled", cases[i][0]);
        ck_assert(g_error_matches(error, P11MUX_POLICY_ERROR, P11MUX_POLICY_ERROR_VALUE));
        ck_assert_str_eq(error->message, expected);
    }
}
END_TEST

START_TEST(test_policy_global_policy_for_every_backend)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxPolicySet) set =
        set_from_text("[global]\npolicy = strict\n"
                      "[backend a]\nmodule = /nonexistent/a.so\n"
                      "[backend b]\nmodule = /nonexistent/b.so\npolicy = other\n"
                      "[backend c]\nmodule = /nonexistent/c.so\nenabled = false\n"
                      "[policy strict]\nread-only = true\n"
                      "[policy other]\nforce-sensitive = true\n",
                      &error);

    assert_no_error(error);
    ck_assert(p11mux_policy_set_lookup(set, "a")->read_only);
    ck_assert(p11mux_policy_set_lookup(set, "b")->force_sensitive);
    ck_assert(!p11mux_policy_set_lookup(set, "b")->read_only);
    ck_assert_ptr_null(p11mux_policy_set_lookup(set, "c"));
}
END_TEST

static P11muxPolicySet *
layered_set(const char *system, const char *user, GError **error)
{
    g_autofree char *system_path = write_tmp("system.conf", system);
    g_autofree char *user_path = write_tmp("user.conf", user);
    P11muxConfPaths paths = {system_path, NULL, user_path, NULL};
    g_autoptr(P11muxConf) conf = p11mux_conf_load(&paths, error);

    return conf != NULL ? p11mux_policy_set_new(conf, error) : NULL;
}

static const char system_policy[] = "[global]\npolicy = strict\n%s\n"
                                    "[backend b]\nmodule = /nonexistent/b.so\n"
                                    "[policy strict]\nmechanisms = CKM_SHA256 CKM_ECDSA\n"
                                    "deny-objects = pkcs11:object=backup-key\n"
                                    "min-key-bits = rsa:2048\nread-only = true\n";
static const char user_loosens[] = "[global]\npolicy = mine\n"
                                   "[policy strict]\nmechanisms = CKM_SHA256 CKM_MD5\n"
                                   "read-only = false\n"
                                   "[policy mine]\nmechanisms = CKM_SHA256 CKM_MD5 CKM_ECDSA\n"
                                   "min-key-bits = rsa:1024 ec:256\n"
                                   "deny-mechanisms = CKM_ECDSA\n";

START_TEST(test_policy_merge_lets_later_layers_change)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *system = g_strdup_printf(system_policy, "");
    g_autoptr(P11muxPolicySet) set = layered_set(system, user_loosens, &error);
    const P11muxPolicy *policy;

    assert_no_error(error);
    policy = p11mux_policy_set_lookup(set, "b");
    ck_assert_str_eq(policy->name, "mine");
    ck_assert(p11mux_policy_allows_mechanism(policy, CKM_MD5));
    ck_assert(!policy->read_only);
}
END_TEST

START_TEST(test_policy_stricter_only_combines_layers)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *system = g_strdup_printf(system_policy, "policy-override = stricter-only");
    g_autoptr(P11muxPolicySet) set = layered_set(system, user_loosens, &error);
    const P11muxPolicy *policy;
    CK_ATTRIBUTE backup[] = {{CKA_CLASS, &private_class, sizeof private_class},
                             {CKA_LABEL, "backup-key", 10}};
    P11muxUriPlace place = {0};

    assert_no_error(error);
    policy = p11mux_policy_set_lookup(set, "b");
    /* the system's allow-list and the user's, the user's deny */
    ck_assert(p11mux_policy_allows_mechanism(policy, CKM_SHA256));
    ck_assert(!p11mux_policy_allows_mechanism(policy, CKM_MD5));
    ck_assert(!p11mux_policy_allows_mechanism(policy, CKM_ECDSA));
    /* the larger minimum of each family; the system's read-only and deny-objects */
    ck_assert_uint_eq(policy->min_bits[P11MUX_KEY_RSA], 2048);
    ck_assert_uint_eq(policy->min_bits[P11MUX_KEY_EC], 256);
    ck_assert(policy->read_only);
    ck_assert(!p11mux_uri_rules_allow_object(&policy->objects, &place, backup, 2));
}
END_TEST

/* The rule a verdict cites: key, layer, line and the item that matched. */
static void
assert_cites(const P11muxPolicyVerdict *v, const char *key, P11muxPolicyLayer layer, int line,
             const char *item)
{
    ck_assert_ptr_nonnull(v->rule);
    ck_assert_str_eq(v->rule->key, key);
    ck_assert_int_eq(v->rule->layer, layer);
    ck_assert_int_eq(v->rule->value.origin.line, line);
    ck_assert_str_eq(v->item != NULL ? v->item : "(none)", item != NULL ? item : "(none)");
}

START_TEST(test_policy_decide_cites_the_refusing_layer)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *system = g_strdup_printf(system_policy, "policy-override = stricter-only");
    g_autoptr(P11muxPolicySet) set = layered_set(system, user_loosens, &error);
    CK_ATTRIBUTE backup[] = {{CKA_CLASS, &private_class, sizeof private_class},
                             {CKA_LABEL, "backup-key", 10}};
    P11muxPolicyPlace place = {0};
    const P11muxPolicy *policy;
    P11muxPolicyVerdict v;

    assert_no_error(error);
    policy = p11mux_policy_set_lookup(set, "b");
    ck_assert_uint_eq(p11mux_policy_n_layers(policy), 2);
    ck_assert_str_eq(p11mux_policy_get_name(p11mux_policy_get_layer(policy, 0)), "strict");
    ck_assert_int_eq(p11mux_policy_get_layer_kind(p11mux_policy_get_layer(policy, 0)),
                     P11MUX_POLICY_LAYER_SYSTEM);
    ck_assert_str_eq(p11mux_policy_get_name(p11mux_policy_get_layer(policy, 1)), "mine");
    ck_assert_int_eq(p11mux_policy_set_selection(set, "b", P11MUX_POLICY_LAYER_SYSTEM)->origin.line,
                     2);
    ck_assert_int_eq(p11mux_policy_set_selection(set, "b", P11MUX_POLICY_LAYER_FINAL)->origin.line,
                     2);
    /* the system's allow-list does not name MD5 (the user's does) */
    p11mux_policy_decide_mechanism(policy, CKM_MD5, &v);
    ck_assert(!v.allowed);
    ck_assert_uint_eq(v.rv, CKR_MECHANISM_INVALID);
    assert_cites(&v, "mechanisms", P11MUX_POLICY_LAYER_SYSTEM, 7, NULL);
    /* the system allows ECDSA, the user's deny-list refuses it */
    p11mux_policy_decide_mechanism(policy, CKM_ECDSA, &v);
    ck_assert(!v.allowed);
    assert_cites(&v, "deny-mechanisms", P11MUX_POLICY_LAYER_FINAL, 9, "CKM_ECDSA");
    p11mux_policy_decide_mechanism(policy, CKM_SHA256, &v);
    ck_assert(v.allowed);
    ck_assert_uint_eq(v.rv, CKR_OK);
    assert_cites(&v, "mechanisms", P11MUX_POLICY_LAYER_SYSTEM, 7, "CKM_SHA256");
    /* read-only of the system layer, whatever the user's group says */
    p11mux_policy_decide_function(policy, &p11mux_functions[P11MUX_FN_C_InitPIN], &v);
    ck_assert(!v.allowed);
    ck_assert_uint_eq(v.rv, CKR_TOKEN_WRITE_PROTECTED);
    assert_cites(&v, "read-only", P11MUX_POLICY_LAYER_SYSTEM, 10, NULL);
    p11mux_policy_decide_function(policy, &p11mux_functions[P11MUX_FN_C_GetOperationState], &v);
    ck_assert(!v.allowed);
    ck_assert_uint_eq(v.rv, CKR_STATE_UNSAVEABLE);
    ck_assert_ptr_null(v.rule);
    p11mux_policy_decide_object(policy, &place, backup, 2, &v);
    ck_assert(!v.allowed);
    ck_assert_uint_eq(v.rv, CKR_OBJECT_HANDLE_INVALID);
    assert_cites(&v, "deny-objects", P11MUX_POLICY_LAYER_SYSTEM, 8, "pkcs11:object=backup-key");
}
END_TEST

/* A token hidden by the user's allow-list is not blamed on a system
 * deny-tokens that does not match it. */
START_TEST(test_policy_decide_token_cites_a_matching_rule)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxPolicySet) set = layered_set(
        "[global]\npolicy-override = stricter-only\npolicy = sys\n"
        "[backend b]\nmodule = /nonexistent/b.so\n"
        "[policy sys]\ndeny-tokens = pkcs11:token=secret\n",
        "[global]\npolicy = user\n[policy user]\ntokens = pkcs11:token=alpha pkcs11:token=secret\n",
        &error);
    CK_SLOT_INFO slot = {0};
    CK_TOKEN_INFO token;
    P11muxPolicyPlace place = {NULL, &slot, &token, 1};
    const P11muxPolicy *policy;
    P11muxPolicyVerdict v;

    assert_no_error(error);
    policy = p11mux_policy_set_lookup(set, "b");
    memset(&token, ' ', sizeof token);
    memcpy(token.label, "beta", 4);
    p11mux_policy_decide_token(policy, &place, &v);
    ck_assert(!v.allowed);
    ck_assert_uint_eq(v.rv, CKR_SLOT_ID_INVALID);
    assert_cites(&v, "tokens", P11MUX_POLICY_LAYER_FINAL, 4, NULL);
    memcpy(token.label, "secret", 6);
    p11mux_policy_decide_token(policy, &place, &v);
    ck_assert(!v.allowed);
    assert_cites(&v, "deny-tokens", P11MUX_POLICY_LAYER_SYSTEM, 7, "pkcs11:token=secret");
    memset(&token, ' ', sizeof token);
    memcpy(token.label, "alpha", 5);
    p11mux_policy_decide_token(policy, &place, &v);
    ck_assert(v.allowed);
    /* an empty slot is shown; one the backend cannot describe is not */
    place.token = NULL;
    p11mux_policy_decide_token(policy, &place, &v);
    ck_assert(v.allowed);
    place.slot = NULL;
    p11mux_policy_decide_token(policy, &place, &v);
    ck_assert(!v.allowed);
    ck_assert_ptr_null(v.rule);
}
END_TEST

START_TEST(test_policy_override_only_in_system_layers)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *system = g_strdup_printf(system_policy, "");
    g_autoptr(P11muxPolicySet) set =
        layered_set(system, "[global]\npolicy-override = merge\n", &error);
    g_autofree char *expected = g_strdup_printf(
        "%s/user.conf:2: key 'policy-override' can be set only in the system file or conf.d",
        tmpdir);

    ck_assert_ptr_null(set);
    ck_assert_ptr_nonnull(error);
    ck_assert_str_eq(error->message, expected);
}
END_TEST

START_TEST(test_policy_deny_functions_by_table)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "deny-functions = C_WrapKey C_OpenSession\n");

    ck_assert(policy->deny_fn[P11MUX_FN_C_WrapKey]);
    ck_assert(policy->deny_fn[P11MUX_FN_C_OpenSession]);
    ck_assert(!policy->deny_fn[P11MUX_FN_C_UnwrapKey]);
}
END_TEST

/* ---------------------------------------------------------------- plans */

#define STEPS(policy, fn) ((policy)->steps[P11MUX_FN_##fn])

/* Which steps a function's calls run, decided once from the table's roles:
 * a mechanism rule touches only what takes a mechanism. */
START_TEST(test_policy_plan_mechanism_rule)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "deny-mechanisms = CKM_MD5\n");

    ck_assert_uint_eq(STEPS(policy, C_GetSessionInfo), 0);
    ck_assert_uint_eq(STEPS(policy, C_Sign), 0);
    ck_assert_uint_eq(STEPS(policy, C_FindObjects), 0);
    ck_assert_uint_eq(STEPS(policy, C_CloseSession), 0);
    ck_assert_uint_eq(STEPS(policy, C_GetTokenInfo), 0);
    ck_assert_uint_eq(STEPS(policy, C_SignInit), P11MUX_STEP_MECHANISMS);
    ck_assert_uint_eq(STEPS(policy, C_GenerateKeyPair), P11MUX_STEP_MECHANISMS);
    ck_assert_uint_eq(STEPS(policy, C_MessageEncryptInit), P11MUX_STEP_MECHANISMS);
    ck_assert_uint_eq(STEPS(policy, C_GetMechanismInfo), P11MUX_STEP_MECHANISMS);
    ck_assert_uint_eq(STEPS(policy, C_GetMechanismList),
                      P11MUX_STEP_PREPARE_OUTPUTS | P11MUX_STEP_FINISH_OUTPUTS);
}
END_TEST

/* An object rule: handles, templates, searches, made and changed objects,
 * and closing sessions (the cache); not the operations on a session. */
START_TEST(test_policy_plan_object_rule)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "deny-objects = pkcs11:object=x\n");

    ck_assert_uint_eq(STEPS(policy, C_GetSessionInfo), 0);
    ck_assert_uint_eq(STEPS(policy, C_Sign), 0);
    ck_assert_uint_eq(STEPS(policy, C_EncryptUpdate), 0);
    ck_assert_uint_eq(STEPS(policy, C_GenerateRandom), 0);
    ck_assert_uint_eq(STEPS(policy, C_Login), 0);
    ck_assert_uint_eq(STEPS(policy, C_FindObjectsInit), 0);
    ck_assert_uint_eq(STEPS(policy, C_FindObjectsFinal), 0);
    ck_assert_uint_eq(STEPS(policy, C_FindObjects),
                      P11MUX_STEP_PREPARE_OUTPUTS | P11MUX_STEP_FINISH_OUTPUTS);
    ck_assert(STEPS(policy, C_SignInit) & P11MUX_STEP_HANDLES);
    ck_assert(STEPS(policy, C_GetAttributeValue) & P11MUX_STEP_HANDLES);
    ck_assert(STEPS(policy, C_WrapKey) & P11MUX_STEP_HANDLES);
    ck_assert_uint_eq(STEPS(policy, C_SetAttributeValue),
                      P11MUX_STEP_HANDLES | P11MUX_STEP_TEMPLATES | P11MUX_STEP_CHANGED);
    ck_assert_uint_eq(STEPS(policy, C_DestroyObject),
                      P11MUX_STEP_HANDLES | P11MUX_STEP_TEMPLATES | P11MUX_STEP_CHANGED);
    ck_assert(STEPS(policy, C_CreateObject) & P11MUX_STEP_TEMPLATES);
    ck_assert(STEPS(policy, C_CreateObject) & P11MUX_STEP_CREATED);
    ck_assert(STEPS(policy, C_CopyObject) & P11MUX_STEP_CREATED);
    ck_assert(STEPS(policy, C_DeriveKey) & P11MUX_STEP_CREATED);
    ck_assert_uint_eq(STEPS(policy, C_CloseSession), P11MUX_STEP_SESSIONS);
    ck_assert_uint_eq(STEPS(policy, C_CloseAllSessions), P11MUX_STEP_SESSIONS);
}
END_TEST

/* Token rules touch every function routed by slot or session. */
START_TEST(test_policy_plan_token_rule)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "deny-tokens = pkcs11:token=x\n");
    guint fn;

    for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        const P11muxFunctionDesc *desc = &p11mux_functions[fn];
        gboolean routed = desc->handling != P11MUX_HANDLING_SPECIAL ||
                          p11mux_policy_find_param(desc, P11MUX_ROLE_SLOT, 0) >= 0 ||
                          p11mux_policy_find_param(desc, P11MUX_ROLE_SESSION, 0) >= 0;

        ck_assert_msg(((policy->steps[fn] & P11MUX_STEP_TOKEN) != 0) == routed, "%s", desc->name);
    }
    ck_assert_uint_eq(STEPS(policy, C_GetSlotList), 0);
    ck_assert(STEPS(policy, C_GetTokenInfo) & P11MUX_STEP_FINISH_OUTPUTS);
}
END_TEST

START_TEST(test_policy_plan_read_only_and_denied_functions)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy =
        policy_of(&set, "read-only = true\ndeny-functions = C_GenerateRandom\n");

    ck_assert_uint_eq(STEPS(policy, C_GenerateRandom), P11MUX_STEP_FUNCTION);
    ck_assert_uint_eq(STEPS(policy, C_SeedRandom), 0);
    ck_assert_uint_eq(STEPS(policy, C_GetSessionInfo), 0);
    ck_assert_uint_eq(STEPS(policy, C_Sign), 0);
    ck_assert(STEPS(policy, C_OpenSession) & P11MUX_STEP_SESSION_FLAGS);
    ck_assert_uint_eq(STEPS(policy, C_InitPIN), P11MUX_STEP_TEMPLATES);
    ck_assert_uint_eq(STEPS(policy, C_InitToken), P11MUX_STEP_TEMPLATES);
    ck_assert_uint_eq(STEPS(policy, C_GetTokenInfo), P11MUX_STEP_FINISH_OUTPUTS);
    ck_assert(STEPS(policy, C_SetAttributeValue) & P11MUX_STEP_HANDLES);
    ck_assert(STEPS(policy, C_CreateObject) & P11MUX_STEP_TEMPLATES);
}
END_TEST

/* A policy with no rule plans only the closed world: mechanism arguments
 * and types (and the mechanism list) are judged, saved state is refused;
 * every other function takes the plain path. */
START_TEST(test_policy_plan_empty_policy)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "");
    guint fn, i;

    for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        const P11muxFunctionDesc *desc = &p11mux_functions[fn];
        guint expected = 0;

        for (i = 0; i < desc->n_params; i++) {
            switch (desc->params[i].role) {
            case P11MUX_ROLE_MECHANISM:
            case P11MUX_ROLE_MECHANISM_TYPE:
                expected |= P11MUX_STEP_MECHANISMS;
                break;
            case P11MUX_ROLE_MECHANISMS_OUT:
                expected |= P11MUX_STEP_PREPARE_OUTPUTS | P11MUX_STEP_FINISH_OUTPUTS;
                break;
            case P11MUX_ROLE_STATE_IN:
            case P11MUX_ROLE_STATE_OUT:
                expected |= P11MUX_STEP_FUNCTION;
                break;
            default:
                break;
            }
        }
        ck_assert_msg(policy->steps[fn] == expected, "%s: steps %#x, expected %#x", desc->name,
                      policy->steps[fn], expected);
    }
    ck_assert_uint_eq(STEPS(policy, C_GetSessionInfo), 0);
    ck_assert_uint_eq(STEPS(policy, C_Sign), 0);
    ck_assert_uint_eq(STEPS(policy, C_SignInit), P11MUX_STEP_MECHANISMS);
    ck_assert_uint_eq(STEPS(policy, C_GetOperationState), P11MUX_STEP_FUNCTION);
    ck_assert_uint_eq(STEPS(policy, C_SetOperationState), P11MUX_STEP_FUNCTION);
}
END_TEST

static Suite *
policy_suite(void)
{
    Suite *suite = suite_create("policy");
    TCase *matchers = tcase_create("matchers");
    TCase *sets = tcase_create("sets");

    tcase_add_checked_fixture(matchers, setup_tmpdir, teardown_tmpdir);
    tcase_add_test(matchers, test_policy_mechanism_list_names_numbers_globs);
    tcase_add_test(matchers, test_policy_mechanism_list_errors);
    tcase_add_test(matchers, test_policy_mechanism_list_is_bounded);
    tcase_add_test(matchers, test_policy_deny_wins_over_allow);
    tcase_add_test(matchers, test_policy_deny_3_0_mechanisms);
    tcase_add_test(matchers, test_policy_mechanism_list_3_0_names);
    tcase_add_test(matchers, test_policy_oaep_names_hash_and_mgf);
    tcase_add_test(matchers, test_policy_denied_hash_denies_oaep_and_pss);
    tcase_add_test(matchers, test_policy_kdfs_and_keys_in_parameters);
    tcase_add_test(matchers, test_policy_curve_bits);
    tcase_add_test(matchers, test_policy_key_bits_from_templates);
    tcase_add_test(matchers, test_policy_key_bits_from_attributes_read);
    tcase_add_test(matchers, test_policy_min_key_bits_items);
    tcase_add_test(matchers, test_policy_min_key_bits_parameter_sets);
    tcase_add_test(matchers, test_policy_aes_xts_sizes);
    tcase_add_test(matchers, test_policy_mechanism_families);
    tcase_add_test(matchers, test_policy_object_uris_match_attributes);
    tcase_add_test(matchers, test_policy_token_uris);
    tcase_add_test(matchers, test_policy_uri_errors);
    suite_add_tcase(suite, matchers);

    tcase_add_checked_fixture(sets, setup_tmpdir, teardown_tmpdir);
    tcase_add_test(sets, test_policy_undefined_name_cites_line);
    tcase_add_test(sets, test_policy_values_checked_only_by_compiling);
    tcase_add_test(sets, test_policy_global_policy_for_every_backend);
    tcase_add_test(sets, test_policy_merge_lets_later_layers_change);
    tcase_add_test(sets, test_policy_stricter_only_combines_layers);
    tcase_add_test(sets, test_policy_override_only_in_system_layers);
    tcase_add_test(sets, test_policy_deny_functions_by_table);
    tcase_add_test(sets, test_policy_plan_mechanism_rule);
    tcase_add_test(sets, test_policy_plan_object_rule);
    tcase_add_test(sets, test_policy_plan_token_rule);
    tcase_add_test(sets, test_policy_plan_read_only_and_denied_functions);
    tcase_add_test(sets, test_policy_plan_empty_policy);
    tcase_add_test(sets, test_policy_decide_cites_the_refusing_layer);
    tcase_add_test(sets, test_policy_decide_token_cites_a_matching_rule);
    suite_add_tcase(suite, sets);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(policy_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
