/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony journal: appended one fsync'ed JSON line per operation; each line carries the
 * SHA-256 of the line before ("prev"), so that a removed, changed or reordered line shows. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "tke-error.h"
#include "tke-journal.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_t, json_decref)

#define GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

struct _TkeJournalEntry
{
  json_t *object;
};

struct _TkeJournal
{
  GObject parent_instance;

  char *path;
  char last_hash[65];
  guint n_entries;
  GMutex lock;
};

G_DEFINE_FINAL_TYPE (TkeJournal, tke_journal, G_TYPE_OBJECT)

static void
hash_line (const char *line, gsize len, char out[65])
{
  guint8 digest[32];
  unsigned int digest_len = 0;

  if (EVP_Digest (line, len, digest, &digest_len, EVP_sha256 (), NULL) != 1 || digest_len != 32)
    g_error ("SHA-256 is not available from OpenSSL");
  for (guint i = 0; i < 32; i++)
    g_snprintf (out + 2 * i, 3, "%02x", digest[i]);
}

TkeJournalEntry *
tke_journal_entry_new (const char *operation)
{
  TkeJournalEntry *entry;

  g_return_val_if_fail (operation != NULL && *operation != '\0', NULL);

  entry = g_new0 (TkeJournalEntry, 1);
  entry->object = json_pack ("{s:s, s:[], s:[], s:{}, s:{}}", "operation", operation, "signers",
                             "units", "vps", "details");
  g_assert (entry->object != NULL);
  return entry;
}

void
tke_journal_entry_free (TkeJournalEntry *entry)
{
  if (entry == NULL)
    return;
  json_decref (entry->object);
  g_free (entry);
}

void
tke_journal_entry_add_signer (TkeJournalEntry *entry, const char *name, const char *ski)
{
  g_return_if_fail (entry != NULL && name != NULL && ski != NULL);

  json_array_append_new (json_object_get (entry->object, "signers"),
                         json_pack ("{s:s, s:s}", "name", name, "ski", ski));
}

void
tke_journal_entry_add_unit (TkeJournalEntry *entry, const char *unit_id, guint crypto_unit_num,
                            const char *result, const char *message, const char *receipt)
{
  json_t *unit;

  g_return_if_fail (entry != NULL && unit_id != NULL && result != NULL);

  unit = json_pack ("{s:s, s:I, s:s}", "unit", unit_id, "num", (json_int_t) crypto_unit_num,
                    "result", result);
  if (message != NULL)
    json_object_set_new (unit, "message", json_string (message));
  if (receipt != NULL)
    json_object_set_new (unit, "receipt", json_string (receipt));
  json_array_append_new (json_object_get (entry->object, "units"), unit);
}

void
tke_journal_entry_add_vp (TkeJournalEntry *entry, const char *label, const guint8 vp[TKE_VP_LEN])
{
  g_autofree char *hex = NULL;

  g_return_if_fail (entry != NULL && label != NULL && vp != NULL);

  hex = tke_vp_to_hex (vp);
  json_object_set_new (json_object_get (entry->object, "vps"), label, json_string (hex));
}

void
tke_journal_entry_add_detail (TkeJournalEntry *entry, const char *key, const char *value)
{
  g_return_if_fail (entry != NULL && key != NULL && value != NULL);

  json_object_set_new (json_object_get (entry->object, "details"), key, json_string (value));
}

static gboolean
corrupt (GError **error, const char *path, guint line_no, const char *why)
{
  g_set_error (
      error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
      /* TRANSLATORS: the journal file, the line number, and what is wrong with the line. */
      _ ("The ceremony journal %s is damaged at line %u: %s. Keep the file as evidence and "
         "start a new workspace."),
      path, line_no, why);
  return FALSE;
}

/* Walks the journal. A last line without its newline is a write that never completed (the
 * operation was not acknowledged): *torn_at is set to its offset so the writer can drop it. */
static gboolean
journal_scan (const char *path, guint *n_entries, char last_hash[65], goffset *torn_at,
              GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr (GError) local_error = NULL;
  const char *p, *end;
  guint line_no = 0;

  g_strlcpy (last_hash, GENESIS_HASH, 65);
  *n_entries = 0;
  *torn_at = -1;

  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _ ("The ceremony journal could not be read: "));
      return FALSE;
    }

  p = contents;
  end = contents + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      g_autoptr (json_t) line = NULL;
      json_error_t json_error;
      const char *prev = NULL;
      json_int_t seq = -1;

      line_no++;
      if (nl == NULL)
        {
          *torn_at = p - contents;
          break;
        }

      line = json_loadb (p, nl - p, JSON_REJECT_DUPLICATES, &json_error);
      if (line == NULL)
        return corrupt (error, path, line_no, _ ("the line is not JSON"));
      if (json_unpack (line, "{s:s, s:I}", "prev", &prev, "seq", &seq) != 0)
        return corrupt (error, path, line_no, _ ("the line has no chain fields"));
      if (seq != (json_int_t) line_no)
        return corrupt (error, path, line_no, _ ("a line is missing or out of order"));
      if (strcmp (prev, last_hash) != 0)
        return corrupt (error, path, line_no, _ ("it does not follow from the line before"));

      hash_line (p, nl - p, last_hash);
      (*n_entries)++;
      p = nl + 1;
    }

  return TRUE;
}

