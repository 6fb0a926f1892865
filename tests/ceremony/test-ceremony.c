/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony engine end to end: the seed's whole ceremony with virtual cards in in-process
 * readers and an embedded crypto unit service, checked by asking the service directly; then the
 * faults an operator meets: a wrong PIN, a cancel in the middle of a quorum, a service that stops
 * during the fan-out and the retry of its units, and a journal without secrets. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <openssl/crypto.h>

#include "tke-card-profile.h"
#include "tke-ceremony.h"
#include "tke-error.h"
#include "tke-key-part-file.h"
#include "tke-signature-key-file.h"
#include "tke-scripted-prompter.h"
#include "tke-softunit-service.h"
#include "tke-unit-client.h"
#include "tke-unit-error.h"
#include "tke-vcard-engine.h"
#include "tke-virtual-reader.h"

#define READER1 "Virtual Reader 1"
#define READER2 "Virtual Reader 2"

static const char *const card_pins[] = { "13572468", "24681357", "11223344", "55667788",
                                         "99001122" };
#define NEW_PUK "87654321"

enum
{
  CARD_ALICE,
  CARD_BOB,
  CARD_PART1,
  CARD_PART2,
  CARD_PART3,
  N_CARDS
};

typedef struct
{
  TkeReaderManager *readers;
  TkeVcardEngine *cards[N_CARDS];
  TkeScriptedPrompter *prompter;
  TkeJournal *journal;
  TkeCeremony *ceremony;
  TkeSoftunitService *services[2];
  TkeSoftunitConfig *configs[2];
  char *dir;
  /* Which card goes in next when the ceremony asks for one, per reader role. */
  GQueue next_card[2];
  /* Every card request's sentence, in order. */
  GPtrArray *wanted;
} World;

/* The scripted operator: when asked for a card, takes out what is in that reader and puts in
 * the next card of the script. */
static void
insert_next_card (const TkeCardRequest *request, gpointer user_data)
{
  World *world = user_data;
  TkeVirtualReaderManager *readers = TKE_VIRTUAL_READER_MANAGER (world->readers);
  const char *reader = request->role == TKE_READER_ROLE_1 ? READER1 : READER2;
  gpointer card = g_queue_pop_head (&world->next_card[request->role - 1]);
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (world->wanted, g_strdup (request->wanted));
  g_assert_nonnull (card);
  tke_virtual_reader_manager_remove (readers, reader);
  g_assert_true (
      tke_virtual_reader_manager_insert (readers, reader, TKE_VIRTUAL_CARD (card), &error));
  g_assert_no_error (error);
}

static void
expect_card (World *world, TkeReaderRole role, guint card)
{
  g_queue_push_tail (&world->next_card[role - 1], world->cards[card]);
}

static void
empty_readers (World *world)
{
  tke_virtual_reader_manager_remove (TKE_VIRTUAL_READER_MANAGER (world->readers), READER1);
  tke_virtual_reader_manager_remove (TKE_VIRTUAL_READER_MANAGER (world->readers), READER2);
}

