/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The signer interface and what every signer derives from its public key. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tke-error.h"
#include "tke-signer.h"

G_DEFINE_INTERFACE (TkeSigner, tke_signer, G_TYPE_OBJECT)

static GQuark ski_quark;

static void
tke_signer_default_init (TkeSignerInterface *iface)
{
  ski_quark = g_quark_from_static_string ("tke-signer-ski");
}

GBytes *
tke_signer_sign_digest (TkeSigner *self, const guint8 *digest, gsize digest_len,
                        GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (TKE_IS_SIGNER (self), NULL);
  g_return_val_if_fail (digest != NULL, NULL);

  if (digest_len != (gsize) EVP_MD_get_size (tke_signer_get_digest (self)))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %zu is the size of the digest given, %s the name of the hash
                    * function whose digests the key signs, such as SHA256. */
                   _ ("The digest has %zu bytes; this key signs %s digests."), digest_len,
                   EVP_MD_get0_name (tke_signer_get_digest (self)));
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  return TKE_SIGNER_GET_IFACE (self)->sign_digest (self, digest, digest_len, cancellable, error);
}

EVP_PKEY *
tke_signer_get_public_key (TkeSigner *self)
{
  g_return_val_if_fail (TKE_IS_SIGNER (self), NULL);
  return TKE_SIGNER_GET_IFACE (self)->get_public_key (self);
}

GBytes *
tke_signer_get_certificate (TkeSigner *self)
{
  g_return_val_if_fail (TKE_IS_SIGNER (self), NULL);
  return TKE_SIGNER_GET_IFACE (self)->get_certificate (self);
}

const char *
tke_signer_get_name (TkeSigner *self)
{
  g_return_val_if_fail (TKE_IS_SIGNER (self), NULL);
  return TKE_SIGNER_GET_IFACE (self)->get_name (self);
}

TkeCurve
tke_signer_get_curve (TkeSigner *self)
{
  TkeCurve curve = TKE_CURVE_P256;

  g_return_val_if_fail (TKE_IS_SIGNER (self), TKE_CURVE_P256);
  if (!tke_ec_key_get_curve (tke_signer_get_public_key (self), &curve, NULL))
    g_critical ("A signer holds a key that is not on P-256, P-384 or P-521");
  return curve;
}

const char *
tke_signer_get_jws_alg (TkeSigner *self)
{
  return tke_curve_jws_alg (tke_signer_get_curve (self));
}

const EVP_MD *
tke_signer_get_digest (TkeSigner *self)
{
  return tke_curve_digest (tke_signer_get_curve (self));
}

const char *
tke_signer_get_ski (TkeSigner *self)
{
  char *ski;

  g_return_val_if_fail (TKE_IS_SIGNER (self), NULL);

  ski = g_object_get_qdata (G_OBJECT (self), ski_quark);
  if (ski == NULL)
    {
      ski = tke_ec_key_get_ski (tke_signer_get_public_key (self), NULL);
      g_return_val_if_fail (ski != NULL, NULL);
      g_object_set_qdata_full (G_OBJECT (self), ski_quark, ski, g_free);
    }
  return ski;
}

GBytes *
tke_signer_get_spki (TkeSigner *self, GError **error)
{
  g_return_val_if_fail (TKE_IS_SIGNER (self), NULL);
  return tke_ec_key_to_spki (tke_signer_get_public_key (self), error);
}

GBytes *
tke_signer_sign_data (TkeSigner *self, const guint8 *data, gsize len, GCancellable *cancellable,
                      GError **error)
{
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;

  g_return_val_if_fail (TKE_IS_SIGNER (self), NULL);

  if (EVP_Digest (data, len, digest, &digest_len, tke_signer_get_digest (self), NULL) != 1)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, _ ("Hashing the data to sign failed."));
      return NULL;
    }
  return tke_signer_sign_digest (self, digest, digest_len, cancellable, error);
}
