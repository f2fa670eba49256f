/*
 * The PKCS #11 3.0 names and types p11mux needs, written from the OASIS
 * PKCS #11 Base Specification Version 3.0 and Current Mechanisms
 * Specification Version 3.0 (3.1, which adds nothing used here, is not
 * covered).
 *
 * p11-kit's pkcs11.h on Debian 12 is version 2.40 plus a few later names.
 * The constants below are every CKA_, CKO_, CKP_, CKK_, CKM_, CKD_, CKG_,
 * CKZ_ and CKR_ name of 3.0 (2.40 names included) that header lacks, and the
 * CKF_ names p11mux prints or tests.  Their names become the trace's and the
 * policy's (src/pkcs11/gen-constants.py reads this file through p11mux-pkcs11.h).
 * Every definition is guarded, one #ifndef per name, so that a newer system
 * header, which defines them itself, wins.  Nothing here redefines a name
 * p11-kit's header has, but five CKR_ codes it numbers unlike the
 * specification (the end of this file).  Include only through
 * p11mux-pkcs11.h.
 */
#ifndef P11MUX_PKCS11_3_0_H
#define P11MUX_PKCS11_3_0_H

#if !defined(CRYPTOKI_VERSION_MAJOR) || CRYPTOKI_VERSION_MAJOR < 3

/* ---------------------------------------------------- CKA_: attribute types */
/* The 2.40 and 3.0 name of 0x134; p11-kit's header has only the older
 * CKA_SUB_PRIME_BITS, which, defined there first, keeps printing. */
#ifndef CKA_SUBPRIME_BITS
#define CKA_SUBPRIME_BITS (0x134UL)
#endif
/* 3.0 base: every object may have a unique id; profile objects */
#ifndef CKA_UNIQUE_ID
#define CKA_UNIQUE_ID (0x4UL)
#endif
#ifndef CKA_PROFILE_ID
#define CKA_PROFILE_ID (0x601UL)
#endif
/* 3.0 current mechanisms: the double ratchet state of CKK_X2RATCHET keys */
#ifndef CKA_X2RATCHET_BAG
#define CKA_X2RATCHET_BAG (0x602UL)
#endif
#ifndef CKA_X2RATCHET_BAGSIZE
#define CKA_X2RATCHET_BAGSIZE (0x603UL)
#endif
#ifndef CKA_X2RATCHET_BOBS1STMSG
#define CKA_X2RATCHET_BOBS1STMSG (0x604UL)
#endif
#ifndef CKA_X2RATCHET_CKR
#define CKA_X2RATCHET_CKR (0x605UL)
#endif
#ifndef CKA_X2RATCHET_CKS
#define CKA_X2RATCHET_CKS (0x606UL)
#endif
#ifndef CKA_X2RATCHET_DHP
#define CKA_X2RATCHET_DHP (0x607UL)
#endif
#ifndef CKA_X2RATCHET_DHR
#define CKA_X2RATCHET_DHR (0x608UL)
#endif
#ifndef CKA_X2RATCHET_DHS
#define CKA_X2RATCHET_DHS (0x609UL)
#endif
#ifndef CKA_X2RATCHET_HKR
#define CKA_X2RATCHET_HKR (0x60aUL)
#endif
#ifndef CKA_X2RATCHET_HKS
#define CKA_X2RATCHET_HKS (0x60bUL)
#endif
#ifndef CKA_X2RATCHET_ISALICE
#define CKA_X2RATCHET_ISALICE (0x60cUL)
#endif
#ifndef CKA_X2RATCHET_NHKR
#define CKA_X2RATCHET_NHKR (0x60dUL)
#endif
#ifndef CKA_X2RATCHET_NHKS
#define CKA_X2RATCHET_NHKS (0x60eUL)
#endif
#ifndef CKA_X2RATCHET_NR
#define CKA_X2RATCHET_NR (0x60fUL)
#endif
#ifndef CKA_X2RATCHET_NS
#define CKA_X2RATCHET_NS (0x610UL)
#endif
#ifndef CKA_X2RATCHET_PNS
#define CKA_X2RATCHET_PNS (0x611UL)
#endif
#ifndef CKA_X2RATCHET_RK
#define CKA_X2RATCHET_RK (0x612UL)
#endif

/* ----------------------------------------------------- CKO_: object classes */
#ifndef CKO_PROFILE
#define CKO_PROFILE (0x9UL)
#endif

/* -------------------------------------------------------- CKP_: profile ids */
/* CK_PROFILE_ID, the value of CKA_PROFILE_ID */
#ifndef CKP_INVALID_ID
#define CKP_INVALID_ID (0x0UL)
#endif
#ifndef CKP_BASELINE_PROVIDER
#define CKP_BASELINE_PROVIDER (0x1UL)
#endif
#ifndef CKP_EXTENDED_PROVIDER
#define CKP_EXTENDED_PROVIDER (0x2UL)
#endif
#ifndef CKP_AUTHENTICATION_TOKEN
#define CKP_AUTHENTICATION_TOKEN (0x3UL)
#endif
#ifndef CKP_PUBLIC_CERTIFICATES_TOKEN
#define CKP_PUBLIC_CERTIFICATES_TOKEN (0x4UL)
#endif
#ifndef CKP_VENDOR_DEFINED
#define CKP_VENDOR_DEFINED (0x80000000UL)
#endif

/* ------------------------- CKP_PKCS5_PBKD2_: PBKDF2 pseudo-random functions */
/* CK_PKCS5_PBKD2_PARAMS.prf: the same prefix, another field; gen-constants.py
 * leaves them out of the CKP_ names. */