static guint16
free_port (void)
{
  g_autoptr (GSocket) socket =
      g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, address, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
add_units_of (World *world, guint s, GPtrArray *units)
{
  GPtrArray *service_units = tke_softunit_service_get_units (world->services[s]);

  for (guint i = 0; i < service_units->len; i++)
    {
      TkeSoftunitUnit *su = service_units->pdata[i];
      json_auto_t *summary = tke_softunit_unit_get_summary (su);
      TkeCeremonyUnit *unit = g_new0 (TkeCeremonyUnit, 1);

      unit->service_url = g_strdup (tke_softunit_service_get_url (world->services[s]));
      unit->fingerprint = g_strdup (tke_softunit_service_get_fingerprint (world->services[s]));
      unit->api_key = g_strdup (tke_softunit_service_get_api_key (world->services[s]));
      unit->num = units->len + 1;
      unit->id = g_strdup (tke_softunit_unit_get_id (su));
      unit->instance = g_strdup (tke_softunit_unit_get_instance (su));
      unit->type = g_strdup (json_string_value (json_object_get (summary, "type")));
      unit->location = g_strdup (json_string_value (json_object_get (summary, "location")));
      unit->identity_jwk = json_incref (json_object_get (summary, "identity_key"));
      g_assert_nonnull (unit->identity_jwk);
      g_ptr_array_add (units, unit);
    }
}

static void
world_set_up (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) units =
      g_ptr_array_new_with_free_func ((GDestroyNotify) tke_ceremony_unit_free);
  g_autofree char *journal_path = NULL;

  world->wanted = g_ptr_array_new_with_free_func (g_free);
  world->dir = g_dir_make_tmp ("tke-ceremony-XXXXXX", &error);
  g_assert_no_error (error);

  world->readers = tke_virtual_reader_manager_new ();
  g_assert_true (tke_virtual_reader_manager_add_reader (TKE_VIRTUAL_READER_MANAGER (world->readers),
                                                        READER1, &error));
  g_assert_true (tke_virtual_reader_manager_add_reader (TKE_VIRTUAL_READER_MANAGER (world->readers),
                                                        READER2, &error));
  /* data "no-serial": cards of a maker that gives no serial number (tke-vcard's serial 0). */
  for (guint i = 0; i < N_CARDS; i++)
    world->cards[i] = tke_vcard_engine_new_blank (g_strcmp0 (data, "no-serial") == 0 ? 0 : 1000 + i,
                                                  TKE_VCARD_MGMT_ALG_AES192);

  /* Two services: one instance of 3 operational + 2 failover units on a fixed port (so that it
   * can be stopped and started again at the same address), and the same on another. */
  for (guint s = 0; s < 2; s++)
    {
      g_autofree char *state_dir = g_strdup_printf ("%s/service%u", world->dir, s);
      g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", free_port ());

      world->configs[s] = tke_softunit_config_new ();
      g_free (world->configs[s]->state_dir);
      world->configs[s]->state_dir = g_strdup (state_dir);
      tke_softunit_config_set_units (world->configs[s], s == 0 ? 3 : 1, s == 0 ? 2 : 1);
      g_assert_true (tke_softunit_config_set_listen (world->configs[s], listen, &error));
      world->services[s] = tke_softunit_service_new (world->configs[s], &error);
      g_assert_no_error (error);
      g_assert_true (tke_softunit_service_start (world->services[s], &error));
      g_assert_no_error (error);
      add_units_of (world, s, units);
    }

  journal_path = g_build_filename (world->dir, TKE_JOURNAL_FILE_NAME, NULL);
  world->journal = tke_journal_open (journal_path, &error);
  g_assert_no_error (error);

  world->prompter = tke_scripted_prompter_new ();
  tke_scripted_prompter_set_card_handler (world->prompter, insert_next_card, world);
  world->ceremony =
      tke_ceremony_new (world->readers, TKE_PROMPTER (world->prompter), world->journal);
  tke_ceremony_set_units (world->ceremony, units);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
world_tear_down (World *world, gconstpointer data)
{
  g_clear_object (&world->ceremony);
  g_clear_object (&world->prompter);
  g_clear_object (&world->journal);
  for (guint s = 0; s < 2; s++)
    {
      tke_softunit_service_stop (world->services[s]);
      g_clear_object (&world->services[s]);
      tke_softunit_config_free (world->configs[s]);
    }
  empty_readers (world);
  g_clear_object (&world->readers);
  for (guint i = 0; i < N_CARDS; i++)
    g_clear_object (&world->cards[i]);
  g_queue_clear (&world->next_card[0]);
  g_queue_clear (&world->next_card[1]);
  remove_tree (world->dir);
  g_free (world->dir);
  g_ptr_array_unref (world->wanted);
}

static TkeCeremonyResult *
run_op (World *world, TkeCeremonyOp op, GError **error)
{
  TkeCeremonyResult *result;

  empty_readers (world);
  result = tke_ceremony_run (world->ceremony, op, NULL, NULL, error);
  g_assert_cmpuint (tke_scripted_prompter_get_n_pending (world->prompter), ==, 0);
  g_assert_true (g_queue_is_empty (&world->next_card[0]));
  g_assert_true (g_queue_is_empty (&world->next_card[1]));
  return result;
}

/* Runs an operation that every unit accepts; returns its result's summary. */
static char *
run_ok_summary (World *world, TkeCeremonyOp op)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCeremonyResult) result = run_op (world, op, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_test_message ("%s: %s", tke_ceremony_op_to_string (op), result->summary);
  for (guint i = 0; i < result->outcomes->len; i++)
    {
      TkeUnitOutcome *outcome = result->outcomes->pdata[i];

      if (!outcome->accepted)
        g_test_message ("unit %u: %s %s", outcome->num, outcome->code, outcome->message);
      g_assert_true (outcome->accepted);
    }
  g_assert_cmpuint (result->differences->len, ==, 0);
  return g_strdup (result->summary);
}

static void
run_ok (World *world, TkeCeremonyOp op)
{
  g_free (run_ok_summary (world, op));
}

static void
initialize_cards (World *world)
{
  static const char *const descriptions[] = { "Alice's administrator card",
                                              "Bob's administrator card", "Key part 1 custodian",
                                              "Key part 2 custodian", "Key part 3 custodian" };

  for (guint i = 0; i < N_CARDS; i++)
    {
      expect_card (world, TKE_READER_ROLE_2, i);
      tke_scripted_prompter_push_text (world->prompter, descriptions[i]);
      tke_scripted_prompter_push_pin (world->prompter, "123456");
      tke_scripted_prompter_push_pin (world->prompter, card_pins[i]);
      tke_scripted_prompter_push_pin (world->prompter, "12345678");
      tke_scripted_prompter_push_pin (world->prompter, NEW_PUK);
      run_ok (world, TKE_CEREMONY_INITIALIZE_CARD);
    }
}

