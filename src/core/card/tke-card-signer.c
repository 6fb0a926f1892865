/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The card-backed TkeSigner: each signature is one transaction of SELECT, VERIFY, GENERAL
 * AUTHENTICATE on slot 9A. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <openssl/err.h>

#include "tke-card-profile.h"
#include "tke-card-signer.h"
#include "tke-ec-key.h"
#include "tke-error.h"

struct _TkeCardSigner
{
  GObject parent_instance;

  TkePivClient *piv;
  TkeSecret *pin; /* NULL: PIN pad */
  EVP_PKEY *public_key;
  GBytes *certificate;
  char *name;
  TkePivAlgorithm algorithm;
};

static void tke_card_signer_signer_init (TkeSignerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TkeCardSigner, tke_card_signer, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TKE_TYPE_SIGNER, tke_card_signer_signer_init))

static gboolean
verify_digest (EVP_PKEY *key, const guint8 *digest, gsize digest_len, GBytes *signature)
{
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new (key, NULL);
  gboolean ok;

  ok = ctx != NULL && EVP_PKEY_verify_init (ctx) == 1 &&
       EVP_PKEY_verify (ctx, g_bytes_get_data (signature, NULL), g_bytes_get_size (signature),
                        digest, digest_len) == 1;
  EVP_PKEY_CTX_free (ctx);
  ERR_clear_error ();
  return ok;
}

static GBytes *
tke_card_signer_sign_digest (TkeSigner *signer, const guint8 *digest, gsize digest_len,
                             GCancellable *cancellable, GError **error)
{
  TkeCardSigner *self = TKE_CARD_SIGNER (signer);
  GBytes *signature = NULL;
  gboolean verified;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!tke_piv_client_begin (self->piv, error))
    return NULL;
  /* The PIN is verified right before the signature, in the same transaction: other software
   * may have reset the card since the last one. */
  if (self->pin != NULL)
    verified = tke_piv_client_verify (self->piv, TKE_PIV_PIN, self->pin, NULL, error);
  else
    verified = tke_piv_client_verify_pin_pad (self->piv, TKE_PIV_PIN, NULL, error);
  if (verified)
    signature = tke_piv_client_sign_digest (self->piv, TKE_PIV_SLOT_AUTHENTICATION, self->algorithm,
                                            digest, digest_len, error);
  tke_piv_client_end (self->piv);
  if (signature != NULL && !verify_digest (self->public_key, digest, digest_len, signature))
    {
      g_clear_pointer (&signature, g_bytes_unref);
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("The card's signature does not match its certificate: the card holds "
                      "another key than its certificate says."));
    }
  return signature;
}

static EVP_PKEY *
tke_card_signer_get_public_key (TkeSigner *signer)
{
  return TKE_CARD_SIGNER (signer)->public_key;
}

static GBytes *
tke_card_signer_get_certificate (TkeSigner *signer)
{
  return TKE_CARD_SIGNER (signer)->certificate;
}

static const char *
tke_card_signer_get_name (TkeSigner *signer)
{
  return TKE_CARD_SIGNER (signer)->name;
}

static void
tke_card_signer_signer_init (TkeSignerInterface *iface)
{
  iface->sign_digest = tke_card_signer_sign_digest;
  iface->get_public_key = tke_card_signer_get_public_key;
  iface->get_certificate = tke_card_signer_get_certificate;
  iface->get_name = tke_card_signer_get_name;
}

static void
tke_card_signer_finalize (GObject *object)
{
  TkeCardSigner *self = TKE_CARD_SIGNER (object);

  g_clear_object (&self->piv);
  g_clear_pointer (&self->pin, tke_secret_free);
  g_clear_pointer (&self->public_key, EVP_PKEY_free);
  g_clear_pointer (&self->certificate, g_bytes_unref);
  g_free (self->name);

  G_OBJECT_CLASS (tke_card_signer_parent_class)->finalize (object);
}

static void
tke_card_signer_class_init (TkeCardSignerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_card_signer_finalize;
}

static void
tke_card_signer_init (TkeCardSigner *self)
{
}

TkeCardSigner *
tke_card_signer_new (TkePivClient *piv, const TkeSecret *pin, GError **error)
{
  g_autoptr (TkeCardSigner) self = NULL;
  TkeCurve curve;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), NULL);

  self = g_object_new (TKE_TYPE_CARD_SIGNER, NULL);
  self->piv = g_object_ref (piv);
  self->certificate = tke_card_profile_read_certificate (piv, error);
  if (self->certificate == NULL)
    return NULL;
  if (!tke_certificate_check_self_signed (g_bytes_get_data (self->certificate, NULL),
                                          g_bytes_get_size (self->certificate), &self->name,
                                          &self->public_key, error) ||
      !tke_ec_key_get_curve (self->public_key, &curve, error))
    return NULL;
  if (curve != TKE_CURVE_P256 && curve != TKE_CURVE_P384)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The card's signature certificate has a key a PIV card cannot hold."));
      return NULL;
    }
  self->algorithm = curve == TKE_CURVE_P256 ? TKE_PIV_ALG_ECCP256 : TKE_PIV_ALG_ECCP384;
  if (pin != NULL)
    {
      self->pin = tke_secret_copy (pin, error);
      if (self->pin == NULL)
        return NULL;
    }
  return g_steal_pointer (&self);
}
