/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the softunit tests share: an embedded service, a client, signers, and waiting for async
 * calls on the test thread (the service runs on its own thread, so this cannot deadlock). */
#pragma once

#include <jansson.h>

#include "tke-command.h"
#include "tke-memory-signer.h"
#include "tke-softunit-service.h"
#include "tke-unit-client.h"
#include "tke-unit-error.h"

typedef struct
{
  TkeSoftunitService *service;
  TkeUnitClient *client;
  GPtrArray *units; /* TkeUnitInfo */
  TkeMemorySigner *admins[9];
} TestWorld;

/* An ephemeral service with 3 operational and 2 failover units and nine signers
 * (P-256, P-384 and P-521 in turn). */
TestWorld *test_world_new (void);
TestWorld *test_world_new_for (TkeSoftunitService *service, const char *api_key);
/* A world whose service is another process (service stays NULL). */
TestWorld *test_world_new_for_url (const char *url, const char *fingerprint, const char *api_key);
void test_world_free (TestWorld *world);

/* Synchronous wrappers over the async client. */
json_t *test_get_state (TestWorld *world, guint unit, GError **error);
json_t *test_post (TestWorld *world, guint unit, TkeCommand *command, GError **error);
json_t *test_request (TestWorld *world, const char *path, json_t *body, GError **error);
json_t *test_client_request (TkeUnitClient *client, const char *path, json_t *body, GError **error);
json_t *test_get_audit (TestWorld *world, guint unit, GError **error);
gint64 test_counter (TestWorld *world, guint unit);

/* A command for the given units (indexes into world->units) at their current counters, signed
 * by the NULL-terminated list of signers. */
TkeCommand *test_command (TestWorld *world, const char *op, json_t *args, const guint *units,
                          guint n_units, ...) G_GNUC_NULL_TERMINATED;
/* Sends op to one unit with the given signers; returns the answer or NULL with error. */
json_t *test_run (TestWorld *world, guint unit, const char *op, json_t *args, GError **error,
                  ...) G_GNUC_NULL_TERMINATED;

json_t *test_admin_add_args (TkeMemorySigner *signer);
/* Installs admins[0..n-1] in imprint mode and sets both thresholds on unit. */
void test_setup_normal (TestWorld *world, guint unit, guint n_admins, int sig_thr, int rev_thr);
/* mk.load of parts (TkeSecret) to unit, signed by admins[0]. */
json_t *test_load (TestWorld *world, guint unit, TkeSecret **parts, guint n_parts, GError **error);
char *test_vp_hex_of_xor (TkeSecret **parts, guint n_parts);

/* A tke-softunit process and what it printed at start. */
typedef struct
{
  GPid pid;
  char *url;
  char *fingerprint;
  char *api_key;
} TestProcess;

/* Starts the service binary on an ephemeral loopback port and reads its first lines. */
gboolean test_spawn_service (const char *binary, const char *state_dir, guint units, guint failover,
                             TestProcess *process);

/* rm -r of a test's state directory. */
void test_remove_tree (const char *path);

/* Asserts a refusal with this code and a sentence, then clears the error. */
void test_check_refused (GError **error, TkeUnitErrorCode expected, const char *where);
#define test_assert_refused(error, expected) test_check_refused (&(error), (expected), G_STRLOC)
