/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command parser: every field from the network is checked for type and size before use. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "tke-command.h"
#include "tke-ec-key.h"
#include "tke-softunit-command.h"
#include "tke-unit-error.h"
#include "tke-unit-jose.h"

static const char *const known_ops[] = {
  "admin.add",        "admin.remove", "thresholds.set", "mk.load",          "mk.commit",
  "mk.set_immediate", "mk.rotate",    "mk.clear_new",   "mk.clear_current", "zeroize",
};

gboolean
tke_softunit_op_is_known (const char *op)
{
  for (guint i = 0; op != NULL && i < G_N_ELEMENTS (known_ops); i++)
    if (g_str_equal (op, known_ops[i]))
      return TRUE;
  return FALSE;
}

static void
signature_free (gpointer data)
{
  TkeSoftunitSignature *sig = data;

  g_free (sig->alg);
  g_free (sig->kid);
  json_decref (sig->element);
  g_free (sig);
}

void
tke_softunit_command_free (TkeSoftunitCommand *command)
{
  if (command == NULL)
    return;
  json_decref (command->jws);
  g_free (command->op);
  json_decref (command->targets);
  json_decref (command->args);
  g_clear_pointer (&command->signatures, g_ptr_array_unref);
  g_free (command->request_hash);
  g_free (command);
}

static gboolean
malformed (GError **error, const char *sentence)
{
  g_set_error_literal (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_MALFORMED, sentence);
  return FALSE;
}

static json_t *
decode_json_object (const char *b64)
{
  g_autoptr (GBytes) bytes = tke_b64url_decode (b64, NULL);
  json_t *value;

  if (bytes == NULL)
    return NULL;
  value = json_loadb (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                      JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object (value))
    {
      json_decref (value);
      return NULL;
    }
  return value;
}

static gboolean
parse_signature (json_t *element, TkeSoftunitSignature **out, GError **error)
{
  const char *protected_b64, *sig_b64, *alg = NULL, *kid = NULL;
  json_auto_t *protected = NULL;
  g_autoptr (GBytes) raw = NULL;
  TkeSoftunitSignature *sig;

  if (!json_is_object (element) ||
      (protected_b64 = json_string_value (json_object_get (element, "protected"))) == NULL ||
      (sig_b64 = json_string_value (json_object_get (element, "signature"))) == NULL)
    return malformed (error, "Each signature must have a protected header and a signature.");
  if (json_object_get (element, "header") != NULL &&
      !json_is_object (json_object_get (element, "header")))
    return malformed (error, "A signature's unprotected header must be a JSON object.");
  protected = decode_json_object (protected_b64);
  if (protected == NULL || json_unpack (protected, "{s:s, s:s}", "alg", &alg, "kid", &kid) != 0)
    return malformed (error, "A signature's protected header must be base64url JSON with alg "
                             "and kid.");
  if (json_object_get (protected, "crit") != NULL)
    return malformed (error, "A signature's header asks for critical extensions this unit does "
                             "not know.");
  if (!g_str_equal (alg, "ES256") && !g_str_equal (alg, "ES384") && !g_str_equal (alg, "ES512"))
    return malformed (error, "Signatures must be ES256, ES384 or ES512.");
  if (strlen (kid) != TKE_SKI_HEX_LEN)
    return malformed (error, "A signature's kid must be the signer's SKI: 64 hex digits.");
  raw = tke_b64url_decode (sig_b64, NULL);
  if (raw == NULL || g_bytes_get_size (raw) == 0 || g_bytes_get_size (raw) > 132)
    return malformed (error, "A signature value is not base64url of an R || S pair.");

  sig = g_new0 (TkeSoftunitSignature, 1);
  sig->alg = g_strdup (alg);
  sig->kid = g_ascii_strdown (kid, -1);
  sig->element = json_incref (element);
  *out = sig;
  return TRUE;
}

