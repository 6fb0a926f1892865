/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Durability: SIGKILL the tke-softunit process at random moments during a stream of commands;
 * after each restart every acknowledged command is there, the database passes its integrity
 * check, and the counter never goes back. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "softunit-test-util.h"
#include "tke-softunit-store.h"

#define ROUNDS 8

typedef struct
{
  TkeUnitClient *client;
  TkeMemorySigner *admin;
  char *unit_id;
  gint64 counter;
  GPtrArray *acknowledged; /* request hashes of accepted commands */
  gint64 last_acknowledged_counter;
  gboolean killed;
  /* The kill is armed by the round's first acknowledgement: every round has one to lose. */
  gboolean kill_armed;
  GPid pid;
  GMainLoop *loop;
} Stream;

static void post_next (Stream *stream);
static gboolean on_kill (gpointer user_data);

static void
on_posted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Stream *stream = user_data;
  g_autoptr (GError) error = NULL;
  json_t *answer = tke_unit_client_post_command_finish (stream->client, result, &error);

  if (answer == NULL)
    {
      /* Only the kill may stop the stream. */
      if (!stream->killed)
        g_error ("A command failed while the service was up: %s", error->message);
      g_main_loop_quit (stream->loop);
      return;
    }
  {
    json_t *receipt = json_object_get (answer, "receipt");
    json_t *payload = NULL;
    g_autoptr (GBytes) bytes =
        tke_b64url_decode (json_string_value (json_object_get (receipt, "payload")), NULL);

    g_assert_nonnull (bytes);
    payload = json_loadb (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), 0, NULL);
    g_ptr_array_add (stream->acknowledged,
                     g_strdup (json_string_value (json_object_get (payload, "request"))));
    stream->counter = json_integer_value (json_object_get (payload, "counter"));
    stream->last_acknowledged_counter = stream->counter;
    json_decref (payload);
  }
  json_decref (answer);
  if (!stream->kill_armed)
    {
      stream->kill_armed = TRUE;
      g_timeout_add (g_test_rand_int_range (30, 400), on_kill, stream);
    }
  post_next (stream);
}

static void
post_next (Stream *stream)
{
  g_autoptr (TkeCommand) command = tke_command_new ("mk.clear_new");
  g_autoptr (GError) error = NULL;

  tke_command_add_target (command, stream->unit_id, stream->counter);
  g_assert_true (tke_command_add_signature (command, TKE_SIGNER (stream->admin), NULL, &error));
  tke_unit_client_post_command_async (stream->client, stream->unit_id, command, NULL, on_posted,
                                      stream);
}

static gboolean
on_kill (gpointer user_data)
{
  Stream *stream = user_data;

  stream->killed = TRUE;
  kill (stream->pid, SIGKILL);
  return G_SOURCE_REMOVE;
}

static void
stop_process (GPid pid, int sig)
{
  int status = 0;

  kill (pid, sig);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
}

