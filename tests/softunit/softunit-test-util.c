/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared helpers of the softunit tests. */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gio/gunixinputstream.h>

#include "softunit-test-util.h"
#include "tke-ec-key.h"
#include "tke-unit-jose.h"
#include "tke-vp.h"

typedef struct
{
  GMainLoop *loop;
  GAsyncResult *result;
} Waiter;

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *waiter = user_data;

  waiter->result = g_object_ref (result);
  g_main_loop_quit (waiter->loop);
}

static GAsyncResult *
wait_for (Waiter *waiter)
{
  g_main_loop_run (waiter->loop);
  g_main_loop_unref (waiter->loop);
  return waiter->result;
}

TestWorld *
test_world_new_for (TkeSoftunitService *service, const char *api_key)
{
  TestWorld *world =
      test_world_new_for_url (tke_softunit_service_get_url (service),
                              tke_softunit_service_get_fingerprint (service), api_key);

  world->service = service;
  return world;
}

TestWorld *
test_world_new_for_url (const char *url, const char *fingerprint, const char *api_key)
{
  TestWorld *world = g_new0 (TestWorld, 1);
  g_autoptr (GError) error = NULL;
  Waiter waiter = { g_main_loop_new (NULL, FALSE), NULL };
  g_autoptr (GAsyncResult) result = NULL;

  world->client = tke_unit_client_new (url, fingerprint, api_key);
  tke_unit_client_list_units_async (world->client, NULL, on_done, &waiter);
  result = wait_for (&waiter);
  world->units = tke_unit_client_list_units_finish (world->client, result, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (world->admins); i++)
    {
      g_autofree char *name = g_strdup_printf ("Admin %u", i + 1);

      world->admins[i] = tke_memory_signer_generate (name, i % 3, &error);
      g_assert_no_error (error);
    }
  return world;
}

TestWorld *
test_world_new (void)
{
  g_autoptr (GError) error = NULL;
  TkeSoftunitService *service = tke_softunit_service_new_ephemeral (3, 2, &error);

  g_assert_no_error (error);
  g_assert_true (tke_softunit_service_start (service, &error));
  g_assert_no_error (error);
  return test_world_new_for (service, tke_softunit_service_get_api_key (service));
}

void
test_world_free (TestWorld *world)
{
  for (guint i = 0; i < G_N_ELEMENTS (world->admins); i++)
    g_clear_object (&world->admins[i]);
  g_clear_pointer (&world->units, g_ptr_array_unref);
  g_clear_object (&world->client);
  g_clear_object (&world->service);
  g_free (world);
}

static const char *
unit_id (TestWorld *world, guint unit)
{
  g_assert_cmpuint (unit, <, world->units->len);
  return ((TkeUnitInfo *) world->units->pdata[unit])->id;
}

json_t *
test_get_state (TestWorld *world, guint unit, GError **error)
{
  Waiter waiter = { g_main_loop_new (NULL, FALSE), NULL };
  g_autoptr (GAsyncResult) result = NULL;

  tke_unit_client_get_state_async (world->client, unit_id (world, unit), NULL, on_done, &waiter);
  result = wait_for (&waiter);
  return tke_unit_client_get_state_finish (world->client, result, error);
}

json_t *
test_post (TestWorld *world, guint unit, TkeCommand *command, GError **error)
{
  Waiter waiter = { g_main_loop_new (NULL, FALSE), NULL };
  g_autoptr (GAsyncResult) result = NULL;

  tke_unit_client_post_command_async (world->client, unit_id (world, unit), command, NULL, on_done,
                                      &waiter);
  result = wait_for (&waiter);
  return tke_unit_client_post_command_finish (world->client, result, error);
}

json_t *
test_client_request (TkeUnitClient *client, const char *path, json_t *body, GError **error)
{
  Waiter waiter = { g_main_loop_new (NULL, FALSE), NULL };
  g_autoptr (GAsyncResult) result = NULL;

  tke_unit_client_request_async (client, path, body, NULL, on_done, &waiter);
  result = wait_for (&waiter);
  return tke_unit_client_request_finish (client, result, error);
}

