/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A prompter that answers from a script, for tests. */
#include "config.h"

#include <string.h>

#include "tke-error.h"
#include "tke-scripted-prompter.h"

typedef enum
{
  ANSWER_PIN,
  ANSWER_CHOICE,
  ANSWER_TEXT,
  ANSWER_NUMBER,
  ANSWER_CONFIRM,
  ANSWER_CANCEL,
} AnswerKind;

static const char *const answer_names[] = { "a PIN",    "a choice",       "a text",
                                            "a number", "a confirmation", "a cancel" };

typedef struct
{
  AnswerKind kind;
  char *text; /* PIN or text; a PIN is wiped when freed */
  guint number;
} Answer;

struct _TkeScriptedPrompter
{
  GObject parent_instance;

  GMutex lock;
  GQueue answers;
  GPtrArray *transcript;
  TkeCardHandler card_handler;
  gpointer card_handler_data;
  TkePinHandler pin_handler;
  gpointer pin_handler_data;
};

static void tke_scripted_prompter_iface_init (TkePrompterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TkeScriptedPrompter, tke_scripted_prompter, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TKE_TYPE_PROMPTER,
                                                      tke_scripted_prompter_iface_init))

static void
answer_free (Answer *answer)
{
  tke_wipe_string_free (answer->text);
  g_free (answer);
}

static void record (TkeScriptedPrompter *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
record (TkeScriptedPrompter *self, const char *format, ...)
{
  va_list args;
  char *line;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);

  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->transcript, line);
  g_mutex_unlock (&self->lock);
  g_test_message ("prompt: %s", line);
}

/* Takes the next answer; it must be of the kind the prompt asks for, or a cancel. */
static Answer *
next_answer (TkeScriptedPrompter *self, AnswerKind wanted, GCancellable *cancellable,
             GError **error)
{
  Answer *answer;

  g_mutex_lock (&self->lock);
  answer = g_queue_pop_head (&self->answers);
  g_mutex_unlock (&self->lock);

  if (answer == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                   "The test script has no answer left for a prompt asking for %s.",
                   answer_names[wanted]);
      return NULL;
    }
  if (answer->kind == ANSWER_CANCEL)
    {
      answer_free (answer);
      if (cancellable != NULL)
        g_cancellable_cancel (cancellable);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, tke_error_cancelled ());
      return NULL;
    }
  if (answer->kind != wanted)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                   "The test script has %s next, but the ceremony asks for %s.",
                   answer_names[answer->kind], answer_names[wanted]);
      answer_free (answer);
      return NULL;
    }
  return answer;
}

static void
push (TkeScriptedPrompter *self, AnswerKind kind, const char *text, guint number)
{
  Answer *answer = g_new0 (Answer, 1);

  answer->kind = kind;
  answer->text = g_strdup (text);
  answer->number = number;

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->answers, answer);
  g_mutex_unlock (&self->lock);
}

static void
scripted_card_wait_begin (TkePrompter *prompter, const TkeCardRequest *request)
{
  TkeScriptedPrompter *self = TKE_SCRIPTED_PROMPTER (prompter);

  record (self, "card: reader %d (%s): %s", request->role,
          request->reader_name ? request->reader_name : "none", request->wanted);
  if (self->card_handler != NULL)
    self->card_handler (request, self->card_handler_data);
}

static void
scripted_card_wait_end (TkePrompter *prompter)
{
}

static const char *const pin_kind_names[] = { "pin", "new pin", "puk", "password", "new puk" };

static TkeSecret *
scripted_ask_pin (TkePrompter *prompter, const TkePinRequest *request, GCancellable *cancellable,
                  GError **error)
{
  TkeScriptedPrompter *self = TKE_SCRIPTED_PROMPTER (prompter);
  Answer *answer;
  TkeSecret *pin;

  record (self, "%s: %s, %s, tries left %d: %s", pin_kind_names[request->kind],
          request->reader_name ? request->reader_name : "no reader",
          request->card ? request->card : "no card", request->tries_left, request->purpose);

  if (self->pin_handler != NULL)
    self->pin_handler (request, self->pin_handler_data);
  answer = next_answer (self, ANSWER_PIN, cancellable, error);
  if (answer == NULL)
    return NULL;
  pin = tke_secret_new_from ((const guint8 *) answer->text, strlen (answer->text), error);
  answer_free (answer);
  return pin;
}

