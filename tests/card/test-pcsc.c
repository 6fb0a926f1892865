/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The card layer through the real pcscd with vpcd and tke-vcard: readers, events, errors, the
 * whole profile, two cards at once, and a card pulled after every APDU of every write. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <winscard.h>

#include "card-test-ops.h"
#include "pcsc-test-util.h"
#include "tke-card-signer.h"
#include "tke-error.h"
#include "tke-pcsc-reader.h"

static TkeReaderManager *manager;

static TkePivClient *
connect_piv (guint reader)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCardConnection) connection = NULL;

  connection = tke_reader_manager_connect (manager, tke_vpcd_reader_name (reader), &error);
  g_assert_no_error (error);
  return tke_piv_client_new (connection);
}

static void
test_readers_and_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *image = tke_vpcd_create_card (7001);
  g_autoptr (GSubprocess) card = NULL;
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (TkeCardConnection) none = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (GBytes) atr = NULL;
  SCARDCONTEXT other_context;
  SCARDHANDLE other_card;
  DWORD protocol;
  guint32 serial = 0;
  guint16 sw = 0;

  card = tke_vpcd_insert (manager, image, 0, 0);
  connection = tke_reader_manager_connect (manager, VPCD_READER_0, &error);
  g_assert_no_error (error);
  atr = tke_card_connection_get_atr (connection);
  g_assert_cmpuint (g_bytes_get_size (atr), >, 0);
  piv = tke_piv_client_new (connection);
  g_assert_true (tke_piv_client_begin (piv, &error));
  g_assert_true (tke_piv_client_get_serial (piv, &serial, &error));
  tke_piv_client_end (piv);
  g_assert_cmpuint (serial, ==, 7001);

  /* vpcd has no PIN pad: the PIN is typed on the workstation. */
  g_assert_false (tke_card_connection_has_pin_pad (connection));
  g_assert_false (tke_card_connection_verify_pin_pad (connection, 0x80, &sw, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* No card, no reader. */
  none = tke_reader_manager_connect (manager, VPCD_READER_1, &error);
  g_assert_null (none);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NO_CARD);
  g_clear_error (&error);
  none = tke_reader_manager_connect (manager, "Virtual PCD 00 09", &error);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NO_READER);
  g_clear_error (&error);

  /* Another program holding the card alone. */
  g_assert_cmpint (SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &other_context), ==,
                   SCARD_S_SUCCESS);
  tke_card_connection_disconnect (connection, FALSE);
  g_assert_cmpint (SCardConnect (other_context, VPCD_READER_0, SCARD_SHARE_EXCLUSIVE,
                                 SCARD_PROTOCOL_T1, &other_card, &protocol),
                   ==, SCARD_S_SUCCESS);
  none = tke_reader_manager_connect (manager, VPCD_READER_0, &error);
  g_assert_null (none);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_SHARING_VIOLATION);
  g_assert_nonnull (strstr (error->message, "Another program"));
  g_clear_error (&error);
  SCardDisconnect (other_card, SCARD_LEAVE_CARD);
  SCardReleaseContext (other_context);

  /* Pulled under an open connection. */
  g_clear_object (&piv);
  g_clear_object (&connection);
  piv = connect_piv (0);
  tke_vpcd_pull (manager, card, 0);
  g_assert_false (tke_piv_client_begin (piv, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED);
  g_assert_nonnull (strstr (error->message, "removed"));
}

static void
on_signal_record (TkeReaderManager *m, const char *reader, gpointer data)
{
  GPtrArray *events = data;
  const char *what = g_object_get_data (G_OBJECT (m), "tke-test-signal");

  g_ptr_array_add (events, g_strdup_printf ("%s %s", what, reader));
}

static void
on_inserted (TkeReaderManager *m, const char *reader, gpointer data)
{
  g_object_set_data (G_OBJECT (m), "tke-test-signal", (gpointer) "card-inserted");
  on_signal_record (m, reader, data);
}

static void
on_removed (TkeReaderManager *m, const char *reader, gpointer data)
{
  g_object_set_data (G_OBJECT (m), "tke-test-signal", (gpointer) "card-removed");
  on_signal_record (m, reader, data);
}