TkeSoftunitCommand *
tke_softunit_command_parse (const char *body, gsize len, GError **error)
{
  g_autoptr (TkeSoftunitCommand) command = g_new0 (TkeSoftunitCommand, 1);
  json_auto_t *payload = NULL;
  json_error_t jerr;
  const char *payload_b64, *typ = NULL, *op = NULL, *nonce = NULL;
  json_t *targets = NULL, *args = NULL, *signatures, *element;
  json_int_t iat = 0, exp = 0;
  g_autoptr (GHashTable) seen = NULL;
  size_t index;

  command->signatures = g_ptr_array_new_with_free_func (signature_free);
  if (body == NULL || len == 0)
    return malformed (error, "The request has no body; a signed command was expected."), NULL;

  command->jws = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (command->jws == NULL)
    {
      g_set_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_MALFORMED,
                   "The command is not valid JSON (line %d: %s).", jerr.line, jerr.text);
      return NULL;
    }
  {
    guint8 digest[32];

    EVP_Digest (body, len, digest, NULL, EVP_sha256 (), NULL);
    command->request_hash = tke_b64url_encode (digest, sizeof digest);
  }
  if (!json_is_object (command->jws) ||
      (payload_b64 = json_string_value (json_object_get (command->jws, "payload"))) == NULL ||
      !json_is_array (signatures = json_object_get (command->jws, "signatures")))
    return malformed (error, "A command must be a JWS in General JSON Serialization: payload "
                             "and signatures."),
           NULL;
  if (json_object_get (command->jws, "protected") != NULL ||
      json_object_get (command->jws, "signature") != NULL)
    return malformed (error, "A command must use the general JWS form, not the flattened one."),
           NULL;

  payload = decode_json_object (payload_b64);
  if (payload == NULL)
    return malformed (error, "The command payload is not base64url of a JSON object."), NULL;
  if (json_unpack (payload, "{s:s, s:s, s:o, s:o, s:I, s:I, s:s}", "typ", &typ, "op", &op,
                   "targets", &targets, "args", &args, "iat", &iat, "exp", &exp, "nonce",
                   &nonce) != 0)
    return malformed (error, "The command payload needs typ, op, targets, args, iat, exp and "
                             "nonce."),
           NULL;
  if (!g_str_equal (typ, TKE_COMMAND_TYP))
    return malformed (error, "The command payload's typ is not tke-command/1."), NULL;
  if (!tke_softunit_op_is_known (op))
    return malformed (error, "The command names an operation this unit does not know."), NULL;
  if (!json_is_object (args))
    return malformed (error, "The command's args must be a JSON object."), NULL;
  if (!json_is_array (targets) || json_array_size (targets) == 0 ||
      json_array_size (targets) > TKE_SOFTUNIT_MAX_TARGETS)
    return malformed (error, "The command must name 1 to 256 target units."), NULL;
  if (strlen (nonce) < 16 || strlen (nonce) > 128)
    return malformed (error, "The command's nonce must be 16 to 128 characters."), NULL;
  /* Both times are checked against a range before they are subtracted: exp - iat of a far past
   * iat and a far future exp overflows 64 bits. */
  if (iat < 0 || iat > TKE_SOFTUNIT_MAX_TIME || exp <= iat || exp > TKE_SOFTUNIT_MAX_TIME ||
      exp - iat > TKE_SOFTUNIT_MAX_LIFETIME)
    return malformed (error, "The command's validity (iat to exp) must be positive and at most a "
                             "day."),
           NULL;

  seen = g_hash_table_new (g_str_hash, g_str_equal);
  json_array_foreach (targets, index, element)
    {
      const char *unit = NULL;
      json_int_t counter = -1;

      if (json_unpack (element, "{s:s, s:I}", "unit", &unit, "counter", &counter) != 0 ||
          counter < 0 || strlen (unit) == 0 || strlen (unit) > 64)
        return malformed (error, "Each target must be {\"unit\": id, \"counter\": n >= 0}."), NULL;
      if (!g_hash_table_add (seen, (gpointer) unit))
        return malformed (error, "A unit is named twice among the command's targets."), NULL;
    }

  if (json_array_size (signatures) > TKE_SOFTUNIT_MAX_SIGNATURES)
    return malformed (error, "The command carries more than 16 signatures."), NULL;
  json_array_foreach (signatures, index, element)
    {
      TkeSoftunitSignature *sig = NULL;

      if (!parse_signature (element, &sig, error))
        return NULL;
      g_ptr_array_add (command->signatures, sig);
    }

  command->op = g_strdup (op);
  command->targets = json_incref (targets);
  command->args = json_incref (args);
  command->iat = iat;
  command->exp = exp;
  return g_steal_pointer (&command);
}

gint64
tke_softunit_command_counter_for (TkeSoftunitCommand *command, const char *unit_id)
{
  size_t index;
  json_t *element;

  json_array_foreach (command->targets, index, element)
    {
      if (g_str_equal (json_string_value (json_object_get (element, "unit")), unit_id))
        return json_integer_value (json_object_get (element, "counter"));
    }
  return -1;
}
