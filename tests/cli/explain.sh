#!/bin/sh
# p11mux explain: allowed or refused, and the deciding rule with FILE:LINE,
# for mechanisms, functions, objects and hidden tokens; exit 0 allowed,
# 1 refused, 2 usage, 3 no such slot.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

policy_setup
conf=$TMP/policy.conf
alpha=$(slot_of alpha)
visible=$(slot_of visible)
hidden=$(slot_of hidden)
if [ -z "$alpha" ] || [ -z "$visible" ] || [ -z "$hidden" ]; then
    die "slots not found"
fi

explain() {
    "$P11MUX" explain --config "$conf" "$@"
}

# [policy default] on mock-a: a deny-list only
expect_status 1 "MD5 refused on alpha" explain --slot "$alpha" --mechanism CKM_MD5
expect_line "$OUT" "slot $alpha: backend mock-a, backend slot 0x1, token \"alpha\""
expect_line "$OUT" "policy: default, selected at $conf:4"
expect_line "$OUT" "mechanism CKM_MD5: refused by [policy default] deny-mechanisms = CKM_MD5* CKM_*DES* ($conf:21)"
expect_status 1 "a glob decides" explain --slot "$alpha" --mechanism CKM_DES3_CBC_PAD
expect_contains "$OUT" "deny-mechanisms = CKM_MD5* CKM_*DES* ($conf:21)"
expect_status 0 "SHA-384 allowed on alpha" explain --slot "$alpha" --mechanism CKM_SHA384
expect_line "$OUT" "mechanism CKM_SHA384: allowed: [policy default] has no rule that decides it"
expect_status 0 "a function no rule names" explain --slot "$alpha" --function C_InitToken
# the slot id in decimal works too
decimal=$(printf '%d' "$alpha")
expect_status 0 "a decimal slot id" explain --slot "$decimal" --mechanism CKM_SHA256

# [policy strict] on mock-b (the backend's own policy = strict)
expect_status 0 "ECDSA allowed by the allow-list" explain --slot "$visible" --mechanism CKM_ECDSA
expect_line "$OUT" "policy: strict, selected at $conf:11"
expect_line "$OUT" "mechanism CKM_ECDSA: allowed by [policy strict] mechanisms = CKM_SHA256 CKM_ECDSA ($conf:24)"
expect_status 1 "AES not in the allow-list" explain --slot "$visible" --mechanism CKM_AES_GCM
expect_line "$OUT" "mechanism CKM_AES_GCM: refused by [policy strict] mechanisms = CKM_SHA256 CKM_ECDSA ($conf:24)"
expect_status 1 "a denied function" explain --slot "$visible" --function C_SetPIN
expect_line "$OUT" "function C_SetPIN: refused by [policy strict] deny-functions = C_InitToken C_SetPIN ($conf:26)"
expect_status 1 "C_InitPIN under read-only" explain --slot "$visible" --function C_InitPIN
expect_line "$OUT" "function C_InitPIN: refused by [policy strict] read-only = true ($conf:28)"
expect_status 0 "C_CreateObject under read-only" explain --slot "$visible" --function C_CreateObject
expect_line "$OUT" "function C_CreateObject: allowed on session objects only (CKA_TOKEN false) by [policy strict] read-only = true ($conf:28)"
expect_status 0 "C_Sign: no rule" explain --slot "$visible" --function C_Sign
expect_status 1 "a denied object" explain --slot "$visible" --object "pkcs11:object=backup-key;type=private"
expect_line "$OUT" "object pkcs11:object=backup-key;type=private: refused by [policy strict] deny-objects = pkcs11:object=backup-key ($conf:27)"
expect_status 0 "another object" explain --slot "$visible" --object "pkcs11:object=daily;type=private"

# a hidden token: everything on it is refused
expect_status 1 "a hidden token" explain --slot "$hidden" --mechanism CKM_ECDSA
expect_line "$OUT" "refused: the policy hides this slot's token (CKR_SLOT_ID_INVALID)"
expect_line "$OUT" "  [policy strict] deny-tokens = pkcs11:token=hidden ($conf:25)"