static void
test_crash_loop (void)
{
  const char *build_root = g_getenv ("TKE_BUILD_ROOT");
  g_autofree char *binary = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tke-softunit-crash-XXXXXX", &error);
  g_autofree char *db_path = NULL;
  g_autofree char *api_key = NULL;
  TestProcess process = { 0 };
  Stream stream = { 0 };
  gint64 last_counter = -1;
  guint total = 0;

  if (build_root == NULL)
    {
      g_test_skip ("SKIP: TKE_BUILD_ROOT is not set: run under meson test");
      return;
    }
  binary = g_build_filename (build_root, "src", "softunit", "tke-softunit", NULL);
  g_assert_true (test_spawn_service (binary, dir, 1, 0, &process));
  g_assert_nonnull (process.api_key);
  api_key = g_strdup (process.api_key);

  stream.admin = tke_memory_signer_generate ("Crash Admin", TKE_CURVE_P256, &error);
  stream.acknowledged = g_ptr_array_new_with_free_func (g_free);
  stream.loop = g_main_loop_new (NULL, FALSE);

  for (guint round = 0; round < ROUNDS; round++)
    {
      g_autoptr (GPtrArray) units = NULL;
      json_t *state, *audit;
      g_autoptr (GHashTable) logged = g_hash_table_new (g_str_hash, g_str_equal);
      size_t index;
      json_t *entry;

      if (round > 0)
        g_assert_true (test_spawn_service (binary, dir, 1, 0, &process));
      g_clear_object (&stream.client);
      stream.client = tke_unit_client_new (process.url, process.fingerprint, api_key);
      {
        /* The list tells the unit id. */
        json_t *answer = test_client_request (stream.client, "/v1/instances", NULL, &error);

        g_assert_no_error (error);
        g_free (stream.unit_id);
        stream.unit_id = g_strdup (json_string_value (json_object_get (
            json_array_get (json_object_get (
                                json_array_get (json_object_get (answer, "instances"), 0), "units"),
                            0),
            "id")));
        json_decref (answer);
      }
      {
        g_autofree char *path = g_strdup_printf ("/v1/units/%s", stream.unit_id);
        state = test_client_request (stream.client, path, NULL, &error);
        g_assert_no_error (error);
      }
      stream.counter = json_integer_value (json_object_get (state, "counter"));
      /* Counters never go back, and nothing acknowledged is lost. */
      g_assert_cmpint (stream.counter, >=, last_counter);
      g_assert_cmpint (stream.counter, >=, stream.last_acknowledged_counter);
      last_counter = stream.counter;

      {
        g_autofree char *path = g_strdup_printf ("/v1/units/%s/audit", stream.unit_id);
        audit = test_client_request (stream.client, path, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (tke_unit_audit_verify (json_object_get (audit, "entries"), &error));
        json_array_foreach (json_object_get (audit, "entries"), index, entry)
          {
            if (g_strcmp0 (json_string_value (json_object_get (entry, "result")), "ACCEPTED") == 0)
              g_hash_table_add (logged,
                                (gpointer) json_string_value (json_object_get (entry, "request")));
          }
        for (guint i = 0; i < stream.acknowledged->len; i++)
          if (!g_hash_table_contains (logged, stream.acknowledged->pdata[i]))
            g_error ("Acknowledged command %u is missing from the audit log after a crash", i);
      }

      if (round == 0)
        {
          /* Imprint: install the admin, then thresholds 1/1 signed by it. */
          g_autoptr (TkeCommand) add = tke_command_new ("admin.add");
          g_autoptr (TkeCommand) thr = tke_command_new ("thresholds.set");
          g_autofree char *path = g_strdup_printf ("/v1/units/%s/commands", stream.unit_id);
          json_t *answer, *body;

          tke_command_add_target (add, stream.unit_id, stream.counter);
          tke_command_take_args (add, test_admin_add_args (stream.admin));
          answer =
              test_client_request (stream.client, path, body = tke_command_to_json (add), &error);
          json_decref (body);
          g_assert_no_error (error);
          json_decref (answer);
          tke_command_add_target (thr, stream.unit_id, stream.counter + 1);
          tke_command_take_args (thr, json_pack ("{s:i, s:i}", "signature", 1, "revocation", 1));
          g_assert_true (tke_command_add_signature (thr, TKE_SIGNER (stream.admin), NULL, &error));
          answer =
              test_client_request (stream.client, path, body = tke_command_to_json (thr), &error);
          json_decref (body);
          g_assert_no_error (error);
          json_decref (answer);
          stream.counter += 2;
        }

      json_decref (state);
      json_decref (audit);

      /* Commands one after another until the kill at a random moment after the first one is
       * acknowledged (a loaded machine may take longer than the kill's delay for one). */
      stream.killed = FALSE;
      stream.kill_armed = FALSE;
      stream.pid = process.pid;
      post_next (&stream);
      g_main_loop_run (stream.loop);
      {
        int status = 0;
        g_assert_cmpint (waitpid (process.pid, &status, 0), ==, process.pid);
        g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
        g_spawn_close_pid (process.pid);
      }
      total = stream.acknowledged->len;

      /* The database as the crash left it passes SQLite's own check. */
      g_free (db_path);
      db_path = g_strdup_printf ("%s/units/%s.db", dir, stream.unit_id);
      {
        sqlite3 *db = tke_softunit_store_open (db_path, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (tke_softunit_store_check_integrity (db, &error));
        g_assert_no_error (error);
        sqlite3_close (db);
      }
    }
  g_test_message ("%u commands acknowledged across %d crashes", total, ROUNDS);
  g_assert_cmpuint (total, >=, ROUNDS);

  /* A last start proves the final state, then a clean stop. */
  g_assert_true (test_spawn_service (binary, dir, 1, 0, &process));
  stop_process (process.pid, SIGTERM);

  g_clear_object (&stream.client);
  g_clear_object (&stream.admin);
  g_ptr_array_unref (stream.acknowledged);
  g_main_loop_unref (stream.loop);
  g_free (stream.unit_id);
  g_free (process.url);
  g_free (process.fingerprint);
  g_free (process.api_key);
  test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/softunit/crash-loop", test_crash_loop);
  return g_test_run ();
}
