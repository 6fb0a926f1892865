/* SPDX-License-Identifier: GPL-3.0-or-later */
/* BER-TLV: what PIV cards send back parses, and anything that lies about its length is refused. */
#include "config.h"

#include <string.h>

#include "tke-error.h"
#include "tke-tlv.h"

static void
test_tlv_parse_piv_object (void)
{
  /* GET DATA answer for a certificate object: 53 L { 70 L <der> 71 01 00 FE 00 }. */
  const guint8 answer[] = {
    0x53, 0x0A, 0x70, 0x03, 0x30, 0x01, 0x00, 0x71, 0x01, 0x00, 0xFE, 0x00
  };
  g_autoptr (GError) error = NULL;
  TkeTlv outer, cert, info, lrc;

  g_assert_true (tke_tlv_find (answer, sizeof answer, 0x53, &outer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (outer.len, ==, 10);

  g_assert_true (tke_tlv_find (outer.value, outer.len, 0x70, &cert, &error));
  g_assert_cmpuint (cert.len, ==, 3);
  g_assert_cmpmem (cert.value, cert.len, answer + 4, 3);

  g_assert_true (tke_tlv_find (outer.value, outer.len, 0x71, &info, &error));
  g_assert_cmpuint (info.len, ==, 1);
  g_assert_true (tke_tlv_find (outer.value, outer.len, 0xFE, &lrc, &error));
  g_assert_cmpuint (lrc.len, ==, 0);
  g_assert_no_error (error);
}

static void
test_tlv_multibyte_tags (void)
{
  /* 7F49 (public key template) and 5FC105 (three-byte object tag). */
  const guint8 data[] = { 0x7F, 0x49, 0x03, 0x86, 0x01, 0x04, 0x5F, 0xC1, 0x05, 0x00 };
  g_autoptr (GError) error = NULL;
  TkeTlv tlv;

  g_assert_true (tke_tlv_find (data, sizeof data, 0x7F49, &tlv, &error));
  g_assert_cmpuint (tlv.len, ==, 3);
  g_assert_true (tke_tlv_find (data, sizeof data, 0x5FC105, &tlv, &error));
  g_assert_cmpuint (tlv.len, ==, 0);
  g_assert_no_error (error);
}

static void
test_tlv_long_lengths_round_trip (void)
{
  const gsize lengths[] = { 0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234, 0xFFFF, 0x10000 };

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      g_autoptr (GByteArray) out = g_byte_array_new ();
      g_autofree guint8 *value = g_malloc0 (lengths[i] + 1);
      g_autoptr (GError) error = NULL;
      const guint8 *p;
      gsize left;
      TkeTlv tlv;

      for (gsize j = 0; j < lengths[i]; j++)
        value[j] = j * 7;

      tke_tlv_append (out, 0x5FC10B, value, lengths[i]);
      g_assert_cmpuint (out->len, ==, 3 + tke_tlv_length_size (lengths[i]) + lengths[i]);

      p = out->data;
      left = out->len;
      g_assert_true (tke_tlv_next (&p, &left, &tlv, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (tlv.tag, ==, 0x5FC10B);
      g_assert_cmpmem (tlv.value, tlv.len, value, lengths[i]);
      g_assert_cmpuint (left, ==, 0);
    }
}

static void
test_tlv_refuses_lies (void)
{
  const struct
  {
    const char *name;
    guint8 bytes[8];
    gsize len;
  } cases[] = {
    { "value longer than data", { 0x53, 0x05, 0x01, 0x02 }, 4 },
    { "length field cut", { 0x53, 0x82, 0x01 }, 3 },
    { "indefinite length", { 0x53, 0x80, 0x00, 0x00 }, 4 },
    { "four-byte length", { 0x53, 0x84, 0, 0, 0, 1, 0xAA }, 7 },
    { "tag cut", { 0x7F }, 1 },
    { "tag too long", { 0x5F, 0xC1, 0x85, 0x81, 0x01, 0x00 }, 6 },
    { "length missing", { 0x53 }, 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      TkeTlv tlv;

      g_test_message ("case: %s", cases[i].name);
      g_assert_false (tke_tlv_validate (cases[i].bytes, cases[i].len, &error));
      g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
      g_clear_error (&error);
      g_assert_false (tke_tlv_find (cases[i].bytes, cases[i].len, 0x53, &tlv, &error));
      g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
    }
}

static void
test_tlv_absent_tag (void)
{
  const guint8 data[] = { 0x80, 0x01, 0x11, 0x81, 0x00 };
  g_autoptr (GError) error = NULL;
  TkeTlv tlv;

  g_assert_false (tke_tlv_find_optional (data, sizeof data, 0x82, &tlv, &error));
  g_assert_no_error (error);
  g_assert_false (tke_tlv_find (data, sizeof data, 0x82, &tlv, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "82"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tlv/parse-piv-object", test_tlv_parse_piv_object);
  g_test_add_func ("/tlv/multibyte-tags", test_tlv_multibyte_tags);
  g_test_add_func ("/tlv/long-lengths-round-trip", test_tlv_long_lengths_round_trip);
  g_test_add_func ("/tlv/refuses-lies", test_tlv_refuses_lies);
  g_test_add_func ("/tlv/absent-tag", test_tlv_absent_tag);

  return g_test_run ();
}
