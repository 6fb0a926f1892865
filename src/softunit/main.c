/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tke-softunit: a software crypto unit service, run from a config file or quick flags. */
#include "config.h"

#include <locale.h>
#include <stdio.h>

#include <glib-unix.h>

#include "tke-process.h"
#include "tke-secmem.h"
#include "tke-softunit-service.h"
#include "tke-softunit-unit.h"
#include "tke-unit-pins.h"

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *listen = NULL;
  gint units = -1, failover = -1;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Read the configuration from FILE",
      "FILE" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "Keep the state in DIR", "DIR" },
    { "units", 0, 0, G_OPTION_ARG_INT, &units, "Operational units of the one instance (3)", "N" },
    { "failover-units", 0, 0, G_OPTION_ARG_INT, &failover, "Failover units of the one instance (2)",
      "N" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Listen on HOST:PORT (port 0: any free port)",
      "HOST:PORT" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- software crypto unit service");
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSoftunitConfig) config = NULL;
  g_autoptr (TkeSoftunitService) service = NULL;
  g_autoptr (GMainLoop) loop = NULL;

  setlocale (LC_ALL, "");
  /* No core file, no ptrace; the wire protocol is TLS 1.3 only. */
  if (!tke_process_harden (&error))
    {
      g_printerr ("tke-softunit: %s\n", error->message);
      return 1;
    }
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("tke-softunit: %s\n", error->message);
      return 2;
    }
  if (!tke_secmem_init (&error))
    {
      g_printerr ("tke-softunit: %s\n", error->message);
      return 1;
    }

  config = config_path != NULL ? tke_softunit_config_load (config_path, &error)
                               : tke_softunit_config_new ();
  if (config == NULL)
    {
      g_printerr ("tke-softunit: %s: %s\n", config_path, error->message);
      return 2;
    }
  if (state_dir != NULL)
    {
      g_free (config->state_dir);
      config->state_dir = g_steal_pointer (&state_dir);
    }
  if (units >= 0 || failover >= 0 || config->instances->len == 0)
    tke_softunit_config_set_units (config, units >= 0 ? units : 3, failover >= 0 ? failover : 2);
  if (listen != NULL && !tke_softunit_config_set_listen (config, listen, &error))
    {
      g_printerr ("tke-softunit: %s\n", error->message);
      return 2;
    }

  service = tke_softunit_service_new (config, &error);
  if (service == NULL || !tke_softunit_service_start (service, &error))
    {
      g_printerr ("tke-softunit: %s\n", error->message);
      return 1;
    }

  printf ("URL: %s\n", tke_softunit_service_get_url (service));
  printf ("Certificate SHA-256: %s\n", tke_softunit_service_get_fingerprint (service));
  if (tke_softunit_service_is_new (service))
    printf ("API key: %s\n(shown once: it is stored only as a hash)\n",
            tke_softunit_service_get_api_key (service));
  /* Each unit's identity key, for the workstation's operator to compare with what tkectl or the
   * app pinned ("tkectl cryptounits" shows the same RFC 7638 thumbprints). */
  for (guint i = 0; i < tke_softunit_service_get_units (service)->len; i++)
    {
      TkeSoftunitUnit *unit = tke_softunit_service_get_units (service)->pdata[i];
      json_auto_t *summary = tke_softunit_unit_get_summary (unit);
      g_autofree char *thumbprint = tke_jwk_thumbprint (json_object_get (summary, "identity_key"));

      printf ("Unit %s identity %s\n", tke_softunit_unit_get_id (unit), thumbprint);
    }
  printf ("Units: %u\n", tke_softunit_service_get_units (service)->len);
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_main_loop_run (loop);
  tke_softunit_service_stop (service);
  return 0;
}
