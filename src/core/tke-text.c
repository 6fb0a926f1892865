/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tke_text_escape: no control character or bidi override from outside reaches the operator. */
#include "config.h"

#include <string.h>

#include "tke-text.h"

static gboolean
needs_escape (gunichar c)
{
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

char *
tke_text_escape (const char *text, gssize len)
{
  GString *out;
  const char *p, *end;

  if (text == NULL)
    return NULL;
  if (len < 0)
    len = strlen (text);
  out = g_string_sized_new (len);
  p = text;
  end = text + len;
  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guint8) *p);
          p++;
          continue;
        }
      if (c == 0 || needs_escape (c))
        g_string_append_printf (out, c < 0x100 ? "\\x%02x" : "\\u%04x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

gboolean
tke_text_char_is_safe (gunichar c)
{
  return c != 0 && !needs_escape (c);
}

gboolean
tke_text_is_safe (const char *text)
{
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (needs_escape (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}
