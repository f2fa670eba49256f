/*
 * The PKCS #11 3.1 and 3.2 names and types p11mux needs, written from the
 * OASIS PKCS #11 Specification Version 3.2 (its pkcs11t.h and pkcs11f.h):
 * every CKA_, CKO_, CKK_, CKM_ and CKR_ name 3.1 and 3.2 add, the CKF_
 * flags they add, the value names of their new types (CKH_ hedging, CKP_
 * parameter sets, CKS_ validation flags, CKT_ trust, CKV_ validation), the
 * twelve 3.2 functions and CK_FUNCTION_LIST_3_2.
 *
 * Guarded like pkcs11-3.0.h, one #ifndef per name, so that a system header
 * that has them wins; the types only when the system header is older than
 * 3.2.  Include only through p11mux-pkcs11.h, after pkcs11-3.0.h.
 *
 * Prefixes shared with another namespace: CKH_HEDGE_* and
 * CKH_DETERMINISTIC_REQUIRED (CK_HEDGE_TYPE, not hardware features), CKP_ML_*
 * and CKP_SLH_DSA_* (parameter sets, not profiles), CKS_LAST_VALIDATION_OK (a
 * validation flag, not a session state); gen-constants.py leaves them out of
 * those kinds.  XMSS and XMSS^MT parameter sets and LMS/LM-OTS types are the
 * IANA registry's numbers, which the specification does not name.
 */
#ifndef P11MUX_PKCS11_3_2_H
#define P11MUX_PKCS11_3_2_H

/* ----------------------------------------------- CKA_: attribute types */
/* 3.1: HSS (LMS) keys; 3.2: parameter sets, validation objects, trust
 * objects, key encapsulation, seeds */