#ifndef CKP_PKCS5_PBKD2_HMAC_SHA1
#define CKP_PKCS5_PBKD2_HMAC_SHA1 (0x1UL)
#endif
#ifndef CKP_PKCS5_PBKD2_HMAC_GOSTR3411
#define CKP_PKCS5_PBKD2_HMAC_GOSTR3411 (0x2UL)
#endif
#ifndef CKP_PKCS5_PBKD2_HMAC_SHA224
#define CKP_PKCS5_PBKD2_HMAC_SHA224 (0x3UL)
#endif
#ifndef CKP_PKCS5_PBKD2_HMAC_SHA256
#define CKP_PKCS5_PBKD2_HMAC_SHA256 (0x4UL)
#endif
#ifndef CKP_PKCS5_PBKD2_HMAC_SHA384
#define CKP_PKCS5_PBKD2_HMAC_SHA384 (0x5UL)
#endif
#ifndef CKP_PKCS5_PBKD2_HMAC_SHA512
#define CKP_PKCS5_PBKD2_HMAC_SHA512 (0x6UL)
#endif
#ifndef CKP_PKCS5_PBKD2_HMAC_SHA512_224
#define CKP_PKCS5_PBKD2_HMAC_SHA512_224 (0x7UL)
#endif
#ifndef CKP_PKCS5_PBKD2_HMAC_SHA512_256
#define CKP_PKCS5_PBKD2_HMAC_SHA512_256 (0x8UL)
#endif

/* ---------------------------------------------------------- CKK_: key types */
/* The deprecated name of CKK_CAST128, as for the CKM_CAST5_ mechanisms */
#ifndef CKK_CAST5
#define CKK_CAST5 (0x18UL)
#endif
#ifndef CKK_CHACHA20
#define CKK_CHACHA20 (0x33UL)
#endif
#ifndef CKK_POLY1305
#define CKK_POLY1305 (0x34UL)
#endif
#ifndef CKK_AES_XTS
#define CKK_AES_XTS (0x35UL)
#endif
#ifndef CKK_SHA3_224_HMAC
#define CKK_SHA3_224_HMAC (0x36UL)
#endif
#ifndef CKK_SHA3_256_HMAC
#define CKK_SHA3_256_HMAC (0x37UL)
#endif
#ifndef CKK_SHA3_384_HMAC
#define CKK_SHA3_384_HMAC (0x38UL)
#endif
#ifndef CKK_SHA3_512_HMAC
#define CKK_SHA3_512_HMAC (0x39UL)
#endif
#ifndef CKK_BLAKE2B_160_HMAC
#define CKK_BLAKE2B_160_HMAC (0x3aUL)
#endif
#ifndef CKK_BLAKE2B_256_HMAC
#define CKK_BLAKE2B_256_HMAC (0x3bUL)
#endif
#ifndef CKK_BLAKE2B_384_HMAC
#define CKK_BLAKE2B_384_HMAC (0x3cUL)
#endif
#ifndef CKK_BLAKE2B_512_HMAC
#define CKK_BLAKE2B_512_HMAC (0x3dUL)
#endif
#ifndef CKK_SALSA20
#define CKK_SALSA20 (0x3eUL)
#endif
#ifndef CKK_X2RATCHET
#define CKK_X2RATCHET (0x3fUL)
#endif
#ifndef CKK_EC_MONTGOMERY
#define CKK_EC_MONTGOMERY (0x41UL)
#endif
#ifndef CKK_HKDF
#define CKK_HKDF (0x42UL)
#endif
#ifndef CKK_SHA512_224_HMAC
#define CKK_SHA512_224_HMAC (0x43UL)
#endif
#ifndef CKK_SHA512_256_HMAC
#define CKK_SHA512_256_HMAC (0x44UL)
#endif
#ifndef CKK_SHA512_T_HMAC
#define CKK_SHA512_T_HMAC (0x45UL)
#endif