# no policy at all
sed '/^policy = /d' "$conf" >"$TMP/nopolicy.conf"
expect_status 0 "no policy applies" "$P11MUX" explain --config "$TMP/nopolicy.conf" --slot "$alpha" --mechanism CKM_MD5
expect_line "$OUT" "mechanism CKM_MD5: allowed: no policy applies (no policy = in [backend mock-a] or [global])"

# errors
expect_status 3 "an unknown slot" explain --slot 0x7 --mechanism CKM_MD5
expect_contains "$ERR" "p11mux: explain: no slot 0x7"
expect_status 2 "an unknown mechanism" explain --slot "$alpha" --mechanism CKM_NOPE
expect_status 2 "an unknown function" explain --slot "$alpha" --function C_Nope
expect_status 2 "not a URI" explain --slot "$alpha" --object backup-key
expect_status 2 "no question" explain --slot "$alpha"
expect_status 2 "two questions" explain --slot "$alpha" --function C_Sign --mechanism CKM_MD5
expect_status 2 "no slot" explain --mechanism CKM_MD5
expect_status 2 "a malformed slot id" explain --slot 12x --mechanism CKM_MD5

# --token LABEL instead of --slot ID; mechanism names without CKM_ and in
# any case; did-you-mean for mechanisms, functions and token labels
expect_status 1 "MD5 refused on the token alpha" explain --token alpha --mechanism CKM_MD5
expect_line "$OUT" "slot $alpha: backend mock-a, backend slot 0x1, token \"alpha\""
expect_line "$OUT" "mechanism CKM_MD5: refused by [policy default] deny-mechanisms = CKM_MD5* CKM_*DES* ($conf:21)"
expect_status 1 "a hidden token by its label" explain --token hidden --mechanism CKM_ECDSA
expect_line "$OUT" "refused: the policy hides this slot's token (CKR_SLOT_ID_INVALID)"
expect_status 0 "ECDSA without CKM_" explain --token visible --mechanism ECDSA
expect_line "$OUT" "mechanism CKM_ECDSA: allowed by [policy strict] mechanisms = CKM_SHA256 CKM_ECDSA ($conf:24)"
expect_status 1 "md5, lower case" explain --slot "$alpha" --mechanism md5
expect_line "$OUT" "mechanism CKM_MD5: refused by [policy default] deny-mechanisms = CKM_MD5* CKM_*DES* ($conf:21)"
expect_status 2 "a misspelt mechanism" explain --slot "$alpha" --mechanism CKM_ECDSA_SHA265
expect_line "$ERR" "p11mux: explain: unknown mechanism 'CKM_ECDSA_SHA265' (did you mean 'CKM_ECDSA_SHA256'?)"
expect_status 2 "a misspelt mechanism without CKM_" explain --slot "$alpha" --mechanism ECDAS
expect_line "$ERR" "p11mux: explain: unknown mechanism 'ECDAS' (did you mean 'CKM_ECDSA'?)"
expect_status 2 "a misspelt function" explain --slot "$alpha" --function C_SingInit
expect_line "$ERR" "p11mux: explain: unknown function 'C_SingInit' (did you mean 'C_SignInit'?)"
expect_status 3 "an unknown token" explain --token alpah --mechanism CKM_MD5
expect_line "$ERR" "p11mux: explain: no token labelled 'alpah' (did you mean 'alpha'?) (see p11mux list)"
expect_status 2 "--slot and --token together" explain --slot "$alpha" --token alpha --mechanism CKM_MD5
sed 's/^token-label = .*/token-label = alpha/' "$TMP/mock-b.conf" >"$TMP/mock-b2.conf"
mv "$TMP/mock-b2.conf" "$TMP/mock-b.conf"
expect_status 3 "a label two tokens share" explain --token alpha --mechanism CKM_MD5
expect_contains "$ERR" "tokens are labelled 'alpha' (slots"
expect_contains "$ERR" "give --slot ID"

# did-you-mean for a policy name
printf '[global]\npolicy = strickt\n[policy strict]\nread-only = true\n[backend a]\nmodule = /lib/a.so\n' >"$TMP/typo.conf"
expect_status 1 "check-config: an undefined policy" "$P11MUX" check-config --config "$TMP/typo.conf"
expect_line "$ERR" "$TMP/typo.conf:2: policy 'strickt' is not defined (no [policy strickt] group) (did you mean 'strict'?)"
