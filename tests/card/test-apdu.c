/* SPDX-License-Identifier: GPL-3.0-or-later */
/* APDUs: the four cases encode as ISO 7816-4 says, and status words become sentences. */
#include "config.h"

#include <string.h>

#include "tke-apdu.h"
#include "tke-error.h"

static void
assert_bytes (GBytes *bytes, const guint8 *expected, gsize len)
{
  g_assert_nonnull (bytes);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), expected, len);
}

static void
test_apdu_cases (void)
{
  const guint8 data[] = { 0x5C, 0x03, 0x5F, 0xC1, 0x05 };
  const guint8 case1[] = { 0x00, 0x20, 0xFF, 0x80 };
  const guint8 case2[] = { 0x00, 0xFD, 0x00, 0x00, 0x00 };
  const guint8 case2_short[] = { 0x00, 0xC0, 0x00, 0x00, 0x12 };
  const guint8 case3[] = { 0x00, 0xDB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x05 };
  const guint8 case4[] = { 0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x00 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) b1 = NULL, b2 = NULL, b2s = NULL, b3 = NULL, b4 = NULL;
  TkeApdu decoded;

  b1 = tke_apdu_encode (&(TkeApdu){ 0x00, 0x20, 0xFF, 0x80 }, &error);
  assert_bytes (b1, case1, sizeof case1);
  b2 = tke_apdu_encode (&(TkeApdu){ 0x00, 0xFD, 0, 0, .ne = 256 }, &error);
  assert_bytes (b2, case2, sizeof case2);
  b2s = tke_apdu_encode (&(TkeApdu){ 0x00, 0xC0, 0, 0, .ne = 0x12 }, &error);
  assert_bytes (b2s, case2_short, sizeof case2_short);
  b3 = tke_apdu_encode (&(TkeApdu){ 0x00, 0xDB, 0x3F, 0xFF, data, sizeof data }, &error);
  assert_bytes (b3, case3, sizeof case3);
  b4 = tke_apdu_encode (&(TkeApdu){ 0x00, 0xCB, 0x3F, 0xFF, data, sizeof data, 256 }, &error);
  assert_bytes (b4, case4, sizeof case4);
  g_assert_no_error (error);

  /* And back. */
  g_assert_true (tke_apdu_decode (case4, sizeof case4, &decoded, &error));
  g_assert_cmpuint (decoded.ins, ==, 0xCB);
  g_assert_cmpuint (decoded.len, ==, sizeof data);
  g_assert_cmpuint (decoded.ne, ==, 256);
  g_assert_cmpmem (decoded.data, decoded.len, data, sizeof data);
  g_assert_true (tke_apdu_decode (case3, sizeof case3, &decoded, &error));
  g_assert_cmpuint (decoded.ne, ==, 0);
  g_assert_true (tke_apdu_decode (case2_short, sizeof case2_short, &decoded, &error));
  g_assert_cmpuint (decoded.len, ==, 0);
  g_assert_cmpuint (decoded.ne, ==, 0x12);
  g_assert_true (tke_apdu_decode (case1, sizeof case1, &decoded, &error));
  g_assert_cmpuint (decoded.ne, ==, 0);
  g_assert_no_error (error);

  /* A length byte that lies, and a header that is cut. */
  g_assert_false (tke_apdu_decode (case3, sizeof case3 - 1, &decoded, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  g_clear_error (&error);
  g_assert_false (tke_apdu_decode (case1, 3, &decoded, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
}

static void
test_apdu_too_long (void)
{
  guint8 data[256] = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;

  bytes = tke_apdu_encode (&(TkeApdu){ 0x00, 0xDB, 0x3F, 0xFF, data, sizeof data }, &error);
  g_assert_null (bytes);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  bytes = tke_apdu_encode (&(TkeApdu){ 0x00, 0xCB, 0x3F, 0xFF, .ne = 257 }, &error);
  g_assert_null (bytes);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
}

static void
test_apdu_split_response (void)
{
  const guint8 answer[] = { 0x01, 0x02, 0x03, 0x90, 0x00 };
  g_autoptr (GBytes) response = g_bytes_new_static (answer, sizeof answer);
  g_autoptr (GBytes) one = g_bytes_new_static (answer, 1);
  g_autoptr (GBytes) data = NULL;
  g_autoptr (GError) error = NULL;
  guint16 sw = 0;

  data = tke_apdu_split_response (response, &sw, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sw, ==, 0x9000);
  g_assert_cmpmem (g_bytes_get_data (data, NULL), g_bytes_get_size (data), answer, 3);

  g_assert_null (tke_apdu_split_response (one, &sw, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
}

static void
test_sw_errors (void)
{
  const struct
  {
    guint16 sw;
    int code;
    const char *words;
  } cases[] = {
    { 0x63C2, TKE_ERROR_PIN_WRONG, "2 tries left" },
    { 0x63C1, TKE_ERROR_PIN_WRONG, "1 try left" },
    { 0x63C0, TKE_ERROR_PIN_BLOCKED, "blocked" },
    { 0x6983, TKE_ERROR_PIN_BLOCKED, "PUK" },
    { 0x6982, TKE_ERROR_CARD_STATUS, "PIN or the management key" },
    { 0x6A82, TKE_ERROR_NOT_FOUND, "not on the card" },
    { 0x6A84, TKE_ERROR_NO_SPACE, "no room" },
    { 0x6D00, TKE_ERROR_CARD_STATUS, "instruction not supported" },
    { 0x6A80, TKE_ERROR_CARD_STATUS, "incorrect data" },
    { 0x6F00, TKE_ERROR_CARD_STATUS, "6F00" },
  };

  g_assert_true (tke_sw_check (0x9000, "anything", NULL));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (tke_sw_check (cases[i].sw, "reading the directory", &error));
      g_assert_error (error, TKE_ERROR, cases[i].code);
      g_test_message ("%04X: %s", cases[i].sw, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].words));
      g_assert_nonnull (strstr (error->message, "reading the directory"));
    }
  g_assert_cmpstr (tke_sw_describe (0x6985), ==, "conditions of use not satisfied");
  g_assert_cmpstr (tke_sw_describe (0x6112), ==, "more data available");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/apdu/cases", test_apdu_cases);
  g_test_add_func ("/apdu/too-long", test_apdu_too_long);
  g_test_add_func ("/apdu/split-response", test_apdu_split_response);
  g_test_add_func ("/apdu/sw-errors", test_sw_errors);

  return g_test_run ();
}