/* ------------------------------------ CKM_: mechanism types, in value order */
/* DSA with SHA-3 */
#ifndef CKM_DSA_SHA3_224
#define CKM_DSA_SHA3_224 (0x18UL)
#endif
#ifndef CKM_DSA_SHA3_256
#define CKM_DSA_SHA3_256 (0x19UL)
#endif
#ifndef CKM_DSA_SHA3_384
#define CKM_DSA_SHA3_384 (0x1aUL)
#endif
#ifndef CKM_DSA_SHA3_512
#define CKM_DSA_SHA3_512 (0x1bUL)
#endif
/* RSA with SHA-3 */
#ifndef CKM_SHA3_256_RSA_PKCS
#define CKM_SHA3_256_RSA_PKCS (0x60UL)
#endif
#ifndef CKM_SHA3_384_RSA_PKCS
#define CKM_SHA3_384_RSA_PKCS (0x61UL)
#endif
#ifndef CKM_SHA3_512_RSA_PKCS
#define CKM_SHA3_512_RSA_PKCS (0x62UL)
#endif
#ifndef CKM_SHA3_256_RSA_PKCS_PSS
#define CKM_SHA3_256_RSA_PKCS_PSS (0x63UL)
#endif
#ifndef CKM_SHA3_384_RSA_PKCS_PSS
#define CKM_SHA3_384_RSA_PKCS_PSS (0x64UL)
#endif
#ifndef CKM_SHA3_512_RSA_PKCS_PSS
#define CKM_SHA3_512_RSA_PKCS_PSS (0x65UL)
#endif
#ifndef CKM_SHA3_224_RSA_PKCS
#define CKM_SHA3_224_RSA_PKCS (0x66UL)
#endif
#ifndef CKM_SHA3_224_RSA_PKCS_PSS
#define CKM_SHA3_224_RSA_PKCS_PSS (0x67UL)
#endif
/* SHA-3 digests, HMACs and key generation */
#ifndef CKM_SHA3_256
#define CKM_SHA3_256 (0x2b0UL)
#endif
#ifndef CKM_SHA3_256_HMAC
#define CKM_SHA3_256_HMAC (0x2b1UL)
#endif
#ifndef CKM_SHA3_256_HMAC_GENERAL
#define CKM_SHA3_256_HMAC_GENERAL (0x2b2UL)
#endif
#ifndef CKM_SHA3_256_KEY_GEN
#define CKM_SHA3_256_KEY_GEN (0x2b3UL)
#endif
#ifndef CKM_SHA3_224
#define CKM_SHA3_224 (0x2b5UL)
#endif
#ifndef CKM_SHA3_224_HMAC
#define CKM_SHA3_224_HMAC (0x2b6UL)
#endif
#ifndef CKM_SHA3_224_HMAC_GENERAL
#define CKM_SHA3_224_HMAC_GENERAL (0x2b7UL)
#endif
#ifndef CKM_SHA3_224_KEY_GEN
#define CKM_SHA3_224_KEY_GEN (0x2b8UL)
#endif
#ifndef CKM_SHA3_384
#define CKM_SHA3_384 (0x2c0UL)
#endif
#ifndef CKM_SHA3_384_HMAC
#define CKM_SHA3_384_HMAC (0x2c1UL)
#endif
#ifndef CKM_SHA3_384_HMAC_GENERAL
#define CKM_SHA3_384_HMAC_GENERAL (0x2c2UL)
#endif
#ifndef CKM_SHA3_384_KEY_GEN
#define CKM_SHA3_384_KEY_GEN (0x2c3UL)
#endif
#ifndef CKM_SHA3_512
#define CKM_SHA3_512 (0x2d0UL)
#endif
#ifndef CKM_SHA3_512_HMAC
#define CKM_SHA3_512_HMAC (0x2d1UL)
#endif
#ifndef CKM_SHA3_512_HMAC_GENERAL
#define CKM_SHA3_512_HMAC_GENERAL (0x2d2UL)
#endif
#ifndef CKM_SHA3_512_KEY_GEN
#define CKM_SHA3_512_KEY_GEN (0x2d3UL)
#endif
/* SHA-3 and SHAKE key derivation.  The 2.40 header spelt them _KEY_DERIVE;
 * 3.0 names them _KEY_DERIVATION like every other hash, and keeps the old
 * spelling as a second name (defined as the new one: gen-constants.py then
 * prints the 3.0 name) */
#ifndef CKM_SHA3_256_KEY_DERIVATION
#define CKM_SHA3_256_KEY_DERIVATION (0x397UL)
#endif
#ifndef CKM_SHA3_224_KEY_DERIVATION
#define CKM_SHA3_224_KEY_DERIVATION (0x398UL)
#endif
#ifndef CKM_SHA3_384_KEY_DERIVATION
#define CKM_SHA3_384_KEY_DERIVATION (0x399UL)
#endif
#ifndef CKM_SHA3_512_KEY_DERIVATION
#define CKM_SHA3_512_KEY_DERIVATION (0x39aUL)
#endif
#ifndef CKM_SHAKE_128_KEY_DERIVATION
#define CKM_SHAKE_128_KEY_DERIVATION (0x39bUL)
#endif
#ifndef CKM_SHAKE_256_KEY_DERIVATION
#define CKM_SHAKE_256_KEY_DERIVATION (0x39cUL)
#endif
#ifndef CKM_SHA3_256_KEY_DERIVE
#define CKM_SHA3_256_KEY_DERIVE CKM_SHA3_256_KEY_DERIVATION
#endif
#ifndef CKM_SHA3_224_KEY_DERIVE
#define CKM_SHA3_224_KEY_DERIVE CKM_SHA3_224_KEY_DERIVATION
#endif
#ifndef CKM_SHA3_384_KEY_DERIVE
#define CKM_SHA3_384_KEY_DERIVE CKM_SHA3_384_KEY_DERIVATION
#endif
#ifndef CKM_SHA3_512_KEY_DERIVE
#define CKM_SHA3_512_KEY_DERIVE CKM_SHA3_512_KEY_DERIVATION
#endif
#ifndef CKM_SHAKE_128_KEY_DERIVE
#define CKM_SHAKE_128_KEY_DERIVE CKM_SHAKE_128_KEY_DERIVATION
#endif
#ifndef CKM_SHAKE_256_KEY_DERIVE
#define CKM_SHAKE_256_KEY_DERIVE CKM_SHAKE_256_KEY_DERIVATION
#endif
/* NIST SP 800-108 key derivation */
#ifndef CKM_SP800_108_COUNTER_KDF
#define CKM_SP800_108_COUNTER_KDF (0x3acUL)
#endif
#ifndef CKM_SP800_108_FEEDBACK_KDF
#define CKM_SP800_108_FEEDBACK_KDF (0x3adUL)
#endif
#ifndef CKM_SP800_108_DOUBLE_PIPELINE_KDF
#define CKM_SP800_108_DOUBLE_PIPELINE_KDF (0x3aeUL)
#endif
/* IKE pseudo-random functions and key derivation */
#ifndef CKM_IKE2_PRF_PLUS_DERIVE
#define CKM_IKE2_PRF_PLUS_DERIVE (0x402eUL)
#endif
#ifndef CKM_IKE_PRF_DERIVE
#define CKM_IKE_PRF_DERIVE (0x402fUL)
#endif
#ifndef CKM_IKE1_PRF_DERIVE
#define CKM_IKE1_PRF_DERIVE (0x4030UL)
#endif
#ifndef CKM_IKE1_EXTENDED_DERIVE
#define CKM_IKE1_EXTENDED_DERIVE (0x4031UL)
#endif
/* ECDSA with SHA-3; Montgomery curves (X25519, X448) */
#ifndef CKM_ECDSA_SHA3_224
#define CKM_ECDSA_SHA3_224 (0x1047UL)
#endif
#ifndef CKM_ECDSA_SHA3_256
#define CKM_ECDSA_SHA3_256 (0x1048UL)
#endif
#ifndef CKM_ECDSA_SHA3_384
#define CKM_ECDSA_SHA3_384 (0x1049UL)
#endif
#ifndef CKM_ECDSA_SHA3_512
#define CKM_ECDSA_SHA3_512 (0x104aUL)
#endif
#ifndef CKM_EC_MONTGOMERY_KEY_PAIR_GEN
#define CKM_EC_MONTGOMERY_KEY_PAIR_GEN (0x1056UL)
#endif
/* AES-XTS */
#ifndef CKM_AES_XTS
#define CKM_AES_XTS (0x1071UL)
#endif
#ifndef CKM_AES_XTS_KEY_GEN
#define CKM_AES_XTS_KEY_GEN (0x1072UL)
#endif
/* ChaCha20 and Poly1305 */
#ifndef CKM_CHACHA20_KEY_GEN
#define CKM_CHACHA20_KEY_GEN (0x1225UL)
#endif
#ifndef CKM_CHACHA20
#define CKM_CHACHA20 (0x1226UL)
#endif
#ifndef CKM_POLY1305_KEY_GEN
#define CKM_POLY1305_KEY_GEN (0x1227UL)
#endif
#ifndef CKM_POLY1305
#define CKM_POLY1305 (0x1228UL)
#endif
/* EC key pairs with extra random bits (FIPS 186-4) */
#ifndef CKM_EC_KEY_PAIR_GEN_W_EXTRA_BITS
#define CKM_EC_KEY_PAIR_GEN_W_EXTRA_BITS (0x140bUL)
#endif
/* DSA domain parameters.  p11-kit's header has only the 2.40 misspelling
 * CKM_DSA_PROBABLISTIC_PARAMETER_GEN; a name first defined there keeps
 * printing (gen-constants.py), the corrected spelling parses. */
