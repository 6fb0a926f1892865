/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Benchmarks of tke-softunit: durable 2-signature commands per second on one unit with their
 * CPU cost beside that of two ECDSA verifications; rotation of 100,000 stored keys; fan-out of
 * one command to 1, 8 and 32 units. Run: meson test -C BUILD --benchmark --suite softunit -v */
#include "config.h"

#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <openssl/evp.h>

#include "softunit-test-util.h"
#include "tke-ec-key.h"
#include "tke-secmem.h"
#include "tke-unit-jose.h"

static double
cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec / 1e6;
}

static double
system_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static double
now_seconds (void)
{
  return g_get_monotonic_time () / 1e6;
}

static void
bench_commands (TestWorld *w)
{
  const guint n = g_test_perf () ? 2000 : 300;
  TkeSoftunitUnit *unit = g_ptr_array_index (tke_softunit_service_get_units (w->service), 0);
  const char *id = tke_softunit_unit_get_id (unit);
  g_autoptr (GPtrArray) bodies = g_ptr_array_new_with_free_func (g_free);
  gint64 counter;
  double t0, c0, s0, wall, cpu, sys, verify_cpu;
  EVP_PKEY *keys[2] = { tke_signer_get_public_key (TKE_SIGNER (w->admins[0])),
                        tke_signer_get_public_key (TKE_SIGNER (w->admins[3])) };
  g_autoptr (GBytes) sig0 = NULL;
  g_autoptr (GBytes) sig1 = NULL;
  const char *input = "eyJhbGciOiJFUzI1NiJ9.eyJvcCI6InRocmVzaG9sZHMuc2V0In0";

  /* Two P-256 administrators (admins 0 and 3), thresholds 2 and 2. */
  for (guint i = 0; i < 2; i++)
    json_decref (test_run (w, 0, "admin.add", test_admin_add_args (w->admins[i * 3]), NULL, NULL));
  json_decref (test_run (w, 0, "thresholds.set",
                         json_pack ("{s:i, s:i}", "signature", 2, "revocation", 2), NULL,
                         w->admins[0], w->admins[3], NULL));
  counter = tke_softunit_unit_get_counter (unit);
  g_assert_cmpint (counter, ==, 3);

  /* Signed ahead of time: the benchmark measures the unit, not the signers. */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (TkeCommand) command = tke_command_new ("thresholds.set");

      tke_command_add_target (command, id, counter + i);
      tke_command_take_args (command, json_pack ("{s:i, s:i}", "signature", 2, "revocation", 2));
      g_assert_true (tke_command_add_signature (command, TKE_SIGNER (w->admins[0]), NULL, NULL));
      g_assert_true (tke_command_add_signature (command, TKE_SIGNER (w->admins[3]), NULL, NULL));
      g_ptr_array_add (bodies, tke_command_to_string (command));
    }

  t0 = now_seconds ();
  c0 = cpu_seconds ();
  s0 = system_seconds ();
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      const char *body = bodies->pdata[i];
      json_t *answer = tke_softunit_unit_execute (unit, body, strlen (body), &error);

      g_assert_no_error (error);
      json_decref (answer);
    }
  cpu = cpu_seconds () - c0;
  sys = system_seconds () - s0;
  wall = now_seconds () - t0;
  g_assert_cmpint (tke_softunit_unit_get_counter (unit), ==, counter + n);

  /* The same two verifications, alone, in the same run. */
  sig0 = tke_signer_sign_data (TKE_SIGNER (w->admins[0]), (const guint8 *) input, strlen (input),
                               NULL, NULL);
  sig1 = tke_signer_sign_data (TKE_SIGNER (w->admins[3]), (const guint8 *) input, strlen (input),
                               NULL, NULL);
  c0 = cpu_seconds ();
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (tke_ecdsa_verify_data (keys[0], (const guint8 *) input, strlen (input),
                                            g_bytes_get_data (sig0, NULL),
                                            g_bytes_get_size (sig0)));
      g_assert_true (tke_ecdsa_verify_data (keys[1], (const guint8 *) input, strlen (input),
                                            g_bytes_get_data (sig1, NULL),
                                            g_bytes_get_size (sig1)));
    }
  verify_cpu = cpu_seconds () - c0;

  g_print ("# commands: %u accepted 2-signature commands on one unit, durable "
           "(WAL, synchronous=FULL): %.0f commands/s\n",
           n, n / wall);
  g_print ("# commands: CPU per command %.1f us; two ECDSA P-256 verifications %.1f us; "
           "ratio %.2f (goal <= 2)\n",
           cpu / n * 1e6, verify_cpu / n * 1e6, cpu / verify_cpu);
  g_print ("# commands: of which in the kernel (WAL write and fdatasync) %.1f us; in the "
           "service %.1f us, ratio %.2f\n",
           sys / n * 1e6, (cpu - sys) / n * 1e6, (cpu - sys) / verify_cpu);
  g_test_minimized_result (cpu / verify_cpu, "CPU per command / two verifications");
}

