/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: what a crypto unit service answers, read by the unit client: listings of
 * instances and units, importer key statements, command answers with receipts, audit logs. The
 * input is one JSON answer; each parser that could meet it is tried. */
#include "config.h"

#include <string.h>

#include "tke-command.h"
#include "tke-ec-key.h"
#include "tke-unit-client.h"
#include "tke-unit-jose.h"
#include "tke-unit-pins.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

static json_t *identity;
static TkeCommand *command;

/* One identity key and one command, made before the first input. */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P256, NULL);

  identity = tke_ec_key_to_jwk (key, FALSE, NULL);
  g_assert_nonnull (identity);
  command = tke_command_new ("thresholds.set");
  tke_command_add_target (command, "unit-1", 4);
  tke_command_take_args (command, json_pack ("{s:i, s:i}", "signature", 1, "revocation", 1));
  g_assert_nonnull (tke_command_get_payload_b64 (command));
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  json_auto_t *answer = json_loadb ((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
  g_autoptr (GPtrArray) units = NULL;

  if (answer == NULL)
    return 0;
  units = tke_unit_info_list_from_json (answer, NULL);
  for (guint i = 0; units != NULL && i < units->len; i++)
    {
      TkeUnitInfo *info = units->pdata[i];
      /* Against the key it presents, and against another; and the thumbprint of what it
       * presents, which the pins compare. */
      json_decref (tke_importer_key_check (info->importer_jws, info->identity_jwk, info->id, NULL));
      json_decref (tke_importer_key_check (info->importer_jws, identity, info->id, NULL));
      g_free (tke_jwk_thumbprint (info->identity_jwk));
    }
  json_decref (tke_unit_receipt_verify (answer, identity, "unit-1", command, NULL));
  tke_unit_audit_verify (json_object_get (answer, "entries"), NULL);
  json_decref (
      tke_importer_key_check (json_object_get (answer, "importer_key"), identity, "unit-1", NULL));
  return 0;
}
