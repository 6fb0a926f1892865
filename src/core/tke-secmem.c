/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Secrets in the OpenSSL secure heap: locked against swap, guarded, wiped on free. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tke-error.h"
#include "tke-secmem.h"

/* 1 MiB is room for thousands of key parts and the EC keys OpenSSL itself puts there; the
 * minimum block keeps small allocations (PINs) from wasting a page each. */
#define TKE_SECURE_HEAP_SIZE    (1 << 20)
#define TKE_SECURE_HEAP_MINSIZE 32

struct _TkeSecret
{
  gsize len;
  guint8 *data;
};

static gsize secure_heap_state;

/**
 * tke_secmem_init:
 *
 * Sets up the OpenSSL secure heap once per process. Without it (a kernel that refuses mlock, a
 * limit too low) OpenSSL falls back to plain memory; the call then fails, so that a workstation
 * is never used for a ceremony without knowing it.
 */
gboolean
tke_secmem_init (GError **error)
{
  if (g_once_init_enter (&secure_heap_state))
    {
      int ret = CRYPTO_secure_malloc_init (TKE_SECURE_HEAP_SIZE, TKE_SECURE_HEAP_MINSIZE);
      g_once_init_leave (&secure_heap_state, ret == 1 ? 1 : 2);
    }

  if (secure_heap_state != 1)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_SECURE_MEMORY,
                   _ ("The secure memory for key parts and PINs could not be set up: "
                      "allow this program to lock memory (ulimit -l) and start it again."));
      return FALSE;
    }
  return TRUE;
}

gboolean
tke_secmem_is_secure (void)
{
  return CRYPTO_secure_malloc_initialized () == 1;
}

TkeSecret *
tke_secret_new (gsize len, GError **error)
{
  TkeSecret *secret;

  g_return_val_if_fail (len > 0, NULL);

  if (!tke_secmem_init (error))
    return NULL;

  secret = g_new0 (TkeSecret, 1);
  secret->len = len;
  secret->data = OPENSSL_secure_zalloc (len);
  if (secret->data == NULL)
    {
      g_free (secret);
      g_set_error (error, TKE_ERROR, TKE_ERROR_SECURE_MEMORY,
                   _ ("The secure memory is full: close other ceremonies and try again."));
      return NULL;
    }
  return secret;
}

TkeSecret *
tke_secret_new_from (const guint8 *data, gsize len, GError **error)
{
  TkeSecret *secret;

  g_return_val_if_fail (data != NULL, NULL);

  secret = tke_secret_new (len, error);
  if (secret != NULL)
    memcpy (secret->data, data, len);
  return secret;
}

TkeSecret *
tke_secret_new_random (gsize len, GError **error)
{
  g_autoptr (TkeSecret) secret = tke_secret_new (len, error);

  if (secret == NULL)
    return NULL;

  if (RAND_priv_bytes (secret->data, (int) len) != 1)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("The random number generator failed: the key was not made."));
      return NULL;
    }
  return g_steal_pointer (&secret);
}

TkeSecret *
tke_secret_copy (const TkeSecret *secret, GError **error)
{
  g_return_val_if_fail (secret != NULL, NULL);

  return tke_secret_new_from (secret->data, secret->len, error);
}

guint8 *
tke_secret_data (TkeSecret *secret)
{
  g_return_val_if_fail (secret != NULL, NULL);
  return secret->data;
}

const guint8 *
tke_secret_peek (const TkeSecret *secret)
{
  g_return_val_if_fail (secret != NULL, NULL);
  return secret->data;
}

gsize
tke_secret_len (const TkeSecret *secret)
{
  g_return_val_if_fail (secret != NULL, 0);
  return secret->len;
}

/* Constant time, so that comparing a key part with what the operator expects leaks nothing. */
gboolean
tke_secret_equal (const TkeSecret *a, const TkeSecret *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return a->len == b->len && CRYPTO_memcmp (a->data, b->data, a->len) == 0;
}

void
tke_secret_free (TkeSecret *secret)
{
  if (secret == NULL)
    return;

  /* OPENSSL_secure_clear_free wipes before it frees. */
  OPENSSL_secure_clear_free (secret->data, secret->len);
  secret->data = NULL;
  secret->len = 0;
  g_free (secret);
}

void
tke_wipe (gpointer data, gsize len)
{
  if (data != NULL && len > 0)
    OPENSSL_cleanse (data, len);
}

void
tke_wipe_string (char *str)
{
  if (str != NULL)
    OPENSSL_cleanse (str, strlen (str));
}

void
tke_wipe_string_free (char *str)
{
  tke_wipe_string (str);
  g_free (str);
}