#ifndef CKM_DSA_PROBABILISTIC_PARAMETER_GEN
#define CKM_DSA_PROBABILISTIC_PARAMETER_GEN (0x2003UL)
#endif
#ifndef CKM_DSA_FIPS_G_GEN
#define CKM_DSA_FIPS_G_GEN (0x2005UL)
#endif
/* AES key wrap with padding (RFC 5649) */
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP (0x210bUL)
#endif
/* generic secret key generation for the HMACs */
#ifndef CKM_SHA_1_KEY_GEN
#define CKM_SHA_1_KEY_GEN (0x4003UL)
#endif
#ifndef CKM_SHA224_KEY_GEN
#define CKM_SHA224_KEY_GEN (0x4004UL)
#endif
#ifndef CKM_SHA256_KEY_GEN
#define CKM_SHA256_KEY_GEN (0x4005UL)
#endif
#ifndef CKM_SHA384_KEY_GEN
#define CKM_SHA384_KEY_GEN (0x4006UL)
#endif
#ifndef CKM_SHA512_KEY_GEN
#define CKM_SHA512_KEY_GEN (0x4007UL)
#endif
#ifndef CKM_SHA512_224_KEY_GEN
#define CKM_SHA512_224_KEY_GEN (0x4008UL)
#endif
#ifndef CKM_SHA512_256_KEY_GEN
#define CKM_SHA512_256_KEY_GEN (0x4009UL)
#endif
#ifndef CKM_SHA512_T_KEY_GEN
#define CKM_SHA512_T_KEY_GEN (0x400aUL)
#endif
/* 3.0: the null mechanism, BLAKE2b, Salsa20, AEADs, X3DH, double ratchet,
 * XEdDSA, HKDF */
