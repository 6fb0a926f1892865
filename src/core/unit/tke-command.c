/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command builder: a frozen payload that each administrator's signer signs in turn. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tke-command.h"
#include "tke-ec-key.h"
#include "tke-error.h"

struct _TkeCommand
{
  GObject parent_instance;

  char *op;
  json_t *targets;
  json_t *args;
  gint64 iat;
  gint64 exp;
  char *payload_b64;
  json_t *signatures;
};

G_DEFINE_FINAL_TYPE (TkeCommand, tke_command, G_TYPE_OBJECT)

static void
tke_command_finalize (GObject *object)
{
  TkeCommand *self = TKE_COMMAND (object);

  g_clear_pointer (&self->op, g_free);
  g_clear_pointer (&self->targets, json_decref);
  g_clear_pointer (&self->args, json_decref);
  g_clear_pointer (&self->payload_b64, g_free);
  g_clear_pointer (&self->signatures, json_decref);

  G_OBJECT_CLASS (tke_command_parent_class)->finalize (object);
}

static void
tke_command_class_init (TkeCommandClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_command_finalize;
}

static void
tke_command_init (TkeCommand *self)
{
  self->targets = json_array ();
  self->args = json_object ();
  self->signatures = json_array ();
  self->iat = g_get_real_time () / G_USEC_PER_SEC;
  self->exp = self->iat + TKE_COMMAND_DEFAULT_LIFETIME;
}

TkeCommand *
tke_command_new (const char *op)
{
  TkeCommand *self;

  g_return_val_if_fail (op != NULL, NULL);

  self = g_object_new (TKE_TYPE_COMMAND, NULL);
  self->op = g_strdup (op);
  return self;
}

const char *
tke_command_get_op (TkeCommand *self)
{
  g_return_val_if_fail (TKE_IS_COMMAND (self), NULL);
  return self->op;
}

void
tke_command_add_target (TkeCommand *self, const char *unit_id, gint64 counter)
{
  g_return_if_fail (TKE_IS_COMMAND (self));
  g_return_if_fail (unit_id != NULL && counter >= 0);
  g_return_if_fail (self->payload_b64 == NULL);

  json_array_append_new (
      self->targets, json_pack ("{s:s, s:I}", "unit", unit_id, "counter", (json_int_t) counter));
}

guint
tke_command_get_n_targets (TkeCommand *self)
{
  g_return_val_if_fail (TKE_IS_COMMAND (self), 0);
  return json_array_size (self->targets);
}

gint64
tke_command_get_counter (TkeCommand *self, const char *unit_id)
{
  size_t i;
  json_t *target;

  g_return_val_if_fail (TKE_IS_COMMAND (self), -1);
  g_return_val_if_fail (unit_id != NULL, -1);

  json_array_foreach (self->targets, i, target)
    if (g_strcmp0 (json_string_value (json_object_get (target, "unit")), unit_id) == 0)
      return json_integer_value (json_object_get (target, "counter"));
  return -1;
}

void
tke_command_take_args (TkeCommand *self, json_t *args)
{
  g_return_if_fail (TKE_IS_COMMAND (self));
  g_return_if_fail (json_is_object (args));
  g_return_if_fail (self->payload_b64 == NULL);

  json_decref (self->args);
  self->args = args;
}

void
tke_command_set_validity (TkeCommand *self, gint64 iat, gint64 exp)
{
  g_return_if_fail (TKE_IS_COMMAND (self));
  g_return_if_fail (self->payload_b64 == NULL);

  self->iat = iat;
  self->exp = exp;
}

