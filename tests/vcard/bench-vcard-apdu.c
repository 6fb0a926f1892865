/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Benchmark: APDU round trips through pcscd + vpcd + tke-vcard, timed with libpcsclite directly. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <PCSC/winscard.h>

#include "tke-vcard-engine.h"

#define READER_NAME "Virtual PCD 00 00"
#define WARMUP      200
#define ROUNDS      2000
#define GOAL_MS     0.3

static int
skip (const char *why)
{
  g_printerr ("SKIP SKIP SKIP: %s\n", why);
  printf ("SKIP: %s\n", why);
  return 77;
}

static double
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Sends command ROUNDS times and prints median, p99, mean and max in ms. Returns the median. */
static double
measure (SCARDHANDLE card, const char *name, const guint8 *command, DWORD command_len)
{
  g_autofree double *times = g_new (double, ROUNDS);
  double sum = 0;

  for (int i = 0; i < WARMUP + ROUNDS; i++)
    {
      BYTE answer[300];
      DWORD answer_len = sizeof answer;
      double start = now_ms ();
      LONG rv = SCardTransmit (card, SCARD_PCI_T1, command, command_len, NULL, answer, &answer_len);
      double elapsed = now_ms () - start;

      if (rv != SCARD_S_SUCCESS || answer_len < 2 || answer[answer_len - 2] != 0x90)
        {
          g_printerr ("bench: %s failed at round %d: %s\n", name, i, pcsc_stringify_error (rv));
          exit (1);
        }
      if (i >= WARMUP)
        {
          times[i - WARMUP] = elapsed;
          sum += elapsed;
        }
    }

  qsort (times, ROUNDS, sizeof *times, compare_doubles);
  printf ("%-12s %d round trips: median %.3f ms, p99 %.3f ms, mean %.3f ms, max %.3f ms\n", name,
          ROUNDS, times[ROUNDS / 2], times[(ROUNDS * 99) / 100], sum / ROUNDS, times[ROUNDS - 1]);
  return times[ROUNDS / 2];
}

/* Waits up to 10 s for a card to be in the reader (present) or not. */
static gboolean
wait_for_card (SCARDCONTEXT context, const char *reader, gboolean present)
{
  SCARD_READERSTATE state = { .szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE };

  for (int i = 0; i < 50; i++)
    {
      LONG rv = SCardGetStatusChange (context, 200, &state, 1);

      if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
        return FALSE;
      if (!!(state.dwEventState & SCARD_STATE_PRESENT) == present)
        return TRUE;
      state.dwCurrentState = state.dwEventState;
    }
  return FALSE;
}

int
main (int argc, char **argv)
{
  const guint8 get_version[] = { 0x00, 0xFD, 0x00, 0x00, 0x00 };
  const guint8 select_piv[] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08 };
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeVcardEngine) engine = NULL;
  g_autoptr (GSubprocess) vcard = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *image = NULL;
  g_autofree char *readers = NULL;
  char *reader = NULL;
  DWORD readers_len = SCARD_AUTOALLOCATE;
  SCARDCONTEXT context;
  SCARDHANDLE card;
  DWORD protocol;
  double median;
  int lock_fd;

  if (argc != 2)
    {
      g_printerr ("usage: %s PATH-TO-tke-vcard\n", argv[0]);
      return 1;
    }

  if (SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &context) != SCARD_S_SUCCESS)
    return skip ("pcscd is not running (build-aux/pcscd-up.sh starts it)");

  /* The vpcd readers are shared by every test that uses them. */
  lock_fd = open ("/tmp/tke-vpcd.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd < 0 || flock (lock_fd, LOCK_EX) < 0)
    {
      g_printerr ("bench: /tmp/tke-vpcd.lock can't be locked\n");
      return 1;
    }

  {
    char *list = NULL;

    if (SCardListReaders (context, NULL, (LPSTR) &list, &readers_len) != SCARD_S_SUCCESS)
      return skip ("pcscd lists no readers: the vpcd driver is missing");
    readers = g_memdup2 (list, readers_len);
    SCardFreeMemory (context, list);
  }
  for (char *r = readers; *r != '\0'; r += strlen (r) + 1)
    if (g_str_has_prefix (r, READER_NAME))
      reader = r;
  if (reader == NULL)
    return skip ("pcscd shows no \"" READER_NAME "\" reader (vpcd)");

  /* A card another run left behind would be measured instead of ours. */
  if (!wait_for_card (context, reader, FALSE))
    {
      g_printerr ("bench: a card is still in %s (a tke-vcard left running?)\n", reader);
      return 1;
    }

  dir = g_dir_make_tmp ("tke-bench-XXXXXX", &error);
  g_assert_no_error (error);
  image = g_build_filename (dir, "card.img", NULL);
  engine = tke_vcard_engine_new_blank (31337, TKE_VCARD_MGMT_ALG_3DES);
  tke_vcard_engine_set_path (engine, image);
  if (!tke_vcard_engine_save (engine, &error))
    {
      g_printerr ("bench: %s\n", error->message);
      return 1;
    }

  vcard = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, argv[1], "insert", image,
                            "--reader", "1", "--exit-with-parent", NULL);
  if (vcard == NULL)
    {
      g_printerr ("bench: %s\n", error->message);
      return 1;
    }
  if (!wait_for_card (context, reader, TRUE))
    {
      g_printerr ("bench: the card did not show up in %s\n", reader);
      g_subprocess_force_exit (vcard);
      return 1;
    }
  if (SCardConnect (context, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &card, &protocol) !=
      SCARD_S_SUCCESS)
    {
      g_printerr ("bench: SCardConnect to %s failed\n", reader);
      g_subprocess_force_exit (vcard);
      return 1;
    }

  printf ("APDU round trips through pcscd + vpcd + tke-vcard (libpcsclite, %s):\n", reader);
  median = measure (card, "GET VERSION", get_version, sizeof get_version);
  measure (card, "SELECT PIV", select_piv, sizeof select_piv);
  printf ("goal: median <= %.1f ms: %s\n", GOAL_MS, median <= GOAL_MS ? "met" : "NOT met");

  SCardDisconnect (card, SCARD_LEAVE_CARD);
  SCardReleaseContext (context);
  g_subprocess_send_signal (vcard, SIGTERM);
  g_subprocess_wait (vcard, NULL, NULL);
  g_unlink (image);
  g_rmdir (dir);
  close (lock_fd);
  return 0;
}
