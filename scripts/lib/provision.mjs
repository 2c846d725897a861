// What `npm test` does about the components it needs before running anything (scripts/provision.mjs).

/**
 * The decision, from what is missing and what this process may do:
 * - nothing missing (or each missing one skipped with HUMANOPS_SKIP): run;
 * - root with apt-get: install the missing packages as .ci/run does, then run;
 * - otherwise: stop before running anything, with the one command that installs them.
 * `missing` are requirements (scripts/lib/requirements.mjs) not installed and not skipped.
 */
export function provisionPlan({ missing, isRoot, hasApt }) {
  if (missing.length === 0) return { action: 'run' };
  const packages = missing.map((r) => r.debianPackage);
  const install = `apt-get install -y ${packages.join(' ')}`;
  if (isRoot && hasApt) return { action: 'install', packages, commands: [['apt-get', ['update', '-qq']], ['apt-get', ['install', '-y', '-qq', ...packages]]] };
  const skip = `HUMANOPS_SKIP=${missing.map((r) => r.name).join(',')} npm test`;
  if (hasApt) return { action: 'stop', command: `sudo apt-get update && sudo ${install}`, skip };
  return { action: 'stop', command: null, skip };
}
