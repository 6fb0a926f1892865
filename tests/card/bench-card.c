/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Card figures: the APDU round trip through pcscd + vpcd + tke-vcard (median, p99), and the
 * APDUs and time each profile operation costs, through pcscd and in-process. */
#include "config.h"

#include <string.h>

#include "card-test-ops.h"
#include "pcsc-test-util.h"
#include "tke-card-signer.h"
#include "tke-pcsc-reader.h"
#include "tke-vcard-engine.h"
#include "tke-virtual-reader.h"

#define ROUND_TRIPS 2000

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
round_trips (TkePivClient *piv)
{
  TkeCardConnection *connection = tke_piv_client_get_connection (piv);
  g_autoptr (GBytes) command =
      g_bytes_new_static ((const guint8[]){ 0x00, 0xFD, 0x00, 0x00, 0x00 }, 5);
  g_autofree double *ms = g_new (double, ROUND_TRIPS);
  g_autoptr (GError) error = NULL;

  g_assert_true (tke_piv_client_begin (piv, &error));
  for (guint i = 0; i < ROUND_TRIPS; i++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr (GBytes) answer = tke_card_connection_transmit_raw (connection, command, &error);

      g_assert_no_error (error);
      ms[i] = (g_get_monotonic_time () - start) / 1000.0;
    }
  tke_piv_client_end (piv);
  qsort (ms, ROUND_TRIPS, sizeof (double), compare_double);
  g_print ("APDU round trip through pcscd + vpcd + tke-vcard (GET VERSION, %d runs): median %.3f "
           "ms, p99 %.3f ms, min %.3f ms (goal: median <= 0.3 ms)\n",
           ROUND_TRIPS, ms[ROUND_TRIPS / 2], ms[ROUND_TRIPS * 99 / 100], ms[0]);
}

typedef struct
{
  guint before;
  gint64 start;
} Meter;

static void
meter_start (Meter *m, TkePivClient *piv)
{
  m->before = tke_card_connection_get_apdu_count (tke_piv_client_get_connection (piv));
  m->start = g_get_monotonic_time ();
}

static void
meter_print (Meter *m, TkePivClient *piv, const char *where, const char *what)
{
  guint n = tke_card_connection_get_apdu_count (tke_piv_client_get_connection (piv)) - m->before;

  g_print ("  %-12s %-26s %3u APDUs %8.1f ms\n", where, what, n,
           (g_get_monotonic_time () - m->start) / 1000.0);
}

static void
profile_operations (TkePivClient *piv, const char *where)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = tke_test_secret (TKE_TEST_PIN);
  g_autoptr (TkeSecret) current = tke_test_secret ("123456");
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (TkeCardSigner) signer = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (TkeKeyPartInfo) part = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (TkeSecret) clear = NULL;
  g_autoptr (TkeCardInfo) info = NULL;
  guint8 digest[32] = { 1 };
  Meter m;

  meter_start (&m, piv);
  g_assert_true (tke_card_profile_initialize (piv, current, pin, NULL, NULL, "Bench", &error));
  meter_print (&m, piv, where, "initialize");

  meter_start (&m, piv);
  key = tke_card_profile_generate_signature_key (piv, pin, "Bench admin", &error);
  g_assert_no_error (error);
  meter_print (&m, piv, where, "generate signature key");

  signer = tke_card_signer_new (piv, pin, &error);
  g_assert_no_error (error);
  meter_start (&m, piv);
  sig = tke_signer_sign_digest (TKE_SIGNER (signer), digest, sizeof digest, NULL, &error);
  g_assert_no_error (error);
  meter_print (&m, piv, where, "sign");

  meter_start (&m, piv);
  part = tke_card_profile_generate_key_part (piv, pin, "Bench part", &error);
  g_assert_no_error (error);
  meter_print (&m, piv, where, "generate key part");

  meter_start (&m, piv);
  parts = tke_card_profile_list_parts (piv, &error);
  g_assert_no_error (error);
  meter_print (&m, piv, where, "list parts");

  meter_start (&m, piv);
  clear = tke_card_profile_take_key_part (piv, pin, part->id, NULL, &error);
  g_assert_no_error (error);
  meter_print (&m, piv, where, "take a part out");

  meter_start (&m, piv);
  info = tke_card_profile_read_info (piv, &error);
  g_assert_no_error (error);
  meter_print (&m, piv, where, "read card info");
}

int
main (int argc, char **argv)
{
  g_autoptr (TkeReaderManager) virtual_manager = tke_virtual_reader_manager_new ();
  g_autoptr (TkeVcardEngine) engine = tke_vcard_engine_new_blank (9000, TKE_VCARD_MGMT_ALG_AES192);
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (TkeReaderManager) manager = tke_pcsc_reader_manager_new ();
  g_autofree char *reason = NULL;

  g_print ("Card profile operations (APDUs exchanged, wall time):\n");
  tke_virtual_reader_manager_add_reader (TKE_VIRTUAL_READER_MANAGER (virtual_manager), "Bench",
                                         NULL);
  tke_virtual_reader_manager_insert (TKE_VIRTUAL_READER_MANAGER (virtual_manager), "Bench",
                                     TKE_VIRTUAL_CARD (engine), NULL);
  connection = tke_reader_manager_connect (virtual_manager, "Bench", NULL);
  piv = tke_piv_client_new (connection);
  profile_operations (piv, "in-process");
  g_clear_object (&piv);

  if (!tke_vpcd_setup (manager, &reason))
    {
      g_print ("SKIP SKIP SKIP: no figures through pcscd: %s\n", reason);
      return 0;
    }
  {
    g_autofree char *image = tke_vpcd_create_card (9001);
    g_autoptr (GSubprocess) card = tke_vpcd_insert (manager, image, 0, 0);
    g_autoptr (GError) error = NULL;
    g_autoptr (TkeCardConnection) pcsc =
        tke_reader_manager_connect (manager, VPCD_READER_0, &error);

    g_assert_no_error (error);
    piv = tke_piv_client_new (pcsc);
    profile_operations (piv, "pcscd+vpcd");
    round_trips (piv);
    g_clear_object (&piv);
    g_clear_object (&pcsc);
    tke_vpcd_pull (manager, card, 0);
  }
  tke_vpcd_teardown ();
  return 0;
}
