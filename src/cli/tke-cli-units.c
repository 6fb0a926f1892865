/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl's crypto unit commands: services, unit selection, listings of administrators and
 * master key registers, and the operations the ceremony engine runs on the selected units. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tke-cli-private.h"
#include "tke-error.h"
#include "tke-text.h"
#include "tke-unit-client.h"
#include "tke-unit-repin.h"
#include "tke-vp.h"

/* Services ------------------------------------------------------------------------------------ */

static gboolean
cmd_services (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  json_auto_t *json = json_array ();

  if (!tke_cli_parse (cli, entries, NULL, "Lists the crypto unit services tkectl knows.",
                      TKE_CLI_OPT_JSON, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "services takes no argument.");

  for (guint i = 0; i < cli->config->services->len; i++)
    {
      TkeCliService *service = cli->config->services->pdata[i];

      /* The API key is a secret: listings never show it. */
      json_array_append_new (json, json_pack ("{s:i, s:s, s:s}", "index", (int) i + 1, "url",
                                              service->url, "fingerprint", service->fingerprint));
    }
  if (cli->json)
    {
      tke_cli_print_json (json);
      return TRUE;
    }
  if (cli->config->services->len == 0)
    {
      printf ("No service: add one with “tkectl service-add URL --api-key KEY”.\n");
      return TRUE;
    }
  printf ("%-5s %-32s %s\n", "INDEX", "URL", "CERTIFICATE SHA-256");
  for (guint i = 0; i < cli->config->services->len; i++)
    {
      TkeCliService *service = cli->config->services->pdata[i];

      printf ("%-5u %-32s %s\n", i + 1, service->url, service->fingerprint);
    }
  return TRUE;
}

static void
on_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* The SHA-256 of the service's certificate, as presented now: only a TLS handshake, no request
 * and no API key, since nothing is trusted yet. */
static char *
probe_fingerprint (TkeCli *cli, const char *url, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  tke_unit_client_probe_async (url, cli->cancellable, on_probed, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return tke_unit_client_probe_finish (result, error);
}

static gboolean
cmd_service_add (TkeCli *cli, int argc, char **argv, GError **error)
{
  g_autofree char *api_key = NULL;
  g_autofree char *api_key_file = NULL;
  g_autofree char *fingerprint = NULL;
  const GOptionEntry entries[] = {
    { "api-key", 0, 0, G_OPTION_ARG_STRING, &api_key,
      "The service's API key (it shows in the process list: prefer --api-key-file)", "KEY" },
    { "api-key-file", 0, 0, G_OPTION_ARG_FILENAME, &api_key_file,
      "Read the API key from the first line of FILE", "FILE" },
    { "fingerprint", 0, 0, G_OPTION_ARG_STRING, &fingerprint,
      "The SHA-256 of the service's certificate, as its operator gave it (else it is shown "
      "and must be confirmed)",
      "HEX" },
    { NULL },
  };
  g_autoptr (TkeCliConfig) unused = NULL;
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (GString) clean = g_string_new (NULL);
  TkeCliService *service;
  const char *url;
  g_autofree char *normal_url = NULL;

  if (!tke_cli_parse (cli, entries, "URL",
                      "Adds a crypto unit service: checks that it answers with the API key and "
                      "pins its certificate.",
                      TKE_CLI_OPT_YES, &argc, &argv, error))
    return FALSE;
  if (argc != 2)
    return tke_cli_bad_input (cli, error, "give the service's URL, e.g. https://127.0.0.1:8443.");
  if ((api_key != NULL) == (api_key_file != NULL))
    return tke_cli_bad_input (cli, error, "give the API key with --api-key or --api-key-file.");
  if (api_key_file != NULL)
    {
      g_autofree char *contents = NULL;
      gsize len = 0;

      if (!g_file_get_contents (api_key_file, &contents, &len, error))
        return FALSE;
      api_key = g_strndup (contents, strcspn (contents, "\r\n"));
      tke_wipe (contents, len);
    }
  if (*api_key == '\0')
    return tke_cli_bad_input (cli, error, "the API key is empty.");
  url = argv[1];
  if (!g_str_has_prefix (url, "https://"))
    return tke_cli_bad_input (cli, error, "“%s” is not an https:// URL.", url);
  normal_url = g_strdup (url);
  while (g_str_has_suffix (normal_url, "/"))
    normal_url[strlen (normal_url) - 1] = '\0';
  for (guint i = 0; i < cli->config->services->len; i++)
    if (g_str_equal (((TkeCliService *) cli->config->services->pdata[i])->url, normal_url))
      return tke_cli_bad_input (cli, error, "%s is already a service.", normal_url);

  if (fingerprint != NULL)
    {
      for (const char *p = fingerprint; *p != '\0'; p++)
        if (g_ascii_isxdigit (*p))
          g_string_append_c (clean, g_ascii_tolower (*p));
        else if (*p != ':' && *p != ' ')
          return tke_cli_bad_input (cli, error, "the fingerprint is 64 hex digits.");
      if (clean->len != 64)
        return tke_cli_bad_input (cli, error, "the fingerprint is 64 hex digits.");
    }
  else
    {
      g_autofree char *seen = probe_fingerprint (cli, normal_url, error);

      if (seen == NULL)
        return FALSE;
      g_autofree char *consequence =
          g_strdup_printf ("%s presents a certificate with SHA-256 %s: compare it with the one "
                           "the service's operator gave you; tkectl trusts only this one from "
                           "now on.",
                           normal_url, seen);

      if (!tke_prompter_confirm (TKE_PROMPTER (cli->prompter), "Trust this service?", consequence,
                                 cli->cancellable, error))
        return FALSE;
      g_string_append (clean, seen);
    }

  service = g_new0 (TkeCliService, 1);
  service->url = g_strdup (normal_url);
  service->fingerprint = g_strdup (clean->str);
  service->api_key = g_strdup (api_key);
  g_ptr_array_add (cli->config->services, service);

  /* The listing goes through the pinned client: it checks the pin and the API key. */
  units = tke_cli_list_units (cli, error);
  if (units == NULL)
    return FALSE;
  if (!tke_cli_save_config (cli, error))
    return FALSE;
  printf ("Added %s (certificate SHA-256 %s).\n", service->url, service->fingerprint);
  printf ("Pinned identity keys (compare them with what the units' operator printed):\n");
  for (guint i = 0; i < units->len; i++)
    {
      TkeCeremonyUnit *unit = units->pdata[i];

      if (g_str_equal (unit->service_url, service->url))
        printf ("  crypto unit %u  %s  %s\n", unit->num, unit->id,
                unit->identity_error != NULL ? "CHANGED: REFUSED" : unit->thumbprint);
    }
  return TRUE;
}

static gboolean
cmd_service_rm (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  guint64 index = 0;
  guint found = G_MAXUINT;

  if (!tke_cli_parse (cli, entries, "URL|INDEX",
                      "Forgets a crypto unit service (its units are no longer listed or "
                      "selected).",
                      0, &argc, &argv, error))
    return FALSE;
  if (argc != 2)
    return tke_cli_bad_input (cli, error, "give the service's URL or INDEX (see tkectl services).");
  if (g_ascii_string_to_unsigned (argv[1], 10, 1, G_MAXUINT, &index, NULL))
    found = index <= cli->config->services->len ? (guint) index - 1 : G_MAXUINT;
  else
    for (guint i = 0; i < cli->config->services->len; i++)
      {
        TkeCliService *service = cli->config->services->pdata[i];
        g_autofree char *trimmed = g_strdup (argv[1]);

        while (g_str_has_suffix (trimmed, "/"))
          trimmed[strlen (trimmed) - 1] = '\0';
        if (g_str_equal (service->url, trimmed))
          found = i;
      }
  if (found == G_MAXUINT)
    return tke_cli_bad_input (cli, error, "no service is “%s” (see tkectl services).", argv[1]);

  {
    /* Unselect its units when the service still answers; a selection of a service that is gone
     * is reported and ignored later. */
    g_autoptr (GPtrArray) units = tke_cli_list_units (cli, NULL);
    TkeCliService *service = cli->config->services->pdata[found];

    if (units != NULL)
      for (guint i = 0; i < units->len; i++)
        {
          TkeCeremonyUnit *unit = units->pdata[i];

          if (!g_str_equal (unit->service_url, service->url))
            continue;
          for (guint j = cli->config->units->len; j > 0; j--)
            if (g_str_equal (cli->config->units->pdata[j - 1], unit->id))
              g_ptr_array_remove_index (cli->config->units, j - 1);
        }
    printf ("Removed %s.\n", service->url);
    g_ptr_array_remove_index (cli->config->services, found);
  }
  return tke_cli_save_config (cli, error);
}

/* Units -------------------------------------------------------------------------------------- */

static gboolean
cmd_cryptounits (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GPtrArray) units = NULL;
  gboolean refused = FALSE;

  if (!tke_cli_parse (cli, entries, NULL,
                      "Lists the crypto units of all services, numbered for the other commands.",
                      TKE_CLI_OPT_JSON, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "cryptounits takes no argument.");
  units = tke_cli_list_units (cli, error);
  if (units == NULL)
    return FALSE;

  if (cli->json)
    {
      json_auto_t *json = json_array ();

      for (guint i = 0; i < units->len; i++)
        {
          TkeCeremonyUnit *unit = units->pdata[i];

          json_array_append_new (
              json, json_pack ("{s:s, s:i, s:b, s:s, s:s, s:s, s:s, s:s?, s:s}", "service_instance",
                               unit->instance, "num", (int) unit->num, "selected",
                               tke_cli_config_has_unit (cli->config, unit->id), "type", unit->type,
                               "location", unit->location, "id", unit->id, "service",
                               unit->service_url, "identity", unit->thumbprint, "identity_status",
                               unit->identity_error != NULL ? "changed" : "pinned"));
        }
      tke_cli_print_json (json);
    }
  else
    {
      printf ("%-38s %-16s %-9s %-12s %-28s %s\n", "SERVICE INSTANCE", "CRYPTO UNIT NUM",
              "SELECTED", "TYPE", "LOCATION", "IDENTITY (JWK SHA-256 THUMBPRINT)");
      for (guint i = 0; i < units->len; i++)
        {
          TkeCeremonyUnit *unit = units->pdata[i];

          printf ("%-38s %-16u %-9s %-12s %-28s %s\n", unit->instance, unit->num,
                  tke_cli_config_has_unit (cli->config, unit->id) ? "true" : "false", unit->type,
                  unit->location,
                  unit->identity_error != NULL
                      ? "CHANGED: REFUSED"
                      : (unit->thumbprint != NULL ? unit->thumbprint : ""));
        }
      if (units->len == 0)
        printf ("No crypto unit: add a service with “tkectl service-add”.\n");
    }
  /* A unit that presents another identity key is listed, so that it can be found, and refused
   * loudly: the exit status says that something is wrong. */
  for (guint i = 0; i < units->len; i++)
    {
      TkeCeremonyUnit *unit = units->pdata[i];

      if (unit->identity_error == NULL)
        continue;
      if (!refused)
        g_set_error (error, TKE_ERROR, TKE_ERROR_UNIT_IDENTITY, "%s", unit->identity_error);
      else
        g_printerr ("tkectl: %s\n", unit->identity_error);
      refused = TRUE;
    }
  return !refused;
}

static void
on_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* What the unit's service lists for it now, with the identity key it presents. */
static TkeUnitInfo *
list_presented (TkeCli *cli, const TkeCeremonyUnit *unit, GError **error)
{
  g_autoptr (TkeUnitClient) client =
      tke_unit_client_new (unit->service_url, unit->fingerprint, unit->api_key);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) listed = NULL;

  tke_unit_client_list_units_async (client, cli->cancellable, on_listed, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  listed = tke_unit_client_list_units_finish (client, result, error);
  for (guint i = 0; listed != NULL && i < listed->len; i++)
    {
      TkeUnitInfo *info = listed->pdata[i];

      if (g_str_equal (info->id, unit->id))
        {
          info->num = unit->num;
          return g_ptr_array_steal_index (listed, i);
        }
    }
  if (listed != NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND,
                 "Crypto unit %u is no longer listed by its service.", unit->num);
  return NULL;
}

static gboolean
cmd_cryptounit_repin (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (TkeUnitInfo) info = NULL;
  g_autoptr (TkeUnitPins) pins = NULL;
  g_autoptr (TkeJournal) journal = NULL;
  g_autofree char *presented = NULL;
  g_autofree char *consequence = NULL;
  g_autofree char *journal_path = NULL;
  TkeCeremonyUnit *unit;
  guint64 num;

  if (!tke_cli_parse (cli, entries, "NUM",
                      "Pins the identity key that a crypto unit presents now in place of the one "
                      "pinned before, once its operator confirmed the change.",
                      TKE_CLI_OPT_YES, &argc, &argv, error))
    return FALSE;
  if (argc != 2)
    return tke_cli_bad_input (cli, error, "give one CRYPTO UNIT NUM (see tkectl cryptounits).");
  units = tke_cli_list_units (cli, error);
  if (units == NULL)
    return FALSE;
  if (!g_ascii_string_to_unsigned (argv[1], 10, 1, G_MAXUINT, &num, NULL) || num > units->len)
    return tke_cli_bad_input (cli, error,
                              "there is no crypto unit %s: the CRYPTO UNIT NUMs are 1 to %u.",
                              argv[1], units->len);
  unit = units->pdata[num - 1];
  if (unit->identity_error == NULL)
    {
      printf ("Crypto unit %u presents the identity key pinned for it (%s): nothing to do.\n",
              unit->num, unit->thumbprint);
      return TRUE;
    }
  info = list_presented (cli, unit, error);
  if (info == NULL)
    return FALSE;
  pins = tke_unit_pins_load (cli->config->dir, error);
  if (pins == NULL)
    return FALSE;
  consequence = tke_unit_repin_describe (unit, info, pins, error);
  if (consequence == NULL)
    return FALSE;
  if (!tke_prompter_confirm (TKE_PROMPTER (cli->prompter), "Pin the new identity key?", consequence,
                             cli->cancellable, error))
    return FALSE;

  journal_path = g_build_filename (cli->config->dir, TKE_JOURNAL_FILE_NAME, NULL);
  journal = tke_journal_open (journal_path, error);
  if (journal == NULL || !tke_unit_repin (unit, info, pins, journal, error))
    return FALSE;
  presented = tke_jwk_thumbprint (info->identity_jwk);
  printf ("Crypto unit %u: pinned identity key %s.\n", unit->num, presented);
  return TRUE;
}

/* Resolves every argument to a unit before anything changes. */
static GPtrArray *
units_of_nums (TkeCli *cli, int argc, char **argv, GError **error)
{
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  if (argc < 2)
    {
      tke_cli_bad_input (cli, error, "give one or more CRYPTO UNIT NUMs (see tkectl cryptounits).");
      return NULL;
    }
  units = tke_cli_list_units (cli, error);
  if (units == NULL)
    return NULL;
  for (int a = 1; a < argc; a++)
    {
      guint64 num;

      if (!g_ascii_string_to_unsigned (argv[a], 10, 1, G_MAXUINT, &num, NULL) || num > units->len)
        {
          tke_cli_bad_input (cli, error,
                             "there is no crypto unit %s: the CRYPTO UNIT NUMs are 1 to %u "
                             "(see tkectl cryptounits); nothing was changed.",
                             argv[a], units->len);
          return NULL;
        }
      g_ptr_array_add (ids, g_strdup (((TkeCeremonyUnit *) units->pdata[num - 1])->id));
    }
  return g_steal_pointer (&ids);
}

static gboolean
cmd_cryptounit_add (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GPtrArray) ids = NULL;

  if (!tke_cli_parse (cli, entries, "NUM...",
                      "Selects crypto units: later commands act on all selected units.", 0, &argc,
                      &argv, error))
    return FALSE;
  ids = units_of_nums (cli, argc, argv, error);
  if (ids == NULL)
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    if (!tke_cli_config_has_unit (cli->config, ids->pdata[i]))
      g_ptr_array_add (cli->config->units, g_strdup (ids->pdata[i]));
  if (!tke_cli_save_config (cli, error))
    return FALSE;
  printf ("%u crypto unit(s) selected.\n", cli->config->units->len);
  return TRUE;
}

static gboolean
cmd_cryptounit_rm (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GPtrArray) ids = NULL;

  if (!tke_cli_parse (cli, entries, "NUM...", "Unselects crypto units.", 0, &argc, &argv, error))
    return FALSE;
  ids = units_of_nums (cli, argc, argv, error);
  if (ids == NULL)
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    for (guint j = cli->config->units->len; j > 0; j--)
      if (g_str_equal (cli->config->units->pdata[j - 1], ids->pdata[i]))
        g_ptr_array_remove_index (cli->config->units, j - 1);
  if (!tke_cli_save_config (cli, error))
    return FALSE;
  printf ("%u crypto unit(s) selected.\n", cli->config->units->len);
  return TRUE;
}

