// How long the reporter waits before its next JobsControl.update call (docs/adr/0028). Pure, so
// the rule is tested with arrival sequences rather than clocks.
//
// One call is in flight at a time; whatever arrives meanwhile goes in the next call. When changes
// come slower than one per base window, the base window is used (a lone change waits at most that
// long). When they come faster, the window widens with the arrival rate so that a call carries
// about `targetPerCall` changes, never beyond the latency budget (`maxDelayMs`) measured from the
// oldest change waiting: a burst of 1,000 changes becomes a few calls, and no change waits longer
// than the budget plus one call.

export interface WindowInput {
  /** Changes waiting to be sent. */
  backlog: number;
  /** Recent arrival rate, changes per second. */
  arrivalsPerSec: number;
  /** How long the oldest waiting change has waited already (ms). */
  oldestWaitMs: number;
  baseMs: number;
  maxDelayMs: number;
  /** Changes one call should carry before it is worth sending at once (≤ the per-call cap). */
  targetPerCall: number;
}

/** Milliseconds to wait before sending what is waiting (0: send now). */
export function batchDelay(w: WindowInput): number {
  if (w.backlog <= 0) return w.baseMs;
  const budgetLeft = Math.max(0, w.maxDelayMs - w.oldestWaitMs);
  if (w.backlog >= w.targetPerCall) return 0;
  // Slower than one change per base window: a batch would not fill, wait only the base window.
  const slow = w.arrivalsPerSec * (w.baseMs / 1000) < 1;
  const sinceOldest = Math.max(0, w.baseMs - w.oldestWaitMs);
  if (slow) return Math.min(sinceOldest, budgetLeft);
  // Time until `targetPerCall` changes are waiting at the current rate, capped by the budget.
  const fill = ((w.targetPerCall - w.backlog) / w.arrivalsPerSec) * 1000;
  return Math.max(0, Math.min(Math.max(fill, sinceOldest), budgetLeft));
}
