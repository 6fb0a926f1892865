/* SPDX-License-Identifier: GPL-3.0-or-later */
/* BER-TLV parsing and building. Every length is checked against the bytes that are really there. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tke-error.h"
#include "tke-tlv.h"

static gboolean
malformed (GError **error, const char *what)
{
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               /* TRANSLATORS: %s says what is wrong, such as "a length is missing". */
               _ ("The card or file sent malformed data (%s)."), what);
  return FALSE;
}

gboolean
tke_tlv_next (const guint8 **data, gsize *remaining, TkeTlv *tlv, GError **error)
{
  const guint8 *p;
  gsize left;
  guint32 tag;
  gsize len;

  g_return_val_if_fail (data != NULL && remaining != NULL && tlv != NULL, FALSE);

  p = *data;
  left = *remaining;

  if (left == 0)
    return malformed (error, _ ("a TLV was expected but the data ended"));

  /* Tag: low five bits all set means more tag bytes follow, each with bit 8 set but the last. */
  tag = *p++;
  left--;
  if ((tag & 0x1F) == 0x1F)
    {
      guint n = 0;

      do
        {
          if (left == 0)
            return malformed (error, _ ("a tag runs past the end"));
          if (++n > 2)
            return malformed (error, _ ("a tag is longer than three bytes"));
          tag = (tag << 8) | *p;
          left--;
        }
      while (*p++ & 0x80);
    }

  if (left == 0)
    return malformed (error, _ ("a length is missing"));

  len = *p++;
  left--;
  if (len & 0x80)
    {
      guint n = len & 0x7F;

      if (n == 0)
        return malformed (error, _ ("indefinite lengths are not allowed"));
      if (n > 3)
        return malformed (error, _ ("a length field is longer than three bytes"));
      if (left < n)
        return malformed (error, _ ("a length field runs past the end"));

      len = 0;
      for (guint i = 0; i < n; i++)
        len = (len << 8) | p[i];
      p += n;
      left -= n;
    }

  if (len > left)
    return malformed (error, _ ("a value is longer than the data that holds it"));

  tlv->tag = tag;
  tlv->value = p;
  tlv->len = len;

  *data = p + len;
  *remaining = left - len;
  return TRUE;
}

gboolean
tke_tlv_validate (const guint8 *data, gsize len, GError **error)
{
  TkeTlv tlv;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  while (len > 0)
    if (!tke_tlv_next (&data, &len, &tlv, error))
      return FALSE;
  return TRUE;
}

gboolean
tke_tlv_find_optional (const guint8 *data, gsize len, guint32 tag, TkeTlv *tlv, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (tlv != NULL, FALSE);

  while (len > 0)
    {
      TkeTlv cur;

      if (!tke_tlv_next (&data, &len, &cur, error))
        return FALSE;
      if (cur.tag == tag)
        {
          *tlv = cur;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
tke_tlv_find (const guint8 *data, gsize len, guint32 tag, TkeTlv *tlv, GError **error)
{
  GError *local_error = NULL;

  if (tke_tlv_find_optional (data, len, tag, tlv, &local_error))
    return TRUE;

  if (local_error != NULL)
    g_propagate_error (error, local_error);
  else
    g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                 /* TRANSLATORS: %X is the number of a data field (a TLV tag) in hexadecimal. */
                 _ ("The card or file sent malformed data (tag %X is missing)."), tag);
  return FALSE;
}

gsize
tke_tlv_tag_size (guint32 tag)
{
  if (tag > 0xFFFF)
    return 3;
  if (tag > 0xFF)
    return 2;
  return 1;
}

gsize
tke_tlv_length_size (gsize len)
{
  if (len < 0x80)
    return 1;
  if (len <= 0xFF)
    return 2;
  if (len <= 0xFFFF)
    return 3;
  return 4;
}

void
tke_tlv_append_header (GByteArray *out, guint32 tag, gsize len)
{
  guint8 buf[8];
  gsize n = 0;

  g_return_if_fail (out != NULL);
  g_return_if_fail (len <= TKE_TLV_MAX_LEN);

  for (gsize i = tke_tlv_tag_size (tag); i > 0; i--)
    buf[n++] = (tag >> (8 * (i - 1))) & 0xFF;

  if (len < 0x80)
    buf[n++] = len;
  else if (len <= 0xFF)
    {
      buf[n++] = 0x81;
      buf[n++] = len;
    }
  else if (len <= 0xFFFF)
    {
      buf[n++] = 0x82;
      buf[n++] = len >> 8;
      buf[n++] = len & 0xFF;
    }
  else
    {
      buf[n++] = 0x83;
      buf[n++] = len >> 16;
      buf[n++] = (len >> 8) & 0xFF;
      buf[n++] = len & 0xFF;
    }

  g_byte_array_append (out, buf, n);
}

void
tke_tlv_append (GByteArray *out, guint32 tag, const guint8 *value, gsize len)
{
  g_return_if_fail (value != NULL || len == 0);

  tke_tlv_append_header (out, tag, len);
  if (len > 0)
    g_byte_array_append (out, value, len);
}

void
tke_tlv_append_byte (GByteArray *out, guint32 tag, guint8 value)
{
  tke_tlv_append (out, tag, &value, 1);
}
