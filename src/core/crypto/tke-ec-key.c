/* SPDX-License-Identifier: GPL-3.0-or-later */
/* EC key helpers on OpenSSL 3: the forms in which administrator, unit and card keys travel. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-secmem.h"
#include "tke-text.h"

static const struct
{
  const char *group;
  const char *jwk;
  const char *alg;
  gsize field_len;
} curves[] = {
  [TKE_CURVE_P256] = { "prime256v1", "P-256", "ES256", 32 },
  [TKE_CURVE_P384] = { "secp384r1", "P-384", "ES384", 48 },
  [TKE_CURVE_P521] = { "secp521r1", "P-521", "ES512", 66 },
};

/* OpenSSL's description of its last error, for a message; its error queue is emptied. The text
 * is in a buffer of the calling thread, which the next call overwrites. */
static const char *
crypto_detail (void)
{
  static _Thread_local char buf[256];
  unsigned long code = ERR_get_error ();

  ERR_clear_error ();
  if (code == 0)
    return _ ("no detail");
  ERR_error_string_n (code, buf, sizeof buf);
  return buf;
}

/* A TKE_ERROR_CRYPTO error; format is a whole sentence, its %s for crypto_detail (). */
G_GNUC_PRINTF (2, 3)
static gboolean
set_crypto_error (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (TKE_ERROR, TKE_ERROR_CRYPTO, format, args));
  va_end (args);
  return FALSE;
}

const char *
tke_curve_name (TkeCurve curve)
{
  g_return_val_if_fail (curve <= TKE_CURVE_P521, NULL);
  return curves[curve].jwk;
}

const char *
tke_curve_jws_alg (TkeCurve curve)
{
  g_return_val_if_fail (curve <= TKE_CURVE_P521, NULL);
  return curves[curve].alg;
}

const EVP_MD *
tke_curve_digest (TkeCurve curve)
{
  switch (curve)
    {
      case TKE_CURVE_P256:
        return EVP_sha256 ();
      case TKE_CURVE_P384:
        return EVP_sha384 ();
      case TKE_CURVE_P521:
        return EVP_sha512 ();
    }
  g_return_val_if_reached (NULL);
}

gsize
tke_curve_field_len (TkeCurve curve)
{
  g_return_val_if_fail (curve <= TKE_CURVE_P521, 0);
  return curves[curve].field_len;
}

EVP_PKEY *
tke_ec_key_generate (TkeCurve curve, GError **error)
{
  EVP_PKEY *key;

  g_return_val_if_fail (curve <= TKE_CURVE_P521, NULL);

  /* OpenSSL keeps the private scalar of an EC key in the secure heap when one is set up, and
   * clears it when the key is freed. */
  key = EVP_EC_gen (curves[curve].group);
  if (key == NULL)
    set_crypto_error (error,
                      /* TRANSLATORS: %s is OpenSSL's description of the error. */
                      _ ("Generating an EC key failed in OpenSSL (%s)."), crypto_detail ());
  return key;
}

gboolean
tke_ec_key_get_curve (EVP_PKEY *key, TkeCurve *curve, GError **error)
{
  char group[64] = "";
  size_t len = 0;

  g_return_val_if_fail (key != NULL, FALSE);

  if (!EVP_PKEY_is_a (key, "EC") ||
      !EVP_PKEY_get_utf8_string_param (key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("The key is not an elliptic curve key; P-256, P-384 or P-521 is needed."));
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (curves); i++)
    if (g_str_equal (group, curves[i].group))
      {
        if (curve != NULL)
          *curve = i;
        return TRUE;
      }
  g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
               /* TRANSLATORS: %s is OpenSSL's name of the key's curve. */
               _ ("The key is on curve %s; only P-256, P-384 and P-521 are supported."), group);
  return FALSE;
}

