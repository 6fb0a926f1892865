/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The prompter of the application. The ceremony worker calls it on its own thread; each call is
 * carried to the main thread as a signal, and a question blocks the worker until the operator
 * answers on the main thread or cancels. The main thread never waits on the worker. */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "tke-error.h"
#include "tke-gui-prompter.h"

struct _TkePrompt
{
  GObject parent_instance;

  TkePromptKind kind;
  char *title;
  char *message;
  TkePinKind pin_kind;
  char *reader;
  char *card;
  int tries_left;
  GStrv choices;
  guint min, max;
  TkeTextCheck check;
  gpointer check_data;

  GMutex lock;
  GCond cond;
  gboolean answered;
  gboolean cancelled;
  TkeSecret *pin;
  guint number; /* choice, number, or confirmation (1 yes) */
  char *text;
};

G_DEFINE_FINAL_TYPE (TkePrompt, tke_prompt, G_TYPE_OBJECT)

struct _TkeGuiPrompter
{
  GObject parent_instance;

  GMainContext *main_context;
};

static void tke_gui_prompter_iface_init (TkePrompterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TkeGuiPrompter, tke_gui_prompter, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TKE_TYPE_PROMPTER,
                                                      tke_gui_prompter_iface_init))

enum
{
  SIGNAL_STEP,
  SIGNAL_CARD_WAIT,
  SIGNAL_CARD_WAIT_END,
  SIGNAL_PIN_PAD,
  SIGNAL_PIN_PAD_END,
  SIGNAL_ASK,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* TkePrompt --------------------------------------------------------------------------------- */

static void
tke_prompt_finalize (GObject *object)
{
  TkePrompt *self = TKE_PROMPT (object);

  g_free (self->title);
  g_free (self->message);
  g_free (self->reader);
  g_free (self->card);
  g_strfreev (self->choices);
  g_clear_pointer (&self->pin, tke_secret_free);
  tke_wipe_string_free (self->text);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (tke_prompt_parent_class)->finalize (object);
}

static void
tke_prompt_class_init (TkePromptClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_prompt_finalize;
}

static void
tke_prompt_init (TkePrompt *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->tries_left = -1;
}

TkePromptKind
tke_prompt_get_kind (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), 0);
  return self->kind;
}

const char *
tke_prompt_get_title (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), NULL);
  return self->title;
}

const char *
tke_prompt_get_message (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), NULL);
  return self->message;
}

TkePinKind
tke_prompt_get_pin_kind (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), 0);
  return self->pin_kind;
}

const char *
tke_prompt_get_reader (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), NULL);
  return self->reader;
}

const char *
tke_prompt_get_card (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), NULL);
  return self->card;
}

int
tke_prompt_get_tries_left (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), -1);
  return self->tries_left;
}

const char *const *
tke_prompt_get_choices (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), NULL);
  return (const char *const *) self->choices;
}

guint
tke_prompt_get_min (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), 0);
  return self->min;
}

guint
tke_prompt_get_max (TkePrompt *self)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), 0);
  return self->max;
}

gboolean
tke_prompt_is_answered (TkePrompt *self)
{
  gboolean answered;

  g_return_val_if_fail (TKE_IS_PROMPT (self), FALSE);

  g_mutex_lock (&self->lock);
  answered = self->answered || self->cancelled;
  g_mutex_unlock (&self->lock);
  return answered;
}