#ifndef CKA_HSS_LEVELS
#define CKA_HSS_LEVELS (0x617UL)
#endif
#ifndef CKA_HSS_LMS_TYPE
#define CKA_HSS_LMS_TYPE (0x618UL)
#endif
#ifndef CKA_HSS_LMOTS_TYPE
#define CKA_HSS_LMOTS_TYPE (0x619UL)
#endif
#ifndef CKA_HSS_LMS_TYPES
#define CKA_HSS_LMS_TYPES (0x61aUL)
#endif
#ifndef CKA_HSS_LMOTS_TYPES
#define CKA_HSS_LMOTS_TYPES (0x61bUL)
#endif
#ifndef CKA_HSS_KEYS_REMAINING
#define CKA_HSS_KEYS_REMAINING (0x61cUL)
#endif
#ifndef CKA_PARAMETER_SET
#define CKA_PARAMETER_SET (0x61dUL)
#endif
#ifndef CKA_OBJECT_VALIDATION_FLAGS
#define CKA_OBJECT_VALIDATION_FLAGS (0x61eUL)
#endif
#ifndef CKA_VALIDATION_TYPE
#define CKA_VALIDATION_TYPE (0x61fUL)
#endif
#ifndef CKA_VALIDATION_VERSION
#define CKA_VALIDATION_VERSION (0x620UL)
#endif
#ifndef CKA_VALIDATION_LEVEL
#define CKA_VALIDATION_LEVEL (0x621UL)
#endif
#ifndef CKA_VALIDATION_MODULE_ID
#define CKA_VALIDATION_MODULE_ID (0x622UL)
#endif
#ifndef CKA_VALIDATION_FLAG
#define CKA_VALIDATION_FLAG (0x623UL)
#endif
#ifndef CKA_VALIDATION_AUTHORITY_TYPE
#define CKA_VALIDATION_AUTHORITY_TYPE (0x624UL)
#endif
#ifndef CKA_VALIDATION_COUNTRY
#define CKA_VALIDATION_COUNTRY (0x625UL)
#endif
#ifndef CKA_VALIDATION_CERTIFICATE_IDENTIFIER
#define CKA_VALIDATION_CERTIFICATE_IDENTIFIER (0x626UL)
#endif
#ifndef CKA_VALIDATION_CERTIFICATE_URI
#define CKA_VALIDATION_CERTIFICATE_URI (0x627UL)
#endif
#ifndef CKA_VALIDATION_VENDOR_URI
#define CKA_VALIDATION_VENDOR_URI (0x628UL)
#endif
#ifndef CKA_VALIDATION_PROFILE
#define CKA_VALIDATION_PROFILE (0x629UL)
#endif
#ifndef CKA_ENCAPSULATE_TEMPLATE
#define CKA_ENCAPSULATE_TEMPLATE (0x62aUL)
#endif
#ifndef CKA_DECAPSULATE_TEMPLATE
#define CKA_DECAPSULATE_TEMPLATE (0x62bUL)
#endif
#ifndef CKA_TRUST_SERVER_AUTH
#define CKA_TRUST_SERVER_AUTH (0x62cUL)
#endif
#ifndef CKA_TRUST_CLIENT_AUTH
#define CKA_TRUST_CLIENT_AUTH (0x62dUL)
#endif
#ifndef CKA_TRUST_CODE_SIGNING
#define CKA_TRUST_CODE_SIGNING (0x62eUL)
#endif
#ifndef CKA_TRUST_EMAIL_PROTECTION
#define CKA_TRUST_EMAIL_PROTECTION (0x62fUL)
#endif
#ifndef CKA_TRUST_IPSEC_IKE
#define CKA_TRUST_IPSEC_IKE (0x630UL)
#endif
#ifndef CKA_TRUST_TIME_STAMPING
#define CKA_TRUST_TIME_STAMPING (0x631UL)
#endif
#ifndef CKA_TRUST_OCSP_SIGNING
#define CKA_TRUST_OCSP_SIGNING (0x632UL)
#endif
#ifndef CKA_ENCAPSULATE
#define CKA_ENCAPSULATE (0x633UL)
#endif
#ifndef CKA_DECAPSULATE
#define CKA_DECAPSULATE (0x634UL)
#endif
#ifndef CKA_HASH_OF_CERTIFICATE
#define CKA_HASH_OF_CERTIFICATE (0x635UL)
#endif
#ifndef CKA_PUBLIC_CRC64_VALUE
#define CKA_PUBLIC_CRC64_VALUE (0x636UL)
#endif
#ifndef CKA_SEED
#define CKA_SEED (0x637UL)
#endif

/* ------------------------------------------------ CKO_: object classes */
/* 3.2: validation and trust objects */
#ifndef CKO_VALIDATION
#define CKO_VALIDATION (0xaUL)
#endif
#ifndef CKO_TRUST
#define CKO_TRUST (0xbUL)
#endif

/* ----------------------------------------------------- CKK_: key types */
/* 3.1: HSS, XMSS, XMSS^MT; 3.2: ML-KEM, ML-DSA, SLH-DSA */
#ifndef CKK_HSS
#define CKK_HSS (0x46UL)
#endif
#ifndef CKK_XMSS
#define CKK_XMSS (0x47UL)
#endif
#ifndef CKK_XMSSMT
#define CKK_XMSSMT (0x48UL)
#endif
#ifndef CKK_ML_KEM
#define CKK_ML_KEM (0x49UL)
#endif
#ifndef CKK_ML_DSA
#define CKK_ML_DSA (0x4aUL)
#endif
#ifndef CKK_SLH_DSA
#define CKK_SLH_DSA (0x4bUL)
#endif

/* ------------------------------- CKM_: mechanism types, in value order */
/* 3.1 and 3.2: ML-KEM, ML-DSA, HashML-DSA, SLH-DSA, HashSLH-DSA, TLS 1.2
 * extended master secret, AES key wrap with PKCS #7 padding, HSS, XMSS,
 * XMSS^MT, ECDH with AES key wrap variants, public key from private key */
