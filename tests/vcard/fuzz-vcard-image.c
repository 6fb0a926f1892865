/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: a card image file of any content loads as a card or fails with an error. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "tke-error.h"
#include "tke-vcard-engine-private.h"

/* Input: a mode byte, then the file. Mode bit 0 set: the harness seals the file with a correct
 * integrity line, so that the fuzzer reaches the key file parsing behind the SHA-256 check. */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static GString *
sealed (const guint8 *body, gsize len)
{
  GString *out = g_string_new_len ((const char *) body, len);
  guint8 digest[32];
  unsigned int digest_len = 0;

  EVP_Digest (body, len, digest, &digest_len, EVP_sha256 (), NULL);
  g_string_append (out, "[integrity]\nsha256=");
  for (guint i = 0; i < sizeof digest; i++)
    g_string_append_printf (out, "%02x", digest[i]);
  g_string_append_c (out, '\n');
  return out;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (TkeVcardEngine) card = tke_vcard_engine_new_blank (1, TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) file = NULL;

  if (size < 1)
    return 0;
  if (data[0] & 1)
    file = sealed (data + 1, size - 1);
  else
    file = g_string_new_len ((const char *) data + 1, size - 1);

  if (tke_vcard_image_parse (card, file->str, file->len, &error))
    {
      /* What loads must write back and load again. */
      g_autoptr (TkeVcardEngine) again = tke_vcard_engine_new_blank (1, TKE_VCARD_MGMT_ALG_3DES);
      g_autoptr (GBytes) image = tke_vcard_image_serialize (card);
      gsize len;
      const char *text = g_bytes_get_data (image, &len);

      if (!tke_vcard_image_parse (again, text, len, NULL))
        __builtin_trap ();
    }
  else if (error == NULL || !g_error_matches (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE))
    __builtin_trap ();
  return 0;
}