gboolean
tke_prompt_check_text (TkePrompt *self, const char *text, GError **error)
{
  g_return_val_if_fail (TKE_IS_PROMPT (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  return self->check == NULL || self->check (text, self->check_data, error);
}

/* Wakes the worker with the answer; later answers to the same prompt are ignored. */
static gboolean
prompt_begin_answer (TkePrompt *self)
{
  g_mutex_lock (&self->lock);
  if (self->answered || self->cancelled)
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  return TRUE;
}

static void
prompt_end_answer (TkePrompt *self)
{
  self->answered = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
tke_prompt_answer_pin (TkePrompt *self, const char *pin)
{
  g_return_if_fail (TKE_IS_PROMPT (self) && self->kind == TKE_PROMPT_PIN);
  g_return_if_fail (pin != NULL);

  if (!prompt_begin_answer (self))
    return;
  /* A secure heap too full for a PIN leaves pin NULL: the worker reports it. */
  self->pin = tke_secret_new_from ((const guint8 *) pin, strlen (pin), NULL);
  prompt_end_answer (self);
}

void
tke_prompt_answer_choice (TkePrompt *self, guint choice)
{
  g_return_if_fail (TKE_IS_PROMPT (self) && self->kind == TKE_PROMPT_CHOOSE);
  g_return_if_fail (choice < g_strv_length (self->choices));

  if (!prompt_begin_answer (self))
    return;
  self->number = choice;
  prompt_end_answer (self);
}

void
tke_prompt_answer_text (TkePrompt *self, const char *text)
{
  g_return_if_fail (TKE_IS_PROMPT (self) && self->kind == TKE_PROMPT_TEXT);
  g_return_if_fail (text != NULL);

  if (!prompt_begin_answer (self))
    return;
  self->text = g_strdup (text);
  prompt_end_answer (self);
}

void
tke_prompt_answer_number (TkePrompt *self, guint number)
{
  g_return_if_fail (TKE_IS_PROMPT (self) && self->kind == TKE_PROMPT_NUMBER);
  g_return_if_fail (number >= self->min && number <= self->max);

  if (!prompt_begin_answer (self))
    return;
  self->number = number;
  prompt_end_answer (self);
}

void
tke_prompt_answer_confirm (TkePrompt *self, gboolean yes)
{
  g_return_if_fail (TKE_IS_PROMPT (self) && self->kind == TKE_PROMPT_CONFIRM);

  if (!prompt_begin_answer (self))
    return;
  self->number = yes ? 1 : 0;
  prompt_end_answer (self);
}

static void
prompt_cancelled (GCancellable *cancellable, TkePrompt *self)
{
  g_mutex_lock (&self->lock);
  self->cancelled = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Carrying calls to the main thread ---------------------------------------------------------- */

typedef struct
{
  TkeGuiPrompter *self;
  guint signal;
  guint index, n_steps;
  int role;
  char *a, *b, *c;
  TkePrompt *prompt;
} Emission;

static void
emission_free (Emission *emission)
{
  g_object_unref (emission->self);
  g_free (emission->a);
  g_free (emission->b);
  g_free (emission->c);
  g_clear_object (&emission->prompt);
  g_free (emission);
}

static gboolean
emit_on_main (gpointer data)
{
  Emission *e = data;

  switch (e->signal)
    {
      case SIGNAL_STEP:
        g_signal_emit (e->self, signals[SIGNAL_STEP], 0, e->index, e->n_steps, e->a);
        break;
      case SIGNAL_CARD_WAIT:
        g_signal_emit (e->self, signals[SIGNAL_CARD_WAIT], 0, e->role, e->a, e->b);
        break;
      case SIGNAL_PIN_PAD:
        g_signal_emit (e->self, signals[SIGNAL_PIN_PAD], 0, e->a, e->b, e->c);
        break;
      case SIGNAL_ASK:
        g_signal_emit (e->self, signals[SIGNAL_ASK], 0, e->prompt);
        break;
      default:
        g_signal_emit (e->self, signals[e->signal], 0);
        break;
    }
  return G_SOURCE_REMOVE;
}

static void
post (TkeGuiPrompter *self, Emission *emission)
{
  emission->self = g_object_ref (self);
  g_main_context_invoke_full (self->main_context, G_PRIORITY_DEFAULT, emit_on_main, emission,
                              (GDestroyNotify) emission_free);
}

/* Shows the prompt on the main thread and blocks the worker until it is answered or cancelled. */
static gboolean
ask (TkeGuiPrompter *self, TkePrompt *prompt, GCancellable *cancellable, GError **error)
{
  Emission *emission = g_new0 (Emission, 1);
  gulong handler = 0;
  gboolean answered;

  emission->signal = SIGNAL_ASK;
  emission->prompt = g_object_ref (prompt);
  post (self, emission);

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (prompt_cancelled), prompt, NULL);

  g_mutex_lock (&prompt->lock);
  while (!prompt->answered && !prompt->cancelled)
    g_cond_wait (&prompt->cond, &prompt->lock);
  answered = prompt->answered;
  prompt->cancelled = !answered;
  g_mutex_unlock (&prompt->lock);

  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, handler);

  if (!answered)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, tke_error_cancelled ());
  return answered;
}

static TkePrompt *
prompt_new (TkePromptKind kind, const char *title, const char *message)
{
  TkePrompt *prompt = g_object_new (TKE_TYPE_PROMPT, NULL);

  prompt->kind = kind;
  prompt->title = g_strdup (title);
  prompt->message = g_strdup (message);
  return prompt;
}

/* TkePrompter ------------------------------------------------------------------------------- */

static void
gui_card_wait_begin (TkePrompter *prompter, const TkeCardRequest *request)
{
  Emission *emission = g_new0 (Emission, 1);

  emission->signal = SIGNAL_CARD_WAIT;
  emission->role = request->role;
  emission->a = g_strdup (request->reader_name);
  emission->b = g_strdup (request->wanted);
  post (TKE_GUI_PROMPTER (prompter), emission);
}

static void
gui_card_wait_end (TkePrompter *prompter)
{
  Emission *emission = g_new0 (Emission, 1);

  emission->signal = SIGNAL_CARD_WAIT_END;
  post (TKE_GUI_PROMPTER (prompter), emission);
}

/* Indexed by TkePinKind. */
static const char *const pin_titles[] = { N_ ("PIN"), N_ ("New PIN"), N_ ("PUK"), N_ ("Password"),
                                          N_ ("New PUK") };

static TkeSecret *
gui_ask_pin (TkePrompter *prompter, const TkePinRequest *request, GCancellable *cancellable,
             GError **error)
{
  g_autoptr (TkePrompt) prompt =
      prompt_new (TKE_PROMPT_PIN, _ (pin_titles[request->kind]), request->purpose);

  prompt->pin_kind = request->kind;
  prompt->reader = g_strdup (request->reader_name);
  prompt->card = g_strdup (request->card);
  prompt->tries_left = request->tries_left;

  if (!ask (TKE_GUI_PROMPTER (prompter), prompt, cancellable, error))
    return NULL;
  if (prompt->pin == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_SECURE_MEMORY,
                   "The PIN could not be kept in secure memory: the secure heap is full.");
      return NULL;
    }
  return g_steal_pointer (&prompt->pin);
}

