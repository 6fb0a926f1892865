/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Secrets live in the OpenSSL secure heap and are wiped when they go. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "tke-error.h"
#include "tke-secmem.h"

static void
test_secret_in_secure_heap (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) secret = tke_secret_new_random (32, &error);

  g_assert_no_error (error);
  g_assert_nonnull (secret);
  g_assert_true (tke_secmem_is_secure ());
  g_assert_cmpint (CRYPTO_secure_allocated (tke_secret_peek (secret)), ==, 1);
  g_assert_cmpuint (tke_secret_len (secret), ==, 32);
}

static void
test_secret_random_differs (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) a = tke_secret_new_random (32, &error);
  g_autoptr (TkeSecret) b = tke_secret_new_random (32, &error);
  g_autoptr (TkeSecret) a2 = tke_secret_copy (a, &error);

  g_assert_no_error (error);
  g_assert_false (tke_secret_equal (a, b));
  g_assert_true (tke_secret_equal (a, a2));
  g_assert_true (tke_secret_peek (a) != tke_secret_peek (a2));
}

static void
test_secure_heap_usage_returns (void)
{
  g_autoptr (GError) error = NULL;
  gsize before, during;
  TkeSecret *secret;

  g_assert_true (tke_secmem_init (&error));
  before = CRYPTO_secure_used ();
  secret = tke_secret_new_from ((const guint8 *) "123456", 6, &error);
  g_assert_no_error (error);
  during = CRYPTO_secure_used ();
  g_assert_cmpuint (during, >, before);
  tke_secret_free (secret);
  g_assert_cmpuint (CRYPTO_secure_used (), ==, before);
}

static void
test_wipe (void)
{
  char *pin = g_strdup ("12345678");
  gsize pin_len = strlen (pin);
  guint8 buf[16];

  memset (buf, 0xA5, sizeof buf);
  tke_wipe (buf, sizeof buf);
  for (guint i = 0; i < sizeof buf; i++)
    g_assert_cmpuint (buf[i], ==, 0);

  /* Every byte of the PIN is gone, not only the first: the string reads as empty and its whole
   * former length is zeros. */
  tke_wipe_string (pin);
  for (gsize i = 0; i < pin_len; i++)
    g_assert_cmpuint ((guint8) pin[i], ==, 0);
  g_free (pin);
  tke_wipe_string (NULL);
  tke_wipe_string_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secmem/secret-in-secure-heap", test_secret_in_secure_heap);
  g_test_add_func ("/secmem/random-differs", test_secret_random_differs);
  g_test_add_func ("/secmem/heap-usage-returns", test_secure_heap_usage_returns);
  g_test_add_func ("/secmem/wipe", test_wipe);

  return g_test_run ();
}