#ifndef CKM_NULL
#define CKM_NULL (0x400bUL)
#endif
#ifndef CKM_BLAKE2B_160
#define CKM_BLAKE2B_160 (0x400cUL)
#endif
#ifndef CKM_BLAKE2B_160_HMAC
#define CKM_BLAKE2B_160_HMAC (0x400dUL)
#endif
#ifndef CKM_BLAKE2B_160_HMAC_GENERAL
#define CKM_BLAKE2B_160_HMAC_GENERAL (0x400eUL)
#endif
#ifndef CKM_BLAKE2B_160_KEY_DERIVE
#define CKM_BLAKE2B_160_KEY_DERIVE (0x400fUL)
#endif
#ifndef CKM_BLAKE2B_160_KEY_GEN
#define CKM_BLAKE2B_160_KEY_GEN (0x4010UL)
#endif
#ifndef CKM_BLAKE2B_256
#define CKM_BLAKE2B_256 (0x4011UL)
#endif
#ifndef CKM_BLAKE2B_256_HMAC
#define CKM_BLAKE2B_256_HMAC (0x4012UL)
#endif
#ifndef CKM_BLAKE2B_256_HMAC_GENERAL
#define CKM_BLAKE2B_256_HMAC_GENERAL (0x4013UL)
#endif
#ifndef CKM_BLAKE2B_256_KEY_DERIVE
#define CKM_BLAKE2B_256_KEY_DERIVE (0x4014UL)
#endif
#ifndef CKM_BLAKE2B_256_KEY_GEN
#define CKM_BLAKE2B_256_KEY_GEN (0x4015UL)
#endif
#ifndef CKM_BLAKE2B_384
#define CKM_BLAKE2B_384 (0x4016UL)
#endif
#ifndef CKM_BLAKE2B_384_HMAC
#define CKM_BLAKE2B_384_HMAC (0x4017UL)
#endif
#ifndef CKM_BLAKE2B_384_HMAC_GENERAL
#define CKM_BLAKE2B_384_HMAC_GENERAL (0x4018UL)
#endif
#ifndef CKM_BLAKE2B_384_KEY_DERIVE
#define CKM_BLAKE2B_384_KEY_DERIVE (0x4019UL)
#endif
#ifndef CKM_BLAKE2B_384_KEY_GEN
#define CKM_BLAKE2B_384_KEY_GEN (0x401aUL)
#endif
#ifndef CKM_BLAKE2B_512
#define CKM_BLAKE2B_512 (0x401bUL)
#endif
#ifndef CKM_BLAKE2B_512_HMAC
#define CKM_BLAKE2B_512_HMAC (0x401cUL)
#endif
#ifndef CKM_BLAKE2B_512_HMAC_GENERAL
#define CKM_BLAKE2B_512_HMAC_GENERAL (0x401dUL)
#endif
#ifndef CKM_BLAKE2B_512_KEY_DERIVE
#define CKM_BLAKE2B_512_KEY_DERIVE (0x401eUL)
#endif
#ifndef CKM_BLAKE2B_512_KEY_GEN
#define CKM_BLAKE2B_512_KEY_GEN (0x401fUL)
#endif
#ifndef CKM_SALSA20
#define CKM_SALSA20 (0x4020UL)
#endif
#ifndef CKM_CHACHA20_POLY1305
#define CKM_CHACHA20_POLY1305 (0x4021UL)
#endif
#ifndef CKM_SALSA20_POLY1305
#define CKM_SALSA20_POLY1305 (0x4022UL)
#endif
#ifndef CKM_X3DH_INITIALIZE
#define CKM_X3DH_INITIALIZE (0x4023UL)
#endif
#ifndef CKM_X3DH_RESPOND
#define CKM_X3DH_RESPOND (0x4024UL)
#endif
#ifndef CKM_X2RATCHET_INITIALIZE
#define CKM_X2RATCHET_INITIALIZE (0x4025UL)
#endif
#ifndef CKM_X2RATCHET_RESPOND
#define CKM_X2RATCHET_RESPOND (0x4026UL)
#endif
#ifndef CKM_X2RATCHET_ENCRYPT
#define CKM_X2RATCHET_ENCRYPT (0x4027UL)
#endif
#ifndef CKM_X2RATCHET_DECRYPT
#define CKM_X2RATCHET_DECRYPT (0x4028UL)
#endif
#ifndef CKM_XEDDSA
#define CKM_XEDDSA (0x4029UL)
#endif
#ifndef CKM_HKDF_DERIVE
#define CKM_HKDF_DERIVE (0x402aUL)
#endif
#ifndef CKM_HKDF_DATA
#define CKM_HKDF_DATA (0x402bUL)
#endif
#ifndef CKM_HKDF_KEY_GEN
#define CKM_HKDF_KEY_GEN (0x402cUL)
#endif
#ifndef CKM_SALSA20_KEY_GEN
#define CKM_SALSA20_KEY_GEN (0x402dUL)
#endif

/* ------------------------------------------- CKD_: key derivation functions */
#ifndef CKD_SHA3_224_KDF
#define CKD_SHA3_224_KDF (0xaUL)
#endif
#ifndef CKD_SHA3_256_KDF
#define CKD_SHA3_256_KDF (0xbUL)
#endif
#ifndef CKD_SHA3_384_KDF
#define CKD_SHA3_384_KDF (0xcUL)
#endif
#ifndef CKD_SHA3_512_KDF
#define CKD_SHA3_512_KDF (0xdUL)
#endif
#ifndef CKD_SHA1_KDF_SP800
#define CKD_SHA1_KDF_SP800 (0xeUL)
#endif
#ifndef CKD_SHA224_KDF_SP800
#define CKD_SHA224_KDF_SP800 (0xfUL)
#endif
#ifndef CKD_SHA256_KDF_SP800
#define CKD_SHA256_KDF_SP800 (0x10UL)
#endif
#ifndef CKD_SHA384_KDF_SP800
#define CKD_SHA384_KDF_SP800 (0x11UL)
#endif
#ifndef CKD_SHA512_KDF_SP800
#define CKD_SHA512_KDF_SP800 (0x12UL)
#endif
#ifndef CKD_SHA3_224_KDF_SP800
#define CKD_SHA3_224_KDF_SP800 (0x13UL)
#endif
#ifndef CKD_SHA3_256_KDF_SP800
#define CKD_SHA3_256_KDF_SP800 (0x14UL)
#endif
#ifndef CKD_SHA3_384_KDF_SP800
#define CKD_SHA3_384_KDF_SP800 (0x15UL)
#endif
#ifndef CKD_SHA3_512_KDF_SP800
#define CKD_SHA3_512_KDF_SP800 (0x16UL)
#endif
#ifndef CKD_BLAKE2B_160_KDF
#define CKD_BLAKE2B_160_KDF (0x17UL)
#endif
#ifndef CKD_BLAKE2B_256_KDF
#define CKD_BLAKE2B_256_KDF (0x18UL)
#endif
#ifndef CKD_BLAKE2B_384_KDF
#define CKD_BLAKE2B_384_KDF (0x19UL)
#endif
#ifndef CKD_BLAKE2B_512_KDF
#define CKD_BLAKE2B_512_KDF (0x1aUL)
#endif

