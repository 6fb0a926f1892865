/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The unit's rules of DESIGN §3 through the whole stack: client, HTTPS, engine, store. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "softunit-test-util.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-secmem.h"
#include "tke-softunit-store.h"
#include "tke-unit-jose.h"
#include "tke-vp.h"

static const char *
state_str (json_t *answer, const char *path)
{
  json_t *value = json_object_get (answer, "state") ? json_object_get (answer, "state") : answer;
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    value = json_object_get (value, parts[i]);
  return json_string_value (value);
}

static json_int_t
state_int (json_t *answer, const char *path)
{
  json_t *value = json_object_get (answer, "state") ? json_object_get (answer, "state") : answer;
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    value = json_object_get (value, parts[i]);
  g_assert_true (json_is_integer (value));
  return json_integer_value (value);
}

static void
test_imprint_mode (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  static const char *const mk_ops[] = { "mk.load",   "mk.commit",    "mk.set_immediate",
                                        "mk.rotate", "mk.clear_new", "mk.clear_current" };
  json_t *answer;

  g_assert_cmpuint (w->units->len, ==, 5);
  g_assert_cmpuint (((TkeUnitInfo *) w->units->pdata[4])->num, ==, 5);
  g_assert_cmpstr (((TkeUnitInfo *) w->units->pdata[0])->type, ==, "OPERATIONAL");
  g_assert_cmpstr (((TkeUnitInfo *) w->units->pdata[3])->type, ==, "FAILOVER");

  answer = test_get_state (w, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (state_str (answer, "mode"), ==, "imprint");
  g_assert_cmpint (state_int (answer, "counter"), ==, 0);
  g_assert_cmpstr (state_str (answer, "registers.new.state"), ==, "Empty");
  g_assert_cmpstr (state_str (answer, "registers.current.vp"), ==,
                   "0000000000000000000000000000000000000000000000000000000000000000");
  json_decref (answer);

  /* admin.add needs no signature in imprint mode: the certificate's self-signature is proof. */
  answer = test_run (w, 0, "admin.add", test_admin_add_args (w->admins[0]), &error, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (state_int (answer, "counter"), ==, 1);
  g_assert_cmpstr (
      json_string_value (json_object_get (
          json_array_get (json_object_get (json_object_get (answer, "state"), "admins"), 0),
          "ski")),
      ==, tke_signer_get_ski (TKE_SIGNER (w->admins[0])));
  json_decref (answer);

  for (guint i = 0; i < G_N_ELEMENTS (mk_ops); i++)
    {
      answer = test_run (w, 0, mk_ops[i], NULL, &error, w->admins[0], NULL);
      g_assert_null (answer);
      test_assert_refused (error, TKE_UNIT_ERROR_IMPRINT_MODE);
    }

  /* admin.remove needs no signature in imprint mode either. */
  answer = test_run (w, 0, "admin.remove",
                     json_pack ("{s:s}", "ski", tke_signer_get_ski (TKE_SIGNER (w->admins[0]))),
                     &error, NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (json_object_get (json_object_get (answer, "state"), "admins")),
                    ==, 0);
  json_decref (answer);

  /* Zeroize in imprint mode: no signature. */
  answer = test_run (w, 0, "zeroize", NULL, &error, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (state_int (answer, "counter"), ==, 3);
  json_decref (answer);
  test_world_free (w);
}

static void
test_thresholds (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  json_t *answer;

  for (guint i = 0; i < 3; i++)
    json_decref (test_run (w, 0, "admin.add", test_admin_add_args (w->admins[i]), &error, NULL));
  g_assert_no_error (error);

  /* Leaving imprint mode needs as many signatures as the new signature threshold. */
  answer =
      test_run (w, 0, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 2, "revocation", 1),
                &error, w->admins[0], NULL);
  g_assert_null (answer);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES);
  answer =
      test_run (w, 0, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 4, "revocation", 1),
                &error, w->admins[0], w->admins[1], w->admins[2], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES);
  answer =
      test_run (w, 0, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 3, "revocation", 4),
                &error, w->admins[0], w->admins[1], w->admins[2], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_THRESHOLD_EXCEEDS_ADMINS);
  answer = test_run (w, 0, "thresholds.set",
                     json_pack ("{s:i, s:i}", "signature", 0, "revocation", 1), &error, NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_MALFORMED);
  answer =
      test_run (w, 0, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 1, "revocation", 9),
                &error, w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_MALFORMED);

  answer =
      test_run (w, 0, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 2, "revocation", 3),
                &error, w->admins[0], w->admins[1], NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (state_str (answer, "mode"), ==, "normal");
  g_assert_cmpint (state_int (answer, "thresholds.signature"), ==, 2);
  g_assert_cmpint (state_int (answer, "thresholds.revocation"), ==, 3);
  json_decref (answer);

  /* In normal mode, changing them needs the current signature threshold. */
  answer =
      test_run (w, 0, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 1, "revocation", 1),
                &error, w->admins[2], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES);
  answer =
      test_run (w, 0, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 1, "revocation", 1),
                &error, w->admins[2], w->admins[1], NULL);
  g_assert_no_error (error);
  g_assert_cmpint (state_int (answer, "thresholds.signature"), ==, 1);
  json_decref (answer);
  test_world_free (w);
}