#ifndef CKM_ML_KEM_KEY_PAIR_GEN
#define CKM_ML_KEM_KEY_PAIR_GEN (0xfUL)
#endif
#ifndef CKM_ML_KEM
#define CKM_ML_KEM (0x17UL)
#endif
#ifndef CKM_ML_DSA_KEY_PAIR_GEN
#define CKM_ML_DSA_KEY_PAIR_GEN (0x1cUL)
#endif
#ifndef CKM_ML_DSA
#define CKM_ML_DSA (0x1dUL)
#endif
#ifndef CKM_HASH_ML_DSA
#define CKM_HASH_ML_DSA (0x1fUL)
#endif
#ifndef CKM_HASH_ML_DSA_SHA224
#define CKM_HASH_ML_DSA_SHA224 (0x23UL)
#endif
#ifndef CKM_HASH_ML_DSA_SHA256
#define CKM_HASH_ML_DSA_SHA256 (0x24UL)
#endif
#ifndef CKM_HASH_ML_DSA_SHA384
#define CKM_HASH_ML_DSA_SHA384 (0x25UL)
#endif
#ifndef CKM_HASH_ML_DSA_SHA512
#define CKM_HASH_ML_DSA_SHA512 (0x26UL)
#endif
#ifndef CKM_HASH_ML_DSA_SHA3_224
#define CKM_HASH_ML_DSA_SHA3_224 (0x27UL)
#endif
#ifndef CKM_HASH_ML_DSA_SHA3_256
#define CKM_HASH_ML_DSA_SHA3_256 (0x28UL)
#endif
#ifndef CKM_HASH_ML_DSA_SHA3_384
#define CKM_HASH_ML_DSA_SHA3_384 (0x29UL)
#endif
#ifndef CKM_HASH_ML_DSA_SHA3_512
#define CKM_HASH_ML_DSA_SHA3_512 (0x2aUL)
#endif
#ifndef CKM_HASH_ML_DSA_SHAKE128
#define CKM_HASH_ML_DSA_SHAKE128 (0x2bUL)
#endif
#ifndef CKM_HASH_ML_DSA_SHAKE256
#define CKM_HASH_ML_DSA_SHAKE256 (0x2cUL)
#endif
#ifndef CKM_SLH_DSA_KEY_PAIR_GEN
#define CKM_SLH_DSA_KEY_PAIR_GEN (0x2dUL)
#endif
#ifndef CKM_SLH_DSA
#define CKM_SLH_DSA (0x2eUL)
#endif
#ifndef CKM_HASH_SLH_DSA
#define CKM_HASH_SLH_DSA (0x34UL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHA224
#define CKM_HASH_SLH_DSA_SHA224 (0x36UL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHA256
#define CKM_HASH_SLH_DSA_SHA256 (0x37UL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHA384
#define CKM_HASH_SLH_DSA_SHA384 (0x38UL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHA512
#define CKM_HASH_SLH_DSA_SHA512 (0x39UL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHA3_224
#define CKM_HASH_SLH_DSA_SHA3_224 (0x3aUL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHA3_256
#define CKM_HASH_SLH_DSA_SHA3_256 (0x3bUL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHA3_384
#define CKM_HASH_SLH_DSA_SHA3_384 (0x3cUL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHA3_512
#define CKM_HASH_SLH_DSA_SHA3_512 (0x3dUL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHAKE128
#define CKM_HASH_SLH_DSA_SHAKE128 (0x3eUL)
#endif
#ifndef CKM_HASH_SLH_DSA_SHAKE256
#define CKM_HASH_SLH_DSA_SHAKE256 (0x3fUL)
#endif
#ifndef CKM_TLS12_EXTENDED_MASTER_KEY_DERIVE
#define CKM_TLS12_EXTENDED_MASTER_KEY_DERIVE (0x56UL)
#endif
#ifndef CKM_TLS12_EXTENDED_MASTER_KEY_DERIVE_DH
#define CKM_TLS12_EXTENDED_MASTER_KEY_DERIVE_DH (0x57UL)
#endif
#ifndef CKM_AES_KEY_WRAP_PKCS7
#define CKM_AES_KEY_WRAP_PKCS7 (0x210cUL)
#endif
#ifndef CKM_HSS_KEY_PAIR_GEN
#define CKM_HSS_KEY_PAIR_GEN (0x4032UL)
#endif
#ifndef CKM_HSS
#define CKM_HSS (0x4033UL)
#endif
#ifndef CKM_XMSS_KEY_PAIR_GEN
#define CKM_XMSS_KEY_PAIR_GEN (0x4034UL)
#endif
#ifndef CKM_XMSSMT_KEY_PAIR_GEN
#define CKM_XMSSMT_KEY_PAIR_GEN (0x4035UL)
#endif
#ifndef CKM_XMSS
#define CKM_XMSS (0x4036UL)
#endif
#ifndef CKM_XMSSMT
#define CKM_XMSSMT (0x4037UL)
#endif
#ifndef CKM_ECDH_X_AES_KEY_WRAP
#define CKM_ECDH_X_AES_KEY_WRAP (0x4038UL)
#endif
#ifndef CKM_ECDH_COF_AES_KEY_WRAP
#define CKM_ECDH_COF_AES_KEY_WRAP (0x4039UL)
#endif
#ifndef CKM_PUB_KEY_FROM_PRIV_KEY
#define CKM_PUB_KEY_FROM_PRIV_KEY (0x403aUL)
#endif