static void
generate_admins_and_parts (World *world)
{
  static const char *const names[] = { "Alice", "Bob" };

  for (guint i = CARD_ALICE; i <= CARD_BOB; i++)
    {
      expect_card (world, TKE_READER_ROLE_2, i);
      tke_scripted_prompter_push_text (world->prompter, names[i]);
      tke_scripted_prompter_push_pin (world->prompter, card_pins[i]);
      run_ok (world, TKE_CEREMONY_GENERATE_SIGNATURE_KEY);
    }
  for (guint i = CARD_PART1; i <= CARD_PART3; i++)
    {
      g_autofree char *description = g_strdup_printf ("Master key part %u", i - CARD_PART1 + 1);

      expect_card (world, TKE_READER_ROLE_2, i);
      tke_scripted_prompter_push_pin (world->prompter, card_pins[i]);
      tke_scripted_prompter_push_text (world->prompter, description);
      run_ok (world, TKE_CEREMONY_GENERATE_KEY_PART);
    }
}

static void
install_admins_and_thresholds (World *world)
{
  g_autofree char *added = NULL;

  /* Imprint mode: adding needs no signature; the certificate proves the key is held. */

  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  added = run_ok_summary (world, TKE_CEREMONY_ADD_ADMINISTRATOR);
  /* The result names who was added, with the start of the SKI. */
  g_assert_true (g_str_has_prefix (added, "Alice (SKI "));
  g_assert_nonnull (strstr (added, "…) is an administrator of crypto units 1, 2, 3, "));
  g_assert_true (g_str_has_suffix (added, " now."));
  expect_card (world, TKE_READER_ROLE_1, CARD_BOB);
  run_ok (world, TKE_CEREMONY_ADD_ADMINISTRATOR);

  /* Leaving imprint mode with 2/2 needs the new threshold's two signatures. */
  tke_scripted_prompter_push_number (world->prompter, 2);
  tke_scripted_prompter_push_number (world->prompter, 2);
  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_ALICE]);
  expect_card (world, TKE_READER_ROLE_1, CARD_BOB);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_BOB]);
  run_ok (world, TKE_CEREMONY_CHANGE_THRESHOLDS);
}

static void
script_load (World *world)
{
  tke_scripted_prompter_push_number (world->prompter, 3);
  for (guint i = CARD_PART1; i <= CARD_PART3; i++)
    {
      expect_card (world, TKE_READER_ROLE_2, i);
      tke_scripted_prompter_push_pin (world->prompter, card_pins[i]);
    }
  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_ALICE]);
}

static void
script_quorum (World *world)
{
  expect_card (world, TKE_READER_ROLE_1, CARD_BOB);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_BOB]);
  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_ALICE]);
}

/* The VP of the XOR of the three parts, read from the cards by the test itself. */
static char *
expected_master_key_vp (World *world)
{
  guint8 key[TKE_KEY_PART_LEN] = { 0 };
  guint8 vp[TKE_VP_LEN];

  for (guint i = CARD_PART1; i <= CARD_PART3; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeCardConnection) connection = NULL;
      g_autoptr (TkePivClient) piv = NULL;
      g_autoptr (TkeSecret) pin = NULL;
      g_autoptr (TkeSecret) part = NULL;

      empty_readers (world);
      g_assert_true (tke_virtual_reader_manager_insert (TKE_VIRTUAL_READER_MANAGER (world->readers),
                                                        READER2, TKE_VIRTUAL_CARD (world->cards[i]),
                                                        &error));
      connection = tke_reader_manager_connect (world->readers, READER2, &error);
      g_assert_no_error (error);
      piv = tke_piv_client_new (connection);
      pin = tke_secret_new_from ((const guint8 *) card_pins[i], strlen (card_pins[i]), &error);
      part = tke_card_profile_take_key_part (piv, pin, 1, NULL, &error);
      g_assert_no_error (error);
      for (guint b = 0; b < TKE_KEY_PART_LEN; b++)
        key[b] ^= tke_secret_peek (part)[b];
      tke_card_connection_disconnect (connection, TRUE);
    }
  empty_readers (world);

  tke_vp_compute (key, sizeof key, vp);
  OPENSSL_cleanse (key, sizeof key);
  return tke_vp_to_hex (vp);
}

static json_t *
unit_state (World *world, guint s, guint i)
{
  GPtrArray *units = tke_softunit_service_get_units (world->services[s]);

  return tke_softunit_unit_get_state (units->pdata[i]);
}

static void
assert_all_units (World *world, const char *current_vp)
{
  for (guint s = 0; s < 2; s++)
    for (guint i = 0; i < tke_softunit_service_get_units (world->services[s])->len; i++)
      {
        json_auto_t *state = unit_state (world, s, i);
        json_t *admins = json_object_get (state, "admins");
        json_t *registers = json_object_get (state, "registers");

        g_assert_cmpstr (json_string_value (json_object_get (state, "mode")), ==, "normal");
        g_assert_cmpuint (json_array_size (admins), ==, 2);
        g_assert_cmpstr (json_string_value (json_object_get (json_array_get (admins, 0), "name")),
                         ==, "Alice");
        g_assert_cmpstr (json_string_value (json_object_get (json_array_get (admins, 1), "name")),
                         ==, "Bob");
        g_assert_cmpint (json_integer_value (
                             json_object_get (json_object_get (state, "thresholds"), "signature")),
                         ==, 2);
        g_assert_cmpint (json_integer_value (
                             json_object_get (json_object_get (state, "thresholds"), "revocation")),
                         ==, 2);
        g_assert_cmpstr (
            json_string_value (json_object_get (json_object_get (registers, "current"), "state")),
            ==, "Valid");
        g_assert_cmpstr (
            json_string_value (json_object_get (json_object_get (registers, "current"), "vp")), ==,
            current_vp);
        g_assert_cmpstr (
            json_string_value (json_object_get (json_object_get (registers, "new"), "state")), ==,
            "Empty");
      }
}

