/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Running tke-vcard in the vpcd readers for the integration tests and the benchmark. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pcsc-test-util.h"

#define LOCK_PATH "/tmp/tke-vpcd.lock"

static int lock_fd = -1;
static char *vcard_program;
static char *card_dir;

const char *
tke_vpcd_reader_name (guint reader)
{
  return reader == 0 ? VPCD_READER_0 : VPCD_READER_1;
}

static gboolean
reader_state (TkeReaderManager *manager, const char *name, gboolean *present)
{
  g_autoptr (GPtrArray) list = tke_reader_manager_list (manager, NULL);

  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      TkeReaderStatus *status = g_ptr_array_index (list, i);

      if (g_strcmp0 (status->name, name) == 0)
        {
          *present = status->card_present;
          return TRUE;
        }
    }
  return FALSE;
}

void
tke_vpcd_wait_empty (TkeReaderManager *manager, const char *reader)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  gboolean present = TRUE;

  while (g_get_monotonic_time () < deadline)
    {
      if (reader_state (manager, reader, &present) && !present)
        return;
      g_usleep (20 * 1000);
    }
  g_error ("The card in \"%s\" did not leave within 15 s", reader);
}

gboolean
tke_vpcd_setup (TkeReaderManager *manager, char **reason)
{
  g_autoptr (GError) error = NULL;
  const char *build_root = g_getenv ("TKE_BUILD_ROOT");
  gboolean present;

  if (!g_file_test ("/run/pcscd/pcscd.comm", G_FILE_TEST_EXISTS))
    {
      *reason = g_strdup ("pcscd is not running (build-aux/pcscd-up.sh starts it)");
      return FALSE;
    }
  vcard_program =
      g_build_filename (build_root != NULL ? build_root : ".", "src", "vcard", "tke-vcard", NULL);
  if (!g_file_test (vcard_program, G_FILE_TEST_IS_EXECUTABLE))
    {
      *reason = g_strdup_printf ("%s was not built", vcard_program);
      return FALSE;
    }

  /* The readers are shared with every other test run on this machine: wait our turn. */
  lock_fd = open (LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd < 0 || flock (lock_fd, LOCK_EX) != 0)
    {
      *reason = g_strdup_printf ("cannot lock %s", LOCK_PATH);
      return FALSE;
    }

  if (!reader_state (manager, VPCD_READER_0, &present) ||
      !reader_state (manager, VPCD_READER_1, &present))
    {
      *reason = g_strdup ("pcscd does not list the two vpcd readers (vsmartcard-vpcd)");
      return FALSE;
    }
  /* A card left behind by a crashed run would confuse the events. */
  tke_vpcd_wait_empty (manager, VPCD_READER_0);
  tke_vpcd_wait_empty (manager, VPCD_READER_1);

  card_dir = g_dir_make_tmp ("tke-card-pcsc-XXXXXX", &error);
  g_assert_no_error (error);
  return TRUE;
}

void
tke_vpcd_teardown (void)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (card_dir == NULL)
    return;
  dir = g_dir_open (card_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (card_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (card_dir);
  g_clear_pointer (&card_dir, g_free);
}

char *
tke_vpcd_create_card (guint32 serial)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_strdup_printf ("card-%u.img", serial);
  char *image = g_build_filename (card_dir, name, NULL);
  g_autofree char *serial_text = g_strdup_printf ("%u", serial);
  g_autoptr (GSubprocess) create = NULL;

  create = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, vcard_program, "create",
                             image, "--serial", serial_text, "--force", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (create, NULL, &error));
  g_assert_no_error (error);
  return image;
}

/* A card process must not outlive a test that aborted: it would hold the shared reader. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

GSubprocess *
tke_vpcd_insert (TkeReaderManager *manager, const char *image, guint reader, guint fail_after)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  /* reader is vpcd's index; tke-vcard numbers the readers as tkectl does, from 1. */
  g_autofree char *reader_text = g_strdup_printf ("%u", reader + 1);
  g_autofree char *fail_text = g_strdup_printf ("%u", fail_after);
  GSubprocess *card;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  if (fail_after > 0)
    card =
        g_subprocess_launcher_spawn (launcher, &error, vcard_program, "insert", image, "--reader",
                                     reader_text, "--fail-after-apdus", fail_text, NULL);
  else
    card = g_subprocess_launcher_spawn (launcher, &error, vcard_program, "insert", image,
                                        "--reader", reader_text, NULL);
  g_assert_no_error (error);
  g_assert_true (tke_reader_manager_wait_for_card (manager, tke_vpcd_reader_name (reader), 15000,
                                                   NULL, &error));
  g_assert_no_error (error);
  return card;
}

void
tke_vpcd_pull (TkeReaderManager *manager, GSubprocess *card, guint reader)
{
  g_autoptr (GError) error = NULL;

  if (card == NULL)
    return;
  g_subprocess_send_signal (card, SIGTERM);
  g_subprocess_wait (card, NULL, &error);
  g_assert_no_error (error);
  tke_vpcd_wait_empty (manager, tke_vpcd_reader_name (reader));
}
