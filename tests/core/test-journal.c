/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony journal: entries chain by hash, any change to a past line is found and named, an
 * interrupted write is dropped without losing acknowledged lines, and the file is private. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tke-error.h"
#include "tke-journal.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->dir = g_dir_make_tmp ("tke-journal-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->path = g_build_filename (fixture->dir, TKE_JOURNAL_FILE_NAME, NULL);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_unlink (fixture->path);
  g_rmdir (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static void
append_operations (const char *path, guint n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeJournal) journal = tke_journal_open (path, &error);
  guint8 vp[TKE_VP_LEN];

  g_assert_no_error (error);
  memset (vp, 0xAB, sizeof vp);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (TkeJournalEntry) entry = tke_journal_entry_new ("mk.commit");

      tke_journal_entry_add_signer (entry, "Alice", "a1b2");
      tke_journal_entry_add_signer (entry, "Bob", "c3d4");
      tke_journal_entry_add_unit (entry, "7f0c6a8e-unit", 1, "OK", NULL, "receipt.jws");
      tke_journal_entry_add_unit (entry, "2b9d-unit", 2, "BAD_COUNTER",
                                  "The command was made for another transaction counter.", NULL);
      tke_journal_entry_add_vp (entry, "new", vp);
      tke_journal_entry_add_detail (entry, "parts", "3");
      g_assert_true (tke_journal_append (journal, entry, &error));
      g_assert_no_error (error);
    }
}

static char **
read_lines (const char *path)
{
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return g_strsplit (contents, "\n", -1);
}

static void
write_lines (const char *path, char **lines)
{
  g_autofree char *joined = g_strjoinv ("\n", lines);

  g_assert_true (g_file_set_contents (path, joined, -1, NULL));
}

static void
test_journal_chain (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  guint n = 0;
  GStatBuf st;

  append_operations (fixture->path, 2);
  /* Reopening continues the chain rather than starting a new one. */
  append_operations (fixture->path, 1);

  g_assert_true (tke_journal_verify (fixture->path, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);

  lines = read_lines (fixture->path);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_cmpstr (lines[3], ==, "");
  g_assert_nonnull (strstr (lines[0], "\"prev\":\"0000000000000000"));
  g_assert_nonnull (strstr (lines[2], "\"seq\":3"));
  g_assert_nonnull (strstr (lines[0], "\"name\":\"Alice\""));
  g_assert_nonnull (strstr (lines[0], "\"result\":\"BAD_COUNTER\""));
  g_assert_nonnull (strstr (lines[0], "\"new\":\"abababab"));

  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
test_journal_changed_line (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  char *alice;

  append_operations (fixture->path, 3);
  lines = read_lines (fixture->path);
  /* Same length, still valid JSON: only the chain can tell. */
  alice = strstr (lines[1], "Alice");
  g_assert_nonnull (alice);
  alice[0] = 'M';
  write_lines (fixture->path, lines);

  g_assert_false (tke_journal_verify (fixture->path, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
  g_assert_nonnull (strstr (error->message, "line 3"));
  g_clear_error (&error);

  /* A damaged journal is not appended to: the operator must see it. */
  g_assert_null (tke_journal_open (fixture->path, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
}

static void
test_journal_removed_line (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree char *second = NULL;

  append_operations (fixture->path, 3);
  lines = read_lines (fixture->path);
  second = lines[1];
  memmove (&lines[1], &lines[2], 3 * sizeof (char *));
  write_lines (fixture->path, lines);

  g_assert_false (tke_journal_verify (fixture->path, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
  g_assert_nonnull (strstr (error->message, "line 2"));
}

static void
test_journal_not_json (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (fixture->path, "{\"seq\":1,\n", -1, NULL));
  g_assert_false (tke_journal_verify (fixture->path, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
  g_assert_nonnull (strstr (error->message, "line 1"));
}

static void
test_journal_torn_write (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeJournal) journal = NULL;
  g_autoptr (TkeJournalEntry) entry = NULL;
  g_autoptr (GFileOutputStream) out = NULL;
  g_autoptr (GFile) file = NULL;
  guint n = 0;

  append_operations (fixture->path, 2);

  /* A crash in the middle of the third write: half a line, no newline. */
  file = g_file_new_for_path (fixture->path);
  out = g_file_append_to (file, G_FILE_CREATE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (G_OUTPUT_STREAM (out), "{\"operation\":\"mk.lo", 19,
                                            NULL, NULL, &error));
  g_assert_true (g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error));

  g_assert_false (tke_journal_verify (fixture->path, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
  g_assert_nonnull (strstr (error->message, "incomplete"));
  g_clear_error (&error);

  /* The writer drops the unacknowledged tail and goes on; both acknowledged lines stay. */
  journal = tke_journal_open (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tke_journal_get_n_entries (journal), ==, 2);
  entry = tke_journal_entry_new ("mk.load");
  g_assert_true (tke_journal_append (journal, entry, &error));
  g_assert_true (tke_journal_verify (fixture->path, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);
}

static void
test_journal_unwritable (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "missing-dir", "journal.jsonl", NULL);
  g_autoptr (TkeJournal) journal = tke_journal_open (path, &error);
  g_autoptr (TkeJournalEntry) entry = tke_journal_entry_new ("zeroize");

  g_assert_no_error (error);
  g_assert_false (tke_journal_append (journal, entry, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "ceremony journal"));
  g_assert_cmpuint (tke_journal_get_n_entries (journal), ==, 0);
}

/* Two processes, each with the journal open since before the other wrote, append at once: the
 * lock makes them take turns and each continues the chain from the file, never from its own
 * stale view of it. */
static void
test_journal_two_processes (Fixture *fixture, gconstpointer data)
{
  pid_t children[2];
  guint n = 0;
  g_autoptr (GError) error = NULL;

  append_operations (fixture->path, 1);
  for (guint c = 0; c < G_N_ELEMENTS (children); c++)
    {
      children[c] = fork ();
      g_assert_cmpint (children[c], >=, 0);
      if (children[c] == 0)
        {
          append_operations (fixture->path, 40);
          _exit (0);
        }
    }
  for (guint c = 0; c < G_N_ELEMENTS (children); c++)
    {
      int status = 0;

      g_assert_cmpint (waitpid (children[c], &status, 0), ==, children[c]);
      g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
  g_assert_true (tke_journal_verify (fixture->path, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 81);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/journal/chain", Fixture, NULL, fixture_set_up, test_journal_chain,
              fixture_tear_down);
  g_test_add ("/journal/changed-line", Fixture, NULL, fixture_set_up, test_journal_changed_line,
              fixture_tear_down);
  g_test_add ("/journal/removed-line", Fixture, NULL, fixture_set_up, test_journal_removed_line,
              fixture_tear_down);
  g_test_add ("/journal/not-json", Fixture, NULL, fixture_set_up, test_journal_not_json,
              fixture_tear_down);
  g_test_add ("/journal/torn-write", Fixture, NULL, fixture_set_up, test_journal_torn_write,
              fixture_tear_down);
  g_test_add ("/journal/two-processes", Fixture, NULL, fixture_set_up, test_journal_two_processes,
              fixture_tear_down);
  g_test_add ("/journal/unwritable", Fixture, NULL, fixture_set_up, test_journal_unwritable,
              fixture_tear_down);

  return g_test_run ();
}
