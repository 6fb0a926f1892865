/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tke-vcard: makes virtual PIV card images and inserts them into pcscd's vpcd readers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "tke-error.h"
#include "tke-process.h"
#include "tke-vcard-engine.h"
#include "tke-vpcd.h"

static const char usage_summary[] =
    "Commands:\n"
    "  create IMAGE [--serial N] [--mgmt-key-alg 3des|aes192] [--force]\n"
    "      Make a blank card: PIN 123456, PUK 12345678, management key\n"
    "      010203040506070801020304050607080102030405060708.\n"
    "  insert IMAGE --reader 1|2 | --port PORT [--fail-after-apdus N]\n"
    "      Put the card in reader 1 or 2 as tkectl and the app number them\n"
    "      (vpcd's first and second reader) until this program ends (SIGTERM or\n"
    "      SIGINT pulls it). --fail-after-apdus N pulls it on the N-th APDU,\n"
    "      without answering it.";

typedef struct
{
  GMainLoop *loop;
  GCancellable *cancellable;
  gboolean pulled_by_signal;
  GError *error;
  gboolean served;
} InsertState;

static int
fail (GError *error)
{
  g_printerr ("tke-vcard: %s\n", error->message);
  g_error_free (error);
  return EXIT_FAILURE;
}

static int
cmd_create (int argc, char **argv)
{
  g_autofree char *serial_text = NULL;
  guint64 serial;
  g_autofree char *alg_name = NULL;
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "serial", 0, 0, G_OPTION_ARG_STRING, &serial_text, "Serial number (default: random)", "N" },
    { "mgmt-key-alg", 0, 0, G_OPTION_ARG_STRING, &alg_name,
      "Management key algorithm: 3des (default) or aes192", "ALG" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Replace an existing image", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("IMAGE");
  g_autoptr (TkeVcardEngine) card = NULL;
  TkeVcardMgmtAlg alg = TKE_VCARD_MGMT_ALG_3DES;
  GError *error = NULL;

  g_option_context_set_summary (context, "Makes a blank virtual PIV card image.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (error);
  if (argc != 2)
    {
      g_printerr ("tke-vcard create: name one IMAGE file.\n");
      return EXIT_FAILURE;
    }
  if (alg_name != NULL && !tke_vcard_mgmt_alg_from_string (alg_name, &alg, &error))
    return fail (error);
  if (alg != TKE_VCARD_MGMT_ALG_3DES && alg != TKE_VCARD_MGMT_ALG_AES192)
    {
      g_printerr ("tke-vcard create: the default management key is 24 bytes: use 3des or "
                  "aes192 (SET MANAGEMENT KEY changes it later).\n");
      return EXIT_FAILURE;
    }
  if (serial_text == NULL)
    serial = g_random_int_range (10000000, 100000000);
  else if (!g_ascii_string_to_unsigned (serial_text, 10, 0, G_MAXUINT32, &serial, NULL))
    {
      g_printerr ("tke-vcard create: a serial number is 0 to %u.\n", G_MAXUINT32);
      return EXIT_FAILURE;
    }
  if (!force && g_file_test (argv[1], G_FILE_TEST_EXISTS))
    {
      g_printerr ("tke-vcard create: %s exists; add --force to replace that card.\n", argv[1]);
      return EXIT_FAILURE;
    }

  card = tke_vcard_engine_new_blank ((guint32) serial, alg);
  tke_vcard_engine_set_path (card, argv[1]);
  if (!tke_vcard_engine_save (card, &error))
    return fail (error);
  g_print ("tke-vcard: made card %" G_GUINT64_FORMAT " in %s\n", serial, argv[1]);
  return EXIT_SUCCESS;
}

static gboolean
on_signal (gpointer user_data)
{
  InsertState *state = user_data;

  state->pulled_by_signal = TRUE;
  g_cancellable_cancel (state->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
serve_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (tke_vpcd_serve (TKE_VPCD (source_object), cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_served (GObject *source, GAsyncResult *result, gpointer user_data)
{
  InsertState *state = user_data;

  state->served = g_task_propagate_boolean (G_TASK (result), &state->error);
  g_main_loop_quit (state->loop);
}

static int
cmd_insert (int argc, char **argv)
{
  gint reader = -1;
  gint port = 0;
  gint fail_after = 0;
  gboolean exit_with_parent = FALSE;
  const GOptionEntry entries[] = {
    { "reader", 0, 0, G_OPTION_ARG_INT, &reader,
      "Reader 1 or 2, as tkectl numbers them: Virtual PCD 00 00 or 00 01", "N" },
    { "port", 0, 0, G_OPTION_ARG_INT, &port,
      "Connect to a vpcd reader on this port of 127.0.0.1 instead (a vpcd configured otherwise)",
      "PORT" },
    { "fail-after-apdus", 0, 0, G_OPTION_ARG_INT, &fail_after,
      "Pull the card on the N-th APDU without answering it", "N" },
    { "exit-with-parent", 0, 0, G_OPTION_ARG_NONE, &exit_with_parent,
      "Pull the card when the program that started this one ends", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("IMAGE");
  g_autoptr (TkeVcardEngine) card = NULL;
  g_autoptr (TkeVpcd) vpcd = NULL;
  g_autoptr (GTask) task = NULL;
  InsertState state = { 0 };
  guint sigterm, sigint;
  GError *error = NULL;

  g_option_context_set_summary (context, "Inserts a virtual PIV card into a vpcd reader.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (error);
  if (argc != 2)
    {
      g_printerr ("tke-vcard insert: name one IMAGE file.\n");
      return EXIT_FAILURE;
    }
  if (port < 0 || port > 65535)
    {
      g_printerr ("tke-vcard insert: --port takes a TCP port, 1 to 65535.\n");
      return EXIT_FAILURE;
    }
  if (port == 0 && (reader < 1 || reader > TKE_VPCD_N_READERS))
    {
      g_printerr ("tke-vcard insert: choose --reader 1 or --reader 2 (tkectl's reader 1 and 2: "
                  "Virtual PCD 00 00 and 00 01).\n");
      return EXIT_FAILURE;
    }
  if (fail_after < 0)
    {
      g_printerr ("tke-vcard insert: --fail-after-apdus takes a count of 1 or more.\n");
      return EXIT_FAILURE;
    }

  if (exit_with_parent)
    {
      /* A test that crashes must not leave its card in a reader that other tests share. The
       * kernel sends SIGTERM, which pulls the card as usual. */
      pid_t parent = getppid ();

      if (prctl (PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid () != parent)
        {
          g_printerr ("tke-vcard insert: the program that started this one has already ended.\n");
          return EXIT_FAILURE;
        }
    }

  card = tke_vcard_engine_load (argv[1], &error);
  if (card == NULL)
    return fail (error);
  vpcd = port != 0 ? tke_vpcd_new_for_port (TKE_VIRTUAL_CARD (card), port)
                   : tke_vpcd_new (TKE_VIRTUAL_CARD (card), reader - 1);
  tke_vpcd_set_fail_after_apdus (vpcd, fail_after);
  if (!tke_vpcd_connect (vpcd, &error))
    return fail (error);

  state.loop = g_main_loop_new (NULL, FALSE);
  state.cancellable = g_cancellable_new ();
  sigterm = g_unix_signal_add (SIGTERM, on_signal, &state);
  sigint = g_unix_signal_add (SIGINT, on_signal, &state);

  if (port != 0)
    g_print ("tke-vcard: card %u is in the vpcd reader on port %d\n",
             tke_vcard_engine_get_serial (card), port);
  else
    g_print ("tke-vcard: card %u is in reader %d (Virtual PCD 00 %02d)\n",
             tke_vcard_engine_get_serial (card), reader, reader - 1);
  fflush (stdout);

  task = g_task_new (vpcd, state.cancellable, on_served, &state);
  /* Cancelling is how the card is pulled, not a failure. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, serve_thread);
  g_main_loop_run (state.loop);

  g_source_remove (sigterm);
  g_source_remove (sigint);
  g_clear_object (&state.cancellable);
  g_clear_pointer (&state.loop, g_main_loop_unref);

  if (!state.served)
    return fail (state.error);
  if (tke_vpcd_get_pulled_by_fault (vpcd))
    g_print ("tke-vcard: pulled the card on APDU %d without answering it (fault injection)\n",
             fail_after);
  else
    g_print ("tke-vcard: card pulled after %u APDUs\n", tke_vpcd_get_apdu_count (vpcd));
  return EXIT_SUCCESS;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  /* The card image holds the card's private keys and PIN. */
  if (!tke_process_harden (&error))
    {
      g_printerr ("tke-vcard: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (argc >= 2 && g_str_equal (argv[1], "create"))
    return cmd_create (argc - 1, argv + 1);
  if (argc >= 2 && g_str_equal (argv[1], "insert"))
    return cmd_insert (argc - 1, argv + 1);

  if (argc >= 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")))
    {
      g_print ("Usage: tke-vcard COMMAND IMAGE [OPTIONS]\n%s\n", usage_summary);
      return EXIT_SUCCESS;
    }
  g_printerr ("Usage: tke-vcard COMMAND IMAGE [OPTIONS]\n%s\n", usage_summary);
  return EXIT_FAILURE;
}
