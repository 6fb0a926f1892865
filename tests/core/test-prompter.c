/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The prompter contract, through the scripted prompter the ceremony tests use: answers in order,
 * cancel at any prompt, text checks that ask again, and a script that parts from the ceremony
 * fails loudly instead of answering the wrong question. */
#include "config.h"

#include <string.h>

#include "tke-error.h"
#include "tke-scripted-prompter.h"

static gboolean
check_name (const char *text, gpointer user_data, GError **error)
{
  gsize len = g_utf8_strlen (text, -1);

  if (len < 1 || len > 30)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "An administrator name has 1 to 30 characters.");
      return FALSE;
    }
  return TRUE;
}

static void
test_prompter_answers_in_order (void)
{
  g_autoptr (TkeScriptedPrompter) script = tke_scripted_prompter_new ();
  TkePrompter *prompter = TKE_PROMPTER (script);
  TkePinRequest pin_request = { TKE_PIN_KIND_PIN, "Virtual PCD 00 00", "card 1234",
                                "sign mk.commit", 3 };
  const char *const parts[] = { "part A", "part B", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  g_autofree char *name = NULL;
  g_autofree char *transcript = NULL;
  guint choice = 99, number = 0;

  tke_scripted_prompter_push_pin (script, "123456");
  tke_scripted_prompter_push_choice (script, 1);
  tke_scripted_prompter_push_text (script, "");
  tke_scripted_prompter_push_text (script, "a name far longer than thirty characters");
  tke_scripted_prompter_push_text (script, "Alice");
  tke_scripted_prompter_push_number (script, 2);
  tke_scripted_prompter_push_confirm (script, TRUE);

  tke_prompter_step (prompter, 0, 3, "Load the key parts");
  pin = tke_prompter_ask_pin (prompter, &pin_request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (tke_secret_peek (pin), tke_secret_len (pin), "123456", 6);

  g_assert_true (tke_prompter_choose (prompter, "Which key part?", parts, &choice, NULL, &error));
  g_assert_cmpuint (choice, ==, 1);

  name =
      tke_prompter_ask_text (prompter, "Administrator name", NULL, check_name, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "Alice");

  g_assert_true (
      tke_prompter_ask_number (prompter, "Signature threshold", NULL, 1, 8, &number, NULL, &error));
  g_assert_cmpuint (number, ==, 2);
  g_assert_true (tke_prompter_confirm (prompter, "Set immediate",
                                       "Keys wrapped under the current master key become unusable.",
                                       NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tke_scripted_prompter_get_n_pending (script), ==, 0);

  transcript = tke_scripted_prompter_dup_transcript (script);
  g_assert_nonnull (strstr (transcript, "step 1/3: Load the key parts"));
  g_assert_nonnull (
      strstr (transcript, "pin: Virtual PCD 00 00, card 1234, tries left 3: sign mk.commit"));
  g_assert_nonnull (
      strstr (transcript, "text refused: An administrator name has 1 to 30 characters."));
  /* The PIN itself is never part of what was shown. */
  g_assert_null (strstr (transcript, "123456"));
}

static void
test_prompter_cancel (void)
{
  g_autoptr (TkeScriptedPrompter) script = tke_scripted_prompter_new ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  guint number = 0;

  tke_scripted_prompter_push_cancel (script);
  g_assert_false (tke_prompter_ask_number (TKE_PROMPTER (script), "Parts", NULL, 2, 3, &number,
                                           cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_cancellable_is_cancelled (cancellable));
  g_clear_error (&error);

  /* Once cancelled, nothing more is asked. */
  tke_scripted_prompter_push_number (script, 2);
  g_assert_false (tke_prompter_ask_number (TKE_PROMPTER (script), "Parts", NULL, 2, 3, &number,
                                           cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (tke_scripted_prompter_get_n_pending (script), ==, 1);
}

static void
test_prompter_declined_confirmation (void)
{
  g_autoptr (TkeScriptedPrompter) script = tke_scripted_prompter_new ();
  g_autoptr (GError) error = NULL;

  tke_scripted_prompter_push_confirm (script, FALSE);
  g_assert_false (tke_prompter_confirm (TKE_PROMPTER (script), "Zeroize", "Everything is cleared.",
                                        NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_prompter_script_mismatch (void)
{
  g_autoptr (TkeScriptedPrompter) script = tke_scripted_prompter_new ();
  g_autoptr (GError) error = NULL;
  TkePinRequest request = { TKE_PIN_KIND_PIN, "r", "c", "p", -1 };
  TkeSecret *pin;

  tke_scripted_prompter_push_number (script, 2);
  pin = tke_prompter_ask_pin (TKE_PROMPTER (script), &request, NULL, &error);
  g_assert_null (pin);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "has a number next, but the ceremony asks for a PIN"));
  g_clear_error (&error);

  pin = tke_prompter_ask_pin (TKE_PROMPTER (script), &request, NULL, &error);
  g_assert_null (pin);
  g_assert_nonnull (strstr (error->message, "no answer left"));
}

static void
card_handler (const TkeCardRequest *request, gpointer user_data)
{
  guint *calls = user_data;

  g_assert_cmpint (request->role, ==, TKE_READER_ROLE_2);
  (*calls)++;
}

static void
test_prompter_card_handler (void)
{
  g_autoptr (TkeScriptedPrompter) script = tke_scripted_prompter_new ();
  TkeCardRequest request = { TKE_READER_ROLE_2, "Virtual PCD 00 01", "a key part card" };
  g_autofree char *transcript = NULL;
  guint calls = 0;

  tke_scripted_prompter_set_card_handler (script, card_handler, &calls);
  tke_prompter_card_wait_begin (TKE_PROMPTER (script), &request);
  tke_prompter_card_wait_end (TKE_PROMPTER (script));
  g_assert_cmpuint (calls, ==, 1);
  transcript = tke_scripted_prompter_dup_transcript (script);
  g_assert_cmpstr (transcript, ==, "card: reader 2 (Virtual PCD 00 01): a key part card\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/prompter/answers-in-order", test_prompter_answers_in_order);
  g_test_add_func ("/prompter/cancel", test_prompter_cancel);
  g_test_add_func ("/prompter/declined-confirmation", test_prompter_declined_confirmation);
  g_test_add_func ("/prompter/script-mismatch", test_prompter_script_mismatch);
  g_test_add_func ("/prompter/card-handler", test_prompter_card_handler);

  return g_test_run ();
}
