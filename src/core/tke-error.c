/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The project's error domain. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "tke-error.h"

G_DEFINE_QUARK (tke - error - quark, tke_error)

const char *
tke_error_cancelled (void)
{
  /* Nothing is sent before the last question is answered, and cards are written after it. */
  return _ ("Cancelled: nothing was sent to the crypto units, and no card was changed.");
}

const char *
tke_error_describe (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      !g_str_has_suffix (error->message, tke_error_cancelled ()))
    return tke_error_cancelled ();
  return error->message;
}