/* ------------------------------------- CKG_MGF1_: mask generation functions */
#ifndef CKG_MGF1_SHA3_224
#define CKG_MGF1_SHA3_224 (0x6UL)
#endif
#ifndef CKG_MGF1_SHA3_256
#define CKG_MGF1_SHA3_256 (0x7UL)
#endif
#ifndef CKG_MGF1_SHA3_384
#define CKG_MGF1_SHA3_384 (0x8UL)
#endif
#ifndef CKG_MGF1_SHA3_512
#define CKG_MGF1_SHA3_512 (0x9UL)
#endif

/* -------------------------------------------- CKZ_SALT_: PBKDF2 salt source */
/* CK_PKCS5_PBKD2_PARAMS.saltSource, not the OAEP source; gen-constants.py
 * leaves it out of the CKZ_ names. */
#ifndef CKZ_SALT_SPECIFIED
#define CKZ_SALT_SPECIFIED (0x1UL)
#endif

/* ------------------------------------------------------ CKR_: return values */
/* The two codes 3.0 adds.  Five 2.40 codes are corrected at the end of this
 * file, outside the version guard. */
#ifndef CKR_TOKEN_RESOURCE_EXCEEDED
#define CKR_TOKEN_RESOURCE_EXCEEDED (0x201UL)
#endif
#ifndef CKR_OPERATION_CANCEL_FAILED
#define CKR_OPERATION_CANCEL_FAILED (0x202UL)
#endif

/* -------------------------------------------------------------- CKF_: flags */
/* Each name here is in a hand-written list of constants.c, or in the
 * exclusion list of tests/unit/test-constants.c. */
/* CK_TOKEN_INFO.flags */
#ifndef CKF_ERROR_STATE
#define CKF_ERROR_STATE (0x01000000UL)
#endif
/* CK_MECHANISM_INFO.flags.  3.0 renamed CKF_EC_NAMEDCURVE to CKF_EC_OID. */
#ifndef CKF_MESSAGE_ENCRYPT
#define CKF_MESSAGE_ENCRYPT (0x00000002UL)
#endif
#ifndef CKF_MESSAGE_DECRYPT
#define CKF_MESSAGE_DECRYPT (0x00000004UL)
#endif
#ifndef CKF_MESSAGE_SIGN
#define CKF_MESSAGE_SIGN (0x00000008UL)
#endif
#ifndef CKF_MESSAGE_VERIFY
#define CKF_MESSAGE_VERIFY (0x00000010UL)
#endif
#ifndef CKF_MULTI_MESSAGE
#define CKF_MULTI_MESSAGE (0x00000020UL)
#endif
#ifndef CKF_FIND_OBJECTS
#define CKF_FIND_OBJECTS (0x00000040UL)
#endif
#ifndef CKF_EC_F_2M
#define CKF_EC_F_2M (0x00200000UL)
#endif
#ifndef CKF_EC_ECPARAMETERS
#define CKF_EC_ECPARAMETERS (0x00400000UL)
#endif
#ifndef CKF_EC_OID
#define CKF_EC_OID (0x00800000UL)
#endif
#ifndef CKF_EC_CURVENAME
#define CKF_EC_CURVENAME (0x04000000UL)
#endif
/* CK_INTERFACE.flags */
#ifndef CKF_INTERFACE_FORK_SAFE
#define CKF_INTERFACE_FORK_SAFE (0x00000001UL)
#endif
/* the flags of C_EncryptMessageNext and the other *MessageNext functions */
#ifndef CKF_END_OF_MESSAGE
#define CKF_END_OF_MESSAGE (0x00000001UL)
#endif
/* CK_HKDF_PARAMS.ulSaltType: one of three values, not a set of flags */
#ifndef CKF_HKDF_SALT_NULL
#define CKF_HKDF_SALT_NULL (0x00000001UL)
#endif
#ifndef CKF_HKDF_SALT_DATA
#define CKF_HKDF_SALT_DATA (0x00000002UL)
#endif
#ifndef CKF_HKDF_SALT_KEY
#define CKF_HKDF_SALT_KEY (0x00000004UL)
#endif

/* --------------------------------------- CKG_: generators of IVs and nonces */
/* CK_GENERATOR_FUNCTION; the same prefix as the mask generation functions,
 * another field: gen-constants.py leaves them out of the CKG_ names. */
#ifndef CKG_NO_GENERATE
typedef CK_ULONG CK_GENERATOR_FUNCTION;
#define CKG_NO_GENERATE (0x0UL)
#endif
#ifndef CKG_GENERATE
#define CKG_GENERATE (0x1UL)
#endif
#ifndef CKG_GENERATE_COUNTER
#define CKG_GENERATE_COUNTER (0x2UL)
#endif
#ifndef CKG_GENERATE_RANDOM
#define CKG_GENERATE_RANDOM (0x3UL)
#endif
#ifndef CKG_GENERATE_COUNTER_XOR
#define CKG_GENERATE_COUNTER_XOR (0x4UL)
#endif

/* Per-message parameters of CKM_AES_GCM in the message-based functions. */
typedef struct CK_GCM_MESSAGE_PARAMS {
    CK_BYTE_PTR pIv;
    CK_ULONG ulIvLen;
    CK_ULONG ulIvFixedBits;
    CK_GENERATOR_FUNCTION ivGenerator;
    CK_BYTE_PTR pTag;
    CK_ULONG ulTagBits;
} CK_GCM_MESSAGE_PARAMS;
typedef CK_GCM_MESSAGE_PARAMS *CK_GCM_MESSAGE_PARAMS_PTR;

