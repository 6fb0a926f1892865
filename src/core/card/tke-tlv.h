/* SPDX-License-Identifier: GPL-3.0-or-later */
/* BER-TLV as ISO 7816-4 and PIV use it: tags of 1 to 3 bytes, definite lengths up to 3 bytes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest value length we ever accept or write: PIV objects stay far below it. */
#define TKE_TLV_MAX_LEN 0xFFFFFF

typedef struct
{
  guint32 tag;
  const guint8 *value; /* points into the parsed buffer */
  gsize len;
} TkeTlv;

/* Reads one TLV at *data and advances *data / *remaining past it. */
gboolean tke_tlv_next (const guint8 **data, gsize *remaining, TkeTlv *tlv, GError **error);
/* Checks that data is exactly a sequence of well-formed TLVs. */
gboolean tke_tlv_validate (const guint8 *data, gsize len, GError **error);
/* Finds tag among the top-level TLVs of data. An absent tag is an error (the caller needs it). */
gboolean tke_tlv_find (const guint8 *data, gsize len, guint32 tag, TkeTlv *tlv, GError **error);
/* Like tke_tlv_find, but an absent tag returns FALSE without an error. */
gboolean tke_tlv_find_optional (const guint8 *data, gsize len, guint32 tag, TkeTlv *tlv,
                                GError **error);

gsize tke_tlv_tag_size (guint32 tag);
gsize tke_tlv_length_size (gsize len);
void tke_tlv_append_header (GByteArray *out, guint32 tag, gsize len);
void tke_tlv_append (GByteArray *out, guint32 tag, const guint8 *value, gsize len);
void tke_tlv_append_byte (GByteArray *out, guint32 tag, guint8 value);

G_END_DECLS