static void
test_signature_rules (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCommand) forged = NULL;
  g_autoptr (TkeMemorySigner) stranger = tke_memory_signer_generate ("Mallory", 0, &error);
  json_t *answer, *jws;
  guint unit = 1;

  test_setup_normal (w, unit, 3, 2, 2);

  /* The same administrator twice counts once. */
  answer = test_run (w, unit, "admin.add", test_admin_add_args (w->admins[3]), &error, w->admins[0],
                     w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES);
  /* A signer who is not an administrator is refused, even beside a quorum. */
  answer = test_run (w, unit, "admin.add", test_admin_add_args (w->admins[3]), &error, w->admins[0],
                     w->admins[1], stranger, NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_UNKNOWN_SIGNER);

  /* A signature over another payload: take a valid command and swap in another payload. */
  {
    guint u = unit;
    g_autoptr (TkeCommand) other = test_command (w, "admin.add", test_admin_add_args (w->admins[4]),
                                                 &u, 1, w->admins[0], NULL);
    forged = test_command (w, "admin.add", test_admin_add_args (w->admins[3]), &u, 1, w->admins[0],
                           w->admins[1], NULL);
    jws = tke_command_to_json (forged);
    {
      json_t *other_jws = tke_command_to_json (other);
      json_object_set (jws, "payload", json_object_get (other_jws, "payload"));
      json_decref (other_jws);
    }
    answer = test_request (
        w, g_strdup_printf ("/v1/units/%s/commands", ((TkeUnitInfo *) w->units->pdata[unit])->id),
        jws, &error);
    test_assert_refused (error, TKE_UNIT_ERROR_BAD_SIGNATURE);
    json_decref (jws);
  }

  /* A flipped bit in one signature. */
  jws = tke_command_to_json (forged);
  {
    json_t *sig = json_array_get (json_object_get (jws, "signatures"), 1);
    char *text = g_strdup (json_string_value (json_object_get (sig, "signature")));

    text[5] = text[5] == 'A' ? 'B' : 'A';
    json_object_set_new (sig, "signature", json_string (text));
    g_free (text);
  }
  answer = test_request (
      w, g_strdup_printf ("/v1/units/%s/commands", ((TkeUnitInfo *) w->units->pdata[unit])->id),
      jws, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_BAD_SIGNATURE);
  json_decref (jws);

  /* The untouched command is accepted; sent again it is a replay. */
  answer = test_post (w, unit, forged, &error);
  g_assert_no_error (error);
  json_decref (answer);
  answer = test_post (w, unit, forged, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_BAD_COUNTER);

  /* One key can't be two administrators; names are unique too. */
  answer = test_run (w, unit, "admin.add", test_admin_add_args (w->admins[3]), &error, w->admins[0],
                     w->admins[1], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_ADMIN_EXISTS);

  /* A certificate whose CN is not the name given. */
  {
    json_t *args = test_admin_add_args (w->admins[5]);
    json_object_set_new (args, "name", json_string ("Someone Else"));
    answer = test_run (w, unit, "admin.add", args, &error, w->admins[0], w->admins[1], NULL);
    test_assert_refused (error, TKE_UNIT_ERROR_MALFORMED);
  }
  test_world_free (w);
}

static void
test_admin_limits (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  json_t *answer;

  for (guint i = 0; i < 8; i++)
    {
      json_decref (test_run (w, 2, "admin.add", test_admin_add_args (w->admins[i]), &error, NULL));
      g_assert_no_error (error);
    }
  answer = test_run (w, 2, "admin.add", test_admin_add_args (w->admins[8]), &error, NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_TOO_MANY_ADMINS);

  answer =
      test_run (w, 2, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 1, "revocation", 8),
                &error, w->admins[0], NULL);
  g_assert_no_error (error);
  json_decref (answer);

  /* Removal needs the revocation threshold and never drops below a threshold. */
  answer = test_run (w, 2, "admin.remove",
                     json_pack ("{s:s}", "ski", tke_signer_get_ski (TKE_SIGNER (w->admins[7]))),
                     &error, w->admins[0], w->admins[1], w->admins[2], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES);
  answer = test_run (w, 2, "admin.remove",
                     json_pack ("{s:s}", "ski", tke_signer_get_ski (TKE_SIGNER (w->admins[7]))),
                     &error, w->admins[0], w->admins[1], w->admins[2], w->admins[3], w->admins[4],
                     w->admins[5], w->admins[6], w->admins[7], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_BELOW_THRESHOLD);
  answer =
      test_run (w, 2, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 1, "revocation", 2),
                &error, w->admins[0], NULL);
  g_assert_no_error (error);
  json_decref (answer);
  answer = test_run (w, 2, "admin.remove",
                     json_pack ("{s:s}", "ski", tke_signer_get_ski (TKE_SIGNER (w->admins[7]))),
                     &error, w->admins[0], w->admins[1], NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (json_object_get (json_object_get (answer, "state"), "admins")),
                    ==, 7);
  json_decref (answer);
  /* A removed administrator's signature is unknown from now on. */
  answer = test_run (w, 2, "mk.clear_new", NULL, &error, w->admins[7], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_UNKNOWN_SIGNER);
  answer = test_run (w, 2, "admin.remove", json_pack ("{s:s}", "ski", "00"), &error, w->admins[0],
                     w->admins[1], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_FOUND);
  test_world_free (w);
}

