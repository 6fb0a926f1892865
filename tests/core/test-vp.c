/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Verification patterns match an independent computation and round-trip through hex. */
#include "config.h"

#include <string.h>

#include "tke-error.h"
#include "tke-vp.h"

static void
test_vp_known_value (void)
{
  /* Python: sha256(b"\x01" + bytes(32)), last four bytes zeroed. */
  const guint8 key[32] = { 0 };
  guint8 vp[TKE_VP_LEN];
  g_autofree char *hex = NULL;

  tke_vp_compute (key, sizeof key, vp);
  hex = tke_vp_to_hex (vp);
  g_assert_cmpstr (hex, ==, "1a7dfdeaffeedac489287e85be5e9c049a2ff6470f55cf30260f553900000000");
}

static void
test_vp_hex_round_trip (void)
{
  guint8 key[32], vp[TKE_VP_LEN], back[TKE_VP_LEN];
  g_autofree char *hex = NULL;
  g_autofree char *upper = NULL;
  g_autofree char *two = NULL;
  g_autofree char *short_form = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < sizeof key; i++)
    key[i] = i;
  tke_vp_compute (key, sizeof key, vp);
  g_assert_cmpmem (vp + 28, 4, "\0\0\0\0", 4);

  hex = tke_vp_to_hex (vp);
  upper = g_ascii_strup (hex, -1);
  g_assert_true (tke_vp_from_hex (upper, back, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (back, sizeof back, vp, sizeof vp);

  /* Two lines of 8 groups of 4 digits, the digits those of the hex form. */
  two = tke_vp_format_two_lines (vp);
  g_assert_cmpuint (strlen (two), ==, 79);
  g_assert_cmpint (two[39], ==, '\n');
  g_assert_cmpint (two[4], ==, ' ');
  {
    g_autofree char *digits = g_strdup (two);

    g_strdelimit (digits, " \n", '.');
    for (char *from = digits, *to = digits;; from++)
      if (*from != '.' && (*to++ = *from) == '\0')
        break;
    g_assert_cmpstr (digits, ==, hex);
  }
  short_form = tke_vp_format_short (vp);
  g_assert_cmpint (strncmp (short_form, two, 19), ==, 0);
  g_assert_true (g_str_has_suffix (short_form, " …"));
  {
    g_autofree char *groups = tke_hex_format_groups ("0123456789abcdef01");
    g_autofree char *brief = tke_hex_format_short ("0123456789");
    g_autofree char *none = tke_hex_format_groups (NULL);

    g_assert_cmpstr (groups, ==, "0123 4567 89ab cdef 01");
    g_assert_cmpstr (brief, ==, "0123 4567 89");
    g_assert_cmpstr (none, ==, "");
  }
}

static void
test_vp_bad_hex (void)
{
  guint8 vp[TKE_VP_LEN];
  g_autoptr (GError) error = NULL;

  g_assert_false (tke_vp_from_hex ("abcd", vp, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  g_clear_error (&error);
  g_assert_false (tke_vp_from_hex (
      "zz00000000000000000000000000000000000000000000000000000000000000", vp, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vp/known-value", test_vp_known_value);
  g_test_add_func ("/vp/hex-round-trip", test_vp_hex_round_trip);
  g_test_add_func ("/vp/bad-hex", test_vp_bad_hex);

  return g_test_run ();
}
