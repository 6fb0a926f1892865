/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TkeTerminalPrompter: the ceremony's questions on a terminal, or answered by files and flags. */
#include "config.h"

#include "tke-terminal-prompter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tke-error.h"

/* The longest line read from the terminal or a PIN file: PINs are 8 digits, passwords longer. */
#define MAX_LINE 1024

struct _TkeTerminalPrompter
{
  GObject parent_instance;

  gboolean interactive;
  gboolean assume_yes;
  GQueue pins; /* TkeSecret */

  TkeReaderManager *readers;
  guint card_timeout;
  GCancellable *cancellable;
  GMutex lock;
  GCond cond;
  gboolean waiting;
  gboolean timed_out;
  GThread *watchdog;
};

static void tke_terminal_prompter_iface_init (TkePrompterInterface *iface);

G_DEFINE_TYPE_WITH_CODE (TkeTerminalPrompter, tke_terminal_prompter, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (TKE_TYPE_PROMPTER,
                                                tke_terminal_prompter_iface_init))

static void say (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
  fflush (stderr);
}

static gboolean
no_terminal (GError **error, const char *what, const char *how)
{
  g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
               "tkectl needs %s and runs without a terminal: give it %s.", what, how);
  return FALSE;
}

/* Reads one line from the terminal into secure memory; echo off when secret. The read can be
 * cancelled (Ctrl+C is turned into a cancel by tkectl). */
static TkeSecret *
read_tty_line (const char *prompt, gboolean secret, GCancellable *cancellable, GError **error)
{
  g_autoptr (TkeSecret) buffer = NULL;
  g_autoptr (TkeSecret) line = NULL;
  struct termios saved, quiet;
  gboolean restore = FALSE;
  GPollFD fds[2];
  guint n_fds = 1;
  gsize len = 0;
  int fd;

  fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    {
      no_terminal (error, "an answer", "the answer by a flag or a file");
      return NULL;
    }
  buffer = tke_secret_new (MAX_LINE, error);
  if (buffer == NULL)
    {
      close (fd);
      return NULL;
    }

  /* Echo goes off before the prompt shows: what is typed as soon as the prompt appears is never
   * echoed, nor thrown away. */
  if (secret && tcgetattr (fd, &saved) == 0)
    {
      quiet = saved;
      quiet.c_lflag &= ~(ECHO | ECHONL);
      quiet.c_lflag |= ICANON;
      restore = tcsetattr (fd, TCSANOW, &quiet) == 0;
    }
  if (write (fd, prompt, strlen (prompt)) < 0)
    {
      /* A terminal that can't be written to still reads; the prompt is on stderr then. */
      fputs (prompt, stderr);
    }

  fds[0].fd = fd;
  fds[0].events = G_IO_IN;
  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &fds[1]))
    n_fds = 2;

  for (;;)
    {
      char c;
      ssize_t got;

      if (g_poll (fds, n_fds, -1) < 0 && errno != EINTR)
        break;
      if (g_cancellable_is_cancelled (cancellable))
        break;
      if (!(fds[0].revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
        continue;
      got = read (fd, &c, 1);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0 || c == '\n' || c == '\r')
        {
          if (got > 0 || len > 0)
            line = tke_secret_new_from (tke_secret_peek (buffer), len, error);
          else
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                         "The terminal closed before an answer was given. %s",
                         tke_error_cancelled ());
          break;
        }
      if (len == MAX_LINE)
        continue;
      tke_secret_data (buffer)[len++] = (guint8) c;
    }

  if (restore)
    tcsetattr (fd, TCSADRAIN, &saved);
  if (secret && write (fd, "\n", 1) < 0)
    fputc ('\n', stderr);
  if (n_fds == 2)
    g_cancellable_release_fd (cancellable);
  close (fd);

  if (line == NULL && error != NULL && *error == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, tke_error_cancelled ());
  return g_steal_pointer (&line);
}

static char *
read_tty_text (const char *prompt, GCancellable *cancellable, GError **error)
{
  g_autoptr (TkeSecret) line = read_tty_line (prompt, FALSE, cancellable, error);

  if (line == NULL)
    return NULL;
  return g_strndup ((const char *) tke_secret_peek (line), tke_secret_len (line));
}

/* Watchdog --------------------------------------------------------------------------------- */