static void
test_targets_and_time (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCommand) expired = NULL;
  g_autoptr (TkeCommand) future = NULL;
  g_autoptr (TkeCommand) both = NULL;
  const guint units[] = { 0, 3 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  json_t *answer;
  guint u = 0;

  /* One command for two units: each accepts it; a third unit is not a target. */
  both = test_command (w, "admin.add", test_admin_add_args (w->admins[0]), units, 2, NULL);
  answer = test_post (w, 0, both, &error);
  g_assert_no_error (error);
  json_decref (answer);
  answer = test_post (w, 3, both, &error);
  g_assert_no_error (error);
  json_decref (answer);
  answer = test_post (w, 1, both, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_A_TARGET);

  expired = tke_command_new ("admin.add");
  tke_command_add_target (expired, ((TkeUnitInfo *) w->units->pdata[u])->id, test_counter (w, u));
  tke_command_take_args (expired, test_admin_add_args (w->admins[1]));
  tke_command_set_validity (expired, now - 700, now - 100);
  answer = test_post (w, u, expired, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_EXPIRED);

  future = tke_command_new ("admin.add");
  tke_command_add_target (future, ((TkeUnitInfo *) w->units->pdata[u])->id, test_counter (w, u));
  tke_command_take_args (future, test_admin_add_args (w->admins[1]));
  tke_command_set_validity (future, now + 3600, now + 4000);
  answer = test_post (w, u, future, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_EXPIRED);

  /* A counter from the past (a replay) and one from the future are both refused. */
  {
    g_autoptr (TkeCommand) stale = tke_command_new ("admin.add");
    tke_command_add_target (stale, ((TkeUnitInfo *) w->units->pdata[u])->id, 0);
    tke_command_take_args (stale, test_admin_add_args (w->admins[1]));
    answer = test_post (w, u, stale, &error);
    test_assert_refused (error, TKE_UNIT_ERROR_BAD_COUNTER);
  }
  g_assert_cmpint (test_counter (w, u), ==, 1);
  test_world_free (w);
}

static void
test_malformed (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path =
      g_strdup_printf ("/v1/units/%s/commands", ((TkeUnitInfo *) w->units->pdata[0])->id);
  g_autoptr (TkeCommand) good = NULL;
  guint u = 0;
  json_t *bodies[8];
  json_t *jws;

  good =
      test_command (w, "admin.add", test_admin_add_args (w->admins[0]), &u, 1, w->admins[0], NULL);
  jws = tke_command_to_json (good);

  bodies[0] = json_pack ("{s:s}", "payload", "e30");
  bodies[1] = json_pack ("{s:s, s:[]}", "payload", "!!not base64!!", "signatures");
  bodies[2] = json_pack ("{s:s, s:[]}", "payload", "e30", "signatures"); /* {} */
  bodies[3] = json_deep_copy (jws);
  json_object_set_new (json_array_get (json_object_get (bodies[3], "signatures"), 0), "protected",
                       json_string ("e30"));
  bodies[4] = json_deep_copy (jws);
  json_object_set_new (bodies[4], "protected", json_string ("e30"));
  bodies[5] = json_pack ("{s:s, s:s}", "payload", "e30", "signatures", "none");
  bodies[6] = json_deep_copy (jws);
  json_object_set_new (json_array_get (json_object_get (bodies[6], "signatures"), 0), "protected",
                       json_string ("eyJhbGciOiJIUzI1NiIsImtpZCI6IngifQ")); /* HS256 */
  {
    /* A payload with an unknown op. */
    const char *payload =
        "{\"typ\":\"tke-command/1\",\"op\":\"mk.steal\",\"targets\":[],\"args\":{},"
        "\"iat\":1,\"exp\":2,\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\"}";
    g_autofree char *b64 = tke_b64url_encode ((const guint8 *) payload, strlen (payload));
    bodies[7] = json_pack ("{s:s, s:[]}", "payload", b64, "signatures");
  }
  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      json_t *answer = test_request (w, path, bodies[i], &error);

      g_assert_null (answer);
      test_assert_refused (error, TKE_UNIT_ERROR_MALFORMED);
      json_decref (bodies[i]);
    }

  /* Bytes that are not JSON at all, straight to the engine. */
  {
    TkeSoftunitUnit *unit = g_ptr_array_index (tke_softunit_service_get_units (w->service), 0);
    g_assert_null (tke_softunit_unit_execute (unit, "{\"payload\": ", 12, &error));
    test_assert_refused (error, TKE_UNIT_ERROR_MALFORMED);
    g_assert_null (tke_softunit_unit_execute (unit, "", 0, &error));
    test_assert_refused (error, TKE_UNIT_ERROR_MALFORMED);
  }
  /* None of this moved the counter; the good command still works. */
  g_assert_cmpint (test_counter (w, 0), ==, 0);
  {
    g_autoptr (TkeCommand) fine =
        test_command (w, "admin.add", test_admin_add_args (w->admins[0]), &u, 1, NULL);
    json_decref (test_post (w, 0, fine, &error));
  }
  g_assert_no_error (error);
  json_decref (jws);
  test_world_free (w);
}

static TkeSecret *
random_part (void)
{
  g_autoptr (GError) error = NULL;
  TkeSecret *part = tke_secret_new_random (32, &error);

  g_assert_no_error (error);
  return part;
}

static json_t *
vp_args (const char *vp)
{
  return json_pack ("{s:s}", "vp", vp);
}