typedef struct CK_INTERFACE {
    CK_CHAR *pInterfaceName;
    CK_VOID_PTR pFunctionList;
    CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE *CK_INTERFACE_PTR;
typedef CK_INTERFACE_PTR *CK_INTERFACE_PTR_PTR;

typedef struct CK_FUNCTION_LIST_3_0 CK_FUNCTION_LIST_3_0;
typedef CK_FUNCTION_LIST_3_0 *CK_FUNCTION_LIST_3_0_PTR;
typedef CK_FUNCTION_LIST_3_0_PTR *CK_FUNCTION_LIST_3_0_PTR_PTR;

typedef CK_RV (*CK_C_GetInterfaceList)(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount);
typedef CK_RV (*CK_C_GetInterface)(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                                   CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags);
typedef CK_RV (*CK_C_LoginUser)(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
                                CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                                CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen);
typedef CK_RV (*CK_C_SessionCancel)(CK_SESSION_HANDLE hSession, CK_FLAGS flags);
typedef CK_RV (*CK_C_MessageEncryptInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                         CK_OBJECT_HANDLE hKey);
typedef CK_RV (*CK_C_EncryptMessage)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                     CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                     CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pPlaintext,
                                     CK_ULONG ulPlaintextLen, CK_BYTE_PTR pCiphertext,
                                     CK_ULONG_PTR pulCiphertextLen);
typedef CK_RV (*CK_C_EncryptMessageBegin)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                          CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                          CK_ULONG ulAssociatedDataLen);
typedef CK_RV (*CK_C_EncryptMessageNext)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                         CK_ULONG ulParameterLen, CK_BYTE_PTR pPlaintextPart,
                                         CK_ULONG ulPlaintextPartLen, CK_BYTE_PTR pCiphertextPart,
                                         CK_ULONG_PTR pulCiphertextPartLen, CK_FLAGS flags);
typedef CK_RV (*CK_C_MessageEncryptFinal)(CK_SESSION_HANDLE hSession);
typedef CK_RV (*CK_C_MessageDecryptInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                         CK_OBJECT_HANDLE hKey);
typedef CK_RV (*CK_C_DecryptMessage)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                     CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                     CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pCiphertext,
                                     CK_ULONG ulCiphertextLen, CK_BYTE_PTR pPlaintext,
                                     CK_ULONG_PTR pulPlaintextLen);
typedef CK_RV (*CK_C_DecryptMessageBegin)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                          CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                          CK_ULONG ulAssociatedDataLen);
typedef CK_RV (*CK_C_DecryptMessageNext)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                         CK_ULONG ulParameterLen, CK_BYTE_PTR pCiphertextPart,
                                         CK_ULONG ulCiphertextPartLen, CK_BYTE_PTR pPlaintextPart,
                                         CK_ULONG_PTR pulPlaintextPartLen, CK_FLAGS flags);
typedef CK_RV (*CK_C_MessageDecryptFinal)(CK_SESSION_HANDLE hSession);
typedef CK_RV (*CK_C_MessageSignInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                      CK_OBJECT_HANDLE hKey);
typedef CK_RV (*CK_C_SignMessage)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                  CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                                  CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen);
typedef CK_RV (*CK_C_SignMessageBegin)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                       CK_ULONG ulParameterLen);
typedef CK_RV (*CK_C_SignMessageNext)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                      CK_ULONG ulParameterLen, CK_BYTE_PTR pData,
                                      CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
                                      CK_ULONG_PTR pulSignatureLen);
typedef CK_RV (*CK_C_MessageSignFinal)(CK_SESSION_HANDLE hSession);
typedef CK_RV (*CK_C_MessageVerifyInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                        CK_OBJECT_HANDLE hKey);
typedef CK_RV (*CK_C_VerifyMessage)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                    CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                                    CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen);
typedef CK_RV (*CK_C_VerifyMessageBegin)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                         CK_ULONG ulParameterLen);
typedef CK_RV (*CK_C_VerifyMessageNext)(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                        CK_ULONG ulParameterLen, CK_BYTE_PTR pData,
                                        CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
                                        CK_ULONG ulSignatureLen);
typedef CK_RV (*CK_C_MessageVerifyFinal)(CK_SESSION_HANDLE hSession);

