/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl's key file commands: signature key files (PKCS#12) and key part files (JWE) in the
 * private files directory. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tke-cli-private.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-files-dir.h"
#include "tke-key-part-file.h"
#include "tke-signature-key-file.h"

char *
tke_cli_resolve_file (TkeCli *cli, const char *arg, const char *suffix, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;

  if (strchr (arg, '/') != NULL)
    {
      if (!g_file_test (arg, G_FILE_TEST_IS_REGULAR))
        {
          tke_cli_bad_input (cli, error, "there is no file %s.", arg);
          return NULL;
        }
      return g_canonicalize_filename (arg, NULL);
    }
  dir = tke_cli_files_dir (cli, error);
  if (dir == NULL)
    return NULL;
  path = g_build_filename (dir, arg, NULL);
  if (!g_str_has_suffix (path, suffix))
    {
      g_autofree char *with_suffix = g_strconcat (path, suffix, NULL);

      g_free (path);
      path = g_steal_pointer (&with_suffix);
    }
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      tke_cli_bad_input (cli, error, "there is no file “%s” in %s.", arg, dir);
      return NULL;
    }
  return g_steal_pointer (&path);
}

static void
print_skipped (const char *skipped)
{
  if (skipped != NULL && *skipped != '\0')
    g_printerr ("tkectl: warning: skipped files:\n%s\n", skipped);
}

static gboolean
cmd_sigkeys (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autofree char *dir = NULL;
  g_autofree char *skipped = NULL;
  g_autoptr (GPtrArray) files = NULL;
  json_auto_t *json = json_array ();

  if (!tke_cli_parse (cli, entries, NULL,
                      "Lists the signature key files (no password needed: the certificate is "
                      "readable).",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_FILES, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "sigkeys takes no argument.");
  dir = tke_cli_files_dir (cli, error);
  if (dir == NULL)
    return FALSE;
  files = tke_signature_key_file_list (dir, &skipped, error);
  if (files == NULL)
    return FALSE;
  print_skipped (skipped);

  if (!cli->json)
    printf ("%-24s %-8s %-30s %-6s %s\n", "FILE", "SELECTED", "ADMIN NAME", "CURVE",
            "SUBJECT KEY ID");
  for (guint i = 0; i < files->len; i++)
    {
      TkeSignatureKeyFileInfo *info = files->pdata[i];
      g_autofree char *base = g_path_get_basename (info->path);
      const char *curve = info->has_certificate ? tke_curve_name (info->curve) : "?";
      g_autofree char *canonical = g_canonicalize_filename (info->path, NULL);
      gboolean selected = FALSE;

      for (guint s = 0; s < cli->config->sigkeys->len; s++)
        selected = selected || g_str_equal (cli->config->sigkeys->pdata[s], canonical);
      if (cli->json)
        json_array_append_new (json, json_pack ("{s:s, s:b, s:s?, s:s?, s:s}", "file", info->path,
                                                "selected", selected, "name", info->name, "ski",
                                                info->ski, "curve", curve));
      else
        printf ("%-24s %-8s %-30s %-6s %s\n", base, selected ? "true" : "false",
                info->name != NULL ? info->name : "(encrypted)", curve,
                info->ski != NULL ? info->ski : "");
    }
  if (cli->json)
    tke_cli_print_json (json);
  return TRUE;
}

static gboolean
cmd_sigkey_add (TkeCli *cli, int argc, char **argv, GError **error)
{
  g_autofree char *curve_name = NULL;
  const GOptionEntry entries[] = {
    { "curve", 0, 0, G_OPTION_ARG_STRING, &curve_name, "P-256 (default), P-384 or P-521", "CURVE" },
    { NULL },
  };
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr (TkeSecret) password = NULL;
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  TkeCurve curve = TKE_CURVE_P256;
  gsize name_len;

  if (!tke_cli_parse (cli, entries, "NAME",
                      "Generates an administrator signature key into a new password-protected "
                      "file (PKCS#12) whose certificate names the administrator.",
                      TKE_CLI_OPT_FILES | TKE_CLI_OPT_PASSWORD, &argc, &argv, error))
    return FALSE;
  if (argc != 2)
    return tke_cli_bad_input (cli, error, "give the administrator's NAME.");
  name_len = g_utf8_strlen (argv[1], -1);
  if (!g_utf8_validate (argv[1], -1, NULL) || name_len < 1 || name_len > 30)
    return tke_cli_bad_input (cli, error, "an administrator's name is 1 to 30 characters.");
  if (curve_name == NULL || g_ascii_strcasecmp (curve_name, "P-256") == 0)
    curve = TKE_CURVE_P256;
  else if (g_ascii_strcasecmp (curve_name, "P-384") == 0)
    curve = TKE_CURVE_P384;
  else if (g_ascii_strcasecmp (curve_name, "P-521") == 0)
    curve = TKE_CURVE_P521;
  else
    return tke_cli_bad_input (cli, error, "--curve is P-256, P-384 or P-521.");

  dir = tke_cli_files_dir (cli, error);
  if (dir == NULL)
    return FALSE;
  password = tke_cli_read_password (cli, "the password for the new file", TRUE, error);
  if (password == NULL)
    return FALSE;
  path = tke_files_dir_new_path (dir, argv[1], TKE_SIGNATURE_KEY_FILE_SUFFIX);
  info = tke_signature_key_file_create (path, argv[1], curve, password, error);
  if (info == NULL)
    return FALSE;
  printf ("%s: signature key of %s (%s), SKI %s\n", info->path, info->name,
          tke_curve_name (info->curve), info->ski);
  return TRUE;
}

static gboolean
remove_file (TkeCli *cli, int argc, char **argv, const char *suffix, const char *what,
             gboolean (*delete_func) (const char *, GError **), GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *consequence = NULL;

  if (argc != 2)
    return tke_cli_bad_input (cli, error, "give the FILE to remove.");
  path = tke_cli_resolve_file (cli, argv[1], suffix, error);
  if (path == NULL)
    return FALSE;
  consequence =
      g_strdup_printf ("%s %s is deleted: without another copy it is gone for good.", what, path);
  if (!tke_prompter_confirm (TKE_PROMPTER (cli->prompter), "Remove the file?", consequence,
                             cli->cancellable, error) ||
      !delete_func (path, error))
    return FALSE;
  printf ("Removed %s.\n", path);
  return TRUE;
}

static gboolean
cmd_sigkey_rm (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };

  if (!tke_cli_parse (cli, entries, "FILE", "Deletes a signature key file.",
                      TKE_CLI_OPT_FILES | TKE_CLI_OPT_YES, &argc, &argv, error))
    return FALSE;
  return remove_file (cli, argc, argv, TKE_SIGNATURE_KEY_FILE_SUFFIX, "The signature key file",
                      tke_signature_key_file_delete, error);
}