static json_t *
json_path (json_t *state, const char *a, const char *b)
{
  json_t *value = json_object_get (state, a);

  return b != NULL ? json_object_get (value, b) : value;
}

static const char *
register_field (json_t *state, const char *reg, const char *field)
{
  const char *value =
      json_string_value (json_object_get (json_path (state, "registers", reg), field));

  return value != NULL ? value : "?";
}

static gboolean
fetch_selected (TkeCli *cli, GPtrArray **units, GPtrArray **states, GError **error)
{
  *units = tke_cli_selected_units (cli, error);
  if (*units == NULL)
    return FALSE;
  *states = tke_cli_unit_states (cli, *units, error);
  return *states != NULL;
}

static gboolean
cmd_cryptounit_admins (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (GPtrArray) states = NULL;
  json_auto_t *json = json_array ();

  if (!tke_cli_parse (cli, entries, NULL,
                      "Lists the administrators and thresholds of the selected crypto units.",
                      TKE_CLI_OPT_JSON, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "cryptounit-admins takes no argument.");
  if (!fetch_selected (cli, &units, &states, error))
    return FALSE;

  for (guint i = 0; i < units->len; i++)
    {
      TkeCeremonyUnit *unit = units->pdata[i];
      json_t *state = states->pdata[i];
      json_t *admins = json_object_get (state, "admins");
      json_int_t sig = json_integer_value (json_path (state, "thresholds", "signature"));
      json_int_t rev = json_integer_value (json_path (state, "thresholds", "revocation"));
      json_t *admin;
      size_t a;

      if (cli->json)
        {
          json_t *list = json_array ();

          json_array_foreach (admins, a, admin)
            json_array_append_new (list, json_pack ("{s:O, s:O, s:O}", "name",
                                                    json_object_get (admin, "name"), "ski",
                                                    json_object_get (admin, "ski"), "curve",
                                                    json_object_get (admin, "curve")));
          json_array_append_new (json,
                                 json_pack ("{s:i, s:s, s:O, s:I, s:I, s:o}", "num",
                                            (int) unit->num, "id", unit->id, "mode",
                                            json_object_get (state, "mode"), "signature_threshold",
                                            sig, "revocation_threshold", rev, "admins", list));
          continue;
        }
      printf ("CRYPTO UNIT NUM %u (%s mode): signature threshold %" JSON_INTEGER_FORMAT
              ", revocation signature threshold %" JSON_INTEGER_FORMAT "\n",
              unit->num, json_string_value (json_object_get (state, "mode")), sig, rev);
      if (json_array_size (admins) == 0)
        printf ("  no administrator\n");
      else
        printf ("  %-30s %-6s %s\n", "ADMIN NAME", "CURVE", "SUBJECT KEY ID");
      json_array_foreach (admins, a, admin)
        {
          g_autofree char *name =
              tke_text_escape (json_string_value (json_object_get (admin, "name")), -1);
          g_autofree char *curve =
              tke_text_escape (json_string_value (json_object_get (admin, "curve")), -1);
          g_autofree char *ski =
              tke_text_escape (json_string_value (json_object_get (admin, "ski")), -1);

          printf ("  %-30s %-6s %s\n", name, curve, ski);
        }
      printf ("\n");
    }
  if (cli->json)
    tke_cli_print_json (json);
  return TRUE;
}

static void
print_vp_lines (const char *label, const char *status, const char *vp)
{
  gsize len = strlen (vp);

  printf ("  %-9s %-18s %.32s\n", label, status, vp);
  if (len > 32)
    printf ("  %-9s %-18s %.32s\n", "", "", vp + 32);
}

static gboolean
cmd_cryptounit_mk (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (GPtrArray) states = NULL;
  json_auto_t *json = json_array ();

  if (!tke_cli_parse (cli, entries, NULL,
                      "Shows both master key registers of the selected crypto units, with status "
                      "and verification pattern.",
                      TKE_CLI_OPT_JSON, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "cryptounit-mk takes no argument.");
  if (!fetch_selected (cli, &units, &states, error))
    return FALSE;

  for (guint i = 0; i < units->len; i++)
    {
      TkeCeremonyUnit *unit = units->pdata[i];
      json_t *state = states->pdata[i];

      if (cli->json)
        {
          json_array_append_new (json, json_pack ("{s:i, s:s, s:O}", "num", (int) unit->num, "id",
                                                  unit->id, "registers",
                                                  json_object_get (state, "registers")));
          continue;
        }
      printf ("CRYPTO UNIT NUM %u\n", unit->num);
      printf ("  %-9s %-18s %s\n", "REGISTER", "STATUS", "VERIFICATION PATTERN");
      print_vp_lines ("New", register_field (state, "new", "state"),
                      register_field (state, "new", "vp"));
      print_vp_lines ("Current", register_field (state, "current", "state"),
                      register_field (state, "current", "vp"));
      printf ("\n");
    }
  if (cli->json)
    tke_cli_print_json (json);
  return TRUE;
}

static char *
admins_key (json_t *state)
{
  g_autoptr (GString) key = g_string_new (NULL);
  json_t *admin;
  size_t a;

  json_array_foreach (json_object_get (state, "admins"), a, admin)
    g_string_append_printf (key, "%s%s (%s)", a > 0 ? ", " : "",
                            json_string_value (json_object_get (admin, "name")),
                            json_string_value (json_object_get (admin, "ski")));
  return g_string_free (g_steal_pointer (&key), FALSE);
}

static gboolean
cmd_cryptounit_compare (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (GPtrArray) states = NULL;
  g_autoptr (GPtrArray) differences = g_ptr_array_new_with_free_func (g_free);
  static const char *const aspects[] = { "mode", "thresholds", "admins", "new", "current" };

  if (!tke_cli_parse (cli, entries, NULL,
                      "Compares the selected crypto units: mode, thresholds, administrators and "
                      "master key registers. Exit code 8 when they differ.",
                      TKE_CLI_OPT_JSON, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "cryptounit-compare takes no argument.");
  if (!fetch_selected (cli, &units, &states, error))
    return FALSE;

  for (guint k = 0; k < G_N_ELEMENTS (aspects); k++)
    {
      g_autofree char *first = NULL;

      for (guint i = 0; i < units->len; i++)
        {
          json_t *state = states->pdata[i];
          g_autofree char *value = NULL;

          if (k == 0)
            value = g_strdup (json_string_value (json_object_get (state, "mode")));
          else if (k == 1)
            value = g_strdup_printf (
                "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                json_integer_value (json_path (state, "thresholds", "signature")),
                json_integer_value (json_path (state, "thresholds", "revocation")));
          else if (k == 2)
            value = admins_key (state);
          else
            value = g_strdup_printf ("%s %s", register_field (state, aspects[k], "state"),
                                     register_field (state, aspects[k], "vp"));
          if (i == 0)
            first = g_steal_pointer (&value);
          else if (g_strcmp0 (first, value) != 0)
            {
              g_ptr_array_add (differences,
                               g_strdup_printf ("%s: crypto unit %u has “%s”, crypto unit %u has "
                                                "“%s”",
                                                aspects[k],
                                                ((TkeCeremonyUnit *) units->pdata[0])->num, first,
                                                ((TkeCeremonyUnit *) units->pdata[i])->num, value));
              break;
            }
        }
    }

  if (cli->json)
    {
      json_auto_t *json = json_pack ("{s:b, s:[]}", "same", differences->len == 0, "differences");

      for (guint i = 0; i < differences->len; i++)
        json_array_append_new (json_object_get (json, "differences"),
                               json_string (differences->pdata[i]));
      tke_cli_print_json (json);
    }
  else
    {
      printf ("%-16s %-8s %-11s %-7s %-20s %-20s\n", "CRYPTO UNIT NUM", "MODE", "THRESHOLDS",
              "ADMINS", "NEW REGISTER", "CURRENT REGISTER");
      for (guint i = 0; i < units->len; i++)
        {
          json_t *state = states->pdata[i];
          g_autofree char *thr =
              g_strdup_printf ("%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                               json_integer_value (json_path (state, "thresholds", "signature")),
                               json_integer_value (json_path (state, "thresholds", "revocation")));

          printf (
              "%-16u %-8s %-11s %-7zu %-20s %-20s\n", ((TkeCeremonyUnit *) units->pdata[i])->num,
              json_string_value (json_object_get (state, "mode")), thr,
              json_array_size (json_object_get (state, "admins")),
              register_field (state, "new", "state"), register_field (state, "current", "state"));
        }
      if (differences->len == 0)
        printf ("The selected crypto units are configured the same.\n");
      for (guint i = 0; i < differences->len; i++)
        printf ("Differs: %s\n", (const char *) differences->pdata[i]);
    }
  if (differences->len > 0)
    cli->exit_code = TKE_CLI_EXIT_UNITS_DIFFER;
  return TRUE;
}

/* Operations ---------------------------------------------------------------------------------- */

static gboolean
run_simple (TkeCli *cli, int argc, char **argv, TkeCeremonyOp op, const char *description,
            GError **error)
{
  const GOptionEntry entries[] = { { NULL } };

  if (!tke_cli_parse (cli, entries, NULL, description,
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_YES |
                          TKE_CLI_OPT_PASSWORD,
                      &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "%s takes no argument.", cli->command);
  if (tke_cli_signs_with_files (cli))
    return tke_cli_run_with_files (cli, op, NULL, NULL, NULL, error);
  return tke_cli_run_ceremony (cli, op, NULL, error);
}

static gboolean
cmd_admin_add (TkeCli *cli, int argc, char **argv, GError **error)
{
  g_autofree char *sigkey = NULL;
  g_autofree char *path = NULL;
  const GOptionEntry entries[] = {
    { "sigkey", 0, 0, G_OPTION_ARG_FILENAME, &sigkey,
      "The new administrator's signature key file (its password is asked), instead of a card",
      "FILE" },
    { NULL },
  };

  if (!tke_cli_parse (cli, entries, NULL,
                      "Installs an administrator into the selected crypto units: the one of the "
                      "card in reader 1, or of a signature key file; signed by the quorum of "
                      "administrator cards, or of the selected signature key files.",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_YES |
                          TKE_CLI_OPT_PASSWORD | TKE_CLI_OPT_FILES,
                      &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "cryptounit-admin-add takes no argument.");
  if (sigkey == NULL && tke_cli_signs_with_files (cli))
    return tke_cli_bad_input (cli, error,
                              "signing with files, give the new administrator's signature key "
                              "file with --sigkey FILE (or sigkey-sel --none to use cards).");
  if (sigkey == NULL)
    return tke_cli_run_ceremony (cli, TKE_CEREMONY_ADD_ADMINISTRATOR, NULL, error);
  path = tke_cli_resolve_file (cli, sigkey, ".p12", error);
  if (path == NULL)
    return FALSE;
  return tke_cli_run_with_files (cli, TKE_CEREMONY_ADD_ADMINISTRATOR, NULL, path, NULL, error);
}

static gboolean
cmd_admin_rm (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (GPtrArray) states = NULL;
  json_auto_t *params = json_object ();
  const char *ski = NULL;

  if (!tke_cli_parse (cli, entries, "NAME|SKI",
                      "Removes an administrator from the selected crypto units, signed by the "
                      "revocation quorum.",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_YES |
                          TKE_CLI_OPT_PASSWORD,
                      &argc, &argv, error))
    return FALSE;
  if (argc != 2)
    return tke_cli_bad_input (cli, error,
                              "give the administrator's name or SKI (see cryptounit-admins).");
  if (!fetch_selected (cli, &units, &states, error))
    return FALSE;
  for (guint i = 0; i < states->len && ski == NULL; i++)
    {
      json_t *admin;
      size_t a;

      json_array_foreach (json_object_get (states->pdata[i], "admins"), a, admin)
        if (g_strcmp0 (json_string_value (json_object_get (admin, "name")), argv[1]) == 0 ||
            g_ascii_strcasecmp (json_string_value (json_object_get (admin, "ski")), argv[1]) == 0)
          {
            ski = json_string_value (json_object_get (admin, "ski"));
            break;
          }
    }
  if (ski == NULL)
    return tke_cli_bad_input (cli, error,
                              "no selected crypto unit has an administrator “%s”; nothing was "
                              "changed.",
                              argv[1]);
  json_object_set_new (params, "ski", json_string (ski));
  if (tke_cli_signs_with_files (cli))
    return tke_cli_run_with_files (cli, TKE_CEREMONY_REMOVE_ADMINISTRATOR, params, NULL, NULL,
                                   error);
  return tke_cli_run_ceremony (cli, TKE_CEREMONY_REMOVE_ADMINISTRATOR, params, error);
}

static gboolean
cmd_thrhld_set (TkeCli *cli, int argc, char **argv, GError **error)
{
  gint signature = 0, revocation = 0;
  const GOptionEntry entries[] = {
    { "signature", 0, 0, G_OPTION_ARG_INT, &signature, "The signature threshold, 1 to 8", "N" },
    { "revocation", 0, 0, G_OPTION_ARG_INT, &revocation,
      "The revocation signature threshold, 1 to 8", "N" },
    { NULL },
  };
  json_auto_t *params = json_object ();

  if (!tke_cli_parse (cli, entries, NULL,
                      "Sets the signature thresholds of the selected crypto units (leaving "
                      "imprint mode), signed by the quorum.",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_YES |
                          TKE_CLI_OPT_PASSWORD,
                      &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "cryptounit-thrhld-set takes no argument.");
  if (signature != 0 && (signature < 1 || signature > 8))
    return tke_cli_bad_input (cli, error, "--signature is 1 to 8.");
  if (revocation != 0 && (revocation < 1 || revocation > 8))
    return tke_cli_bad_input (cli, error, "--revocation is 1 to 8.");
  if (signature != 0)
    json_object_set_new (params, "signature", json_integer (signature));
  if (revocation != 0)
    json_object_set_new (params, "revocation", json_integer (revocation));
  if (tke_cli_signs_with_files (cli))
    return tke_cli_run_with_files (cli, TKE_CEREMONY_CHANGE_THRESHOLDS, params, NULL, NULL, error);
  return tke_cli_run_ceremony (cli, TKE_CEREMONY_CHANGE_THRESHOLDS, params, error);
}

static gboolean
cmd_mk_load (TkeCli *cli, int argc, char **argv, GError **error)
{
  gint parts = 0;
  g_auto (GStrv) part_files = NULL;
  const GOptionEntry entries[] = {
    { "parts", 0, 0, G_OPTION_ARG_INT, &parts, "How many key parts make the key: 2 or 3", "N" },
    { "mk", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &part_files,
      "A key part file, instead of a card (once per part; their passwords are asked in order, "
      "before those of the signature key files)",
      "FILE" },
    { NULL },
  };
  json_auto_t *params = json_object ();

  if (!tke_cli_parse (cli, entries, NULL,
                      "Loads the new master key register of the selected crypto units from key "
                      "parts on cards in reader 2 (or key part files), signed by an administrator "
                      "card in reader 1 (or the selected signature key files).",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_YES |
                          TKE_CLI_OPT_PASSWORD | TKE_CLI_OPT_FILES,
                      &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "cryptounit-mk-load takes no argument.");
  if (parts != 0 && parts != 2 && parts != 3)
    return tke_cli_bad_input (cli, error, "--parts is 2 or 3.");
  if (parts != 0)
    json_object_set_new (params, "parts", json_integer (parts));
  if (part_files != NULL || tke_cli_signs_with_files (cli))
    {
      g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

      if (part_files == NULL)
        return tke_cli_bad_input (cli, error,
                                  "signing with files, give each key part file with --mk FILE.");
      if (parts != 0 && (guint) parts != g_strv_length (part_files))
        return tke_cli_bad_input (cli, error, "--parts %d but %u --mk files.", parts,
                                  g_strv_length (part_files));
      for (guint i = 0; part_files[i] != NULL; i++)
        {
          char *path = tke_cli_resolve_file (cli, part_files[i], ".jwe", error);

          if (path == NULL)
            return FALSE;
          g_ptr_array_add (paths, path);
        }
      g_ptr_array_add (paths, NULL);
      return tke_cli_run_with_files (cli, TKE_CEREMONY_LOAD, params, NULL, (char **) paths->pdata,
                                     error);
    }
  return tke_cli_run_ceremony (cli, TKE_CEREMONY_LOAD, params, error);
}

#define SIMPLE_COMMAND(func, op, text)                                                             \
  static gboolean func (TkeCli *cli, int argc, char **argv, GError **error)                        \
  {                                                                                                \
    return run_simple (cli, argc, argv, op, text, error);                                          \
  }

SIMPLE_COMMAND (cmd_mk_commit, TKE_CEREMONY_COMMIT,
                "Commits the new master key register of the selected crypto units, signed by "
                "the quorum.")
SIMPLE_COMMAND (cmd_mk_setimm, TKE_CEREMONY_SET_IMMEDIATE,
                "Makes the committed new master key the current one (irreversible: keys wrapped "
                "under the old current key are not rewrapped).")
SIMPLE_COMMAND (cmd_mk_rotate, TKE_CEREMONY_ROTATE,
                "Rewraps the key storage under the committed new master key and makes it current.")
SIMPLE_COMMAND (cmd_mk_clrnew, TKE_CEREMONY_CLEAR_NEW,
                "Clears the new master key register of the selected crypto units.")
SIMPLE_COMMAND (cmd_mk_clrcur, TKE_CEREMONY_CLEAR_CURRENT,
                "Clears the current master key register of the selected crypto units.")
SIMPLE_COMMAND (cmd_zeroize, TKE_CEREMONY_ZEROIZE,
                "Zeroizes the selected crypto units: back to imprint mode, administrators, "
                "thresholds, registers and key storage cleared.")

const TkeCliCommand tke_cli_unit_commands[] = {
  { "services", cmd_services, "List the crypto unit services" },
  { "service-add", cmd_service_add, "Add a service: URL --api-key KEY [--fingerprint HEX]" },
  { "service-rm", cmd_service_rm, "Forget a service" },
  { "cryptounits", cmd_cryptounits, "List crypto units with their NUM and selection" },
  { "cryptounit-add", cmd_cryptounit_add, "Select crypto units by NUM" },
  { "cryptounit-rm", cmd_cryptounit_rm, "Unselect crypto units by NUM" },
  { "cryptounit-repin", cmd_cryptounit_repin,
    "Pin the new identity key of a crypto unit whose operator confirmed it" },
  { "cryptounit-compare", cmd_cryptounit_compare, "Compare the selected crypto units" },
  { "cryptounit-admins", cmd_cryptounit_admins, "List administrators and thresholds" },
  { "cryptounit-admin-add", cmd_admin_add, "Install the administrator of the card in reader 1" },
  { "cryptounit-admin-rm", cmd_admin_rm, "Remove an administrator by name or SKI" },
  { "cryptounit-thrhld-set", cmd_thrhld_set, "Set --signature and --revocation thresholds" },
  { "cryptounit-mk", cmd_cryptounit_mk, "Show the master key registers" },
  { "cryptounit-mk-load", cmd_mk_load, "Load the new master key from key part cards" },
  { "cryptounit-mk-commit", cmd_mk_commit, "Commit the new master key" },
  { "cryptounit-mk-setimm", cmd_mk_setimm, "Set the new master key as current" },
  { "cryptounit-mk-rotate", cmd_mk_rotate, "Rotate: rewrap key storage, then set current" },
  { "cryptounit-mk-clrnew", cmd_mk_clrnew, "Clear the new master key register" },
  { "cryptounit-mk-clrcur", cmd_mk_clrcur, "Clear the current master key register" },
  { "cryptounit-zeroize", cmd_zeroize, "Zeroize the selected crypto units" },
  { NULL },
};
