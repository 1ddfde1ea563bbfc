// Which gateway a SIGKILL storm kills next. A coin flip, except that every gateway is killed at least once: with few
// kills (6 under Deno in the EVM storm) a run of flips could spare one of them, and the storm would then not test that
// gateway's recovery at all (CI once failed so: all six kills landed on the destination).

/**
 * The victim of kill number `k` (from 0) of `kills`, given the coin's choice and how often each gateway has been
 * killed so far. The coin wins unless the kills left are only enough for the gateways not yet killed.
 */
export function chooseVictim<R extends string>(
  coin: R,
  roles: readonly R[],
  tally: Readonly<Record<R, number>>,
  k: number,
  kills: number,
): R {
  const spared = roles.filter((r) => tally[r] === 0);
  return kills - k <= spared.length ? (spared[0] ?? coin) : coin;
}