gboolean
tke_journal_verify (const char *path, guint *n_entries, GError **error)
{
  char last_hash[65];
  goffset torn_at;
  guint n = 0;

  g_return_val_if_fail (path != NULL, FALSE);

  if (!journal_scan (path, &n, last_hash, &torn_at, error))
    return FALSE;
  if (torn_at >= 0)
    return corrupt (error, path, n + 1, _ ("the last line is incomplete"));
  if (n_entries != NULL)
    *n_entries = n;
  return TRUE;
}

/* Every writer holds an exclusive lock on the file while it reads the chain's head and appends:
 * two processes (the app and tkectl, two tkectl runs) can't fork the chain. */
static int
lock_journal (int fd, const char *path, GError **error)
{
  while (flock (fd, LOCK_EX) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      close (fd);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _ ("The ceremony journal %s could not be locked: %s"), path,
                   g_strerror (saved_errno));
      return -1;
    }
  return fd;
}

static gboolean
drop_torn_line (int fd, const char *path, goffset torn_at, GError **error)
{
  if (torn_at < 0 || fd < 0 || ftruncate (fd, torn_at) == 0)
    return TRUE;
  {
    int saved_errno = errno;

    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                 _ ("The incomplete last line of the ceremony journal %s could not be removed: %s"),
                 path, g_strerror (saved_errno));
    return FALSE;
  }
}

TkeJournal *
tke_journal_open (const char *path, GError **error)
{
  g_autoptr (TkeJournal) self = NULL;
  goffset torn_at;
  gboolean ok;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (TKE_TYPE_JOURNAL, NULL);
  self->path = g_strdup (path);

  /* Under the lock, so that a line another process is writing is never taken for a torn one. */
  fd = g_open (path, O_RDWR | O_CLOEXEC, 0);
  if (fd >= 0 && lock_journal (fd, path, error) < 0)
    return NULL;
  ok = journal_scan (path, &self->n_entries, self->last_hash, &torn_at, error) &&
       drop_torn_line (fd, path, torn_at, error);
  if (fd >= 0)
    close (fd);
  if (!ok)
    return NULL;
  return g_steal_pointer (&self);
}

gboolean
tke_journal_append (TkeJournal *self, TkeJournalEntry *entry, GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time_str = g_date_time_format_iso8601 (now);
  g_autofree char *line = NULL;
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (json_t) object = NULL;
  gsize len, written = 0;
  int fd;

  g_return_val_if_fail (TKE_IS_JOURNAL (self), FALSE);
  g_return_val_if_fail (entry != NULL, FALSE);

  locker = g_mutex_locker_new (&self->lock);

  fd = g_open (self->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    goto failed;
  if (lock_journal (fd, self->path, error) < 0)
    return FALSE;
  /* Another process may have appended since: the chain goes on from the file's head. */
  {
    goffset torn_at;

    if (!journal_scan (self->path, &self->n_entries, self->last_hash, &torn_at, error) ||
        !drop_torn_line (fd, self->path, torn_at, error))
      {
        close (fd);
        return FALSE;
      }
  }

  object = json_deep_copy (entry->object);
  json_object_set_new (object, "seq", json_integer (self->n_entries + 1));
  json_object_set_new (object, "time", json_string (time_str));
  json_object_set_new (object, "prev", json_string (self->last_hash));
  line = json_dumps (object, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
  g_assert (line != NULL);
  len = strlen (line);

  /* One write for line and newline, so that the newline marks the line as complete. */
  {
    g_autofree char *buf = g_strconcat (line, "\n", NULL);

    while (written < len + 1)
      {
        ssize_t n = write (fd, buf + written, len + 1 - written);

        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          {
            int saved_errno = errno;
            close (fd);
            errno = saved_errno;
            goto failed;
          }
        written += n;
      }
  }

  if (fsync (fd) != 0)
    {
      int saved_errno = errno;
      close (fd);
      errno = saved_errno;
      goto failed;
    }
  if (close (fd) != 0)
    goto failed;

  hash_line (line, len, self->last_hash);
  self->n_entries++;
  return TRUE;

failed:
  {
    int saved_errno = errno;

    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                 _ ("The operation could not be written to the ceremony journal %s: %s"),
                 self->path, g_strerror (saved_errno));
    return FALSE;
  }
}

guint
tke_journal_get_n_entries (TkeJournal *self)
{
  g_return_val_if_fail (TKE_IS_JOURNAL (self), 0);
  return self->n_entries;
}

const char *
tke_journal_get_path (TkeJournal *self)
{
  g_return_val_if_fail (TKE_IS_JOURNAL (self), NULL);
  return self->path;
}

static void
tke_journal_finalize (GObject *object)
{
  TkeJournal *self = TKE_JOURNAL (object);

  g_free (self->path);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (tke_journal_parent_class)->finalize (object);
}

static void
tke_journal_class_init (TkeJournalClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_journal_finalize;
}

static void
tke_journal_init (TkeJournal *self)
{
  g_mutex_init (&self->lock);
}