GBytes *
tke_ec_key_get_point (EVP_PKEY *key, GError **error)
{
  guint8 buf[1 + 2 * 66];
  size_t len = 0;

  if (!tke_ec_key_get_curve (key, NULL, error))
    return NULL;
  if (!EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof buf,
                                        &len) ||
      len < 1)
    {
      set_crypto_error (error,
                        /* TRANSLATORS: %s is OpenSSL's description of the error. */
                        _ ("Reading the public point failed in OpenSSL (%s)."), crypto_detail ());
      return NULL;
    }
  if (buf[0] != 0x04)
    {
      /* The key was imported with a compressed point: ask for the uncompressed form. */
      if (!EVP_PKEY_set_utf8_string_param (key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) ||
          !EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf,
                                            sizeof buf, &len) ||
          buf[0] != 0x04)
        {
          set_crypto_error (error,
                            /* TRANSLATORS: %s is OpenSSL's description of the error. */
                            _ ("Reading the uncompressed public point failed in OpenSSL (%s)."),
                            crypto_detail ());
          return NULL;
        }
    }
  return g_bytes_new (buf, len);
}

char *
tke_hex_encode (const guint8 *data, gsize len)
{
  static const char digits[] = "0123456789abcdef";
  char *out = g_malloc (2 * len + 1);

  for (gsize i = 0; i < len; i++)
    {
      out[2 * i] = digits[data[i] >> 4];
      out[2 * i + 1] = digits[data[i] & 0xf];
    }
  out[2 * len] = '\0';
  return out;
}

char *
tke_ec_key_get_ski (EVP_PKEY *key, GError **error)
{
  g_autoptr (GBytes) point = tke_ec_key_get_point (key, error);
  guint8 digest[32];
  gsize len = 0;
  const guint8 *data;

  if (point == NULL)
    return NULL;
  data = g_bytes_get_data (point, &len);
  if (EVP_Digest (data, len, digest, NULL, EVP_sha256 (), NULL) != 1)
    {
      set_crypto_error (error,
                        /* TRANSLATORS: %s is OpenSSL's description of the error. */
                        _ ("SHA-256 failed in OpenSSL (%s)."), crypto_detail ());
      return NULL;
    }
  return tke_hex_encode (digest, sizeof digest);
}

gboolean
tke_ec_key_has_private (EVP_PKEY *key)
{
  BIGNUM *priv = NULL;
  gboolean has;

  g_return_val_if_fail (key != NULL, FALSE);
  has = EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1;
  BN_clear_free (priv);
  return has;
}

char *
tke_b64url_encode (const guint8 *data, gsize len)
{
  char *out = g_base64_encode (data, len);
  char *w = out;

  for (char *r = out; *r != '\0'; r++)
    {
      if (*r == '=')
        continue;
      *w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
    }
  *w = '\0';
  return out;
}

GBytes *
tke_b64url_decode (const char *text, GError **error)
{
  g_autoptr (GString) std = NULL;
  gsize len = 0, textlen;
  guchar *out;

  if (text == NULL)
    goto bad;
  textlen = strlen (text);
  if (textlen % 4 == 1 || textlen > G_MAXINT / 2)
    goto bad;
  std = g_string_sized_new (textlen + 3);
  for (const char *p = text; *p != '\0'; p++)
    {
      char c = *p;

      if (c == '-')
        c = '+';
      else if (c == '_')
        c = '/';
      else if (!g_ascii_isalnum (c))
        goto bad;
      g_string_append_c (std, c);
    }
  while (std->len % 4 != 0)
    g_string_append_c (std, '=');
  out = g_base64_decode (std->str, &len);
  return g_bytes_new_take (out, len);

bad:
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               _ ("A field that should be base64url (RFC 4648 §5, no padding) is not."));
  return NULL;
}

static char *
bn_to_b64url (const BIGNUM *bn, gsize len)
{
  guint8 buf[66];
  char *out;

  g_assert (len <= sizeof buf);
  if (BN_bn2binpad (bn, buf, len) != (int) len)
    return NULL;
  out = tke_b64url_encode (buf, len);
  OPENSSL_cleanse (buf, sizeof buf);
  return out;
}