static void
load_commit (TestWorld *w, guint unit, TkeSecret **parts, guint n, char **vp_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *vp = test_vp_hex_of_xor (parts, n);
  json_t *answer;

  answer = test_load (w, unit, parts, n, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (state_str (answer, "registers.new.state"), ==, "Full Uncommitted");
  g_assert_cmpstr (state_str (answer, "registers.new.vp"), ==, vp);
  json_decref (answer);
  answer = test_run (w, unit, "mk.commit", vp_args (vp), &error, w->admins[0], w->admins[1], NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (state_str (answer, "registers.new.state"), ==, "Full Committed");
  json_decref (answer);
  *vp_out = g_steal_pointer (&vp);
}

static json_t *
key_call (TestWorld *w, guint unit, const char *suffix, json_t *body, GError **error)
{
  g_autofree char *path =
      g_strdup_printf ("/v1/units/%s/keys%s", ((TkeUnitInfo *) w->units->pdata[unit])->id, suffix);
  json_t *answer = test_request (w, path, body, error);

  json_decref (body);
  return answer;
}

static void
test_master_keys (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  TkeSecret *k1[3] = { random_part (), random_part (), random_part () };
  TkeSecret *k2[2] = { random_part (), random_part () };
  TkeSecret *k3[2] = { random_part (), random_part () };
  g_autofree char *vp1 = NULL;
  g_autofree char *vp2 = NULL;
  g_autofree char *vp3 = NULL;
  g_autofree char *kid_path = NULL;
  g_autofree char *ciphertext = NULL;
  g_autofree char *importer_before = NULL;
  const char *message_b64 = "c2VjcmV0IG1lc3NhZ2U"; /* "secret message" */
  json_t *answer, *state;
  guint u = 4;

  test_setup_normal (w, u, 3, 2, 2);

  /* Keys can't be stored before a current master key exists. */
  answer = key_call (w, u, "", json_pack ("{s:i}", "count", 2), &error);
  test_assert_refused (error, TKE_UNIT_ERROR_REGISTER_STATE);

  /* Commit and set immediate refuse an Empty register; commit needs the VP. */
  answer = test_run (w, u, "mk.commit", vp_args (test_vp_hex_of_xor (k1, 3)), &error, w->admins[0],
                     w->admins[1], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_REGISTER_STATE);

  state = test_get_state (w, u, NULL);
  importer_before = json_dumps (json_object_get (state, "importer_key"), JSON_COMPACT);
  json_decref (state);

  /* Load from three parts; mk.load needs one signature. */
  answer = test_load (w, u, k1, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (state_str (answer, "registers.new.state"), ==, "Full Uncommitted");
  g_assert_cmpstr (state_str (answer, "registers.new.vp"), ==, test_vp_hex_of_xor (k1, 3));
  {
    /* The importer key was renewed by the load. */
    char *after = json_dumps (json_object_get (json_object_get (answer, "state"), "importer_key"),
                              JSON_COMPACT);
    g_assert_cmpstr (after, !=, importer_before);
    free (after);
  }
  json_decref (answer);
  answer = test_load (w, u, k2, 2, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_REGISTER_STATE);

  /* Set immediate before commit: register state. Commit with a wrong VP: mismatch. */
  answer = test_run (w, u, "mk.set_immediate", vp_args (test_vp_hex_of_xor (k1, 3)), &error,
                     w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_REGISTER_STATE);
  answer = test_run (w, u, "mk.commit", vp_args (test_vp_hex_of_xor (k2, 2)), &error, w->admins[0],
                     w->admins[1], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_VP_MISMATCH);
  answer = test_run (w, u, "mk.commit", NULL, &error, w->admins[0], w->admins[1], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_MALFORMED);
  answer = test_run (w, u, "mk.commit", vp_args (test_vp_hex_of_xor (k1, 3)), &error, w->admins[0],
                     NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES);
  vp1 = test_vp_hex_of_xor (k1, 3);
  answer = test_run (w, u, "mk.commit", vp_args (vp1), &error, w->admins[0], w->admins[1], NULL);
  g_assert_no_error (error);
  json_decref (answer);
  answer = test_run (w, u, "mk.set_immediate", vp_args (vp2 = test_vp_hex_of_xor (k2, 2)), &error,
                     w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_VP_MISMATCH);
  answer = test_run (w, u, "mk.set_immediate", vp_args (vp1), &error, w->admins[0], NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (state_str (answer, "registers.current.state"), ==, "Valid");
  g_assert_cmpstr (state_str (answer, "registers.current.vp"), ==, vp1);
  g_assert_cmpstr (state_str (answer, "registers.new.state"), ==, "Empty");
  json_decref (answer);

  /* A stored key and a ciphertext under it. */
  answer = key_call (w, u, "", json_pack ("{s:i}", "count", 3), &error);
  g_assert_no_error (error);
  kid_path = g_strdup_printf (
      "/%s", json_string_value (json_array_get (json_object_get (answer, "kids"), 1)));
  json_decref (answer);
  answer = key_call (w, u, g_strconcat (kid_path, "/encrypt", NULL),
                     json_pack ("{s:s}", "plaintext", message_b64), &error);
  g_assert_no_error (error);
  ciphertext = g_strdup (json_string_value (json_object_get (answer, "ciphertext")));
  json_decref (answer);

  /* Rotate to K2: the stored keys are rewrapped and still decrypt. */
  g_clear_pointer (&vp2, g_free);
  load_commit (w, u, k2, 2, &vp2);
  answer = test_run (w, u, "mk.rotate", NULL, &error, w->admins[2], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES);
  answer = test_run (w, u, "mk.rotate", NULL, &error, w->admins[2], w->admins[1], NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (state_str (answer, "registers.current.vp"), ==, vp2);
  g_assert_cmpint (state_int (answer, "key_storage.count"), ==, 3);
  json_decref (answer);
  answer = key_call (w, u, g_strconcat (kid_path, "/decrypt", NULL),
                     json_pack ("{s:s}", "ciphertext", ciphertext), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (answer, "plaintext")), ==, message_b64);
  json_decref (answer);

  /* Rotate needs a committed new register. */
  answer = test_run (w, u, "mk.rotate", NULL, &error, w->admins[0], w->admins[1], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_REGISTER_STATE);

  /* Set immediate to K3 without rotation: the stored keys no longer decrypt. */
  load_commit (w, u, k3, 2, &vp3);
  answer = test_run (w, u, "mk.set_immediate", vp_args (vp3), &error, w->admins[0], NULL);
  g_assert_no_error (error);
  json_decref (answer);
  answer = key_call (w, u, g_strconcat (kid_path, "/decrypt", NULL),
                     json_pack ("{s:s}", "ciphertext", ciphertext), &error);
  test_assert_refused (error, TKE_UNIT_ERROR_KEY_UNUSABLE);
  answer = key_call (w, u, "/00112233445566778899aabbccddeeff/encrypt",
                     json_pack ("{s:s}", "plaintext", message_b64), &error);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_FOUND);

  /* Clear new and clear current: one signature each. */
  {
    TkeSecret *k4[2] = { random_part (), random_part () };
    json_decref (test_load (w, u, k4, 2, &error));
    g_assert_no_error (error);
    answer = test_run (w, u, "mk.clear_new", NULL, &error, w->admins[2], NULL);
    g_assert_no_error (error);
    g_assert_cmpstr (state_str (answer, "registers.new.state"), ==, "Empty");
    json_decref (answer);
    tke_secret_free (k4[0]);
    tke_secret_free (k4[1]);
  }
  answer = test_run (w, u, "mk.clear_current", NULL, &error, w->admins[2], NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (state_str (answer, "registers.current.state"), ==, "Empty");
  g_assert_cmpstr (state_str (answer, "registers.current.vp"), ==,
                   "0000000000000000000000000000000000000000000000000000000000000000");
  json_decref (answer);

  /* Zeroize with one signature: back to imprint mode, everything cleared, counter keeps going. */
  {
    gint64 before = test_counter (w, u);
    answer = test_run (w, u, "zeroize", NULL, &error, w->admins[1], NULL);
    g_assert_no_error (error);
    g_assert_cmpstr (state_str (answer, "mode"), ==, "imprint");
    g_assert_cmpint (state_int (answer, "counter"), ==, before + 1);
    g_assert_cmpint (state_int (answer, "thresholds.signature"), ==, 0);
    g_assert_cmpint (state_int (answer, "key_storage.count"), ==, 0);
    g_assert_cmpuint (
        json_array_size (json_object_get (json_object_get (answer, "state"), "admins")), ==, 0);
    json_decref (answer);
  }

  for (guint i = 0; i < 3; i++)
    tke_secret_free (k1[i]);
  for (guint i = 0; i < 2; i++)
    {
      tke_secret_free (k2[i]);
      tke_secret_free (k3[i]);
    }
  test_world_free (w);
}

static void
test_bad_key_parts (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  TkeSecret *parts[2] = { random_part (), random_part () };
  TkeUnitInfo *info;
  json_t *answer, *state, *importer, *jwe, *list;
  guint u = 0;
  guint8 vp[TKE_VP_LEN];
  g_autofree char *vp0 = NULL;
  g_autofree char *vp1 = NULL;

  test_setup_normal (w, u, 2, 1, 1);
  info = w->units->pdata[u];
  state = test_get_state (w, u, NULL);
  importer = tke_importer_key_check (json_object_get (state, "importer_key"), info->identity_jwk,
                                     info->id, &error);
  g_assert_no_error (error);
  tke_vp_compute (tke_secret_peek (parts[0]), 32, vp);
  vp0 = tke_vp_to_hex (vp);
  tke_vp_compute (tke_secret_peek (parts[1]), 32, vp);
  vp1 = tke_vp_to_hex (vp);

  /* A part whose VP is not the one the operator saw (the parts' VPs swapped). */
  list = json_pack ("[{s:s, s:{s:o}}, {s:s, s:{s:o}}]", "vp", vp1, "jwe", info->id,
                    tke_key_part_encrypt (importer, parts[0], NULL), "vp", vp0, "jwe", info->id,
                    tke_key_part_encrypt (importer, parts[1], NULL));
  answer =
      test_run (w, u, "mk.load", json_pack ("{s:o}", "parts", list), &error, w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_BAD_KEY_PART);

  /* Garbage instead of a JWE. */
  jwe = tke_key_part_encrypt (importer, parts[1], NULL);
  json_object_set_new (jwe, "ciphertext", json_string ("AAAA"));
  list =
      json_pack ("[{s:s, s:{s:o}}, {s:s, s:{s:o}}]", "vp", vp0, "jwe", info->id,
                 tke_key_part_encrypt (importer, parts[0], NULL), "vp", vp1, "jwe", info->id, jwe);
  answer =
      test_run (w, u, "mk.load", json_pack ("{s:o}", "parts", list), &error, w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_BAD_KEY_PART);

  /* A part for another unit only. */
  list = json_pack ("[{s:s, s:{s:o}}, {s:s, s:{s:o}}]", "vp", vp0, "jwe", "other-unit",
                    tke_key_part_encrypt (importer, parts[0], NULL), "vp", vp1, "jwe", info->id,
                    tke_key_part_encrypt (importer, parts[1], NULL));
  answer =
      test_run (w, u, "mk.load", json_pack ("{s:o}", "parts", list), &error, w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_BAD_KEY_PART);

  /* One part only is not a master key. */
  list = json_pack ("[{s:s, s:{s:o}}]", "vp", vp0, "jwe", info->id,
                    tke_key_part_encrypt (importer, parts[0], NULL));
  answer =
      test_run (w, u, "mk.load", json_pack ("{s:o}", "parts", list), &error, w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_MALFORMED);

  /* A good load, then the same parts again: they were for the old importer key. */
  list = json_pack ("[{s:s, s:{s:o}}, {s:s, s:{s:o}}]", "vp", vp0, "jwe", info->id,
                    tke_key_part_encrypt (importer, parts[0], NULL), "vp", vp1, "jwe", info->id,
                    tke_key_part_encrypt (importer, parts[1], NULL));
  answer =
      test_run (w, u, "mk.load", json_pack ("{s:O}", "parts", list), &error, w->admins[0], NULL);
  g_assert_no_error (error);
  json_decref (answer);
  json_decref (test_run (w, u, "mk.clear_new", NULL, &error, w->admins[0], NULL));
  g_assert_no_error (error);
  answer =
      test_run (w, u, "mk.load", json_pack ("{s:o}", "parts", list), &error, w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_BAD_KEY_PART);

  json_decref (importer);
  json_decref (state);
  tke_secret_free (parts[0]);
  tke_secret_free (parts[1]);
  test_world_free (w);
}

typedef struct
{
  TestWorld *world;
  TkeCommand *command;
  int accepted;
  int refused_counter;
  int done;
  GMainLoop *loop;
} Race;

static void
on_race (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Race *race = user_data;
  g_autoptr (GError) error = NULL;
  json_t *answer = tke_unit_client_post_command_finish (TKE_UNIT_CLIENT (source), result, &error);

  if (answer != NULL)
    race->accepted++;
  else if (g_error_matches (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_BAD_COUNTER))
    race->refused_counter++;
  json_decref (answer);
  if (++race->done == 8)
    g_main_loop_quit (race->loop);
}

static void
test_race (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  Race race = { w, NULL, 0, 0, 0, g_main_loop_new (NULL, FALSE) };
  guint u = 1;

  test_setup_normal (w, u, 2, 1, 1);
  for (int round = 0; round < 5; round++)
    {
      /* Eight different commands, all signed for the same counter, sent at once. */
      TkeCommand *commands[8];

      race.accepted = race.refused_counter = race.done = 0;
      for (int i = 0; i < 8; i++)
        commands[i] = test_command (w, "mk.clear_new", NULL, &u, 1, w->admins[i % 2], NULL);
      for (int i = 0; i < 8; i++)
        {
          tke_unit_client_post_command_async (w->client, ((TkeUnitInfo *) w->units->pdata[u])->id,
                                              commands[i], NULL, on_race, &race);
          g_object_unref (commands[i]);
        }
      g_main_loop_run (race.loop);
      g_assert_cmpint (race.accepted, ==, 1);
      g_assert_cmpint (race.refused_counter, ==, 7);
    }
  g_main_loop_unref (race.loop);
  test_world_free (w);
}

static void
test_audit (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  json_t *entries, *answer;
  g_autofree char *path = NULL;

  json_decref (test_run (w, 0, "admin.add", test_admin_add_args (w->admins[0]), &error, NULL));
  answer = test_run (w, 0, "mk.commit", NULL, &error, w->admins[0], NULL);
  test_assert_refused (error, TKE_UNIT_ERROR_IMPRINT_MODE);
  json_decref (test_run (w, 0, "admin.add", test_admin_add_args (w->admins[1]), &error, NULL));
  g_assert_no_error (error);

  entries = test_get_audit (w, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (entries), ==, 3);
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (entries, 0), "result")), ==,
                   "ACCEPTED");
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (entries, 1), "result")), ==,
                   "IMPRINT_MODE");
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (entries, 1), "op")), ==,
                   "mk.commit");

  /* Any change to an entry breaks the chain. */
  json_object_set_new (json_array_get (entries, 1), "result", json_string ("ACCEPTED"));
  g_assert_false (tke_unit_audit_verify (entries, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CRYPTO);
  g_clear_error (&error);
  json_array_remove (entries, 1);
  g_assert_false (tke_unit_audit_verify (entries, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CRYPTO);
  g_clear_error (&error);
  json_decref (entries);

  /* Raw endpoint shape. */
  path = g_strdup_printf ("/v1/units/%s/audit", ((TkeUnitInfo *) w->units->pdata[0])->id);
  answer = test_request (w, path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (answer, "unit")), ==,
                   ((TkeUnitInfo *) w->units->pdata[0])->id);
  json_decref (answer);
  test_world_free (w);
}