static gpointer
watchdog_thread (gpointer data)
{
  TkeTerminalPrompter *self = data;
  gint64 deadline = g_get_monotonic_time () + (gint64) self->card_timeout * G_TIME_SPAN_SECOND;

  g_mutex_lock (&self->lock);
  while (self->waiting)
    if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
      {
        self->timed_out = TRUE;
        g_cancellable_cancel (self->cancellable);
        break;
      }
  g_mutex_unlock (&self->lock);
  return NULL;
}

static void
watchdog_stop (TkeTerminalPrompter *self)
{
  if (self->watchdog == NULL)
    return;
  g_mutex_lock (&self->lock);
  self->waiting = FALSE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
  g_thread_join (g_steal_pointer (&self->watchdog));
}

/* TkePrompter ------------------------------------------------------------------------------ */

static void
terminal_card_wait_begin (TkePrompter *prompter, const TkeCardRequest *request)
{
  TkeTerminalPrompter *self = TKE_TERMINAL_PROMPTER (prompter);

  /* One line per wait, so that an operator (or a script watching stderr) knows what to do. */
  say ("tkectl: waiting for a card in reader %d (%s): %s", request->role,
       request->reader_name != NULL ? request->reader_name : "no reader", request->wanted);

  watchdog_stop (self);
  if (self->card_timeout > 0 && self->cancellable != NULL)
    {
      self->waiting = TRUE;
      self->watchdog = g_thread_new ("tkectl-card-wait", watchdog_thread, self);
    }

  /* Waits here until a card is in the reader: the ceremony then finds it at once. Its own wait
   * gives up after a moment on PC/SC (the reader manager reports TKE_ERROR_NO_CARD where the
   * engine expects G_IO_ERROR_TIMED_OUT), which would end a ceremony before a person can
   * change cards. */
  if (self->readers != NULL && request->reader_name != NULL)
    for (;;)
      {
        g_autoptr (GError) error = NULL;

        if (tke_reader_manager_wait_for_card (self->readers, request->reader_name, 1000,
                                              self->cancellable, &error))
          break;
        if (!g_error_matches (error, TKE_ERROR, TKE_ERROR_NO_CARD) &&
            !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
          break;
      }
}

static void
terminal_card_wait_end (TkePrompter *prompter)
{
  watchdog_stop (TKE_TERMINAL_PROMPTER (prompter));
}

static const char *
pin_kind_name (TkePinKind kind)
{
  switch (kind)
    {
      case TKE_PIN_KIND_PUK:
        return "PUK";
      case TKE_PIN_KIND_NEW_PIN:
        return "new PIN";
      case TKE_PIN_KIND_NEW_PUK:
        return "new PUK";
      case TKE_PIN_KIND_PASSWORD:
        return "password";
      case TKE_PIN_KIND_PIN:
      default:
        return "PIN";
    }
}

static TkeSecret *
terminal_ask_pin (TkePrompter *prompter, const TkePinRequest *request, GCancellable *cancellable,
                  GError **error)
{
  TkeTerminalPrompter *self = TKE_TERMINAL_PROMPTER (prompter);
  g_autofree char *prompt = NULL;
  g_autofree char *tries = NULL;

  if (request->tries_left >= 0)
    tries = g_strdup_printf (" (%d tries left)", request->tries_left);

  /* The PIN itself is never shown: only what it is for. */
  say ("tkectl: %s of %s%s: %s", pin_kind_name (request->kind),
       request->card != NULL ? request->card : "the card", tries != NULL ? tries : "",
       request->purpose != NULL ? request->purpose : "");

  if (!g_queue_is_empty (&self->pins))
    return g_queue_pop_head (&self->pins);
  if (!self->interactive)
    {
      no_terminal (error, "another PIN", "one more line in --pin-file");
      return NULL;
    }
  prompt = g_strdup_printf ("%s: ", request->purpose != NULL ? request->purpose
                                                             : pin_kind_name (request->kind));
  return tke_terminal_prompter_read_secret (self, prompt, TKE_PIN_KIND_IS_NEW (request->kind),
                                            cancellable, error);
}

static void
terminal_pin_pad_begin (TkePrompter *prompter, const TkePinRequest *request)
{
  say ("tkectl: type the PIN of %s on the PIN pad of %s now.",
       request->card != NULL ? request->card : "the card",
       request->reader_name != NULL ? request->reader_name : "the reader");
}

static void
terminal_pin_pad_end (TkePrompter *prompter)
{
}

static gboolean
terminal_choose (TkePrompter *prompter, const char *title, const char *const *choices,
                 guint *choice, GCancellable *cancellable, GError **error)
{
  TkeTerminalPrompter *self = TKE_TERMINAL_PROMPTER (prompter);
  guint n = g_strv_length ((char **) choices);

  say ("tkectl: %s", title);
  for (guint i = 0; i < n; i++)
    say ("  %u. %s", i + 1, choices[i]);
  if (n == 1)
    {
      *choice = 0;
      return TRUE;
    }
  if (!self->interactive)
    return no_terminal (error, "a choice", "a card that holds only the part to use");

  for (;;)
    {
      g_autofree char *answer = read_tty_text ("Number: ", cancellable, error);
      guint64 value;

      if (answer == NULL)
        return FALSE;
      if (g_ascii_string_to_unsigned (g_strstrip (answer), 10, 1, n, &value, NULL))
        {
          *choice = (guint) value - 1;
          return TRUE;
        }
      say ("tkectl: answer a number from 1 to %u.", n);
    }
}

static char *
terminal_ask_text (TkePrompter *prompter, const char *title, const char *hint, TkeTextCheck check,
                   gpointer check_data, GCancellable *cancellable, GError **error)
{
  TkeTerminalPrompter *self = TKE_TERMINAL_PROMPTER (prompter);
  g_autofree char *prompt = g_strdup_printf ("%s (%s): ", title, hint != NULL ? hint : "");

  if (!self->interactive)
    {
      g_autofree char *what = g_ascii_strdown (title, -1);

      no_terminal (error, what, "the flag for it (see --help)");
      return NULL;
    }
  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      g_autofree char *answer = read_tty_text (prompt, cancellable, error);

      if (answer == NULL)
        return NULL;
      if (check == NULL || check (answer, check_data, &local_error))
        return g_steal_pointer (&answer);
      say ("tkectl: %s", local_error->message);
    }
}

