/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The in-memory signer: an OpenSSL EC private key, freed (and so cleared) with the object. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tke-error.h"
#include "tke-memory-signer.h"

struct _TkeMemorySigner
{
  GObject parent_instance;

  EVP_PKEY *key;
  GBytes *certificate;
  char *name;
};

static void tke_memory_signer_signer_init (TkeSignerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TkeMemorySigner, tke_memory_signer, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TKE_TYPE_SIGNER,
                                                      tke_memory_signer_signer_init))

static GBytes *
tke_memory_signer_sign_digest (TkeSigner *signer, const guint8 *digest, gsize digest_len,
                               GCancellable *cancellable, GError **error)
{
  TkeMemorySigner *self = TKE_MEMORY_SIGNER (signer);

  return tke_ecdsa_sign_digest (self->key, digest, digest_len, error);
}

static EVP_PKEY *
tke_memory_signer_get_public_key (TkeSigner *signer)
{
  return TKE_MEMORY_SIGNER (signer)->key;
}

static GBytes *
tke_memory_signer_get_certificate (TkeSigner *signer)
{
  return TKE_MEMORY_SIGNER (signer)->certificate;
}

static const char *
tke_memory_signer_get_name (TkeSigner *signer)
{
  return TKE_MEMORY_SIGNER (signer)->name;
}

static void
tke_memory_signer_signer_init (TkeSignerInterface *iface)
{
  iface->sign_digest = tke_memory_signer_sign_digest;
  iface->get_public_key = tke_memory_signer_get_public_key;
  iface->get_certificate = tke_memory_signer_get_certificate;
  iface->get_name = tke_memory_signer_get_name;
}

static void
tke_memory_signer_finalize (GObject *object)
{
  TkeMemorySigner *self = TKE_MEMORY_SIGNER (object);

  /* EVP_PKEY_free clears the private scalar (BN_clear_free) before it frees it. */
  g_clear_pointer (&self->key, EVP_PKEY_free);
  g_clear_pointer (&self->certificate, g_bytes_unref);
  g_clear_pointer (&self->name, g_free);

  G_OBJECT_CLASS (tke_memory_signer_parent_class)->finalize (object);
}

static void
tke_memory_signer_class_init (TkeMemorySignerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_memory_signer_finalize;
}

static void
tke_memory_signer_init (TkeMemorySigner *self)
{
}

TkeMemorySigner *
tke_memory_signer_new (const char *name, EVP_PKEY *private_key, GError **error)
{
  g_autoptr (TkeMemorySigner) self = NULL;
  GBytes *certificate;

  g_return_val_if_fail (private_key != NULL, NULL);

  if (!tke_ec_key_get_curve (private_key, NULL, error))
    return NULL;
  if (!tke_ec_key_has_private (private_key))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A signer needs the private key, not only the public one."));
      return NULL;
    }
  certificate = tke_ec_key_self_signed_certificate (private_key, name, 3650, error);
  if (certificate == NULL)
    return NULL;

  self = g_object_new (TKE_TYPE_MEMORY_SIGNER, NULL);
  EVP_PKEY_up_ref (private_key);
  self->key = private_key;
  self->certificate = certificate;
  self->name = g_strdup (name);
  return g_steal_pointer (&self);
}

TkeMemorySigner *
tke_memory_signer_generate (const char *name, TkeCurve curve, GError **error)
{
  g_autoptr (EVP_PKEY) key = NULL;

  if (!tke_admin_name_is_valid (name, error))
    return NULL;
  key = tke_ec_key_generate (curve, error);
  if (key == NULL)
    return NULL;
  return tke_memory_signer_new (name, key, error);
}