static void
assert_journal_clean (World *world)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  guint n = 0;

  g_assert_true (tke_journal_verify (tke_journal_get_path (world->journal), &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, >=, 12);

  g_assert_true (
      g_file_get_contents (tke_journal_get_path (world->journal), &contents, NULL, NULL));
  for (guint i = 0; i < N_CARDS; i++)
    g_assert_null (strstr (contents, card_pins[i]));
  g_assert_null (strstr (contents, NEW_PUK));
  g_assert_null (strstr (contents, "123456\""));
}

static void
test_ceremony_seed (World *world, gconstpointer data)
{
  g_autofree char *expected_vp = NULL;
  g_autofree char *transcript = NULL;

  initialize_cards (world);
  generate_admins_and_parts (world);
  install_admins_and_thresholds (world);

  script_load (world);
  run_ok (world, TKE_CEREMONY_LOAD);
  script_quorum (world);
  run_ok (world, TKE_CEREMONY_COMMIT);
  tke_scripted_prompter_push_confirm (world->prompter, TRUE);
  expect_card (world, TKE_READER_ROLE_1, CARD_BOB);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_BOB]);
  run_ok (world, TKE_CEREMONY_SET_IMMEDIATE);
  /* On a first initialization the confirmation says that nothing is replaced. */
  {
    g_autofree char *first = tke_scripted_prompter_dup_transcript (world->prompter);

    g_assert_nonnull (strstr (first, "Their current master key registers are empty: nothing "
                                     "is replaced, and no stored key is affected."));
    g_assert_null (strstr (first, "replaces the current master key"));
  }

  expected_vp = expected_master_key_vp (world);
  assert_all_units (world, expected_vp);
  assert_journal_clean (world);

  /* What the operator saw before each PIN: who signs what, and the VP. */
  transcript = tke_scripted_prompter_dup_transcript (world->prompter);
  g_assert_nonnull (
      strstr (transcript, "Signature 2 of 2 by Alice: Commit the new master key with VP"));
  g_assert_nonnull (strstr (transcript, expected_vp));
  g_assert_nonnull (strstr (transcript, "tries left 3"));
  /* The thresholds offered are those two administrators can meet. */
  g_assert_nonnull (strstr (transcript, "number: Signature threshold (1..2)"));
  g_assert_nonnull (strstr (transcript, "number: Revocation signature threshold (1..2)"));

  /* A second master key set immediate over the first: the confirmation names the key it
   * replaces and says that no stored key is lost. */
  script_load (world);
  run_ok (world, TKE_CEREMONY_LOAD);
  script_quorum (world);
  run_ok (world, TKE_CEREMONY_COMMIT);
  tke_scripted_prompter_push_confirm (world->prompter, TRUE);
  expect_card (world, TKE_READER_ROLE_1, CARD_BOB);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_BOB]);
  run_ok (world, TKE_CEREMONY_SET_IMMEDIATE);
  {
    g_autofree char *again = tke_scripted_prompter_dup_transcript (world->prompter);
    g_autofree char *replaced =
        g_strdup_printf ("replaces the current master key (VP %s)", expected_vp);

    g_assert_nonnull (strstr (again, replaced));
    g_assert_nonnull (strstr (again, "No keys are stored under the current master key, so none "
                                     "becomes unusable."));
  }
}

static void
test_ceremony_wrong_pin (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCeremonyResult) result = NULL;
  g_autofree char *transcript = NULL;

  initialize_cards (world);

  expect_card (world, TKE_READER_ROLE_2, CARD_ALICE);
  tke_scripted_prompter_push_text (world->prompter, "Alice");
  tke_scripted_prompter_push_pin (world->prompter, "00000000");
  result = run_op (world, TKE_CEREMONY_GENERATE_SIGNATURE_KEY, &error);
  g_assert_null (result);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_assert_nonnull (strstr (error->message, "2 tries left"));
  g_clear_error (&error);

  /* Not retried by itself: the next attempt shows the tries left, and the right PIN works. */
  expect_card (world, TKE_READER_ROLE_2, CARD_ALICE);
  tke_scripted_prompter_push_text (world->prompter, "Alice");
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_ALICE]);
  run_ok (world, TKE_CEREMONY_GENERATE_SIGNATURE_KEY);
  transcript = tke_scripted_prompter_dup_transcript (world->prompter);
  g_assert_nonnull (
      strstr (transcript, "tries left 2: Generate the signature key of administrator Alice"));
}