static void
wait_events (GPtrArray *events, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (events->len < n && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
}

static void
test_events (void)
{
  g_autoptr (TkeReaderManager) watcher = tke_pcsc_reader_manager_new ();
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *image = tke_vpcd_create_card (7002);
  g_autoptr (GSubprocess) card = NULL;
  gint64 start;

  g_signal_connect (watcher, "card-inserted", G_CALLBACK (on_inserted), events);
  g_signal_connect (watcher, "card-removed", G_CALLBACK (on_removed), events);
  tke_reader_manager_watch (watcher, cancellable);
  g_usleep (200 * 1000);

  card = tke_vpcd_insert (manager, image, 1, 0);
  wait_events (events, 1);
  tke_vpcd_pull (manager, card, 1);
  wait_events (events, 2);
  g_clear_object (&card);
  card = tke_vpcd_insert (manager, image, 0, 0);
  wait_events (events, 3);
  tke_vpcd_pull (manager, card, 0);
  wait_events (events, 4);

  for (guint i = 0; i < events->len; i++)
    g_test_message ("event: %s", (char *) g_ptr_array_index (events, i));
  g_assert_cmpuint (events->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (events, 0), ==, "card-inserted " VPCD_READER_1);
  g_assert_cmpstr (g_ptr_array_index (events, 1), ==, "card-removed " VPCD_READER_1);
  g_assert_cmpstr (g_ptr_array_index (events, 2), ==, "card-inserted " VPCD_READER_0);
  g_assert_cmpstr (g_ptr_array_index (events, 3), ==, "card-removed " VPCD_READER_0);

  /* SCardCancel on the watcher's own context ends its wait at once. */
  start = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  tke_reader_manager_stop_watching (watcher);
  g_test_message ("the watcher stopped in %.1f ms", (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 500 * 1000);
}

static void
test_whole_profile (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *image = tke_vpcd_create_card (7003);
  g_autoptr (GSubprocess) card = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (TkeSecret) pin = tke_test_secret (TKE_TEST_PIN);
  g_autoptr (TkeSecret) wrong = tke_test_secret ("00000000");
  g_autoptr (TkeSecret) puk = tke_test_secret ("12345678");
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (TkeCardSigner) signer = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (TkeKeyPartInfo) part = NULL;
  g_autoptr (TkeSecret) clear = NULL;
  g_autoptr (TkeCardInfo) info = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  guint8 vp[TKE_VP_LEN];

  card = tke_vpcd_insert (manager, image, 0, 0);
  piv = connect_piv (0);
  tke_test_initialize (piv, TKE_TEST_PIN);
  key = tke_card_profile_generate_signature_key (piv, pin, "Frank", &error);
  g_assert_no_error (error);
  signer = tke_card_signer_new (piv, pin, &error);
  g_assert_no_error (error);
  sig = tke_signer_sign_data (TKE_SIGNER (signer), (const guint8 *) "cmd", 3, NULL, &error);
  g_assert_no_error (error);
  part = tke_card_profile_generate_key_part (piv, pin, "Part 1 of 3", &error);
  g_assert_no_error (error);

  /* The card keeps it all when pulled and put back (its image is written on every change). */
  g_clear_object (&piv);
  tke_vpcd_pull (manager, card, 0);
  g_clear_object (&card);
  card = tke_vpcd_insert (manager, image, 0, 0);
  piv = connect_piv (0);
  info = tke_card_profile_read_info (piv, &error);
  g_assert_no_error (error);
  g_assert_true (info->initialized);
  g_assert_cmpstr (info->admin_name, ==, "Frank");
  g_assert_cmpuint (info->serial, ==, 7003);
  g_assert_cmpuint (info->parts->len, ==, 1);
  g_assert_cmpint (info->pin_tries_left, ==, 3); /* power off forgot the PIN */

  clear = tke_card_profile_take_key_part (piv, pin, part->id, NULL, &error);
  g_assert_no_error (error);
  tke_vp_compute (tke_secret_peek (clear), TKE_KEY_PART_LEN, vp);
  g_assert_cmpmem (vp, TKE_VP_LEN, part->vp, TKE_VP_LEN);

  /* Blocked by three wrong PINs, unblocked with the PUK. */
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (TkeSecret) none =
          tke_card_profile_take_key_part (piv, wrong, part->id, NULL, &error);
      g_assert_error (error, TKE_ERROR, (i < 2 ? TKE_ERROR_PIN_WRONG : TKE_ERROR_PIN_BLOCKED));
      g_clear_error (&error);
    }
  g_assert_true (tke_card_profile_unblock_pin (piv, puk, pin, &error));
  g_assert_no_error (error);
  /* Other PIV software sees a normal card with our two certificates. */
  {
    g_autofree char *tool = g_find_program_in_path ("yubico-piv-tool");

    if (tool == NULL)
      g_test_message ("yubico-piv-tool is not installed: the cross-check did not run");
    else
      {
        g_autofree char *out = NULL;
        int status = 0;
        const char *cmd[] = { tool, "-r", VPCD_READER_0, "-a", "status", NULL };

        g_assert_true (g_spawn_sync (NULL, (char **) cmd, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                     NULL, &out, NULL, &status, &error));
        g_test_message ("yubico-piv-tool -a status:\n%s", out);
        g_assert_true (g_spawn_check_wait_status (status, &error));
        g_assert_nonnull (strstr (out, "CN=Frank"));
        g_assert_nonnull (strstr (out, "key management"));
      }
  }
  {
    g_autofree char *tool = g_find_program_in_path ("pkcs15-tool");

    if (tool == NULL)
      g_test_message ("OpenSC is not installed: the cross-check did not run");
    else
      {
        g_autofree char *out = NULL;
        int status = 0;
        const char *cmd[] = { tool, "--reader", VPCD_READER_0, "-D", NULL };

        g_assert_true (g_spawn_sync (NULL, (char **) cmd, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                     NULL, &out, NULL, &status, &error));
        g_test_message ("pkcs15-tool -D:\n%s", out);
        g_assert_true (g_spawn_check_wait_status (status, &error));
        /* OpenSC names the slots' certificates and shows the keys behind them. */
        g_assert_nonnull (strstr (out, "X.509 Certificate [Certificate for PIV Authentication]"));
        g_assert_nonnull (strstr (out, "X.509 Certificate [Certificate for Key Management]"));
        g_assert_nonnull (strstr (out, "Key ref        : 154 (0x9A)"));
        g_assert_nonnull (strstr (out, "Key ref        : 157 (0x9D)"));
      }
  }

  g_assert_true (tke_card_profile_delete_key_part (piv, pin, part->id, &error));
  parts = tke_card_profile_list_parts (piv, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (parts->len, ==, 0);
  tke_vpcd_pull (manager, card, 0);
}

typedef struct
{
  guint reader;
  TkePivClient *piv;
  TkeKeyPartInfo *part;
} CardThread;

static gpointer
prepare_card_thread (gpointer data)
{
  CardThread *ct = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = tke_test_secret (TKE_TEST_PIN);

  /* This thread's own connection and context: PC/SC contexts are per thread. */
  ct->piv = connect_piv (ct->reader);
  tke_test_initialize (ct->piv, TKE_TEST_PIN);
  ct->part = tke_card_profile_generate_key_part (ct->piv, pin, "Made in parallel", &error);
  g_assert_no_error (error);
  return NULL;
}

static void
test_two_cards (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *image_a = tke_vpcd_create_card (7004);
  g_autofree char *image_b = tke_vpcd_create_card (7005);
  g_autoptr (GSubprocess) card_a = tke_vpcd_insert (manager, image_a, 0, 0);
  g_autoptr (GSubprocess) card_b = tke_vpcd_insert (manager, image_b, 1, 0);
  g_autoptr (TkeSecret) pin = tke_test_secret (TKE_TEST_PIN);
  g_autoptr (TkeSecret) clear = NULL;
  g_autoptr (TkeKeyPartInfo) copied = NULL;
  g_autoptr (TkeCardInfo) info_a = NULL;
  g_autoptr (TkeCardInfo) info_b = NULL;
  CardThread ct[2] = { { 0 }, { 1 } };
  GThread *threads[2];

  for (guint i = 0; i < 2; i++)
    threads[i] = g_thread_new ("card", prepare_card_thread, &ct[i]);
  for (guint i = 0; i < 2; i++)
    g_thread_join (threads[i]);

  /* Copy card A's part to card B: taken out of A into secure memory, put into B. */
  clear = tke_card_profile_take_key_part (ct[0].piv, pin, ct[0].part->id, NULL, &error);
  g_assert_no_error (error);
  copied = tke_card_profile_put_key_part (ct[1].piv, pin, clear, "Copy of A's part", &error);
  g_assert_no_error (error);
  g_assert_cmpmem (copied->vp, TKE_VP_LEN, ct[0].part->vp, TKE_VP_LEN);

  info_a = tke_card_profile_read_info (ct[0].piv, &error);
  info_b = tke_card_profile_read_info (ct[1].piv, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info_a->serial, ==, 7004);
  g_assert_cmpuint (info_b->serial, ==, 7005);
  g_assert_cmpuint (info_a->parts->len, ==, 1);
  g_assert_cmpuint (info_b->parts->len, ==, 2);

  for (guint i = 0; i < 2; i++)
    {
      g_clear_object (&ct[i].piv);
      tke_key_part_info_free (ct[i].part);
    }
  tke_vpcd_pull (manager, card_a, 0);
  tke_vpcd_pull (manager, card_b, 1);
}

static void
test_pulled (gconstpointer data)
{
  TkeTestOp op = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autofree char *image = tke_vpcd_create_card (7100 + op);
  g_autofree char *before = g_strconcat (image, ".before", NULL);
  g_autofree char *contents = NULL;
  gsize contents_len = 0;
  guint total, olds = 0, news = 0;
  gint64 start = g_get_monotonic_time ();

  /* The card as it is before the operation, kept as an image to start every pull from. */
  {
    g_autoptr (GSubprocess) card = tke_vpcd_insert (manager, image, 0, 0);
    g_autoptr (TkePivClient) piv = connect_piv (0);

    tke_test_prepare (piv, op);
    g_clear_object (&piv);
    tke_vpcd_pull (manager, card, 0);
  }
  g_assert_true (g_file_get_contents (image, &contents, &contents_len, &error));
  g_assert_true (g_file_set_contents (before, contents, contents_len, &error));

  /* Its APDU count when nothing goes wrong. */
  {
    g_autoptr (GSubprocess) card = tke_vpcd_insert (manager, image, 0, 0);
    g_autoptr (TkePivClient) piv = connect_piv (0);
    TkeCardConnection *connection = tke_piv_client_get_connection (piv);

    g_assert_true (tke_test_run_op (piv, op, &error));
    g_assert_no_error (error);
    total = tke_card_connection_get_apdu_count (connection);
    g_clear_object (&piv);
    tke_vpcd_pull (manager, card, 0);
  }

  for (guint n = 1; n <= total; n++)
    {
      g_autoptr (GSubprocess) faulty = NULL;
      g_autoptr (GSubprocess) card = NULL;
      g_autoptr (TkePivClient) piv = NULL;
      const char *state;

      g_assert_true (g_file_set_contents (image, contents, contents_len, &error));
      faulty = tke_vpcd_insert (manager, image, 0, n);
      g_usleep (100 * 1000);
      if (g_subprocess_get_identifier (faulty) == NULL)
        g_error ("The fault-injected card was pulled before this test sent an APDU: another "
                 "PC/SC client (one that does not hold /tmp/tke-vpcd.lock) talks to the vpcd "
                 "readers and spoils the count");
      piv = connect_piv (0);
      g_assert_false (tke_test_run_op (piv, op, &error));
      g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED);
      g_assert_nonnull (strstr (error->message, "removed"));
      g_clear_error (&error);
      g_clear_object (&piv);
      g_assert_true (g_subprocess_wait (faulty, NULL, &error));
      tke_vpcd_wait_empty (manager, VPCD_READER_0);

      card = tke_vpcd_insert (manager, image, 0, 0);
      piv = connect_piv (0);
      state = tke_test_judge (piv, op);
      if (op == TKE_TEST_OP_CHANGE_PIN && g_str_equal (state, "new"))
        {
          g_autoptr (TkeSecret) next = tke_test_secret (tke_test_pin_after (op, state));

          g_assert_true (tke_piv_client_begin (piv, &error));
          g_assert_true (tke_piv_client_verify (piv, TKE_PIV_PIN, next, NULL, &error));
          tke_piv_client_end (piv);
        }
      g_test_message ("%s: pulled on APDU %u of %u: %s state", tke_test_op_names[op], n, total,
                      state);
      if (g_str_equal (state, "old"))
        olds++;
      else
        news++;
      g_clear_object (&piv);
      tke_vpcd_pull (manager, card, 0);
    }
  g_test_message ("%s through pcscd: %u APDUs, %u pulls read back old, %u new (%.1f s)",
                  tke_test_op_names[op], total, olds, news,
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (olds + news, ==, total);
  g_assert_cmpuint (olds, >, 0);
  g_unlink (before);
  g_unlink (image);
}

int
main (int argc, char **argv)
{
  g_autofree char *reason = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  manager = tke_pcsc_reader_manager_new ();
  if (!tke_vpcd_setup (manager, &reason))
    {
      g_printerr ("SKIP SKIP SKIP: the pcscd + vpcd card tests did not run: %s\n", reason);
      g_print ("1..0 # SKIP %s\n", reason);
      return 77;
    }

  g_test_add_func ("/pcsc/basic/readers-and-errors", test_readers_and_errors);
  g_test_add_func ("/pcsc/basic/events", test_events);
  g_test_add_func ("/pcsc/basic/whole-profile", test_whole_profile);
  g_test_add_func ("/pcsc/basic/two-cards", test_two_cards);
  for (guint op = 0; op < TKE_TEST_N_OPS; op++)
    {
      g_autofree char *path = g_strdup_printf ("/pcsc/faults/%s", tke_test_op_names[op]);

      g_test_add_data_func (path, GINT_TO_POINTER (op), test_pulled);
    }

  ret = g_test_run ();
  tke_vpcd_teardown ();
  g_object_unref (manager);
  return ret;
}
