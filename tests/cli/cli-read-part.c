/* SPDX-License-Identifier: GPL-3.0-or-later */
/* For the tkectl tests: prints key part ID of the card in READER as hex, read with the core's
 * card profile, so that the test computes the master key's VP by itself. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tke-card-profile.h"
#include "tke-pcsc-reader.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeReaderManager) readers = NULL;
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  g_autoptr (TkeSecret) part = NULL;
  guint64 id;

  if (argc != 4 || !g_ascii_string_to_unsigned (argv[3], 10, 1, TKE_CARD_MAX_PARTS, &id, NULL))
    {
      g_printerr ("Usage: cli-read-part READER PIN PART-ID\n");
      return 2;
    }
  if (!tke_secmem_init (&error))
    goto fail;
  readers = tke_pcsc_reader_manager_new ();
  connection = tke_reader_manager_connect (readers, argv[1], &error);
  if (connection == NULL)
    goto fail;
  piv = tke_piv_client_new (connection);
  pin = tke_secret_new_from ((const guint8 *) argv[2], strlen (argv[2]), &error);
  if (pin == NULL)
    goto fail;
  part = tke_card_profile_take_key_part (piv, pin, (guint) id, NULL, &error);
  if (part == NULL)
    goto fail;
  for (gsize i = 0; i < tke_secret_len (part); i++)
    printf ("%02x", tke_secret_peek (part)[i]);
  printf ("\n");
  tke_card_connection_disconnect (connection, TRUE);
  return 0;

fail:
  g_printerr ("cli-read-part: %s\n", error->message);
  return 1;
}