/* Change PIN and Unblock PIN are operations of the engine: a new PIN from the present one; a
 * PIN blocked by three wrong ones is refused with the way out named, and unblocked with the PUK
 * and a new PIN, which then works. */
/* Each PIN request as "KIND TRIES": what the operator is told before typing. */
static void
record_pin_request (const TkePinRequest *request, gpointer user_data)
{
  static const char *const kinds[] = { "PIN", "new-PIN", "PUK", "password", "new-PUK" };

  g_ptr_array_add (user_data, g_strdup_printf ("%s %d", kinds[request->kind], request->tries_left));
}

static void
test_ceremony_pin_change_and_unblock (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *changed = NULL;
  g_autofree char *unblocked = NULL;
  g_autoptr (GPtrArray) requests = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *asked = NULL;

  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  tke_scripted_prompter_push_text (world->prompter, "Custodian's card");
  tke_scripted_prompter_push_pin (world->prompter, "123456");
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART1]);
  tke_scripted_prompter_push_pin (world->prompter, "12345678");
  tke_scripted_prompter_push_pin (world->prompter, NEW_PUK);
  run_ok (world, TKE_CEREMONY_INITIALIZE_CARD);

  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART1]);
  tke_scripted_prompter_push_pin (world->prompter, "24681357");
  changed = run_ok_summary (world, TKE_CEREMONY_CHANGE_PIN);
  g_assert_cmpstr (changed, ==, "The PIN of the card in " READER2 " is changed.");

  /* The old PIN is wrong now; three times blocks the PIN. */
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (TkeCeremonyResult) result = NULL;

      expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
      tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART1]);
      tke_scripted_prompter_push_text (world->prompter, "Master key part 1");
      result = run_op (world, TKE_CEREMONY_GENERATE_KEY_PART, &error);
      g_assert_null (result);
      g_assert_true (g_error_matches (error, TKE_ERROR, TKE_ERROR_PIN_WRONG) ||
                     g_error_matches (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED));
      g_clear_error (&error);
    }
  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  g_assert_null (run_op (world, TKE_CEREMONY_CHANGE_PIN, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED);
  g_assert_nonnull (strstr (error->message, "Unblock PIN on the Smart card tab"));
  g_assert_nonnull (strstr (error->message, "tkectl card-unblock"));
  g_clear_error (&error);

  /* The PUK is asked with the PUK's own tries, which a wrong PUK takes one of. */
  tke_scripted_prompter_set_pin_handler (world->prompter, record_pin_request, requests);
  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  tke_scripted_prompter_push_pin (world->prompter, "11111111");
  tke_scripted_prompter_push_pin (world->prompter, "13572468");
  g_assert_null (run_op (world, TKE_CEREMONY_UNBLOCK_PIN, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_clear_error (&error);

  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  tke_scripted_prompter_push_pin (world->prompter, NEW_PUK);
  tke_scripted_prompter_push_pin (world->prompter, "13572468");
  unblocked = run_ok_summary (world, TKE_CEREMONY_UNBLOCK_PIN);
  g_assert_cmpstr (unblocked, ==, "The PIN of the card in " READER2 " is unblocked and set anew.");
  tke_scripted_prompter_set_pin_handler (world->prompter, NULL, NULL);
  g_ptr_array_add (requests, NULL);
  asked = g_strjoinv (", ", (char **) requests->pdata);
  g_assert_cmpstr (asked, ==, "PUK 3, new-PIN -1, PUK 2, new-PIN -1");

  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  tke_scripted_prompter_push_pin (world->prompter, "13572468");
  tke_scripted_prompter_push_text (world->prompter, "Master key part 1");
  run_ok (world, TKE_CEREMONY_GENERATE_KEY_PART);
}

static void
test_ceremony_cancel_in_quorum (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCeremonyResult) result = NULL;
  json_auto_t *before = NULL;
  json_auto_t *after = NULL;

  initialize_cards (world);
  generate_admins_and_parts (world);
  install_admins_and_thresholds (world);
  script_load (world);
  run_ok (world, TKE_CEREMONY_LOAD);

  before = unit_state (world, 0, 0);
  /* The first administrator signs, the second cancels at the PIN. */
  expect_card (world, TKE_READER_ROLE_1, CARD_BOB);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_BOB]);
  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  tke_scripted_prompter_push_cancel (world->prompter);
  result = run_op (world, TKE_CEREMONY_COMMIT, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  after = unit_state (world, 0, 0);
  g_assert_true (json_equal (before, after));
  g_assert_cmpstr (json_string_value (json_object_get (
                       json_object_get (json_object_get (after, "registers"), "new"), "state")),
                   ==, "Full Uncommitted");
}

/* Stops the second service when the quorum's card is asked for: the command then reaches the
 * first service's units and not the second's. */
static void
insert_and_stop_service (const TkeCardRequest *request, gpointer user_data)
{
  World *world = user_data;

  insert_next_card (request, user_data);
  if (request->role == TKE_READER_ROLE_1)
    tke_softunit_service_stop (world->services[1]);
}