static void
test_http_errors (void)
{
  TestWorld *w = test_world_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeUnitClient) wrong_key = NULL;
  g_autoptr (TkeUnitClient) wrong_pin = NULL;
  json_t *answer;

  answer = test_request (w, "/v1/units/no-such-unit", NULL, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_FOUND);
  answer = test_request (w, "/v2/instances", NULL, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_NOT_FOUND);

  wrong_key = tke_unit_client_new (tke_softunit_service_get_url (w->service),
                                   tke_softunit_service_get_fingerprint (w->service), "nope");
  g_set_object (&w->client, wrong_key);
  answer = test_request (w, "/v1/instances", NULL, &error);
  test_assert_refused (error, TKE_UNIT_ERROR_UNAUTHORIZED);

  wrong_pin =
      tke_unit_client_new (tke_softunit_service_get_url (w->service),
                           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                           tke_softunit_service_get_api_key (w->service));
  g_set_object (&w->client, wrong_pin);
  answer = test_request (w, "/v1/instances", NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_UNIT_CERTIFICATE);
  test_world_free (w);
}

static gboolean
contains_bytes (const char *haystack, gsize len, const guint8 *needle, gsize needle_len)
{
  for (gsize i = 0; i + needle_len <= len; i++)
    if (memcmp (haystack + i, needle, needle_len) == 0)
      return TRUE;
  return FALSE;
}