json_t *
tke_ec_key_to_jwk (EVP_PKEY *key, gboolean include_private, GError **error)
{
  g_autoptr (GBytes) point = NULL;
  g_autofree char *x = NULL;
  g_autofree char *y = NULL;
  const guint8 *p;
  TkeCurve curve;
  gsize flen, len = 0;
  json_t *jwk;

  if (!tke_ec_key_get_curve (key, &curve, error))
    return NULL;
  point = tke_ec_key_get_point (key, error);
  if (point == NULL)
    return NULL;
  flen = curves[curve].field_len;
  p = g_bytes_get_data (point, &len);
  if (len != 1 + 2 * flen)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, _ ("The public point has a wrong length."));
      return NULL;
    }
  x = tke_b64url_encode (p + 1, flen);
  y = tke_b64url_encode (p + 1 + flen, flen);
  jwk = json_pack ("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", curves[curve].jwk, "x", x, "y", y);

  if (include_private)
    {
      BIGNUM *priv = NULL;
      char *d;

      if (EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1)
        {
          json_decref (jwk);
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       _ ("The key has no private part to export."));
          return NULL;
        }
      d = bn_to_b64url (priv, flen);
      BN_clear_free (priv);
      json_object_set_new (jwk, "d", json_string (d));
      tke_wipe_string_free (d);
    }
  return jwk;
}

EVP_PKEY *
tke_ec_key_from_jwk (const json_t *jwk, GError **error)
{
  const char *kty = NULL, *crv = NULL, *x = NULL, *y = NULL, *d = NULL;
  g_autoptr (GBytes) xb = NULL;
  g_autoptr (GBytes) yb = NULL;
  g_autoptr (GBytes) db = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *key = NULL;
  BIGNUM *priv = NULL;
  guint8 point[1 + 2 * 66];
  gsize flen;
  int curve = -1;

  if (!json_is_object (jwk) ||
      json_unpack ((json_t *) jwk, "{s:s, s:s, s:s, s:s, s?s}", "kty", &kty, "crv", &crv, "x", &x,
                   "y", &y, "d", &d) != 0 ||
      !g_str_equal (kty, "EC"))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The key is not an EC JWK with kty, crv, x and y."));
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (curves); i++)
    if (g_str_equal (crv, curves[i].jwk))
      curve = i;
  if (curve < 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   /* TRANSLATORS: %s is the curve the key names. */
                   _ ("The key's curve %s is not one of P-256, P-384 and P-521."), crv);
      return NULL;
    }
  flen = curves[curve].field_len;
  xb = tke_b64url_decode (x, NULL);
  yb = tke_b64url_decode (y, NULL);
  if (d != NULL)
    db = tke_b64url_decode (d, NULL);
  if (xb == NULL || yb == NULL || g_bytes_get_size (xb) != flen || g_bytes_get_size (yb) != flen ||
      (d != NULL && (db == NULL || g_bytes_get_size (db) != flen)))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The key's coordinates do not have the length of curve %s."), crv);
      return NULL;
    }
  point[0] = 0x04;
  memcpy (point + 1, g_bytes_get_data (xb, NULL), flen);
  memcpy (point + 1 + flen, g_bytes_get_data (yb, NULL), flen);

  bld = OSSL_PARAM_BLD_new ();
  if (db != NULL)
    priv = BN_secure_new ();
  if (bld == NULL ||
      !OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[curve].group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * flen) ||
      (db != NULL && (priv == NULL || BN_bin2bn (g_bytes_get_data (db, NULL), flen, priv) == NULL ||
                      !OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_PRIV_KEY, priv))) ||
      (params = OSSL_PARAM_BLD_to_param (bld)) == NULL ||
      (ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL)) == NULL ||
      EVP_PKEY_fromdata_init (ctx) != 1 ||
      EVP_PKEY_fromdata (ctx, &key, db != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) !=
          1)
    {
      /* Most often the point is not on the curve: what came in is not a key. */
      ERR_clear_error ();
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The JWK does not hold a valid key on curve %s."), crv);
      key = NULL;
    }
  OSSL_PARAM_free (params);
  OSSL_PARAM_BLD_free (bld);
  BN_clear_free (priv);
  EVP_PKEY_CTX_free (ctx);
  if (db != NULL)
    OPENSSL_cleanse ((void *) g_bytes_get_data (db, NULL), flen);

  if (key != NULL)
    {
      /* fromdata does not check that the point lies on the curve; a public key check does. */
      EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL);

      if (check == NULL || EVP_PKEY_public_check (check) != 1)
        {
          EVP_PKEY_free (key);
          key = NULL;
          ERR_clear_error ();
          g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                       _ ("The key's point is not on curve %s."), crv);
        }
      EVP_PKEY_CTX_free (check);
    }
  return key;
}