static void
test_ceremony_unit_fails_then_retry (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCeremonyResult) result = NULL;
  g_autoptr (TkeCeremonyResult) retried = NULL;
  g_autofree char *expected_vp = NULL;

  initialize_cards (world);
  generate_admins_and_parts (world);
  install_admins_and_thresholds (world);
  script_load (world);
  run_ok (world, TKE_CEREMONY_LOAD);
  script_quorum (world);
  run_ok (world, TKE_CEREMONY_COMMIT);

  tke_scripted_prompter_set_card_handler (world->prompter, insert_and_stop_service, world);
  tke_scripted_prompter_push_confirm (world->prompter, TRUE);
  expect_card (world, TKE_READER_ROLE_1, CARD_BOB);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_BOB]);
  result = run_op (world, TKE_CEREMONY_SET_IMMEDIATE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->outcomes->len, ==, 7);
  g_assert_cmpuint (tke_ceremony_result_get_n_failed (result), ==, 2);
  for (guint i = 0; i < result->outcomes->len; i++)
    {
      TkeUnitOutcome *outcome = result->outcomes->pdata[i];

      g_assert_cmpint (outcome->accepted, ==, i < 5);
      if (i >= 5)
        g_assert_cmpstr (outcome->code, ==, "UNREACHABLE");
    }
  /* The units that took the command now differ from those that did not. */
  g_assert_cmpuint (result->differences->len, >, 0);

  /* The service comes back; Retry failed units sends a fresh command to those two only. */
  g_assert_true (tke_softunit_service_start (world->services[1], &error));
  g_assert_no_error (error);
  tke_scripted_prompter_set_card_handler (world->prompter, insert_next_card, world);
  tke_scripted_prompter_push_confirm (world->prompter, TRUE);
  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_ALICE]);
  empty_readers (world);
  retried = tke_ceremony_retry_failed (world->ceremony, result, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (retried->outcomes->len, ==, 2);
  g_assert_cmpuint (tke_ceremony_result_get_n_failed (retried), ==, 0);

  expected_vp = expected_master_key_vp (world);
  assert_all_units (world, expected_vp);
}

/* When the PIN of the second part's card is asked, that card is pulled three APDUs later: in the
 * middle of taking the part out, after the operator gave the PIN. */
static void
pull_second_part_card (const TkePinRequest *request, gpointer user_data)
{
  World *world = user_data;

  if (strstr (request->purpose, "Master key part 2") != NULL)
    tke_virtual_reader_manager_remove_after (TKE_VIRTUAL_READER_MANAGER (world->readers), READER2,
                                             3);
}

static void
test_ceremony_card_pulled_during_load (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCeremonyResult) result = NULL;
  json_auto_t *before = NULL;
  json_auto_t *after = NULL;

  initialize_cards (world);
  generate_admins_and_parts (world);
  install_admins_and_thresholds (world);
  before = unit_state (world, 0, 0);

  tke_scripted_prompter_set_pin_handler (world->prompter, pull_second_part_card, world);
  tke_scripted_prompter_push_number (world->prompter, 3);
  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART1]);
  expect_card (world, TKE_READER_ROLE_2, CARD_PART2);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART2]);
  empty_readers (world);
  result = tke_ceremony_run (world->ceremony, TKE_CEREMONY_LOAD, NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED);
  g_clear_error (&error);

  /* Nothing was sent: the units are as they were, their new register still empty. */
  after = unit_state (world, 0, 0);
  g_assert_true (json_equal (before, after));

  /* With the card back, the load goes through. */
  tke_scripted_prompter_set_pin_handler (world->prompter, NULL, NULL);
  script_load (world);
  run_ok (world, TKE_CEREMONY_LOAD);
}

static TkeCardInfo *
read_card (World *world, guint card)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  TkeCardInfo *info;

  empty_readers (world);
  g_assert_true (tke_virtual_reader_manager_insert (TKE_VIRTUAL_READER_MANAGER (world->readers),
                                                    READER2, TKE_VIRTUAL_CARD (world->cards[card]),
                                                    &error));
  connection = tke_reader_manager_connect (world->readers, READER2, &error);
  g_assert_no_error (error);
  piv = tke_piv_client_new (connection);
  info = tke_card_profile_read_info (piv, &error);
  g_assert_no_error (error);
  tke_card_connection_disconnect (connection, TRUE);
  empty_readers (world);
  return info;
}