/* ------------------------------------------------- CKR_: return values */
/* 3.2: exhausted stateful keys, asynchronous sessions, validation */
#ifndef CKR_KEY_EXHAUSTED
#define CKR_KEY_EXHAUSTED (0x203UL)
#endif
#ifndef CKR_PENDING
#define CKR_PENDING (0x204UL)
#endif
#ifndef CKR_SESSION_ASYNC_NOT_SUPPORTED
#define CKR_SESSION_ASYNC_NOT_SUPPORTED (0x205UL)
#endif
#ifndef CKR_SEED_RANDOM_REQUIRED
#define CKR_SEED_RANDOM_REQUIRED (0x206UL)
#endif
#ifndef CKR_OPERATION_NOT_VALIDATED
#define CKR_OPERATION_NOT_VALIDATED (0x207UL)
#endif
#ifndef CKR_TOKEN_NOT_INITIALIZED
#define CKR_TOKEN_NOT_INITIALIZED (0x208UL)
#endif
#ifndef CKR_PARAMETER_SET_NOT_SUPPORTED
#define CKR_PARAMETER_SET_NOT_SUPPORTED (0x209UL)
#endif
/* -------------------------------------------------------------- CKF_: flags */
/* CK_TOKEN_INFO.flags */
#ifndef CKF_SEED_RANDOM_REQUIRED
#define CKF_SEED_RANDOM_REQUIRED (0x02000000UL)
#endif
#ifndef CKF_ASYNC_SESSION_SUPPORTED
#define CKF_ASYNC_SESSION_SUPPORTED (0x04000000UL)
#endif
/* CK_SESSION_INFO.flags and C_OpenSession's flags */
#ifndef CKF_ASYNC_SESSION
#define CKF_ASYNC_SESSION (0x00000008UL)
#endif
/* CK_MECHANISM_INFO.flags */
#ifndef CKF_ENCAPSULATE
#define CKF_ENCAPSULATE (0x10000000UL)
#endif
#ifndef CKF_DECAPSULATE
#define CKF_DECAPSULATE (0x20000000UL)
#endif