static void
gui_pin_pad_begin (TkePrompter *prompter, const TkePinRequest *request)
{
  Emission *emission = g_new0 (Emission, 1);

  emission->signal = SIGNAL_PIN_PAD;
  emission->a = g_strdup (request->reader_name);
  emission->b = g_strdup (request->card);
  emission->c = g_strdup (request->purpose);
  post (TKE_GUI_PROMPTER (prompter), emission);
}

static void
gui_pin_pad_end (TkePrompter *prompter)
{
  Emission *emission = g_new0 (Emission, 1);

  emission->signal = SIGNAL_PIN_PAD_END;
  post (TKE_GUI_PROMPTER (prompter), emission);
}

static gboolean
gui_choose (TkePrompter *prompter, const char *title, const char *const *choices, guint *choice,
            GCancellable *cancellable, GError **error)
{
  g_autoptr (TkePrompt) prompt = prompt_new (TKE_PROMPT_CHOOSE, title, NULL);

  prompt->choices = g_strdupv ((char **) choices);
  if (!ask (TKE_GUI_PROMPTER (prompter), prompt, cancellable, error))
    return FALSE;
  *choice = prompt->number;
  return TRUE;
}

static char *
gui_ask_text (TkePrompter *prompter, const char *title, const char *hint, TkeTextCheck check,
              gpointer check_data, GCancellable *cancellable, GError **error)
{
  g_autoptr (TkePrompt) prompt = prompt_new (TKE_PROMPT_TEXT, title, hint);

  prompt->check = check;
  prompt->check_data = check_data;
  if (!ask (TKE_GUI_PROMPTER (prompter), prompt, cancellable, error))
    return NULL;
  return g_steal_pointer (&prompt->text);
}

