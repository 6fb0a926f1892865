/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Verification patterns of keys and key parts. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <openssl/evp.h>

#include "tke-error.h"
#include "tke-vp.h"

void
tke_vp_compute (const guint8 *key, gsize key_len, guint8 vp[TKE_VP_LEN])
{
  static const guint8 domain = 0x01;
  EVP_MD_CTX *ctx;
  unsigned int len = 0;

  g_return_if_fail (key != NULL && vp != NULL);

  ctx = EVP_MD_CTX_new ();
  if (ctx == NULL || EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) != 1 ||
      EVP_DigestUpdate (ctx, &domain, 1) != 1 || EVP_DigestUpdate (ctx, key, key_len) != 1 ||
      EVP_DigestFinal_ex (ctx, vp, &len) != 1 || len != TKE_VP_LEN)
    g_error ("SHA-256 is not available from OpenSSL");
  EVP_MD_CTX_free (ctx);

  memset (vp + TKE_VP_LEN - 4, 0, 4);
}

char *
tke_vp_to_hex (const guint8 vp[TKE_VP_LEN])
{
  GString *out = g_string_sized_new (TKE_VP_HEX_LEN);

  for (guint i = 0; i < TKE_VP_LEN; i++)
    g_string_append_printf (out, "%02x", vp[i]);
  return g_string_free (out, FALSE);
}

gboolean
tke_vp_from_hex (const char *hex, guint8 vp[TKE_VP_LEN], GError **error)
{
  g_return_val_if_fail (vp != NULL, FALSE);

  if (hex == NULL || strlen (hex) != TKE_VP_HEX_LEN)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("A verification pattern must be %d hexadecimal digits."), TKE_VP_HEX_LEN);
      return FALSE;
    }

  for (guint i = 0; i < TKE_VP_LEN; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                       _ ("A verification pattern may hold only hexadecimal digits."));
          return FALSE;
        }
      vp[i] = (hi << 4) | lo;
    }
  return TRUE;
}

char *
tke_vp_format_two_lines (const guint8 vp[TKE_VP_LEN])
{
  g_autofree char *hex = tke_vp_to_hex (vp);
  GString *text = g_string_sized_new (TKE_VP_HEX_LEN + 16);

  for (guint g = 0; g < TKE_VP_HEX_LEN / 4; g++)
    {
      if (g > 0)
        g_string_append_c (text, g == TKE_VP_HEX_LEN / 8 ? '\n' : ' ');
      g_string_append_len (text, hex + 4 * g, 4);
    }
  return g_string_free (text, FALSE);
}

char *
tke_vp_format_short (const guint8 vp[TKE_VP_LEN])
{
  g_autofree char *hex = tke_vp_to_hex (vp);

  return tke_hex_format_short (hex);
}

char *
tke_hex_format_groups (const char *hex)
{
  GString *text = g_string_new (NULL);
  gsize len = hex != NULL ? strlen (hex) : 0;

  for (gsize i = 0; i < len; i += 4)
    {
      if (i > 0)
        g_string_append_c (text, ' ');
      g_string_append_len (text, hex + i, MIN (4, len - i));
    }
  return g_string_free (text, FALSE);
}

char *
tke_hex_format_short (const char *hex)
{
  g_autofree char *groups = tke_hex_format_groups (hex);

  /* 4 groups of 4 and their 3 spaces. */
  if (strlen (groups) <= 19)
    return g_steal_pointer (&groups);
  groups[19] = '\0';
  return g_strconcat (groups, " …", NULL);
}