/* ------------------------------------------------ value names of 3.2 types */
/* CK_HEDGE_TYPE, the hedgeVariant of the ML-DSA and SLH-DSA parameters */
#ifndef CKH_HEDGE_PREFERRED
#define CKH_HEDGE_PREFERRED (0x0UL)
#endif
#ifndef CKH_HEDGE_REQUIRED
#define CKH_HEDGE_REQUIRED (0x1UL)
#endif
#ifndef CKH_DETERMINISTIC_REQUIRED
#define CKH_DETERMINISTIC_REQUIRED (0x2UL)
#endif
/* CK_ML_KEM_PARAMETER_SET_TYPE (CKA_PARAMETER_SET of CKK_ML_KEM keys) */
#ifndef CKP_ML_KEM_512
#define CKP_ML_KEM_512 (0x1UL)
#endif
#ifndef CKP_ML_KEM_768
#define CKP_ML_KEM_768 (0x2UL)
#endif
#ifndef CKP_ML_KEM_1024
#define CKP_ML_KEM_1024 (0x3UL)
#endif
/* CK_ML_DSA_PARAMETER_SET_TYPE */
#ifndef CKP_ML_DSA_44
#define CKP_ML_DSA_44 (0x1UL)
#endif
#ifndef CKP_ML_DSA_65
#define CKP_ML_DSA_65 (0x2UL)
#endif
#ifndef CKP_ML_DSA_87
#define CKP_ML_DSA_87 (0x3UL)
#endif
/* CK_SLH_DSA_PARAMETER_SET_TYPE */
#ifndef CKP_SLH_DSA_SHA2_128S
#define CKP_SLH_DSA_SHA2_128S (0x1UL)
#endif
#ifndef CKP_SLH_DSA_SHAKE_128S
#define CKP_SLH_DSA_SHAKE_128S (0x2UL)
#endif
#ifndef CKP_SLH_DSA_SHA2_128F
#define CKP_SLH_DSA_SHA2_128F (0x3UL)
#endif
#ifndef CKP_SLH_DSA_SHAKE_128F
#define CKP_SLH_DSA_SHAKE_128F (0x4UL)
#endif
#ifndef CKP_SLH_DSA_SHA2_192S
#define CKP_SLH_DSA_SHA2_192S (0x5UL)
#endif
#ifndef CKP_SLH_DSA_SHAKE_192S
#define CKP_SLH_DSA_SHAKE_192S (0x6UL)
#endif
#ifndef CKP_SLH_DSA_SHA2_192F
#define CKP_SLH_DSA_SHA2_192F (0x7UL)
#endif
#ifndef CKP_SLH_DSA_SHAKE_192F
#define CKP_SLH_DSA_SHAKE_192F (0x8UL)
#endif
#ifndef CKP_SLH_DSA_SHA2_256S
#define CKP_SLH_DSA_SHA2_256S (0x9UL)
#endif
#ifndef CKP_SLH_DSA_SHAKE_256S
#define CKP_SLH_DSA_SHAKE_256S (0xaUL)
#endif
#ifndef CKP_SLH_DSA_SHA2_256F
#define CKP_SLH_DSA_SHA2_256F (0xbUL)
#endif
#ifndef CKP_SLH_DSA_SHAKE_256F
#define CKP_SLH_DSA_SHAKE_256F (0xcUL)
#endif
/* CK_SESSION_VALIDATION_FLAGS_TYPE, the type of C_GetSessionValidationFlags */
#ifndef CKS_LAST_VALIDATION_OK
#define CKS_LAST_VALIDATION_OK (0x1UL)
#endif
/* CK_TRUST, the value of the CKA_TRUST_* attributes */
#ifndef CKT_TRUST_UNKNOWN
#define CKT_TRUST_UNKNOWN (0x0UL)
#endif
#ifndef CKT_TRUSTED
#define CKT_TRUSTED (0x1UL)
#endif
#ifndef CKT_TRUST_ANCHOR
#define CKT_TRUST_ANCHOR (0x2UL)
#endif
#ifndef CKT_NOT_TRUSTED
#define CKT_NOT_TRUSTED (0x3UL)
#endif
#ifndef CKT_TRUST_MUST_VERIFY_TRUST
#define CKT_TRUST_MUST_VERIFY_TRUST (0x4UL)
#endif
/* CK_VALIDATION_TYPE (CKA_VALIDATION_TYPE) */
#ifndef CKV_TYPE_UNSPECIFIED
#define CKV_TYPE_UNSPECIFIED (0x0UL)
#endif
#ifndef CKV_TYPE_SOFTWARE
#define CKV_TYPE_SOFTWARE (0x1UL)
#endif
#ifndef CKV_TYPE_HARDWARE
#define CKV_TYPE_HARDWARE (0x2UL)
#endif
#ifndef CKV_TYPE_FIRMWARE
#define CKV_TYPE_FIRMWARE (0x3UL)
#endif
#ifndef CKV_TYPE_HYBRID
#define CKV_TYPE_HYBRID (0x4UL)
#endif
/* CK_VALIDATION_AUTHORITY_TYPE (CKA_VALIDATION_AUTHORITY_TYPE) */
#ifndef CKV_AUTHORITY_TYPE_UNSPECIFIED
#define CKV_AUTHORITY_TYPE_UNSPECIFIED (0x0UL)
#endif
#ifndef CKV_AUTHORITY_TYPE_NIST_CMVP
#define CKV_AUTHORITY_TYPE_NIST_CMVP (0x1UL)
#endif
#ifndef CKV_AUTHORITY_TYPE_COMMON_CRITERIA
#define CKV_AUTHORITY_TYPE_COMMON_CRITERIA (0x2UL)
#endif