GBytes *
tke_ec_key_to_spki (EVP_PKEY *key, GError **error)
{
  unsigned char *der = NULL;
  int len;
  GBytes *out;

  if (!tke_ec_key_get_curve (key, NULL, error))
    return NULL;
  len = i2d_PUBKEY (key, &der);
  if (len <= 0)
    {
      set_crypto_error (error,
                        /* TRANSLATORS: %s is OpenSSL's description of the error. */
                        _ ("Encoding the public key failed in OpenSSL (%s)."), crypto_detail ());
      return NULL;
    }
  out = g_bytes_new (der, len);
  OPENSSL_free (der);
  return out;
}

EVP_PKEY *
tke_ec_key_from_spki (const guint8 *der, gsize len, GError **error)
{
  const unsigned char *p = der;
  EVP_PKEY *key;

  if (der == NULL || len == 0 || len > G_MAXINT)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED, _ ("The public key is empty."));
      return NULL;
    }
  key = d2i_PUBKEY (NULL, &p, (long) len);
  if (key == NULL || p != der + len)
    {
      EVP_PKEY_free (key);
      ERR_clear_error ();
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The public key is not a DER SubjectPublicKeyInfo."));
      return NULL;
    }
  if (!tke_ec_key_get_curve (key, NULL, error))
    {
      EVP_PKEY_free (key);
      return NULL;
    }
  return key;
}

static void
wipe_and_free (gpointer data)
{
  GByteArray *array = data;

  OPENSSL_cleanse (array->data, array->len);
  g_byte_array_unref (array);
}

GBytes *
tke_ec_key_to_private_der (EVP_PKEY *key, GError **error)
{
  unsigned char *der = NULL;
  GByteArray *array;
  int len;

  len = i2d_PrivateKey (key, &der);
  if (len <= 0)
    {
      set_crypto_error (error,
                        /* TRANSLATORS: %s is OpenSSL's description of the error. */
                        _ ("Encoding the private key failed in OpenSSL (%s)."), crypto_detail ());
      return NULL;
    }
  array = g_byte_array_sized_new (len);
  g_byte_array_append (array, der, len);
  OPENSSL_clear_free (der, len);
  return g_bytes_new_with_free_func (array->data, array->len, wipe_and_free, array);
}

EVP_PKEY *
tke_ec_key_from_private_der (const guint8 *der, gsize len, GError **error)
{
  const unsigned char *p = der;
  EVP_PKEY *key;

  if (der == NULL || len == 0 || len > G_MAXINT)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED, _ ("The private key is empty."));
      return NULL;
    }
  key = d2i_AutoPrivateKey (NULL, &p, (long) len);
  if (key == NULL)
    {
      ERR_clear_error ();
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED, _ ("The private key does not parse."));
      return NULL;
    }
  if (!tke_ec_key_get_curve (key, NULL, error))
    {
      EVP_PKEY_free (key);
      return NULL;
    }
  return key;
}

GBytes *
tke_ecdsa_der_to_raw (const guint8 *der, gsize der_len, gsize field_len, GError **error)
{
  const unsigned char *p = der;
  const BIGNUM *r = NULL, *s = NULL;
  ECDSA_SIG *sig;
  guint8 *raw;

  if (der == NULL || der_len == 0 || der_len > 256 || field_len == 0 || field_len > 66)
    goto bad;
  sig = d2i_ECDSA_SIG (NULL, &p, (long) der_len);
  if (sig == NULL || p != der + der_len)
    {
      ECDSA_SIG_free (sig);
      goto bad;
    }
  ECDSA_SIG_get0 (sig, &r, &s);
  raw = g_malloc (2 * field_len);
  if (BN_bn2binpad (r, raw, field_len) != (int) field_len ||
      BN_bn2binpad (s, raw + field_len, field_len) != (int) field_len)
    {
      g_free (raw);
      ECDSA_SIG_free (sig);
      goto bad;
    }
  ECDSA_SIG_free (sig);
  return g_bytes_new_take (raw, 2 * field_len);

bad:
  ERR_clear_error ();
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               _ ("The ECDSA signature is not a DER signature for this key size."));
  return NULL;
}