static void
test_ceremony_key_files_onto_cards (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *files = g_build_filename (world->dir, "files", NULL);
  g_autofree char *sigkey_path = g_build_filename (files, "carol.p12", NULL);
  g_autofree char *part_path = g_build_filename (files, "part.jwe", NULL);
  g_autoptr (TkeSecret) password = tke_secret_new_from ((const guint8 *) "correct horse", 13, NULL);
  g_autoptr (TkeSecret) part = tke_secret_new_random (TKE_KEY_PART_LEN, NULL);
  g_autoptr (TkeSignatureKeyFileInfo) sigkey = NULL;
  g_autoptr (TkeKeyPartFileInfo) part_file = NULL;
  g_autoptr (TkeCeremonyResult) result = NULL;
  g_autoptr (TkeCardInfo) info = NULL;
  json_auto_t *params = json_pack ("{s:s}", "files_dir", files);

  g_assert_cmpint (g_mkdir_with_parents (files, 0700), ==, 0);
  sigkey = tke_signature_key_file_create (sigkey_path, "Carol", TKE_CURVE_P256, password, &error);
  g_assert_no_error (error);
  part_file = tke_key_part_file_create (part_path, part, "Part from a file", password, &error);
  g_assert_no_error (error);
  initialize_cards (world);

  /* A wrong password: a clear error, and the card is not touched. */
  tke_scripted_prompter_push_pin (world->prompter, "wrong horse");
  empty_readers (world);
  result = tke_ceremony_run (world->ceremony, TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE, params, NULL,
                             &error);
  g_assert_null (result);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);

  tke_scripted_prompter_push_pin (world->prompter, "correct horse");
  expect_card (world, TKE_READER_ROLE_2, CARD_ALICE);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_ALICE]);
  empty_readers (world);
  result = tke_ceremony_run (world->ceremony, TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE, params, NULL,
                             &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (result->summary, sigkey->ski));
  g_clear_pointer (&result, tke_ceremony_result_free);
  info = read_card (world, CARD_ALICE);
  g_assert_cmpstr (info->admin_name, ==, "Carol");
  g_clear_pointer (&info, tke_card_info_free);

  tke_scripted_prompter_push_pin (world->prompter, "correct horse");
  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART1]);
  empty_readers (world);
  result =
      tke_ceremony_run (world->ceremony, TKE_CEREMONY_COPY_KEY_PART_FILE, params, NULL, &error);
  g_assert_no_error (error);
  info = read_card (world, CARD_PART1);
  g_assert_cmpuint (info->parts->len, ==, 1);
  g_assert_cmpstr (((TkeKeyPartInfo *) info->parts->pdata[0])->description, ==, "Part from a file");
  g_assert_cmpmem (((TkeKeyPartInfo *) info->parts->pdata[0])->vp, TKE_VP_LEN, part_file->vp,
                   TKE_VP_LEN);
  g_assert_cmpuint (tke_scripted_prompter_get_n_pending (world->prompter), ==, 0);
}

/* A signature key file signs in place of a card: the same key, put on a card to install its
 * administrator, then loaded from its file to sign the thresholds with no card asked for. */
static void
test_ceremony_file_signer (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *files = g_build_filename (world->dir, "files", NULL);
  g_autofree char *path = g_build_filename (files, "carol.p12", NULL);
  g_autoptr (TkeSecret) password = tke_secret_new_from ((const guint8 *) "correct horse", 13, NULL);
  g_autoptr (TkeSignatureKeyFileInfo) file = NULL;
  g_autoptr (TkeSigner) signer = NULL;
  g_autoptr (GPtrArray) signers = g_ptr_array_new ();
  g_autoptr (TkeCeremonyResult) result = NULL;
  json_auto_t *params =
      json_pack ("{s:s, s:i, s:i}", "file", path, "signature", 1, "revocation", 1);
  json_auto_t *state = NULL;

  g_assert_cmpint (g_mkdir_with_parents (files, 0700), ==, 0);
  file = tke_signature_key_file_create (path, "Carol", TKE_CURVE_P256, password, &error);
  g_assert_no_error (error);
  initialize_cards (world);

  tke_scripted_prompter_push_pin (world->prompter, "correct horse");
  expect_card (world, TKE_READER_ROLE_2, CARD_ALICE);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_ALICE]);
  empty_readers (world);
  result = tke_ceremony_run (world->ceremony, TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE, params, NULL,
                             &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, tke_ceremony_result_free);
  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  run_ok (world, TKE_CEREMONY_ADD_ADMINISTRATOR);

  signer = tke_signature_key_file_load (path, password, NULL, NULL, &error);
  g_assert_no_error (error);
  g_ptr_array_add (signers, signer);
  tke_ceremony_set_signers (world->ceremony, signers);
  empty_readers (world);
  result = tke_ceremony_run (world->ceremony, TKE_CEREMONY_CHANGE_THRESHOLDS, params, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tke_ceremony_result_get_n_failed (result), ==, 0);

  state = unit_state (world, 0, 0);
  g_assert_cmpstr (json_string_value (json_object_get (state, "mode")), ==, "normal");
  g_assert_cmpuint (tke_scripted_prompter_get_n_pending (world->prompter), ==, 0);
}

static void
test_ceremony_refused_early (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCeremonyResult) result = NULL;

  /* Imprint mode: a load would be refused by every unit, so it is never sent; the error is the
   * units' own. */
  result = run_op (world, TKE_CEREMONY_LOAD, &error);
  g_assert_null (result);
  g_assert_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_IMPRINT_MODE);
  g_assert_nonnull (strstr (error->message, "imprint mode"));
  g_clear_error (&error);

  /* Without administrators no threshold can be met: refused before any number is asked. */
  result = run_op (world, TKE_CEREMONY_CHANGE_THRESHOLDS, &error);
  g_assert_null (result);
  g_assert_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_THRESHOLD_EXCEEDS_ADMINS);
  g_assert_nonnull (strstr (error->message, "has 0 administrators"));
}