/* Specification order: the 2.40 list, then the 3.0 additions. */
struct CK_FUNCTION_LIST_3_0 {
    CK_VERSION version;
    CK_C_Initialize C_Initialize;
    CK_C_Finalize C_Finalize;
    CK_C_GetInfo C_GetInfo;
    CK_C_GetFunctionList C_GetFunctionList;
    CK_C_GetSlotList C_GetSlotList;
    CK_C_GetSlotInfo C_GetSlotInfo;
    CK_C_GetTokenInfo C_GetTokenInfo;
    CK_C_GetMechanismList C_GetMechanismList;
    CK_C_GetMechanismInfo C_GetMechanismInfo;
    CK_C_InitToken C_InitToken;
    CK_C_InitPIN C_InitPIN;
    CK_C_SetPIN C_SetPIN;
    CK_C_OpenSession C_OpenSession;
    CK_C_CloseSession C_CloseSession;
    CK_C_CloseAllSessions C_CloseAllSessions;
    CK_C_GetSessionInfo C_GetSessionInfo;
    CK_C_GetOperationState C_GetOperationState;
    CK_C_SetOperationState C_SetOperationState;
    CK_C_Login C_Login;
    CK_C_Logout C_Logout;
    CK_C_CreateObject C_CreateObject;
    CK_C_CopyObject C_CopyObject;
    CK_C_DestroyObject C_DestroyObject;
    CK_C_GetObjectSize C_GetObjectSize;
    CK_C_GetAttributeValue C_GetAttributeValue;
    CK_C_SetAttributeValue C_SetAttributeValue;
    CK_C_FindObjectsInit C_FindObjectsInit;
    CK_C_FindObjects C_FindObjects;
    CK_C_FindObjectsFinal C_FindObjectsFinal;
    CK_C_EncryptInit C_EncryptInit;
    CK_C_Encrypt C_Encrypt;
    CK_C_EncryptUpdate C_EncryptUpdate;
    CK_C_EncryptFinal C_EncryptFinal;
    CK_C_DecryptInit C_DecryptInit;
    CK_C_Decrypt C_Decrypt;
    CK_C_DecryptUpdate C_DecryptUpdate;
    CK_C_DecryptFinal C_DecryptFinal;
    CK_C_DigestInit C_DigestInit;
    CK_C_Digest C_Digest;
    CK_C_DigestUpdate C_DigestUpdate;
    CK_C_DigestKey C_DigestKey;
    CK_C_DigestFinal C_DigestFinal;
    CK_C_SignInit C_SignInit;
    CK_C_Sign C_Sign;
    CK_C_SignUpdate C_SignUpdate;
    CK_C_SignFinal C_SignFinal;
    CK_C_SignRecoverInit C_SignRecoverInit;
    CK_C_SignRecover C_SignRecover;
    CK_C_VerifyInit C_VerifyInit;
    CK_C_Verify C_Verify;
    CK_C_VerifyUpdate C_VerifyUpdate;
    CK_C_VerifyFinal C_VerifyFinal;
    CK_C_VerifyRecoverInit C_VerifyRecoverInit;
    CK_C_VerifyRecover C_VerifyRecover;
    CK_C_DigestEncryptUpdate C_DigestEncryptUpdate;
    CK_C_DecryptDigestUpdate C_DecryptDigestUpdate;
    CK_C_SignEncryptUpdate C_SignEncryptUpdate;
    CK_C_DecryptVerifyUpdate C_DecryptVerifyUpdate;
    CK_C_GenerateKey C_GenerateKey;
    CK_C_GenerateKeyPair C_GenerateKeyPair;
    CK_C_WrapKey C_WrapKey;
    CK_C_UnwrapKey C_UnwrapKey;
    CK_C_DeriveKey C_DeriveKey;
    CK_C_SeedRandom C_SeedRandom;
    CK_C_GenerateRandom C_GenerateRandom;
    CK_C_GetFunctionStatus C_GetFunctionStatus;
    CK_C_CancelFunction C_CancelFunction;
    CK_C_WaitForSlotEvent C_WaitForSlotEvent;
    CK_C_GetInterfaceList C_GetInterfaceList;
    CK_C_GetInterface C_GetInterface;
    CK_C_LoginUser C_LoginUser;
    CK_C_SessionCancel C_SessionCancel;
    CK_C_MessageEncryptInit C_MessageEncryptInit;
    CK_C_EncryptMessage C_EncryptMessage;
    CK_C_EncryptMessageBegin C_EncryptMessageBegin;
    CK_C_EncryptMessageNext C_EncryptMessageNext;
    CK_C_MessageEncryptFinal C_MessageEncryptFinal;
    CK_C_MessageDecryptInit C_MessageDecryptInit;
    CK_C_DecryptMessage C_DecryptMessage;
    CK_C_DecryptMessageBegin C_DecryptMessageBegin;
    CK_C_DecryptMessageNext C_DecryptMessageNext;
    CK_C_MessageDecryptFinal C_MessageDecryptFinal;
    CK_C_MessageSignInit C_MessageSignInit;
    CK_C_SignMessage C_SignMessage;
    CK_C_SignMessageBegin C_SignMessageBegin;
    CK_C_SignMessageNext C_SignMessageNext;
    CK_C_MessageSignFinal C_MessageSignFinal;
    CK_C_MessageVerifyInit C_MessageVerifyInit;
    CK_C_VerifyMessage C_VerifyMessage;
    CK_C_VerifyMessageBegin C_VerifyMessageBegin;
    CK_C_VerifyMessageNext C_VerifyMessageNext;
    CK_C_MessageVerifyFinal C_MessageVerifyFinal;
};

#endif /* CRYPTOKI_VERSION_MAJOR < 3 */

/* p11-kit 0.24's header gives CKR_EXCEEDED_MAX_ITERATIONS,
 * CKR_FIPS_SELF_TEST_FAILED, CKR_LIBRARY_LOAD_FAILED, CKR_PIN_TOO_WEAK and
 * CKR_PUBLIC_KEY_INVALID the values 0x1c0-0x1c4; the OASIS 2.40 and 3.0
 * headers, and so SoftHSM2, NSS and the tokens built on them, use
 * 0x1b5-0x1b9.  The specification wins: p11mux names what tokens return. */
#if defined(CKR_PIN_TOO_WEAK) && CKR_PIN_TOO_WEAK == 0x1c3UL
#undef CKR_EXCEEDED_MAX_ITERATIONS
#undef CKR_FIPS_SELF_TEST_FAILED
#undef CKR_LIBRARY_LOAD_FAILED
#undef CKR_PIN_TOO_WEAK
#undef CKR_PUBLIC_KEY_INVALID
#define CKR_EXCEEDED_MAX_ITERATIONS (0x1b5UL)
#define CKR_FIPS_SELF_TEST_FAILED (0x1b6UL)
#define CKR_LIBRARY_LOAD_FAILED (0x1b7UL)
#define CKR_PIN_TOO_WEAK (0x1b8UL)
#define CKR_PUBLIC_KEY_INVALID (0x1b9UL)
#endif

#endif /* P11MUX_PKCS11_3_0_H */