static gboolean
terminal_ask_number (TkePrompter *prompter, const char *title, const char *hint, guint min,
                     guint max, guint *number, GCancellable *cancellable, GError **error)
{
  TkeTerminalPrompter *self = TKE_TERMINAL_PROMPTER (prompter);
  g_autofree char *prompt = g_strdup_printf ("%s (%u to %u): ", title, min, max);

  if (!self->interactive)
    {
      g_autofree char *what = g_ascii_strdown (title, -1);

      return no_terminal (error, what, "the flag for it (see --help)");
    }
  if (hint != NULL)
    say ("tkectl: %s", hint);
  for (;;)
    {
      g_autofree char *answer = read_tty_text (prompt, cancellable, error);
      guint64 value;

      if (answer == NULL)
        return FALSE;
      if (g_ascii_string_to_unsigned (g_strstrip (answer), 10, min, max, &value, NULL))
        {
          *number = (guint) value;
          return TRUE;
        }
      say ("tkectl: answer a number from %u to %u.", min, max);
    }
}

static gboolean
terminal_confirm (TkePrompter *prompter, const char *title, const char *consequence,
                  GCancellable *cancellable, GError **error)
{
  TkeTerminalPrompter *self = TKE_TERMINAL_PROMPTER (prompter);

  say ("tkectl: %s", title);
  say ("tkectl: %s", consequence);
  if (self->assume_yes)
    return TRUE;
  if (!self->interactive)
    return no_terminal (error, "a confirmation", "--yes");

  for (;;)
    {
      g_autofree char *answer =
          read_tty_text ("Type yes to go on, no to stop: ", cancellable, error);

      if (answer == NULL)
        return FALSE;
      g_strstrip (answer);
      if (g_ascii_strcasecmp (answer, "yes") == 0)
        return TRUE;
      if (g_ascii_strcasecmp (answer, "no") == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, tke_error_cancelled ());
          return FALSE;
        }
    }
}

static void
terminal_step (TkePrompter *prompter, guint index, guint n_steps, const char *description)
{
  say ("[%u/%u] %s", index + 1, n_steps, description);
}

static void
tke_terminal_prompter_iface_init (TkePrompterInterface *iface)
{
  iface->card_wait_begin = terminal_card_wait_begin;
  iface->card_wait_end = terminal_card_wait_end;
  iface->ask_pin = terminal_ask_pin;
  iface->pin_pad_begin = terminal_pin_pad_begin;
  iface->pin_pad_end = terminal_pin_pad_end;
  iface->choose = terminal_choose;
  iface->ask_text = terminal_ask_text;
  iface->ask_number = terminal_ask_number;
  iface->confirm = terminal_confirm;
  iface->step = terminal_step;
}