GBytes *
tke_ecdsa_raw_to_der (const guint8 *raw, gsize raw_len, GError **error)
{
  ECDSA_SIG *sig = NULL;
  BIGNUM *r = NULL, *s = NULL;
  unsigned char *der = NULL;
  GBytes *out;
  int len;

  if (raw == NULL || raw_len == 0 || raw_len % 2 != 0 || raw_len > 132)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("An R || S signature must have two halves of the key's size."));
      return NULL;
    }
  sig = ECDSA_SIG_new ();
  r = BN_bin2bn (raw, raw_len / 2, NULL);
  s = BN_bin2bn (raw + raw_len / 2, raw_len / 2, NULL);
  if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0 (sig, r, s) != 1)
    {
      BN_free (r);
      BN_free (s);
      ECDSA_SIG_free (sig);
      set_crypto_error (error,
                        /* TRANSLATORS: %s is OpenSSL's description of the error. */
                        _ ("Encoding the signature failed in OpenSSL (%s)."), crypto_detail ());
      return NULL;
    }
  len = i2d_ECDSA_SIG (sig, &der);
  ECDSA_SIG_free (sig);
  if (len <= 0)
    {
      set_crypto_error (error,
                        /* TRANSLATORS: %s is OpenSSL's description of the error. */
                        _ ("Encoding the signature failed in OpenSSL (%s)."), crypto_detail ());
      return NULL;
    }
  out = g_bytes_new (der, len);
  OPENSSL_free (der);
  return out;
}

GBytes *
tke_ecdsa_sign_digest (EVP_PKEY *key, const guint8 *digest, gsize digest_len, GError **error)
{
  EVP_PKEY_CTX *ctx;
  guint8 sig[160];
  size_t sig_len = sizeof sig;

  g_return_val_if_fail (key != NULL && digest != NULL, NULL);

  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL);
  if (ctx == NULL || EVP_PKEY_sign_init (ctx) != 1 ||
      EVP_PKEY_sign (ctx, sig, &sig_len, digest, digest_len) != 1)
    {
      EVP_PKEY_CTX_free (ctx);
      set_crypto_error (error,
                        /* TRANSLATORS: %s is OpenSSL's description of the error. */
                        _ ("ECDSA signing failed in OpenSSL (%s)."), crypto_detail ());
      return NULL;
    }
  EVP_PKEY_CTX_free (ctx);
  return g_bytes_new (sig, sig_len);
}

gboolean
tke_ecdsa_verify_data (EVP_PKEY *key, const guint8 *data, gsize data_len, const guint8 *der,
                       gsize der_len)
{
  EVP_MD_CTX *ctx;
  TkeCurve curve;
  gboolean ok;

  if (!tke_ec_key_get_curve (key, &curve, NULL))
    return FALSE;
  ctx = EVP_MD_CTX_new ();
  ok = ctx != NULL && EVP_DigestVerifyInit (ctx, NULL, tke_curve_digest (curve), NULL, key) == 1 &&
       EVP_DigestVerify (ctx, der, der_len, data, data_len) == 1;
  EVP_MD_CTX_free (ctx);
  ERR_clear_error ();
  return ok;
}

gboolean
tke_admin_name_is_valid (const char *name, GError **error)
{
  glong chars;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    goto bad;
  chars = g_utf8_strlen (name, -1);
  if (chars < 1 || chars > TKE_ADMIN_NAME_MAX)
    goto bad;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    if (!tke_text_char_is_safe (g_utf8_get_char (p)))
      goto bad;
  return TRUE;

bad:
  g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
               _ ("An administrator name must be 1 to %d printable characters."),
               TKE_ADMIN_NAME_MAX);
  return FALSE;
}