static void
bench_rotation (TestWorld *w)
{
  const guint n_keys = 100000;
  TkeSoftunitUnit *unit = g_ptr_array_index (tke_softunit_service_get_units (w->service), 1);
  g_autoptr (GError) error = NULL;
  TkeSecret *k1[2], *k2[2];
  g_autofree char *vp1 = NULL;
  g_autofree char *vp2 = NULL;
  double t0, wall;
  json_t *answer;

  for (guint i = 0; i < 2; i++)
    {
      k1[i] = tke_secret_new_random (32, NULL);
      k2[i] = tke_secret_new_random (32, NULL);
    }
  json_decref (test_run (w, 1, "admin.add", test_admin_add_args (w->admins[0]), NULL, NULL));
  json_decref (test_run (w, 1, "thresholds.set",
                         json_pack ("{s:i, s:i}", "signature", 1, "revocation", 1), NULL,
                         w->admins[0], NULL));
  json_decref (test_load (w, 1, k1, 2, &error));
  g_assert_no_error (error);
  vp1 = test_vp_hex_of_xor (k1, 2);
  json_decref (
      test_run (w, 1, "mk.commit", json_pack ("{s:s}", "vp", vp1), NULL, w->admins[0], NULL));
  json_decref (test_run (w, 1, "mk.set_immediate", json_pack ("{s:s}", "vp", vp1), NULL,
                         w->admins[0], NULL));

  t0 = now_seconds ();
  for (guint i = 0; i < n_keys / TKE_SOFTUNIT_MAX_KEYS_PER_REQUEST; i++)
    {
      json_t *kids =
          tke_softunit_unit_create_keys (unit, TKE_SOFTUNIT_MAX_KEYS_PER_REQUEST, &error);
      g_assert_no_error (error);
      json_decref (kids);
    }
  g_print ("# rotation: %u keys stored in %.2f s\n", n_keys, now_seconds () - t0);
  g_assert_cmpuint (tke_softunit_unit_get_key_count (unit), ==, n_keys);

  json_decref (test_load (w, 1, k2, 2, &error));
  g_assert_no_error (error);
  vp2 = test_vp_hex_of_xor (k2, 2);
  json_decref (
      test_run (w, 1, "mk.commit", json_pack ("{s:s}", "vp", vp2), NULL, w->admins[0], NULL));

  t0 = now_seconds ();
  answer = test_run (w, 1, "mk.rotate", NULL, &error, w->admins[0], NULL);
  wall = now_seconds () - t0;
  g_assert_no_error (error);
  g_assert_cmpstr (
      json_string_value (json_object_get (
          json_object_get (json_object_get (json_object_get (answer, "state"), "registers"),
                           "current"),
          "vp")),
      ==, vp2);
  json_decref (answer);
  g_print ("# rotation: %u keys rewrapped in %.3f s: %.0f keys/s (goal >= 50000)\n", n_keys, wall,
           n_keys / wall);
  g_test_maximized_result (n_keys / wall, "keys rewrapped per second");
  for (guint i = 0; i < 2; i++)
    {
      tke_secret_free (k1[i]);
      tke_secret_free (k2[i]);
    }
}

typedef struct
{
  GMainLoop *loop;
  guint pending;
  guint failed;
  double t0;
} FanOut;

static void
on_fan_out (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FanOut *fan = user_data;
  g_autoptr (GError) error = NULL;
  json_t *answer = tke_unit_client_request_finish (TKE_UNIT_CLIENT (source), result, &error);

  if (g_getenv ("TKE_BENCH_TRACE"))
    g_printerr ("done at %.1f ms\n", (now_seconds () - fan->t0) * 1e3);
  if (answer == NULL)
    {
      g_printerr ("# fan-out: %s\n", error->message);
      fan->failed++;
    }
  json_decref (answer);
  if (--fan->pending == 0)
    g_main_loop_quit (fan->loop);
}

