/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An administrator's signature key wherever it lives (memory, smart card): signs digests for commands. */
#pragma once

#include <gio/gio.h>
#include <openssl/evp.h>

#include "tke-ec-key.h"

G_BEGIN_DECLS

#define TKE_TYPE_SIGNER (tke_signer_get_type ())
G_DECLARE_INTERFACE (TkeSigner, tke_signer, TKE, SIGNER, GObject)

/* Implementations may block (a smart card signs in tens of milliseconds); ceremonies call them on
 * the ceremony worker, never on the main thread. */
struct _TkeSignerInterface
{
  GTypeInterface parent_iface;

  /* Signs a digest made with tke_signer_get_digest (); returns the DER ECDSA signature. */
  GBytes *(*sign_digest) (TkeSigner *self, const guint8 *digest, gsize digest_len,
                          GCancellable *cancellable, GError **error);
  /* The public key (transfer none: owned by the signer). */
  EVP_PKEY *(*get_public_key) (TkeSigner *self);
  /* The self-signed certificate, DER, whose CN is the administrator name (transfer none). */
  GBytes *(*get_certificate) (TkeSigner *self);
  /* The administrator name (transfer none). */
  const char *(*get_name) (TkeSigner *self);
};

GBytes *tke_signer_sign_digest (TkeSigner *self, const guint8 *digest, gsize digest_len,
                                GCancellable *cancellable, GError **error);
EVP_PKEY *tke_signer_get_public_key (TkeSigner *self);
GBytes *tke_signer_get_certificate (TkeSigner *self);
const char *tke_signer_get_name (TkeSigner *self);

/* Derived from the public key. */
TkeCurve tke_signer_get_curve (TkeSigner *self);
/* "ES256", "ES384" or "ES512". */
const char *tke_signer_get_jws_alg (TkeSigner *self);
/* SHA-256, SHA-384 or SHA-512, by key size. */
const EVP_MD *tke_signer_get_digest (TkeSigner *self);
/* SHA-256 of the uncompressed point, hex (transfer none, computed once). */
const char *tke_signer_get_ski (TkeSigner *self);
/* DER SubjectPublicKeyInfo. */
GBytes *tke_signer_get_spki (TkeSigner *self, GError **error);

/* Hashes data with the signer's digest and signs it: DER. */
GBytes *tke_signer_sign_data (TkeSigner *self, const guint8 *data, gsize len,
                              GCancellable *cancellable, GError **error);

G_END_DECLS
