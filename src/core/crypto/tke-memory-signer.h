/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A signer whose private key is held in memory by OpenSSL (tests, key files, the demo). */
#pragma once

#include "tke-signer.h"

G_BEGIN_DECLS

#define TKE_TYPE_MEMORY_SIGNER (tke_memory_signer_get_type ())
G_DECLARE_FINAL_TYPE (TkeMemorySigner, tke_memory_signer, TKE, MEMORY_SIGNER, GObject)

/* Takes a reference on the private key; makes the self-signed certificate with CN = name. */
TkeMemorySigner *tke_memory_signer_new (const char *name, EVP_PKEY *private_key, GError **error);
TkeMemorySigner *tke_memory_signer_generate (const char *name, TkeCurve curve, GError **error);

G_END_DECLS
