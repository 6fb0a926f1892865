/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The prompter interface: the checks every front end would otherwise repeat live here. */
#include "config.h"

#include "tke-prompter.h"

G_DEFINE_INTERFACE (TkePrompter, tke_prompter, G_TYPE_OBJECT)

static void
tke_prompter_default_init (TkePrompterInterface *iface)
{
}

static gboolean
check_cancelled (GCancellable *cancellable, GError **error)
{
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

void
tke_prompter_card_wait_begin (TkePrompter *self, const TkeCardRequest *request)
{
  g_return_if_fail (TKE_IS_PROMPTER (self));
  g_return_if_fail (request != NULL && request->wanted != NULL);

  TKE_PROMPTER_GET_IFACE (self)->card_wait_begin (self, request);
}

void
tke_prompter_card_wait_end (TkePrompter *self)
{
  g_return_if_fail (TKE_IS_PROMPTER (self));

  TKE_PROMPTER_GET_IFACE (self)->card_wait_end (self);
}

TkeSecret *
tke_prompter_ask_pin (TkePrompter *self, const TkePinRequest *request, GCancellable *cancellable,
                      GError **error)
{
  g_return_val_if_fail (TKE_IS_PROMPTER (self), NULL);
  g_return_val_if_fail (request != NULL && request->purpose != NULL, NULL);

  if (!check_cancelled (cancellable, error))
    return NULL;
  return TKE_PROMPTER_GET_IFACE (self)->ask_pin (self, request, cancellable, error);
}

void
tke_prompter_pin_pad_begin (TkePrompter *self, const TkePinRequest *request)
{
  g_return_if_fail (TKE_IS_PROMPTER (self));
  g_return_if_fail (request != NULL && request->purpose != NULL);

  TKE_PROMPTER_GET_IFACE (self)->pin_pad_begin (self, request);
}

void
tke_prompter_pin_pad_end (TkePrompter *self)
{
  g_return_if_fail (TKE_IS_PROMPTER (self));

  TKE_PROMPTER_GET_IFACE (self)->pin_pad_end (self);
}

gboolean
tke_prompter_choose (TkePrompter *self, const char *title, const char *const *choices,
                     guint *choice, GCancellable *cancellable, GError **error)
{
  guint answer = G_MAXUINT;

  g_return_val_if_fail (TKE_IS_PROMPTER (self), FALSE);
  g_return_val_if_fail (title != NULL && choices != NULL && choices[0] != NULL, FALSE);
  g_return_val_if_fail (choice != NULL, FALSE);

  if (!check_cancelled (cancellable, error))
    return FALSE;
  if (!TKE_PROMPTER_GET_IFACE (self)->choose (self, title, choices, &answer, cancellable, error))
    return FALSE;

  /* A front end that returns an answer out of range is a bug; never act on it. */
  g_return_val_if_fail (answer < g_strv_length ((char **) choices), FALSE);
  *choice = answer;
  return TRUE;
}

char *
tke_prompter_ask_text (TkePrompter *self, const char *title, const char *hint, TkeTextCheck check,
                       gpointer check_data, GCancellable *cancellable, GError **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (TKE_IS_PROMPTER (self), NULL);
  g_return_val_if_fail (title != NULL, NULL);

  if (!check_cancelled (cancellable, error))
    return NULL;
  text = TKE_PROMPTER_GET_IFACE (self)->ask_text (self, title, hint, check, check_data, cancellable,
                                                  error);
  if (text == NULL)
    return NULL;

  /* The front end already checked; checking again keeps a faulty one from passing bad input on. */
  if (check != NULL && !check (text, check_data, error))
    return NULL;
  return g_steal_pointer (&text);
}

gboolean
tke_prompter_ask_number (TkePrompter *self, const char *title, const char *hint, guint min,
                         guint max, guint *number, GCancellable *cancellable, GError **error)
{
  guint answer = 0;

  g_return_val_if_fail (TKE_IS_PROMPTER (self), FALSE);
  g_return_val_if_fail (title != NULL && number != NULL && min <= max, FALSE);

  if (!check_cancelled (cancellable, error))
    return FALSE;
  if (!TKE_PROMPTER_GET_IFACE (self)->ask_number (self, title, hint, min, max, &answer, cancellable,
                                                  error))
    return FALSE;

  g_return_val_if_fail (answer >= min && answer <= max, FALSE);
  *number = answer;
  return TRUE;
}

gboolean
tke_prompter_confirm (TkePrompter *self, const char *title, const char *consequence,
                      GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (TKE_IS_PROMPTER (self), FALSE);
  g_return_val_if_fail (title != NULL && consequence != NULL, FALSE);

  if (!check_cancelled (cancellable, error))
    return FALSE;
  return TKE_PROMPTER_GET_IFACE (self)->confirm (self, title, consequence, cancellable, error);
}

void
tke_prompter_step (TkePrompter *self, guint index, guint n_steps, const char *description)
{
  g_return_if_fail (TKE_IS_PROMPTER (self));
  g_return_if_fail (index < n_steps && description != NULL);

  TKE_PROMPTER_GET_IFACE (self)->step (self, index, n_steps, description);
}
