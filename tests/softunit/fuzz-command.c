/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: bytes from the network into the command parser and the unit's verifier. */
#include "config.h"

#include <stdint.h>

#include "tke-memory-signer.h"
#include "tke-softunit-command.h"
#include "tke-softunit-unit.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static TkeSoftunitUnit *unit;

/* A unit in imprint mode, in tmpfs so that its audit writes are cheap. Made before the first
 * input so that OpenSSL's one-time allocations do not count as leaks of an input. */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) service_key = tke_secret_new_random (32, &error);
  const char *base = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir ();
  g_autofree char *tmpl = g_build_filename (base, "tke-fuzz-XXXXXX", NULL);
  g_autofree char *dir = g_mkdtemp (g_steal_pointer (&tmpl));
  g_autofree char *path = g_build_filename (dir, "unit.db", NULL);

  g_assert_nonnull (dir);
  unit = tke_softunit_unit_create (path, service_key, "fuzz-unit", "fuzz", "OPERATIONAL",
                                   "[fuzz].[fuzz].[1].[1]", &error);
  g_assert_no_error (error);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (TkeSoftunitCommand) command = NULL;
  g_autoptr (GError) error = NULL;
  json_t *answer;

  command = tke_softunit_command_parse ((const char *) data, size, &error);
  g_clear_error (&error);
  answer = tke_softunit_unit_execute (unit, (const char *) data, size, &error);
  if (answer != NULL)
    json_decref (answer);
  return 0;
}