/* Sends body to units [0, n) in parallel (or GETs when body is NULL); returns the wall time. */
static double
fan_out (TestWorld *w, guint n, const char *suffix, json_t *body)
{
  FanOut fan = { g_main_loop_new (NULL, FALSE), n, 0, now_seconds () };
  double t0 = fan.t0;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path =
          g_strdup_printf ("/v1/units/%s%s", ((TkeUnitInfo *) w->units->pdata[i])->id, suffix);

      tke_unit_client_request_async (w->client, path, body, NULL, on_fan_out, &fan);
    }
  g_main_loop_run (fan.loop);
  g_main_loop_unref (fan.loop);
  g_assert_cmpuint (fan.failed, ==, 0);
  return now_seconds () - t0;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
bench_fan_out (void)
{
  g_autoptr (GError) error = NULL;
  static const guint sizes[] = { 1, 8, 32 };
  const guint rounds = 15;
  double medians[G_N_ELEMENTS (sizes)];
  const char *build_root = g_getenv ("TKE_BUILD_ROOT");
  g_autofree char *binary = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tke-softunit-bench-XXXXXX", &error);
  TestProcess process = { 0 };
  TestWorld *w;

  /* The service runs as its own process, as it does for a workstation: in one process, client
   * and server TLS handshakes would share GLib's worker threads. */
  if (build_root == NULL)
    {
      g_print ("# fan-out: SKIP: TKE_BUILD_ROOT is not set: run under meson\n");
      return;
    }
  binary = g_build_filename (build_root, "src", "softunit", "tke-softunit", NULL);
  g_assert_true (test_spawn_service (binary, dir, 32, 0, &process));
  w = test_world_new_for_url (process.url, process.fingerprint, process.api_key);
  g_assert_cmpuint (w->units->len, ==, 32);

  /* Every unit: two admins and thresholds 2/2, by commands that themselves fan out. */
  {
    guint all[32];
    for (guint i = 0; i < 32; i++)
      all[i] = i;
    for (guint a = 0; a < 2; a++)
      {
        g_autoptr (TkeCommand) add =
            test_command (w, "admin.add", test_admin_add_args (w->admins[a * 3]), all, 32, NULL);
        json_t *body = tke_command_to_json (add);
        fan_out (w, 32, "/commands", body);
        json_decref (body);
      }
    {
      g_autoptr (TkeCommand) thr = test_command (
          w, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 2, "revocation", 2), all, 32,
          w->admins[0], w->admins[3], NULL);
      json_t *body = tke_command_to_json (thr);
      fan_out (w, 32, "/commands", body);
      json_decref (body);
    }
  }

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      guint n = sizes[s];
      double times[15];
      guint targets[32];

      for (guint i = 0; i < n; i++)
        targets[i] = i;
      /* Warm connections: one request per unit, in parallel. */
      fan_out (w, n, "", NULL);
      for (guint r = 0; r < rounds; r++)
        {
          g_autoptr (TkeCommand) command = test_command (
              w, "thresholds.set", json_pack ("{s:i, s:i}", "signature", 2, "revocation", 2),
              targets, n, w->admins[0], w->admins[3], NULL);
          json_t *body = tke_command_to_json (command);

          times[r] = fan_out (w, n, "/commands", body);
          json_decref (body);
        }
      qsort (times, rounds, sizeof times[0], compare_doubles);
      medians[s] = times[rounds / 2];
      g_print ("# fan-out: one 2-signature command to N=%u units: median %.1f ms\n", n,
               medians[s] * 1e3);
    }
  g_print ("# fan-out: N=32 / N=1 = %.2f (goal <= 2)\n", medians[2] / medians[0]);
  g_test_minimized_result (medians[2] / medians[0], "fan-out N=32 / N=1 wall time");
  test_world_free (w);
  kill (process.pid, SIGTERM);
  waitpid (process.pid, NULL, 0);
  g_spawn_close_pid (process.pid);
  g_free (process.url);
  g_free (process.fingerprint);
  g_free (process.api_key);
  test_remove_tree (dir);
}

static void
test_bench (void)
{
  TestWorld *w = test_world_new ();

  if (!g_getenv ("TKE_BENCH_FANOUT_ONLY"))
    bench_commands (w);
  if (!g_getenv ("TKE_BENCH_FANOUT_ONLY"))
    bench_rotation (w);
  test_world_free (w);
  bench_fan_out ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tke_secmem_init (NULL);
  g_test_add_func ("/softunit/bench", test_bench);
  return g_test_run ();
}