static void
scripted_pin_pad_begin (TkePrompter *prompter, const TkePinRequest *request)
{
  record (TKE_SCRIPTED_PROMPTER (prompter), "pin pad: %s: %s", request->reader_name,
          request->purpose);
}

static void
scripted_pin_pad_end (TkePrompter *prompter)
{
}

static gboolean
scripted_choose (TkePrompter *prompter, const char *title, const char *const *choices,
                 guint *choice, GCancellable *cancellable, GError **error)
{
  TkeScriptedPrompter *self = TKE_SCRIPTED_PROMPTER (prompter);
  g_autofree char *joined = g_strjoinv (" | ", (char **) choices);
  Answer *answer;

  record (self, "choose: %s: %s", title, joined);
  answer = next_answer (self, ANSWER_CHOICE, cancellable, error);
  if (answer == NULL)
    return FALSE;
  *choice = answer->number;
  answer_free (answer);
  return TRUE;
}

static char *
scripted_ask_text (TkePrompter *prompter, const char *title, const char *hint, TkeTextCheck check,
                   gpointer check_data, GCancellable *cancellable, GError **error)
{
  TkeScriptedPrompter *self = TKE_SCRIPTED_PROMPTER (prompter);

  record (self, "text: %s", title);

  /* Like a dialog: an answer the check refuses is shown as an error and asked again. */
  for (;;)
    {
      g_autoptr (GError) check_error = NULL;
      Answer *answer = next_answer (self, ANSWER_TEXT, cancellable, error);
      char *text;

      if (answer == NULL)
        return NULL;
      text = g_steal_pointer (&answer->text);
      answer_free (answer);

      if (check == NULL || check (text, check_data, &check_error))
        return text;
      record (self, "text refused: %s", check_error->message);
      g_free (text);
    }
}

static gboolean
scripted_ask_number (TkePrompter *prompter, const char *title, const char *hint, guint min,
                     guint max, guint *number, GCancellable *cancellable, GError **error)
{
  TkeScriptedPrompter *self = TKE_SCRIPTED_PROMPTER (prompter);
  Answer *answer;

  record (self, "number: %s (%u..%u)", title, min, max);
  answer = next_answer (self, ANSWER_NUMBER, cancellable, error);
  if (answer == NULL)
    return FALSE;
  *number = answer->number;
  answer_free (answer);
  return TRUE;
}

static gboolean
scripted_confirm (TkePrompter *prompter, const char *title, const char *consequence,
                  GCancellable *cancellable, GError **error)
{
  TkeScriptedPrompter *self = TKE_SCRIPTED_PROMPTER (prompter);
  Answer *answer;
  gboolean yes;

  record (self, "confirm: %s: %s", title, consequence);
  answer = next_answer (self, ANSWER_CONFIRM, cancellable, error);
  if (answer == NULL)
    return FALSE;
  yes = answer->number != 0;
  answer_free (answer);

  if (!yes)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, tke_error_cancelled ());
  return yes;
}

static void
scripted_step (TkePrompter *prompter, guint index, guint n_steps, const char *description)
{
  record (TKE_SCRIPTED_PROMPTER (prompter), "step %u/%u: %s", index + 1, n_steps, description);
}

static void
tke_scripted_prompter_iface_init (TkePrompterInterface *iface)
{
  iface->card_wait_begin = scripted_card_wait_begin;
  iface->card_wait_end = scripted_card_wait_end;
  iface->ask_pin = scripted_ask_pin;
  iface->pin_pad_begin = scripted_pin_pad_begin;
  iface->pin_pad_end = scripted_pin_pad_end;
  iface->choose = scripted_choose;
  iface->ask_text = scripted_ask_text;
  iface->ask_number = scripted_ask_number;
  iface->confirm = scripted_confirm;
  iface->step = scripted_step;
}

