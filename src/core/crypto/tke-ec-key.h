/* SPDX-License-Identifier: GPL-3.0-or-later */
/* EC keys as administrators, units and cards use them: generation, SKI, JWK, ECDSA signature forms, certificates. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>
#include <openssl/evp.h>

G_BEGIN_DECLS

typedef enum
{
  TKE_CURVE_P256,
  TKE_CURVE_P384,
  TKE_CURVE_P521,
} TkeCurve;

/* The longest name an administrator certificate may carry (DESIGN §3). */
#define TKE_ADMIN_NAME_MAX 30
/* SHA-256 in hex. */
#define TKE_SKI_HEX_LEN 64

EVP_PKEY *tke_ec_key_generate (TkeCurve curve, GError **error);
gboolean tke_ec_key_get_curve (EVP_PKEY *key, TkeCurve *curve, GError **error);
const char *tke_curve_name (TkeCurve curve);     /* "P-256" */
const char *tke_curve_jws_alg (TkeCurve curve);  /* "ES256" */
const EVP_MD *tke_curve_digest (TkeCurve curve); /* SHA-256/384/512 */
gsize tke_curve_field_len (TkeCurve curve);      /* 32, 48, 66 */

/* The uncompressed point 04 || X || Y. */
GBytes *tke_ec_key_get_point (EVP_PKEY *key, GError **error);
/* SHA-256 of the uncompressed point, 64 lower-case hex digits. */
char *tke_ec_key_get_ski (EVP_PKEY *key, GError **error);
gboolean tke_ec_key_has_private (EVP_PKEY *key);

/* JWK (RFC 7517) of an EC key; the private part "d" only when asked for. */
json_t *tke_ec_key_to_jwk (EVP_PKEY *key, gboolean include_private, GError **error);
/* Public or private EC JWK of one of the three curves; the point is checked to be on the curve. */
EVP_PKEY *tke_ec_key_from_jwk (const json_t *jwk, GError **error);
/* DER SubjectPublicKeyInfo, and back (only EC keys of the three curves are accepted). */
GBytes *tke_ec_key_to_spki (EVP_PKEY *key, GError **error);
EVP_PKEY *tke_ec_key_from_spki (const guint8 *der, gsize len, GError **error);
/* PKCS#8 DER of the private key, in the secure heap's care of the caller (wipe it). */
GBytes *tke_ec_key_to_private_der (EVP_PKEY *key, GError **error);
EVP_PKEY *tke_ec_key_from_private_der (const guint8 *der, gsize len, GError **error);

/* ECDSA signatures: DER (what OpenSSL and cards produce) and R || S (what JWS carries). */
GBytes *tke_ecdsa_der_to_raw (const guint8 *der, gsize der_len, gsize field_len, GError **error);
GBytes *tke_ecdsa_raw_to_der (const guint8 *raw, gsize raw_len, GError **error);
/* Signs a digest with a private key: DER. */
GBytes *tke_ecdsa_sign_digest (EVP_PKEY *key, const guint8 *digest, gsize digest_len,
                               GError **error);
/* Hashes data with the curve's digest and checks a DER signature. */
gboolean tke_ecdsa_verify_data (EVP_PKEY *key, const guint8 *data, gsize data_len,
                                const guint8 *der, gsize der_len);

/* A self-signed X.509 certificate (DER) whose subject is CN=name. */
GBytes *tke_ec_key_self_signed_certificate (EVP_PKEY *key, const char *name, guint days,
                                            GError **error);
/* Checks a self-signed administrator certificate: parses, verifies its own signature, returns the
 * CN and the public key. */
gboolean tke_certificate_check_self_signed (const guint8 *der, gsize len, char **name,
                                            EVP_PKEY **public_key, GError **error);
/* Checks an administrator name: 1..30 characters of valid UTF-8, no control characters. */
gboolean tke_admin_name_is_valid (const char *name, GError **error);

/* Base64url without padding (RFC 7515 §2). */
char *tke_b64url_encode (const guint8 *data, gsize len);
GBytes *tke_b64url_decode (const char *text, GError **error);

/* Lower-case hex. */
char *tke_hex_encode (const guint8 *data, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)

G_END_DECLS
