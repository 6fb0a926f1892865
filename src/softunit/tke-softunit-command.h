/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Parsing a signed command from the wire: the JWS shape and the payload, before any key is used. */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* The most signatures a command can usefully carry: eight administrators, and a little room. */
#define TKE_SOFTUNIT_MAX_SIGNATURES 16
#define TKE_SOFTUNIT_MAX_TARGETS    256
/* The longest time between iat and exp that a unit accepts. */
#define TKE_SOFTUNIT_MAX_LIFETIME (24 * 3600)
/* The last second of the year 9999, as seconds since the epoch: no later iat or exp is valid. */
#define TKE_SOFTUNIT_MAX_TIME G_GINT64_CONSTANT (253402300799)
/* Clock skew tolerated for a command issued "in the future". */
#define TKE_SOFTUNIT_CLOCK_SKEW 300

typedef struct
{
  char *alg;
  char *kid;
  /* The signature element exactly as it came, for libjose's verifier. */
  json_t *element;
} TkeSoftunitSignature;

typedef struct
{
  /* The whole JWS as parsed (payload + signatures). */
  json_t *jws;
  char *op;
  json_t *targets; /* array of {unit, counter} */
  json_t *args;    /* object */
  gint64 iat;
  gint64 exp;
  GPtrArray *signatures; /* of TkeSoftunitSignature */
  /* SHA-256 of the request body, base64url: what the audit log records. */
  char *request_hash;
} TkeSoftunitCommand;

/* Parses and checks the shape of everything; any error is TKE_UNIT_ERROR_MALFORMED with a
 * sentence saying which part is wrong. No signature is checked here. */
TkeSoftunitCommand *tke_softunit_command_parse (const char *body, gsize len, GError **error);
void tke_softunit_command_free (TkeSoftunitCommand *command);
/* The counter this command expects from unit_id, or -1 when the unit is not a target. */
gint64 tke_softunit_command_counter_for (TkeSoftunitCommand *command, const char *unit_id);
gboolean tke_softunit_op_is_known (const char *op);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeSoftunitCommand, tke_softunit_command_free)

G_END_DECLS