static gboolean
gui_ask_number (TkePrompter *prompter, const char *title, const char *hint, guint min, guint max,
                guint *number, GCancellable *cancellable, GError **error)
{
  g_autoptr (TkePrompt) prompt = prompt_new (TKE_PROMPT_NUMBER, title, hint);

  prompt->min = min;
  prompt->max = max;
  if (!ask (TKE_GUI_PROMPTER (prompter), prompt, cancellable, error))
    return FALSE;
  *number = prompt->number;
  return TRUE;
}

static gboolean
gui_confirm (TkePrompter *prompter, const char *title, const char *consequence,
             GCancellable *cancellable, GError **error)
{
  g_autoptr (TkePrompt) prompt = prompt_new (TKE_PROMPT_CONFIRM, title, consequence);

  if (!ask (TKE_GUI_PROMPTER (prompter), prompt, cancellable, error))
    return FALSE;
  if (prompt->number != 1)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, tke_error_cancelled ());
      return FALSE;
    }
  return TRUE;
}

static void
gui_step (TkePrompter *prompter, guint index, guint n_steps, const char *description)
{
  Emission *emission = g_new0 (Emission, 1);

  emission->signal = SIGNAL_STEP;
  emission->index = index;
  emission->n_steps = n_steps;
  emission->a = g_strdup (description);
  post (TKE_GUI_PROMPTER (prompter), emission);
}

static void
tke_gui_prompter_iface_init (TkePrompterInterface *iface)
{
  iface->card_wait_begin = gui_card_wait_begin;
  iface->card_wait_end = gui_card_wait_end;
  iface->ask_pin = gui_ask_pin;
  iface->pin_pad_begin = gui_pin_pad_begin;
  iface->pin_pad_end = gui_pin_pad_end;
  iface->choose = gui_choose;
  iface->ask_text = gui_ask_text;
  iface->ask_number = gui_ask_number;
  iface->confirm = gui_confirm;
  iface->step = gui_step;
}

/* TkeGuiPrompter ---------------------------------------------------------------------------- */

static void
tke_gui_prompter_finalize (GObject *object)
{
  TkeGuiPrompter *self = TKE_GUI_PROMPTER (object);

  g_main_context_unref (self->main_context);

  G_OBJECT_CLASS (tke_gui_prompter_parent_class)->finalize (object);
}

static void
tke_gui_prompter_class_init (TkeGuiPrompterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tke_gui_prompter_finalize;

  signals[SIGNAL_STEP] =
      g_signal_new ("step", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_STRING);
  signals[SIGNAL_CARD_WAIT] =
      g_signal_new ("card-wait", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_CARD_WAIT_END] =
      g_signal_new ("card-wait-end", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_PIN_PAD] =
      g_signal_new ("pin-pad", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_PIN_PAD_END] =
      g_signal_new ("pin-pad-end", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_ASK] = g_signal_new ("ask", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                      NULL, NULL, G_TYPE_NONE, 1, TKE_TYPE_PROMPT);
}

static void
tke_gui_prompter_init (TkeGuiPrompter *self)
{
  self->main_context = g_main_context_ref_thread_default ();
}

TkeGuiPrompter *
tke_gui_prompter_new (void)
{
  return g_object_new (TKE_TYPE_GUI_PROMPTER, NULL);
}
