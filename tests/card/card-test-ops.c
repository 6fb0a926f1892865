/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The profile's write operations, run and judged for the fault-injection tests. */
#include "config.h"

#include <string.h>

#include "card-test-ops.h"
#include "tke-ec-key.h"
#include "tke-error.h"

const char *const tke_test_op_names[TKE_TEST_N_OPS] = {
  "initialize",   "generate-signature-key", "import-signature-key", "generate-key-part",
  "put-key-part", "delete-key-part",        "change-pin",
};

TkeSecret *
tke_test_secret (const char *text)
{
  g_autoptr (GError) error = NULL;
  TkeSecret *s = tke_secret_new_from ((const guint8 *) text, strlen (text), &error);

  g_assert_no_error (error);
  return s;
}

void
tke_test_initialize (TkePivClient *piv, const char *pin)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) current = tke_test_secret ("123456");
  g_autoptr (TkeSecret) new_pin = tke_test_secret (pin);

  g_assert_true (tke_card_profile_initialize (piv, current, new_pin, NULL, NULL,
                                              "Domain 7 key parts", &error));
  g_assert_no_error (error);
}

/* Runs op; returns whether it succeeded. */
gboolean
tke_test_run_op (TkePivClient *piv, TkeTestOp op, GError **error)
{
  g_autoptr (TkeSecret) pin = tke_test_secret (TKE_TEST_PIN);
  g_autoptr (TkeSecret) default_pin = tke_test_secret ("123456");
  g_autoptr (TkeSecret) next = tke_test_secret ("24680135");

  switch (op)
    {
      case TKE_TEST_OP_INITIALIZE:
        return tke_card_profile_initialize (piv, default_pin, pin, NULL, NULL, "Pulled", error);
      case TKE_TEST_OP_GENERATE_SIGNATURE_KEY:
        {
          g_autoptr (EVP_PKEY) key =
              tke_card_profile_generate_signature_key (piv, pin, "Dora", error);
          return key != NULL;
        }
      case TKE_TEST_OP_IMPORT_SIGNATURE_KEY:
        {
          g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P256, NULL);

          return tke_card_profile_import_signature_key (piv, pin, key, "Dora", error);
        }
      case TKE_TEST_OP_GENERATE_KEY_PART:
        {
          g_autoptr (TkeKeyPartInfo) info =
              tke_card_profile_generate_key_part (piv, pin, "New part", error);
          return info != NULL;
        }
      case TKE_TEST_OP_PUT_KEY_PART:
        {
          g_autoptr (TkeSecret) part = tke_secret_new_random (TKE_KEY_PART_LEN, NULL);
          g_autoptr (TkeKeyPartInfo) info =
              tke_card_profile_put_key_part (piv, pin, part, "New part", error);
          return info != NULL;
        }
      case TKE_TEST_OP_DELETE_KEY_PART:
        return tke_card_profile_delete_key_part (piv, pin, 1, error);
      case TKE_TEST_OP_CHANGE_PIN:
        return tke_card_profile_change_pin (piv, pin, next, error);
      default:
        g_assert_not_reached ();
    }
}

/* What the card reads back as; "old" or "new" by the operation. */
const char *
tke_test_judge (TkePivClient *piv, TkeTestOp op)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCardInfo) info = tke_card_profile_read_info (piv, &error);
  g_autoptr (TkeSecret) pin = tke_test_secret (TKE_TEST_PIN);

  g_assert_no_error (error);
  switch (op)
    {
      case TKE_TEST_OP_INITIALIZE:
        if (!info->initialized)
          return "old";
        g_assert_cmpstr (info->description, ==, "Pulled");
        return "new";
      case TKE_TEST_OP_GENERATE_SIGNATURE_KEY:
      case TKE_TEST_OP_IMPORT_SIGNATURE_KEY:
        if (info->admin_name == NULL)
          return "old";
        g_assert_cmpstr (info->admin_name, ==, "Dora");
        return "new";
      case TKE_TEST_OP_GENERATE_KEY_PART:
      case TKE_TEST_OP_PUT_KEY_PART:
      case TKE_TEST_OP_DELETE_KEY_PART:
        {
          guint expected_old = 1;
          gboolean has_new = FALSE;

          /* Every listed part decrypts and matches its VP. */
          for (guint i = 0; i < info->parts->len; i++)
            {
              TkeKeyPartInfo *part = g_ptr_array_index (info->parts, i);
              g_autoptr (TkeSecret) clear =
                  tke_card_profile_take_key_part (piv, pin, part->id, NULL, &error);
              g_assert_no_error (error);
              g_assert_nonnull (clear);
              has_new |= g_strcmp0 (part->description, "New part") == 0;
            }
          if (op == TKE_TEST_OP_DELETE_KEY_PART)
            return info->parts->len == expected_old ? "old" : "new";
          g_assert_cmpuint (info->parts->len, ==, has_new ? 2 : 1);
          return has_new ? "new" : "old";
        }
      case TKE_TEST_OP_CHANGE_PIN:
        {
          g_autoptr (TkeSecret) old_pin = tke_test_secret (TKE_TEST_PIN);
          gboolean ok;

          g_assert_true (tke_piv_client_begin (piv, &error));
          ok = tke_piv_client_verify (piv, TKE_PIV_PIN, old_pin, NULL, NULL);
          tke_piv_client_end (piv);
          return ok ? "old" : "new";
        }
      default:
        g_assert_not_reached ();
    }
}

const char *
tke_test_pin_after (TkeTestOp op, const char *state)
{
  if (op == TKE_TEST_OP_INITIALIZE && g_str_equal (state, "old"))
    return "123456";
  if (op == TKE_TEST_OP_CHANGE_PIN && g_str_equal (state, "new"))
    return "24680135";
  return "13572468";
}

/* The card as it is before op: prepared once, then copied from its image for every pull. */
void
tke_test_prepare (TkePivClient *piv, TkeTestOp op)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = tke_test_secret (TKE_TEST_PIN);

  if (op == TKE_TEST_OP_INITIALIZE)
    return;
  tke_test_initialize (piv, TKE_TEST_PIN);
  if (op == TKE_TEST_OP_DELETE_KEY_PART || op == TKE_TEST_OP_GENERATE_KEY_PART ||
      op == TKE_TEST_OP_PUT_KEY_PART)
    {
      g_autoptr (TkeKeyPartInfo) part =
          tke_card_profile_generate_key_part (piv, pin, "Existing", &error);
      g_assert_no_error (error);
    }
}