/* Two cards without serial numbers and with the same description are still two cards: their own
 * 9D keys tell them apart, so a copy from one onto the other goes through (told apart by their
 * description, the target was refused as "the card being copied"). */
static void
test_ceremony_no_serial (World *world, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (TkeCardInfo) info = NULL;

  for (guint i = CARD_PART1; i <= CARD_PART2; i++)
    {
      expect_card (world, TKE_READER_ROLE_2, i);
      tke_scripted_prompter_push_text (world->prompter, "Custodian's card");
      tke_scripted_prompter_push_pin (world->prompter, "123456");
      tke_scripted_prompter_push_pin (world->prompter, card_pins[i]);
      tke_scripted_prompter_push_pin (world->prompter, "12345678");
      tke_scripted_prompter_push_pin (world->prompter, NEW_PUK);
      run_ok (world, TKE_CEREMONY_INITIALIZE_CARD);
    }
  expect_card (world, TKE_READER_ROLE_2, CARD_PART1);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART1]);
  tke_scripted_prompter_push_text (world->prompter, "Master key part 1");
  run_ok (world, TKE_CEREMONY_GENERATE_KEY_PART);

  expect_card (world, TKE_READER_ROLE_1, CARD_PART1);
  expect_card (world, TKE_READER_ROLE_2, CARD_PART2);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART1]);
  tke_scripted_prompter_push_pin (world->prompter, card_pins[CARD_PART2]);
  run_ok (world, TKE_CEREMONY_COPY_SMART_CARD);

  connection = tke_reader_manager_connect (world->readers, READER2, &error);
  g_assert_no_error (error);
  piv = tke_piv_client_new (connection);
  info = tke_card_profile_read_info (piv, &error);
  g_assert_no_error (error);
  g_assert_false (info->has_serial);
  g_assert_cmpstr (info->description, ==, "Custodian's card");
  g_assert_cmpuint (info->parts->len, ==, 1);
  g_assert_true (g_regex_match_simple ("^[0-9a-f]{64}$", info->key_id, 0, 0));
  tke_card_connection_disconnect (connection, TRUE);
}

static void
test_ceremony_admin_already (World *world, gconstpointer data)
{
  json_auto_t *state = NULL;

  initialize_cards (world);
  generate_admins_and_parts (world);
  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  run_ok (world, TKE_CEREMONY_ADD_ADMINISTRATOR);
  g_ptr_array_set_size (world->wanted, 0);

  /* Alice's card again: refused while the operator is there, and the reason is in the request
   * that follows; Bob's card is then added. */
  expect_card (world, TKE_READER_ROLE_1, CARD_ALICE);
  expect_card (world, TKE_READER_ROLE_1, CARD_BOB);
  run_ok (world, TKE_CEREMONY_ADD_ADMINISTRATOR);
  g_assert_cmpuint (world->wanted->len, ==, 2);
  g_assert_null (strstr (world->wanted->pdata[0], "already"));
  g_assert_true (g_str_has_prefix (world->wanted->pdata[1],
                                   "Alice is an administrator of crypto unit 1 already. Insert "));

  state = unit_state (world, 0, 0);
  g_assert_cmpuint (json_array_size (json_object_get (state, "admins")), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ceremony/seed", World, NULL, world_set_up, test_ceremony_seed, world_tear_down);
  g_test_add ("/ceremony/wrong-pin", World, NULL, world_set_up, test_ceremony_wrong_pin,
              world_tear_down);
  g_test_add ("/ceremony/cancel-in-quorum", World, NULL, world_set_up,
              test_ceremony_cancel_in_quorum, world_tear_down);
  g_test_add ("/ceremony/unit-fails-then-retry", World, NULL, world_set_up,
              test_ceremony_unit_fails_then_retry, world_tear_down);
  g_test_add ("/ceremony/card-pulled-during-load", World, NULL, world_set_up,
              test_ceremony_card_pulled_during_load, world_tear_down);
  g_test_add ("/ceremony/key-files-onto-cards", World, NULL, world_set_up,
              test_ceremony_key_files_onto_cards, world_tear_down);
  g_test_add ("/ceremony/file-signer", World, NULL, world_set_up, test_ceremony_file_signer,
              world_tear_down);
  g_test_add ("/ceremony/pin-change-and-unblock", World, NULL, world_set_up,
              test_ceremony_pin_change_and_unblock, world_tear_down);
  g_test_add ("/ceremony/no-serial", World, "no-serial", world_set_up, test_ceremony_no_serial,
              world_tear_down);
  g_test_add ("/ceremony/admin-already", World, NULL, world_set_up, test_ceremony_admin_already,
              world_tear_down);
  g_test_add ("/ceremony/refused-early", World, NULL, world_set_up, test_ceremony_refused_early,
              world_tear_down);

  return g_test_run ();
}