static gboolean
cmd_sigkey_sel (TkeCli *cli, int argc, char **argv, GError **error)
{
  gboolean none = FALSE;
  const GOptionEntry entries[] = {
    { "none", 0, 0, G_OPTION_ARG_NONE, &none, "Select no file: commands sign with cards", NULL },
    { NULL },
  };
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  if (!tke_cli_parse (cli, entries, "FILE...",
                      "Selects the signature key files that sign unit commands, in the order "
                      "given (their passwords are asked in that order); with files selected, "
                      "unit commands sign with them instead of cards.",
                      TKE_CLI_OPT_FILES, &argc, &argv, error))
    return FALSE;
  if (none == (argc > 1))
    return tke_cli_bad_input (cli, error, "give the FILEs to select, or --none.");
  for (int a = 1; a < argc; a++)
    {
      g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
      char *path = tke_cli_resolve_file (cli, argv[a], TKE_SIGNATURE_KEY_FILE_SUFFIX, error);

      if (path == NULL)
        return FALSE;
      g_ptr_array_add (paths, path);
      info = tke_signature_key_file_read_info (path, error);
      if (info == NULL)
        return FALSE;
    }
  g_ptr_array_set_size (cli->config->sigkeys, 0);
  for (guint i = 0; i < paths->len; i++)
    g_ptr_array_add (cli->config->sigkeys, g_strdup (paths->pdata[i]));
  if (!tke_cli_save_config (cli, error))
    return FALSE;
  printf ("%u signature key file(s) selected%s.\n", cli->config->sigkeys->len,
          cli->config->sigkeys->len == 0 ? ": unit commands sign with cards" : "");
  return TRUE;
}