const char *
tke_command_get_payload_b64 (TkeCommand *self)
{
  g_return_val_if_fail (TKE_IS_COMMAND (self), NULL);

  if (self->payload_b64 == NULL)
    {
      guint8 nonce[16];
      g_autofree char *nonce_b64 = NULL;
      json_t *payload;
      char *text;

      if (RAND_bytes (nonce, sizeof nonce) != 1)
        g_error ("The OpenSSL random generator failed");
      nonce_b64 = tke_b64url_encode (nonce, sizeof nonce);
      payload =
          json_pack ("{s:s, s:s, s:O, s:O, s:I, s:I, s:s}", "typ", TKE_COMMAND_TYP, "op", self->op,
                     "targets", self->targets, "args", self->args, "iat", (json_int_t) self->iat,
                     "exp", (json_int_t) self->exp, "nonce", nonce_b64);
      text = json_dumps (payload, JSON_COMPACT | JSON_SORT_KEYS);
      self->payload_b64 = tke_b64url_encode ((const guint8 *) text, strlen (text));
      free (text);
      json_decref (payload);
    }
  return self->payload_b64;
}

char *
tke_command_get_signing_input (TkeCommand *self, const char *alg, const char *kid,
                               char **protected_b64)
{
  json_t *protected;
  char *text;
  char *b64;
  char *input;

  g_return_val_if_fail (TKE_IS_COMMAND (self), NULL);
  g_return_val_if_fail (alg != NULL && kid != NULL, NULL);

  protected = json_pack ("{s:s, s:s}", "alg", alg, "kid", kid);
  text = json_dumps (protected, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (protected);
  b64 = tke_b64url_encode ((const guint8 *) text, strlen (text));
  free (text);
  input = g_strconcat (b64, ".", tke_command_get_payload_b64 (self), NULL);
  if (protected_b64 != NULL)
    *protected_b64 = b64;
  else
    g_free (b64);
  return input;
}

gboolean
tke_command_add_signature (TkeCommand *self, TkeSigner *signer, GCancellable *cancellable,
                           GError **error)
{
  g_autofree char *protected_b64 = NULL;
  g_autofree char *input = NULL;
  g_autofree char *sig_b64 = NULL;
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GBytes) raw = NULL;

  g_return_val_if_fail (TKE_IS_COMMAND (self), FALSE);
  g_return_val_if_fail (TKE_IS_SIGNER (signer), FALSE);

  input = tke_command_get_signing_input (self, tke_signer_get_jws_alg (signer),
                                         tke_signer_get_ski (signer), &protected_b64);
  der = tke_signer_sign_data (signer, (const guint8 *) input, strlen (input), cancellable, error);
  if (der == NULL)
    return FALSE;
  raw = tke_ecdsa_der_to_raw (g_bytes_get_data (der, NULL), g_bytes_get_size (der),
                              tke_curve_field_len (tke_signer_get_curve (signer)), error);
  if (raw == NULL)
    return FALSE;
  sig_b64 = tke_b64url_encode (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  json_array_append_new (
      self->signatures, json_pack ("{s:s, s:s}", "protected", protected_b64, "signature", sig_b64));
  return TRUE;
}

guint
tke_command_get_n_signatures (TkeCommand *self)
{
  g_return_val_if_fail (TKE_IS_COMMAND (self), 0);
  return json_array_size (self->signatures);
}

json_t *
tke_command_to_json (TkeCommand *self)
{
  g_return_val_if_fail (TKE_IS_COMMAND (self), NULL);

  return json_pack ("{s:s, s:o}", "payload", tke_command_get_payload_b64 (self), "signatures",
                    json_deep_copy (self->signatures));
}

char *
tke_command_to_string (TkeCommand *self)
{
  json_t *jws = tke_command_to_json (self);
  char *text = json_dumps (jws, JSON_COMPACT);
  char *out = g_strdup (text);

  free (text);
  json_decref (jws);
  return out;
}

char *
tke_command_get_request_hash (TkeCommand *self)
{
  g_autofree char *body = NULL;
  guint8 digest[32];

  g_return_val_if_fail (TKE_IS_COMMAND (self), NULL);

  body = tke_command_to_string (self);
  if (EVP_Digest (body, strlen (body), digest, NULL, EVP_sha256 (), NULL) != 1)
    return NULL;
  return tke_b64url_encode (digest, sizeof digest);
}