#if !defined(CRYPTOKI_VERSION_MAJOR) || CRYPTOKI_VERSION_MAJOR < 3 ||                            \
    (CRYPTOKI_VERSION_MAJOR == 3 && CRYPTOKI_VERSION_MINOR < 2)

typedef CK_ULONG CK_HEDGE_TYPE;
typedef CK_ULONG CK_ML_KEM_PARAMETER_SET_TYPE;
typedef CK_ULONG CK_ML_DSA_PARAMETER_SET_TYPE;
typedef CK_ULONG CK_SLH_DSA_PARAMETER_SET_TYPE;
typedef CK_ULONG CK_SESSION_VALIDATION_FLAGS_TYPE;
typedef CK_ULONG CK_TRUST;
typedef CK_ULONG CK_VALIDATION_TYPE;
typedef CK_ULONG CK_VALIDATION_AUTHORITY_TYPE;
/* 3.2 names a pointer to CK_FLAGS for C_GetSessionValidationFlags */
typedef CK_FLAGS *CK_FLAGS_PTR;

/* The parameter of CKM_ML_DSA, CKM_SLH_DSA and their pre-hash variants that
 * name their hash (CKM_HASH_ML_DSA_SHA256, ...). */
typedef struct CK_SIGN_ADDITIONAL_CONTEXT {
    CK_HEDGE_TYPE hedgeVariant;
    CK_BYTE_PTR pContext;
    CK_ULONG ulContextLen;
} CK_SIGN_ADDITIONAL_CONTEXT;
typedef CK_SIGN_ADDITIONAL_CONTEXT *CK_SIGN_ADDITIONAL_CONTEXT_PTR;

/* The parameter of CKM_HASH_ML_DSA and CKM_HASH_SLH_DSA: the hash named. */
typedef struct CK_HASH_SIGN_ADDITIONAL_CONTEXT {
    CK_HEDGE_TYPE hedgeVariant;
    CK_BYTE_PTR pContext;
    CK_ULONG ulContextLen;
    CK_MECHANISM_TYPE hash;
} CK_HASH_SIGN_ADDITIONAL_CONTEXT;
typedef CK_HASH_SIGN_ADDITIONAL_CONTEXT *CK_HASH_SIGN_ADDITIONAL_CONTEXT_PTR;

/* What C_AsyncComplete returns of a finished asynchronous call. */
typedef struct CK_ASYNC_DATA {
    CK_ULONG ulVersion;
    CK_BYTE_PTR pValue;
    CK_ULONG ulValue;
    CK_OBJECT_HANDLE hObject;
    CK_OBJECT_HANDLE hAdditionalObject;
} CK_ASYNC_DATA;
typedef CK_ASYNC_DATA *CK_ASYNC_DATA_PTR;