static void
tke_scripted_prompter_finalize (GObject *object)
{
  TkeScriptedPrompter *self = TKE_SCRIPTED_PROMPTER (object);

  g_queue_clear_full (&self->answers, (GDestroyNotify) answer_free);
  g_ptr_array_unref (self->transcript);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (tke_scripted_prompter_parent_class)->finalize (object);
}

static void
tke_scripted_prompter_class_init (TkeScriptedPrompterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_scripted_prompter_finalize;
}

static void
tke_scripted_prompter_init (TkeScriptedPrompter *self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->answers);
  self->transcript = g_ptr_array_new_with_free_func (g_free);
}

TkeScriptedPrompter *
tke_scripted_prompter_new (void)
{
  return g_object_new (TKE_TYPE_SCRIPTED_PROMPTER, NULL);
}

void
tke_scripted_prompter_set_card_handler (TkeScriptedPrompter *self, TkeCardHandler handler,
                                        gpointer user_data)
{
  g_return_if_fail (TKE_IS_SCRIPTED_PROMPTER (self));

  self->card_handler = handler;
  self->card_handler_data = user_data;
}

void
tke_scripted_prompter_set_pin_handler (TkeScriptedPrompter *self, TkePinHandler handler,
                                       gpointer user_data)
{
  g_return_if_fail (TKE_IS_SCRIPTED_PROMPTER (self));

  self->pin_handler = handler;
  self->pin_handler_data = user_data;
}

void
tke_scripted_prompter_push_pin (TkeScriptedPrompter *self, const char *pin)
{
  g_return_if_fail (TKE_IS_SCRIPTED_PROMPTER (self) && pin != NULL);
  push (self, ANSWER_PIN, pin, 0);
}

void
tke_scripted_prompter_push_choice (TkeScriptedPrompter *self, guint choice)
{
  g_return_if_fail (TKE_IS_SCRIPTED_PROMPTER (self));
  push (self, ANSWER_CHOICE, NULL, choice);
}

void
tke_scripted_prompter_push_text (TkeScriptedPrompter *self, const char *text)
{
  g_return_if_fail (TKE_IS_SCRIPTED_PROMPTER (self) && text != NULL);
  push (self, ANSWER_TEXT, text, 0);
}

void
tke_scripted_prompter_push_number (TkeScriptedPrompter *self, guint number)
{
  g_return_if_fail (TKE_IS_SCRIPTED_PROMPTER (self));
  push (self, ANSWER_NUMBER, NULL, number);
}

void
tke_scripted_prompter_push_confirm (TkeScriptedPrompter *self, gboolean yes)
{
  g_return_if_fail (TKE_IS_SCRIPTED_PROMPTER (self));
  push (self, ANSWER_CONFIRM, NULL, yes ? 1 : 0);
}

void
tke_scripted_prompter_push_cancel (TkeScriptedPrompter *self)
{
  g_return_if_fail (TKE_IS_SCRIPTED_PROMPTER (self));
  push (self, ANSWER_CANCEL, NULL, 0);
}

guint
tke_scripted_prompter_get_n_pending (TkeScriptedPrompter *self)
{
  guint n;

  g_return_val_if_fail (TKE_IS_SCRIPTED_PROMPTER (self), 0);

  g_mutex_lock (&self->lock);
  n = g_queue_get_length (&self->answers);
  g_mutex_unlock (&self->lock);
  return n;
}

GPtrArray *
tke_scripted_prompter_get_transcript (TkeScriptedPrompter *self)
{
  g_return_val_if_fail (TKE_IS_SCRIPTED_PROMPTER (self), NULL);
  return self->transcript;
}

char *
tke_scripted_prompter_dup_transcript (TkeScriptedPrompter *self)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (TKE_IS_SCRIPTED_PROMPTER (self), NULL);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->transcript->len; i++)
    g_string_append_printf (out, "%s\n", (const char *) self->transcript->pdata[i]);
  g_mutex_unlock (&self->lock);
  return g_string_free (out, FALSE);
}