static void
test_restart_keeps_state (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tke-softunit-restart-XXXXXX", &error);
  g_autoptr (TkeSoftunitConfig) config = tke_softunit_config_new ();
  g_autofree char *api_key = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  TkeSoftunitService *service;
  TestWorld *w;
  json_t *state, *audit;
  TkeSecret *parts[2] = { random_part (), random_part () };
  TkeMemorySigner *saved[9];

  config->state_dir = g_strdup (dir);
  config->listen_port = 0;
  tke_softunit_config_set_units (config, 2, 1);
  service = tke_softunit_service_new (config, &error);
  g_assert_no_error (error);
  g_assert_true (tke_softunit_service_is_new (service));
  g_assert_true (tke_softunit_service_start (service, &error));
  api_key = g_strdup (tke_softunit_service_get_api_key (service));
  fingerprint = g_strdup (tke_softunit_service_get_fingerprint (service));
  w = test_world_new_for (service, api_key);
  test_setup_normal (w, 1, 2, 1, 2);
  json_decref (test_load (w, 1, parts, 2, &error));
  g_assert_no_error (error);
  state = test_get_state (w, 1, &error);
  before = json_dumps (state, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (state);
  for (guint i = 0; i < G_N_ELEMENTS (saved); i++)
    saved[i] = g_object_ref (w->admins[i]);
  test_world_free (w);

  /* Secrets at rest: the key file is private, and no register key appears in the database. */
  {
    g_autofree char *key_path = g_build_filename (dir, "service.key", NULL);
    g_autofree char *unit_dir = g_build_filename (dir, "units", NULL);
    g_autoptr (GDir) files = g_dir_open (unit_dir, 0, NULL);
    guint8 key[32];
    const char *name;
    guint scanned = 0;
    GStatBuf st;

    g_assert_cmpint (g_stat (key_path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);

    /* The loaded key, in the clear, is nowhere in the databases or their WAL files. */
    for (guint i = 0; i < 32; i++)
      key[i] = tke_secret_peek (parts[0])[i] ^ tke_secret_peek (parts[1])[i];
    while ((name = g_dir_read_name (files)) != NULL)
      {
        g_autofree char *path = g_build_filename (unit_dir, name, NULL);
        g_autofree char *contents = NULL;
        gsize len = 0;

        g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
        g_assert_false (contains_bytes (contents, len, key, sizeof key));
        g_assert_false (contains_bytes (contents, len, tke_secret_peek (parts[0]), 32));
        scanned++;
      }
    g_assert_cmpuint (scanned, >=, 3);
  }

  service = tke_softunit_service_new (config, &error);
  g_assert_no_error (error);
  g_assert_false (tke_softunit_service_is_new (service));
  g_assert_null (tke_softunit_service_get_api_key (service));
  g_assert_cmpstr (tke_softunit_service_get_fingerprint (service), ==, fingerprint);
  g_assert_true (tke_softunit_service_start (service, &error));
  w = test_world_new_for (service, api_key);
  for (guint i = 0; i < G_N_ELEMENTS (saved); i++)
    {
      g_set_object (&w->admins[i], saved[i]);
      g_object_unref (saved[i]);
    }
  state = test_get_state (w, 1, &error);
  g_assert_no_error (error);
  after = json_dumps (state, JSON_COMPACT | JSON_SORT_KEYS);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (state_str (state, "registers.new.state"), ==, "Full Uncommitted");
  json_decref (state);
  audit = test_get_audit (w, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (audit), ==, 4);
  json_decref (audit);

  /* The restarted unit goes on: commit with the VP of the loaded key. */
  json_decref (test_run (w, 1, "mk.commit", vp_args (test_vp_hex_of_xor (parts, 2)), &error,
                         w->admins[1], NULL));
  g_assert_no_error (error);

  /* A service key that does not belong to the state is refused, not ignored. */
  test_world_free (w);
  {
    g_autofree char *key_path = g_build_filename (dir, "service.key", NULL);
    guint8 other[32] = { 1 };
    g_assert_true (g_file_set_contents (key_path, (const char *) other, 32, NULL));
    service = tke_softunit_service_new (config, &error);
    g_assert_null (service);
    g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
    g_clear_error (&error);
  }
  tke_secret_free (parts[0]);
  tke_secret_free (parts[1]);
  test_remove_tree (dir);
}

typedef struct
{
  guint answered;
  guint failed;
  GMainLoop *loop;
} InFlight;

static void
on_in_flight (GObject *source, GAsyncResult *result, gpointer user_data)
{
  InFlight *flight = user_data;
  g_autoptr (GError) error = NULL;
  json_t *answer = tke_unit_client_request_finish (TKE_UNIT_CLIENT (source), result, &error);

  if (answer != NULL)
    flight->answered++;
  else
    flight->failed++;
  json_decref (answer);
  if (flight->answered + flight->failed == 40)
    g_main_loop_quit (flight->loop);
}

/* Connects to the service without starting TLS: the service has accepted it and waits in the
 * handshake for a ClientHello that never comes. */
static GSocketConnection *
connect_without_hello (TkeSoftunitService *service)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri =
      g_uri_parse (tke_softunit_service_get_url (service), G_URI_FLAGS_NONE, &error);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GSocketConnection *connection;

  g_assert_no_error (error);
  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri),
                                                (guint16) g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* Freeing a service with requests in flight and connections in their handshake neither hangs
 * nor crashes: each request ends, and each half-open connection is closed by the service rather
 * than left to the client's timeout. */
static void
test_stop_in_flight (void)
{
  TestWorld *w = test_world_new ();
  InFlight flight = { 0, 0, g_main_loop_new (NULL, FALSE) };
  GSocketConnection *silent[3];
  gint64 started;
  g_autofree char *path =
      g_strdup_printf ("/v1/units/%s/audit", ((TkeUnitInfo *) w->units->pdata[0])->id);

  for (guint i = 0; i < G_N_ELEMENTS (silent); i++)
    silent[i] = connect_without_hello (w->service);
  for (guint i = 0; i < 40; i++)
    tke_unit_client_request_async (w->client, i % 2 ? path : "/v1/instances", NULL, NULL,
                                   on_in_flight, &flight);
  /* Let some requests reach the server and the silent connections be accepted, then stop the
   * service under them. */
  started = g_get_monotonic_time ();
  while (flight.answered < 5 && g_get_monotonic_time () - started < 5 * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, FALSE);
  started = g_get_monotonic_time ();
  g_clear_object (&w->service);
  g_main_loop_run (flight.loop);
  g_assert_cmpuint (flight.answered + flight.failed, ==, 40);
  /* Kept-alive connections are closed by the stop, not left for the client's 120 s timeout. */
  g_assert_cmpint (g_get_monotonic_time () - started, <, 30 * G_USEC_PER_SEC);
  g_test_message (
      "stop with 40 requests in flight: %u answered, %u failed, all ended after %" G_GINT64_FORMAT
      " ms",
      flight.answered, flight.failed, (g_get_monotonic_time () - started) / 1000);

  for (guint i = 0; i < G_N_ELEMENTS (silent); i++)
    {
      GSocket *socket = g_socket_connection_get_socket (silent[i]);
      g_autoptr (GError) error = NULL;
      char byte;

      /* The service closed it: the read ends at once with end of file (or a reset). */
      g_assert_true (g_socket_condition_timed_wait (socket, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                                    10 * G_USEC_PER_SEC, NULL, &error));
      g_assert_cmpint (g_socket_receive (socket, &byte, 1, NULL, NULL), <=, 0);
      g_object_unref (silent[i]);
    }
  g_main_loop_unref (flight.loop);
  test_world_free (w);
}

/* An ephemeral service whose owner exits without freeing it leaves no state behind. */
static void
test_ephemeral_cleanup (void)
{
  g_autofree char *note = NULL;
  g_autofree char *dir = NULL;

  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      TkeSoftunitService *service = tke_softunit_service_new_ephemeral (1, 0, &error);

      g_assert_no_error (error);
      g_assert_true (tke_softunit_service_start (service, &error));
      g_assert_true (g_file_set_contents (g_getenv ("TKE_TEST_STATE_NOTE"),
                                          tke_softunit_service_get_state_dir (service), -1, NULL));
      exit (0);
    }
  note = g_build_filename (g_get_tmp_dir (), "tke-softunit-note-XXXXXX", NULL);
  close (g_mkstemp (note));
  g_setenv ("TKE_TEST_STATE_NOTE", note, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_assert_true (g_file_get_contents (note, &dir, NULL, NULL));
  g_unlink (note);
  g_assert_true (g_str_has_prefix (dir, g_get_tmp_dir ()));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
}

static void
test_config (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tke-softunit-config-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "softunit.conf", NULL);
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autofree char *text = g_strdup_printf ("[service]\nlisten=127.0.0.1:0\nstate-dir=%s\n"
                                           "region=us-south\nhost=hsm7\n\n"
                                           "[instance prod]\noperational-units=2\n"
                                           "failover-units=1\n\n"
                                           "[instance test]\noperational-units=1\n"
                                           "failover-units=0\n",
                                           state);
  g_autoptr (TkeSoftunitConfig) config = NULL;
  g_autoptr (TkeSoftunitConfig) flags = tke_softunit_config_new ();
  TestWorld *w;
  TkeSoftunitService *service;

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  config = tke_softunit_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->instances->len, ==, 2);
  g_assert_cmpuint (config->listen_port, ==, 0);
  service = tke_softunit_service_new (config, &error);
  g_assert_no_error (error);
  g_assert_true (tke_softunit_service_start (service, &error));
  w = test_world_new_for (service, tke_softunit_service_get_api_key (service));
  g_assert_cmpuint (w->units->len, ==, 4);
  g_assert_cmpstr (((TkeUnitInfo *) w->units->pdata[0])->instance, ==, "prod");
  g_assert_cmpstr (((TkeUnitInfo *) w->units->pdata[2])->type, ==, "FAILOVER");
  g_assert_cmpstr (((TkeUnitInfo *) w->units->pdata[3])->instance, ==, "test");
  g_assert_cmpuint (((TkeUnitInfo *) w->units->pdata[3])->num, ==, 4);
  g_assert_cmpstr (((TkeUnitInfo *) w->units->pdata[1])->location, ==, "[us-south].[hsm7].[1].[2]");
  test_world_free (w);

  /* Listen addresses of the quick flags. */
  g_assert_true (tke_softunit_config_set_listen (flags, "[::1]:8443", &error));
  g_assert_cmpstr (flags->listen_host, ==, "::1");
  g_assert_cmpuint (flags->listen_port, ==, 8443);
  g_assert_true (tke_softunit_config_set_listen (flags, "localhost", &error));
  g_assert_cmpuint (flags->listen_port, ==, TKE_SOFTUNIT_DEFAULT_PORT);
  g_assert_false (tke_softunit_config_set_listen (flags, "127.0.0.1:99999", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tke_softunit_config_set_listen (flags, ":80", &error));
  g_clear_error (&error);

  /* A service needs a state directory and 1..64 units. */
  g_assert_null (tke_softunit_service_new (flags, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  flags->state_dir = g_strdup (state);
  tke_softunit_config_set_units (flags, 60, 5);
  g_assert_null (tke_softunit_service_new (flags, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  if (!tke_secmem_init (&error))
    g_printerr ("# secure heap not available: %s\n", error->message);
  g_test_add_func ("/softunit/imprint-mode", test_imprint_mode);
  g_test_add_func ("/softunit/thresholds", test_thresholds);
  g_test_add_func ("/softunit/signature-rules", test_signature_rules);
  g_test_add_func ("/softunit/admin-limits", test_admin_limits);
  g_test_add_func ("/softunit/targets-and-time", test_targets_and_time);
  g_test_add_func ("/softunit/malformed", test_malformed);
  g_test_add_func ("/softunit/master-keys", test_master_keys);
  g_test_add_func ("/softunit/bad-key-parts", test_bad_key_parts);
  g_test_add_func ("/softunit/race", test_race);
  g_test_add_func ("/softunit/audit", test_audit);
  g_test_add_func ("/softunit/http-errors", test_http_errors);
  g_test_add_func ("/softunit/restart", test_restart_keeps_state);
  g_test_add_func ("/softunit/config", test_config);
  g_test_add_func ("/softunit/ephemeral-cleanup", test_ephemeral_cleanup);
  g_test_add_func ("/softunit/stop-in-flight", test_stop_in_flight);
  return g_test_run ();
}