GBytes *
tke_ec_key_self_signed_certificate (EVP_PKEY *key, const char *name, guint days, GError **error)
{
  X509 *cert = NULL;
  X509_NAME *subject;
  unsigned char *der = NULL;
  guint8 serial[16];
  BIGNUM *serial_bn = NULL;
  TkeCurve curve;
  GBytes *out = NULL;
  int len;

  if (!tke_ec_key_get_curve (key, &curve, error) || !tke_admin_name_is_valid (name, error))
    return NULL;
  if (!tke_ec_key_has_private (key))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A self-signed certificate needs the private key."));
      return NULL;
    }
  if (RAND_bytes (serial, sizeof serial) != 1)
    return set_crypto_error (error,
                             /* TRANSLATORS: %s is OpenSSL's description of the error. */
                             _ ("Random serial number failed in OpenSSL (%s)."), crypto_detail ()),
           NULL;
  serial[0] &= 0x7f;

  cert = X509_new ();
  subject = X509_NAME_new ();
  serial_bn = BN_bin2bn (serial, sizeof serial, NULL);
  if (cert == NULL || subject == NULL || serial_bn == NULL || X509_set_version (cert, 2) != 1 ||
      BN_to_ASN1_INTEGER (serial_bn, X509_get_serialNumber (cert)) == NULL ||
      X509_NAME_add_entry_by_txt (subject, "CN", MBSTRING_UTF8, (const unsigned char *) name, -1,
                                  -1, 0) != 1 ||
      X509_set_subject_name (cert, subject) != 1 || X509_set_issuer_name (cert, subject) != 1 ||
      X509_gmtime_adj (X509_getm_notBefore (cert), -60) == NULL ||
      X509_gmtime_adj (X509_getm_notAfter (cert), (long) days * 86400) == NULL ||
      X509_set_pubkey (cert, key) != 1 || X509_sign (cert, key, tke_curve_digest (curve)) <= 0 ||
      (len = i2d_X509 (cert, &der)) <= 0)
    set_crypto_error (error,
                      /* TRANSLATORS: %s is OpenSSL's description of the error. */
                      _ ("Creating the self-signed certificate failed in OpenSSL (%s)."),
                      crypto_detail ());
  else
    out = g_bytes_new (der, len);
  OPENSSL_free (der);
  BN_free (serial_bn);
  X509_NAME_free (subject);
  X509_free (cert);
  return out;
}

gboolean
tke_certificate_check_self_signed (const guint8 *der, gsize len, char **name, EVP_PKEY **public_key,
                                   GError **error)
{
  const unsigned char *p = der;
  X509 *cert = NULL;
  EVP_PKEY *key;
  X509_NAME *subject;
  int idx;
  X509_NAME_ENTRY *entry;
  unsigned char *utf8 = NULL;
  int utf8_len;
  g_autofree char *cn = NULL;

  if (der == NULL || len == 0 || len > 16384)
    goto malformed;
  cert = d2i_X509 (NULL, &p, (long) len);
  if (cert == NULL || p != der + len)
    goto malformed;
  key = X509_get0_pubkey (cert);
  if (key == NULL || !tke_ec_key_get_curve (key, NULL, error))
    {
      X509_free (cert);
      if (error != NULL && *error == NULL)
        goto malformed;
      return FALSE;
    }
  if (X509_verify (cert, key) != 1)
    {
      X509_free (cert);
      ERR_clear_error ();
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("The certificate's self-signature does not verify: the key holder did not "
                      "sign it."));
      return FALSE;
    }
  subject = X509_get_subject_name (cert);
  idx = X509_NAME_get_index_by_NID (subject, NID_commonName, -1);
  entry = idx >= 0 ? X509_NAME_get_entry (subject, idx) : NULL;
  utf8_len = entry != NULL ? ASN1_STRING_to_UTF8 (&utf8, X509_NAME_ENTRY_get_data (entry)) : -1;
  if (utf8_len < 0 || memchr (utf8, '\0', utf8_len) != NULL)
    {
      OPENSSL_free (utf8);
      X509_free (cert);
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The certificate has no common name to serve as the administrator name."));
      return FALSE;
    }
  cn = g_strndup ((const char *) utf8, utf8_len);
  OPENSSL_free (utf8);
  if (!tke_admin_name_is_valid (cn, error))
    {
      X509_free (cert);
      return FALSE;
    }
  if (public_key != NULL)
    {
      EVP_PKEY_up_ref (key);
      *public_key = key;
    }
  if (name != NULL)
    *name = g_steal_pointer (&cn);
  X509_free (cert);
  return TRUE;

malformed:
  X509_free (cert);
  ERR_clear_error ();
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               _ ("The certificate is not a DER X.509 "
                  "certificate with an EC key."));
  return FALSE;
}
