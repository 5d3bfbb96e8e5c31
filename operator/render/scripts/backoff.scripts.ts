// Shell fragments shared by the data-tier scripts.

/**
 * The body of a wait loop's retry: sleeps `$delay`, adds it to `$waited`, and doubles `$delay` within
 * 1..`$<maxDelayVar>` (indented for a loop inside a shell function).
 */
export function backoffSleepSh(maxDelayVar: string): string {
  return `    sleep "$delay"
    waited=$((waited + delay))
    delay=$((delay * 2))
    [ "$delay" -le "$${maxDelayVar}" ] || delay="$${maxDelayVar}"
    [ "$delay" -ge 1 ] || delay=1`;
}
