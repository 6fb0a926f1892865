/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Secrets (key parts, PINs, passwords) held in the OpenSSL secure heap and wiped when freed. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A fixed-size secret in locked, non-dumpable memory. The bytes are wiped when it is freed. */
typedef struct _TkeSecret TkeSecret;

gboolean tke_secmem_init (GError **error);
gboolean tke_secmem_is_secure (void);

TkeSecret *tke_secret_new (gsize len, GError **error);
TkeSecret *tke_secret_new_from (const guint8 *data, gsize len, GError **error);
TkeSecret *tke_secret_new_random (gsize len, GError **error);
TkeSecret *tke_secret_copy (const TkeSecret *secret, GError **error);
guint8 *tke_secret_data (TkeSecret *secret);
const guint8 *tke_secret_peek (const TkeSecret *secret);
gsize tke_secret_len (const TkeSecret *secret);
gboolean tke_secret_equal (const TkeSecret *a, const TkeSecret *b);
void tke_secret_free (TkeSecret *secret);

/* Wipes a plain buffer that held a secret for a moment (a PIN typed into an entry). */
void tke_wipe (gpointer data, gsize len);
/* Wipes a string's bytes in place (it reads as empty afterwards); _free also frees it. */
void tke_wipe_string (char *str);
void tke_wipe_string_free (char *str);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeSecret, tke_secret_free)

G_END_DECLS