static void
tke_terminal_prompter_finalize (GObject *object)
{
  TkeTerminalPrompter *self = TKE_TERMINAL_PROMPTER (object);

  watchdog_stop (self);
  g_clear_object (&self->readers);
  g_queue_clear_full (&self->pins, (GDestroyNotify) tke_secret_free);
  g_clear_object (&self->cancellable);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (tke_terminal_prompter_parent_class)->finalize (object);
}

static void
tke_terminal_prompter_class_init (TkeTerminalPrompterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_terminal_prompter_finalize;
}

static void
tke_terminal_prompter_init (TkeTerminalPrompter *self)
{
  g_queue_init (&self->pins);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
}

/* Public API -------------------------------------------------------------------------------- */

TkeTerminalPrompter *
tke_terminal_prompter_new (gboolean interactive)
{
  TkeTerminalPrompter *self = g_object_new (TKE_TYPE_TERMINAL_PROMPTER, NULL);

  self->interactive = interactive;
  return self;
}

gboolean
tke_terminal_prompter_set_pin_file (TkeTerminalPrompter *self, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  gsize start = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (TKE_IS_TERMINAL_PROMPTER (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!g_file_get_contents (path, &contents, &len, error))
    return FALSE;
  if (len > 64 * MAX_LINE)
    {
      tke_wipe (contents, len);
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "The PIN file %s is too large to be a list of PINs.", path);
      return FALSE;
    }
  for (gsize i = 0; i <= len && ok; i++)
    {
      gsize end = i;

      if (i < len && contents[i] != '\n')
        continue;
      if (end > start && contents[end - 1] == '\r')
        end--;
      if (end > start)
        {
          TkeSecret *pin =
              tke_secret_new_from ((const guint8 *) contents + start, end - start, error);

          if (pin == NULL)
            ok = FALSE;
          else
            g_queue_push_tail (&self->pins, pin);
        }
      start = i + 1;
    }
  tke_wipe (contents, len);
  return ok;
}

void
tke_terminal_prompter_set_assume_yes (TkeTerminalPrompter *self, gboolean assume_yes)
{
  g_return_if_fail (TKE_IS_TERMINAL_PROMPTER (self));
  self->assume_yes = assume_yes;
}

void
tke_terminal_prompter_set_card_timeout (TkeTerminalPrompter *self, guint seconds,
                                        GCancellable *cancellable)
{
  g_return_if_fail (TKE_IS_TERMINAL_PROMPTER (self));
  self->card_timeout = seconds;
  g_set_object (&self->cancellable, cancellable);
}

void
tke_terminal_prompter_set_reader_manager (TkeTerminalPrompter *self, TkeReaderManager *readers)
{
  g_return_if_fail (TKE_IS_TERMINAL_PROMPTER (self));
  g_set_object (&self->readers, readers);
}

gboolean
tke_terminal_prompter_get_card_timed_out (TkeTerminalPrompter *self)
{
  gboolean timed_out;

  g_return_val_if_fail (TKE_IS_TERMINAL_PROMPTER (self), FALSE);
  g_mutex_lock (&self->lock);
  timed_out = self->timed_out;
  g_mutex_unlock (&self->lock);
  return timed_out;
}

TkeSecret *
tke_terminal_prompter_read_secret (TkeTerminalPrompter *self, const char *prompt, gboolean confirm,
                                   GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (TKE_IS_TERMINAL_PROMPTER (self), NULL);

  if (!self->interactive)
    {
      no_terminal (error, "a secret", "a file with it");
      return NULL;
    }
  for (;;)
    {
      g_autoptr (TkeSecret) first = read_tty_line (prompt, TRUE, cancellable, error);
      g_autoptr (TkeSecret) again = NULL;

      if (first == NULL)
        return NULL;
      if (!confirm)
        return g_steal_pointer (&first);
      again = read_tty_line ("Again, to be sure: ", TRUE, cancellable, error);
      if (again == NULL)
        return NULL;
      if (tke_secret_equal (first, again))
        return g_steal_pointer (&first);
      say ("tkectl: the two entries differ; once more.");
    }
}

guint
tke_terminal_prompter_get_n_pins_left (TkeTerminalPrompter *self)
{
  g_return_val_if_fail (TKE_IS_TERMINAL_PROMPTER (self), 0);
  return g_queue_get_length (&self->pins);
}