static gboolean
cmd_mks (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autofree char *dir = NULL;
  g_autofree char *skipped = NULL;
  g_autoptr (GPtrArray) files = NULL;
  json_auto_t *json = json_array ();

  if (!tke_cli_parse (cli, entries, NULL,
                      "Lists the key part files with their descriptions and VPs (no password "
                      "needed).",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_FILES, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "mks takes no argument.");
  dir = tke_cli_files_dir (cli, error);
  if (dir == NULL)
    return FALSE;
  files = tke_key_part_file_list (dir, &skipped, error);
  if (files == NULL)
    return FALSE;
  print_skipped (skipped);

  if (!cli->json)
    printf ("%-24s %-34s %s\n", "FILE", "DESCRIPTION", "VERIFICATION PATTERN");
  for (guint i = 0; i < files->len; i++)
    {
      TkeKeyPartFileInfo *info = files->pdata[i];
      g_autofree char *base = g_path_get_basename (info->path);
      g_autofree char *vp = tke_vp_to_hex (info->vp);

      if (cli->json)
        json_array_append_new (json, json_pack ("{s:s, s:s, s:s, s:s?}", "file", info->path,
                                                "description", info->description, "vp", vp,
                                                "created", info->created));
      else
        printf ("%-24s %-34s %.32s\n%-24s %-34s %.32s\n", base, info->description, vp, "", "",
                vp + 32);
    }
  if (cli->json)
    tke_cli_print_json (json);
  return TRUE;
}

static TkeSecret *
parse_hex_part (TkeCli *cli, const char *hex, GError **error)
{
  g_autoptr (TkeSecret) part = NULL;
  gsize len = strlen (hex);

  if (len != 2 * TKE_KEY_PART_LEN)
    {
      tke_cli_bad_input (cli, error, "--value is %u hex digits (a 256-bit key part).",
                         2 * TKE_KEY_PART_LEN);
      return NULL;
    }
  part = tke_secret_new (TKE_KEY_PART_LEN, error);
  if (part == NULL)
    return NULL;
  for (gsize i = 0; i < TKE_KEY_PART_LEN; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        {
          tke_cli_bad_input (cli, error, "--value is hex digits only.");
          return NULL;
        }
      tke_secret_data (part)[i] = (guint8) (hi << 4 | lo);
    }
  return g_steal_pointer (&part);
}

static gboolean
cmd_mk_add (TkeCli *cli, int argc, char **argv, GError **error)
{
  gboolean random = FALSE;
  g_autofree char *value = NULL;
  g_autofree char *description = NULL;
  const GOptionEntry entries[] = {
    { "random", 0, 0, G_OPTION_ARG_NONE, &random, "Make a random key part", NULL },
    { "value", 0, 0, G_OPTION_ARG_STRING, &value,
      "The key part, 64 hex digits (it shows in the process list: prefer --random)", "HEX" },
    { "description", 0, 0, G_OPTION_ARG_STRING, &description,
      "The key part's description (1 to 64 characters)", "TEXT" },
    { NULL },
  };
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *vp = NULL;
  g_autoptr (TkeSecret) part = NULL;
  g_autoptr (TkeSecret) password = NULL;
  g_autoptr (TkeKeyPartFileInfo) info = NULL;

  if (!tke_cli_parse (cli, entries, NULL,
                      "Makes a key part file: a random part or a given one, encrypted with a "
                      "password (JWE).",
                      TKE_CLI_OPT_FILES | TKE_CLI_OPT_PASSWORD, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "mk-add takes no argument.");
  if (random == (value != NULL))
    return tke_cli_bad_input (cli, error, "give either --random or --value HEX.");
  if (description == NULL)
    return tke_cli_bad_input (cli, error, "--description is required.");
  if (!tke_key_part_description_is_valid (description, error))
    return FALSE;
  if (value != NULL)
    {
      part = parse_hex_part (cli, value, error);
      tke_wipe (value, strlen (value));
      if (part == NULL)
        return FALSE;
    }

  dir = tke_cli_files_dir (cli, error);
  if (dir == NULL)
    return FALSE;
  password = tke_cli_read_password (cli, "the password for the new file", TRUE, error);
  if (password == NULL)
    return FALSE;
  path = tke_files_dir_new_path (dir, description, TKE_KEY_PART_FILE_SUFFIX);
  info = part != NULL ? tke_key_part_file_create (path, part, description, password, error)
                      : tke_key_part_file_create_random (path, description, password, error);
  if (info == NULL)
    return FALSE;
  vp = tke_vp_to_hex (info->vp);
  printf ("%s: key part “%s”\nVP %.32s\n   %.32s\n", info->path, info->description, vp, vp + 32);
  return TRUE;
}

static gboolean
cmd_mk_rm (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };

  if (!tke_cli_parse (cli, entries, "FILE", "Deletes a key part file.",
                      TKE_CLI_OPT_FILES | TKE_CLI_OPT_YES, &argc, &argv, error))
    return FALSE;
  return remove_file (cli, argc, argv, TKE_KEY_PART_FILE_SUFFIX, "The key part file",
                      tke_key_part_file_delete, error);
}

const TkeCliCommand tke_cli_file_commands[] = {
  { "sigkeys", cmd_sigkeys, "List signature key files" },
  { "sigkey-add", cmd_sigkey_add, "Generate a signature key file for NAME" },
  { "sigkey-sel", cmd_sigkey_sel, "Select the signature key files that sign" },
  { "sigkey-rm", cmd_sigkey_rm, "Delete a signature key file" },
  { "mks", cmd_mks, "List key part files" },
  { "mk-add", cmd_mk_add, "Make a key part file: --random | --value HEX" },
  { "mk-rm", cmd_mk_rm, "Delete a key part file" },
  { NULL },
};
