/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The scripted operator of the GUI ceremony tests: drives the real window through its actions,
 * answers each question in the progress dialog's own widgets, and hands card requests to the
 * variant that owns the readers (the demo's world, or tke-vcard processes in pcscd's readers). */
#pragma once

#include <jansson.h>

#include "tke-ceremony-dialog.h"
#include "tke-reader-manager.h"
#include "tke-window.h"

G_BEGIN_DECLS

enum
{
  CARD_ALICE,
  CARD_BOB,
  CARD_PART1,
  CARD_PART2,
  CARD_PART3,
  N_CARDS
};

/* The PIN of each card after its initialization, and the PUK all of them get. */
extern const char *const gui_card_pins[N_CARDS];
#define GUI_NEW_PUK "87654321"

typedef enum
{
  ANSWER_PIN,
  ANSWER_TEXT,
  ANSWER_NUMBER,
  ANSWER_CHOICE,
  ANSWER_CONFIRM,
  ANSWER_CANCEL,
} GuiAnswerKind;

typedef struct _GuiDriver GuiDriver;

/* What a variant does with its readers. Each is called on the main thread. */
typedef struct
{
  /* The ceremony waits for a card in reader role (1 or 2): take the next card of the script
   * with gui_driver_pop_card and put it there in place of what is there. May finish later. */
  void (*card_wait) (GuiDriver *gui, guint role);
  /* Empties both readers; returns once they are empty, running the main loop meanwhile. */
  void (*empty_readers) (GuiDriver *gui);
  /* Puts card into reader 2; returns once it can be connected, running the main loop. */
  void (*insert_now) (GuiDriver *gui, guint card);
} GuiCards;

struct _GuiDriver
{
  TkeWindow *window;
  const GuiCards *cards;
  gpointer cards_data;
  /* Where the test reads the parts back: a manager of its own and the name of reader 2. */
  TkeReaderManager *readers;
  const char *reader_2;
  /* Put before each screenshot's name: "" or "pcsc-". */
  const char *shot_prefix;

  GQueue next_card[2];
  GQueue answers;
  GHashTable *shots;
  gint64 last_tick;
  gint64 max_stall;
  const char *operation;
  guint tick_source;
  /* The parts gui_driver_expected_vp read and their XOR, as hex and base64 (wiped at clear). */
  GPtrArray *key_texts;
  /* The text of the last result page gui_driver_run read, one label per line. */
  GString *result_text;
};

/* Connects to the window's prompter and starts the main-loop stall watchdog. */
void gui_driver_init (GuiDriver *gui, TkeWindow *window, const GuiCards *cards, gpointer cards_data,
                      TkeReaderManager *readers, const char *reader_2, const char *shot_prefix);
void gui_driver_clear (GuiDriver *gui);

/* The watchdog: a high-priority tick every 5 ms notes the longest gap of the main loop. */
void gui_driver_start_watchdog (GuiDriver *gui);
gint64 gui_driver_stop_watchdog (GuiDriver *gui);

/* The script: cards the ceremony will ask for in reader role, answers to its questions. */
void gui_driver_expect_card (GuiDriver *gui, guint role, guint card);
guint gui_driver_pop_card (GuiDriver *gui, guint role);
void gui_driver_push (GuiDriver *gui, GuiAnswerKind kind, const char *text, guint number);

/* Widgets and pictures. */
void gui_driver_collect (GtkWidget *widget, GType type, GPtrArray *out);
GtkWidget *gui_driver_find_button (GtkWidget *root, const char *label);
void gui_driver_screenshot (GuiDriver *gui, GtkWidget *widget, const char *name);
void gui_driver_screenshot_once (GuiDriver *gui, const char *kind);
void gui_driver_screenshot_tabs (GuiDriver *gui);
/* The Administrators tab's SKIs and the Crypto units tab's LOCATIONs, short with tooltips. */
void gui_driver_assert_jargon_explained (GuiDriver *gui);

/* Runs the main loop until done or seconds have passed, then asserts done. */
void gui_driver_wait_until (GuiDriver *gui, gboolean (*done) (GuiDriver *), guint seconds);
gboolean gui_driver_workspace_idle (GuiDriver *gui);

/* Runs the operation of action with empty readers at its start and returns the result page's
 * title ("Done" when all went); asserts the script of the operation was used up. */
char *gui_driver_run (GuiDriver *gui, const char *action);
void gui_driver_run_ok (GuiDriver *gui, const char *action);

/* The seed ceremony, step by step. */
void gui_driver_initialize_cards (GuiDriver *gui);
void gui_driver_generate (GuiDriver *gui);
void gui_driver_select_all_units (GuiDriver *gui);
void gui_driver_add_admins_and_thresholds (GuiDriver *gui);
void gui_driver_script_load (GuiDriver *gui);
void gui_driver_commit_and_set_immediate (GuiDriver *gui);

/* The VP of the XOR of the three parts, read back from the cards by the test itself. */
char *gui_driver_expected_vp (GuiDriver *gui);
/* The state of every listed unit, asked of the service itself (json_t, in NUM order). */
GPtrArray *gui_driver_read_states (GuiDriver *gui, const char *url, const char *fingerprint,
                                   const char *api_key);
/* Normal mode, both admins, thresholds 2/2, current register Valid with vp, on all five. */
void gui_driver_assert_units (GuiDriver *gui, const char *url, const char *fingerprint,
                              const char *api_key, const char *vp);
/* The journal holds n_operations, its chain verifies, no PIN or PUK is in it, and the journal
 * window says so and shows who signed. */
void gui_driver_assert_journal (GuiDriver *gui, guint n_operations);

/* None of the key parts read back, nor their XOR, is in the journal: not as hex, not as base64. */
void gui_driver_assert_journal_holds_no_keys (GuiDriver *gui);

G_END_DECLS
