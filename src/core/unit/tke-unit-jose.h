/* SPDX-License-Identifier: GPL-3.0-or-later */
/* JOSE objects shared by a crypto unit and its clients: identity-signed JWS, key part JWE. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "tke-secmem.h"

G_BEGIN_DECLS

#define TKE_IMPORTER_TYP "tke-importer/1"
#define TKE_RECEIPT_TYP  "tke-receipt/1"
#define TKE_KEY_PART_LEN 32

/* A flattened JWS (RFC 7515 §7.2.2) over the compact, key-sorted payload, signed by key; kid is
 * the key's SKI (computed when NULL). */
json_t *tke_jws_sign_flattened (EVP_PKEY *key, const char *kid, const json_t *payload,
                                GError **error);
/* Verifies a flattened JWS with libjose against jwk; returns the payload object. */
json_t *tke_jws_verify_flattened (const json_t *jws, const json_t *jwk, GError **error);

/* Checks that the importer key JWS is signed by the unit's identity key and names this unit;
 * returns the importer public JWK (new reference). */
json_t *tke_importer_key_check (const json_t *importer_jws, const json_t *identity_jwk,
                                const char *unit_id, GError **error);
/* JWE (ECDH-ES, A256GCM), flattened, of a 32-byte key part to the importer key. */
json_t *tke_key_part_encrypt (const json_t *importer_jwk, const TkeSecret *part, GError **error);
/* Decrypts with the importer private JWK; the part lands in the secure heap. */
TkeSecret *tke_key_part_decrypt (const json_t *jwe, const json_t *importer_private_jwk,
                                 GError **error);

/* SHA-256 of the compact, key-sorted JSON serialization, base64url: what a receipt binds. */
char *tke_json_hash_b64 (const json_t *value);

G_END_DECLS