typedef struct CK_FUNCTION_LIST_3_2 CK_FUNCTION_LIST_3_2;
typedef CK_FUNCTION_LIST_3_2 *CK_FUNCTION_LIST_3_2_PTR;
typedef CK_FUNCTION_LIST_3_2_PTR *CK_FUNCTION_LIST_3_2_PTR_PTR;

typedef CK_RV (*CK_C_EncapsulateKey)(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                     CK_OBJECT_HANDLE hPublicKey, CK_ATTRIBUTE_PTR pTemplate,
                                     CK_ULONG ulAttributeCount, CK_BYTE_PTR pCiphertext,
                                     CK_ULONG_PTR pulCiphertextLen, CK_OBJECT_HANDLE_PTR phKey);
typedef CK_RV (*CK_C_DecapsulateKey)(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                     CK_OBJECT_HANDLE hPrivateKey, CK_ATTRIBUTE_PTR pTemplate,
                                     CK_ULONG ulAttributeCount, CK_BYTE_PTR pCiphertext,
                                     CK_ULONG ulCiphertextLen, CK_OBJECT_HANDLE_PTR phKey);
typedef CK_RV (*CK_C_VerifySignatureInit)(CK_SESSION_HANDLE hSession,
                                          CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey,
                                          CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen);
typedef CK_RV (*CK_C_VerifySignature)(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
                                      CK_ULONG ulDataLen);
typedef CK_RV (*CK_C_VerifySignatureUpdate)(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
                                            CK_ULONG ulPartLen);
typedef CK_RV (*CK_C_VerifySignatureFinal)(CK_SESSION_HANDLE hSession);
typedef CK_RV (*CK_C_GetSessionValidationFlags)(CK_SESSION_HANDLE hSession,
                                                CK_SESSION_VALIDATION_FLAGS_TYPE type,
                                                CK_FLAGS_PTR pFlags);
typedef CK_RV (*CK_C_AsyncComplete)(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pFunctionName,
                                    CK_ASYNC_DATA_PTR pResult);
typedef CK_RV (*CK_C_AsyncGetID)(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pFunctionName,
                                 CK_ULONG_PTR pulID);
typedef CK_RV (*CK_C_AsyncJoin)(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pFunctionName,
                                CK_ULONG ulID, CK_BYTE_PTR pData, CK_ULONG ulData);
typedef CK_RV (*CK_C_WrapKeyAuthenticated)(CK_SESSION_HANDLE hSession,
                                           CK_MECHANISM_PTR pMechanism,
                                           CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                                           CK_BYTE_PTR pAssociatedData,
                                           CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pWrappedKey,
                                           CK_ULONG_PTR pulWrappedKeyLen);
typedef CK_RV (*CK_C_UnwrapKeyAuthenticated)(
    CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hUnwrappingKey,
    CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
    CK_ULONG ulAttributeCount, CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen,
    CK_OBJECT_HANDLE_PTR phKey);

/* Specification order: the 3.0 list, then the 3.2 additions. */
struct CK_FUNCTION_LIST_3_2 {
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
    CK_C_EncapsulateKey C_EncapsulateKey;
    CK_C_DecapsulateKey C_DecapsulateKey;
    CK_C_VerifySignatureInit C_VerifySignatureInit;
    CK_C_VerifySignature C_VerifySignature;
    CK_C_VerifySignatureUpdate C_VerifySignatureUpdate;
    CK_C_VerifySignatureFinal C_VerifySignatureFinal;
    CK_C_GetSessionValidationFlags C_GetSessionValidationFlags;
    CK_C_AsyncComplete C_AsyncComplete;
    CK_C_AsyncGetID C_AsyncGetID;
    CK_C_AsyncJoin C_AsyncJoin;
    CK_C_WrapKeyAuthenticated C_WrapKeyAuthenticated;
    CK_C_UnwrapKeyAuthenticated C_UnwrapKeyAuthenticated;
};

#endif /* CRYPTOKI_VERSION < 3.2 */

#endif /* P11MUX_PKCS11_3_2_H */
