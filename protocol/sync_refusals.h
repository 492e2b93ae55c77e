/*
 * sync_refusals.h: the classes of sync attempts cairnd refuses, one row
 * each: X(ID, "name", "what it counts"). This one table drives the
 * counters in daemon/link.c, the "refusals" map of the sync_status reply
 * (name -> count, in table order), what `cairn sync status` prints and
 * the list in `cairn --help`; docs/PROTOCOL.md section 8 describes each
 * row, and tests/integration/hostile_test.sh checks that it names them all.
 *
 * The counts are cairnd's, for every sync link in either direction, kept
 * in memory since cairnd started. Each is incremented where the refusal is
 * logged, and the log line says "(counted as NAME)". Lines a peer or an
 * outsider can cause are rate-limited (daemon/log.h), so that a flood
 * cannot flood the log too; the counts are exact.
 * entries_already_held is not a refusal: a replayed batch is skipped as
 * harmless, and this count is what shows it. Descriptions fit 49 columns.
 */
#ifndef CAIRN_SYNC_REFUSALS_H
#define CAIRN_SYNC_REFUSALS_H

#define CAIRN_SYNC_REFUSALS(X)                                                                    \
  X(HANDSHAKE, "handshake_refused", "not enrolled, revoked, another network or key")              \
  X(JOIN, "joins_refused", "token unknown, used or expired; key enrolled")                        \
  X(REVOKED, "revoked_dropped", "live links closed as their device was revoked")                  \
  X(TIMEOUT, "handshake_timeouts", "no handshake within 10 s (slow or half-open)")                \
  X(ABANDONED, "handshakes_abandoned", "closed by the other side mid-handshake")                  \
  X(MALFORMED, "malformed", "not the protocol: garbage, lying length, > 4 MiB")                   \
  X(OUT_OF_TURN, "out_of_turn", "a message not allowed at that point")                            \
  X(BATCH, "batches_refused", "bad signature, broken chain, gap: none applied")                   \
  X(ENTRY, "entries_refused", "author not enrolled or revoked")                                   \
  X(QUARANTINE, "entries_quarantined", "out of scope, revoked, or bad text: kept out")             \
  X(ERASED, "entries_erased", "about an erased student: stored redacted")                       \
  X(HELD, "entries_already_held", "skipped, not refused: a replay or a resend")                   \
  X(CLOCK, "entries_clock_ahead", "dated beyond this clock: held, or re-dated")                   \
  X(CONNECTION, "connections_refused", "over a connection limit, or accept errors")

#endif