json_t *
test_request (TestWorld *world, const char *path, json_t *body, GError **error)
{
  return test_client_request (world->client, path, body, error);
}

json_t *
test_get_audit (TestWorld *world, guint unit, GError **error)
{
  Waiter waiter = { g_main_loop_new (NULL, FALSE), NULL };
  g_autoptr (GAsyncResult) result = NULL;

  tke_unit_client_get_audit_async (world->client, unit_id (world, unit), NULL, on_done, &waiter);
  result = wait_for (&waiter);
  return tke_unit_client_get_audit_finish (world->client, result, error);
}

gint64
test_counter (TestWorld *world, guint unit)
{
  g_autoptr (GError) error = NULL;
  json_t *state = test_get_state (world, unit, &error);
  gint64 counter;

  g_assert_no_error (error);
  counter = json_integer_value (json_object_get (state, "counter"));
  json_decref (state);
  return counter;
}

static TkeCommand *
command_valist (TestWorld *world, const char *op, json_t *args, const guint *units, guint n_units,
                va_list ap)
{
  TkeCommand *command = tke_command_new (op);
  TkeMemorySigner *signer;

  for (guint i = 0; i < n_units; i++)
    tke_command_add_target (command, unit_id (world, units[i]), test_counter (world, units[i]));
  tke_command_take_args (command, args != NULL ? args : json_object ());
  while ((signer = va_arg (ap, TkeMemorySigner *)) != NULL)
    {
      g_autoptr (GError) error = NULL;

      g_assert_true (tke_command_add_signature (command, TKE_SIGNER (signer), NULL, &error));
      g_assert_no_error (error);
    }
  return command;
}

TkeCommand *
test_command (TestWorld *world, const char *op, json_t *args, const guint *units, guint n_units,
              ...)
{
  va_list ap;
  TkeCommand *command;

  va_start (ap, n_units);
  command = command_valist (world, op, args, units, n_units, ap);
  va_end (ap);
  return command;
}

json_t *
test_run (TestWorld *world, guint unit, const char *op, json_t *args, GError **error, ...)
{
  g_autoptr (TkeCommand) command = NULL;
  va_list ap;
  json_t *answer;

  va_start (ap, error);
  command = command_valist (world, op, args, &unit, 1, ap);
  va_end (ap);
  answer = test_post (world, unit, command, error);
  if (answer != NULL)
    {
      /* Every accepted command carries a receipt by the unit's identity key. */
      TkeUnitInfo *info = world->units->pdata[unit];
      g_autoptr (GError) local = NULL;
      json_t *receipt =
          tke_unit_receipt_verify (answer, info->identity_jwk, info->id, command, &local);

      g_assert_no_error (local);
      g_assert_cmpstr (json_string_value (json_object_get (receipt, "op")), ==, op);
      json_decref (receipt);
    }
  return answer;
}

json_t *
test_admin_add_args (TkeMemorySigner *signer)
{
  GBytes *cert = tke_signer_get_certificate (TKE_SIGNER (signer));
  g_autofree char *b64 = tke_b64url_encode (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert));

  return json_pack ("{s:s, s:s}", "name", tke_signer_get_name (TKE_SIGNER (signer)), "certificate",
                    b64);
}

void
test_setup_normal (TestWorld *world, guint unit, guint n_admins, int sig_thr, int rev_thr)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCommand) command = NULL;
  json_t *answer;

  for (guint i = 0; i < n_admins; i++)
    {
      answer =
          test_run (world, unit, "admin.add", test_admin_add_args (world->admins[i]), &error, NULL);
      g_assert_no_error (error);
      json_decref (answer);
    }
  command = tke_command_new ("thresholds.set");
  tke_command_add_target (command, unit_id (world, unit), test_counter (world, unit));
  tke_command_take_args (command,
                         json_pack ("{s:i, s:i}", "signature", sig_thr, "revocation", rev_thr));
  for (int i = 0; i < sig_thr; i++)
    g_assert_true (
        tke_command_add_signature (command, TKE_SIGNER (world->admins[i]), NULL, &error));
  answer = test_post (world, unit, command, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (answer, "state"), "mode")),
                   ==, "normal");
  json_decref (answer);
}

