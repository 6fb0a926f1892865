/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Preloaded into tke-softunit by a test: OpenSSL's random number generator fails for every call
 * the program makes, as on a system whose entropy source is broken. */
#include <openssl/rand.h>

int
RAND_bytes (unsigned char *buf, int num)
{
  (void) buf;
  (void) num;
  return 0;
}

int
RAND_priv_bytes (unsigned char *buf, int num)
{
  (void) buf;
  (void) num;
  return 0;
}