json_t *
test_load (TestWorld *world, guint unit, TkeSecret **parts, guint n_parts, GError **error)
{
  json_t *state = test_get_state (world, unit, NULL);
  TkeUnitInfo *info = world->units->pdata[unit];
  json_t *importer;
  json_t *list = json_array ();
  g_autoptr (GError) local = NULL;
  json_t *answer;

  importer = tke_importer_key_check (json_object_get (state, "importer_key"), info->identity_jwk,
                                     info->id, &local);
  g_assert_no_error (local);
  for (guint i = 0; i < n_parts; i++)
    {
      guint8 vp[TKE_VP_LEN];
      g_autofree char *hex = NULL;
      json_t *jwe = tke_key_part_encrypt (importer, parts[i], &local);

      g_assert_no_error (local);
      tke_vp_compute (tke_secret_peek (parts[i]), tke_secret_len (parts[i]), vp);
      hex = tke_vp_to_hex (vp);
      json_array_append_new (list, json_pack ("{s:s, s:{s:o}}", "vp", hex, "jwe", info->id, jwe));
    }
  json_decref (importer);
  json_decref (state);
  answer = test_run (world, unit, "mk.load", json_pack ("{s:o}", "parts", list), error,
                     world->admins[0], NULL);
  return answer;
}

char *
test_vp_hex_of_xor (TkeSecret **parts, guint n_parts)
{
  guint8 key[32] = { 0 }, vp[TKE_VP_LEN];

  for (guint i = 0; i < n_parts; i++)
    for (guint j = 0; j < 32; j++)
      key[j] ^= tke_secret_peek (parts[i])[j];
  tke_vp_compute (key, sizeof key, vp);
  return tke_vp_to_hex (vp);
}

void
test_check_refused (GError **error, TkeUnitErrorCode expected, const char *where)
{
  if (*error == NULL || (*error)->domain != TKE_UNIT_ERROR || (*error)->code != (int) expected)
    g_error ("%s: expected refusal %s, got %s", where, tke_unit_error_code_to_string (expected),
             *error != NULL ? (*error)->message : "acceptance");
  /* Every refusal carries a sentence an operator can act on. */
  g_assert_cmpuint (strlen ((*error)->message), >, 20);
  g_clear_error (error);
}

void
test_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
replace_string (char **where, const char *value)
{
  g_free (*where);
  *where = g_strdup (value);
}

gboolean
test_spawn_service (const char *binary, const char *state_dir, guint units, guint failover,
                    TestProcess *process)
{
  g_autofree char *n_units = g_strdup_printf ("%u", units);
  g_autofree char *n_failover = g_strdup_printf ("%u", failover);
  const char *argv[] = { binary,     "--state-dir", state_dir,
                         "--units",  n_units,       "--failover-units",
                         n_failover, "--listen",    "127.0.0.1:0",
                         NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) raw = NULL;
  g_autoptr (GDataInputStream) data = NULL;
  int out_fd = -1;
  char *line;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &process->pid, NULL, &out_fd, NULL, &error));
  g_assert_no_error (error);
  raw = g_unix_input_stream_new (out_fd, TRUE);
  data = g_data_input_stream_new (raw);
  while ((line = g_data_input_stream_read_line (data, NULL, NULL, &error)) != NULL)
    {
      if (g_str_has_prefix (line, "URL: "))
        replace_string (&process->url, line + 5);
      else if (g_str_has_prefix (line, "Certificate SHA-256: "))
        replace_string (&process->fingerprint, line + 21);
      else if (g_str_has_prefix (line, "API key: "))
        replace_string (&process->api_key, line + 9);
      if (g_str_has_prefix (line, "Units: "))
        {
          g_free (line);
          return TRUE;
        }
      g_free (line);
    }
  return FALSE;
}
