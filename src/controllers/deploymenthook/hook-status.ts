// The hook's status from its per-Deployment entries: counts and the Ready and Failed conditions.
import type { DeploymentHookStatus, DeploymentRunStatus } from '../../api/deploymenthook.ts';
import { type Condition, setCondition } from '../../runtime/status.ts';
import type { HookObject, TemplateProblem } from './plan.ts';

export interface StatusInput {
  hook: HookObject;
  entries: DeploymentRunStatus[];
  rerun: string;
  /** Why runs cannot be created (missing or rejected template, inheritImage). */
  problem?: TemplateProblem;
  rejectedTemplate?: DeploymentHookStatus['rejectedTemplate'];
  now: Date;
}

type Ready = { status: Condition['status']; reason: string; message: string };

export function hookStatus(input: StatusInput): DeploymentHookStatus {
  const { hook, entries, rerun, now } = input;
  const generation = hook.metadata.generation;
  const matched = entries.filter((e) => !e.unmatched);
  // The run of the current revision (a removed bosun.dev/rerun asks for no new one).
  const current = (e: DeploymentRunStatus) =>
    e.lastRun?.revision === e.revision && (!rerun || e.rerun === rerun);
  const failed = matched.filter((e) => current(e) && e.lastRun?.phase === 'Failed');
  const succeeded = matched.filter((e) => current(e) && e.lastRun?.phase === 'Succeeded');
  const running = entries.flatMap((e) =>
    [e.lastRun, ...(e.olderRuns ?? [])].filter((r) => r?.phase === 'Running').map((r) => r?.jobName),
  );

  const ready = readyCondition(input, matched, failed, running);
  let conditions = setCondition(
    hook.status?.conditions as Condition[] | undefined,
    { type: 'Ready', ...ready, observedGeneration: generation },
    now,
  );
  conditions = setCondition(
    conditions,
    failed.length
      ? {
          type: 'Failed',
          status: 'True',
          reason: 'HookFailed',
          message: failed
            .map(
              (e) =>
                `${e.name} revision ${e.revision}: ${e.lastRun?.reason ?? 'Failed'}${e.lastRun?.message ? ` (${e.lastRun.message})` : ''}`,
            )
            .join('; '),
          observedGeneration: generation,
        }
      : {
          type: 'Failed',
          status: 'False',
          reason: 'NoFailures',
          message: 'no hook run failed for a current revision',
          observedGeneration: generation,
        },
    now,
  );
  return {
    observedGeneration: generation,
    conditions,
    matched: matched.length,
    succeeded: succeeded.length,
    ...(input.rejectedTemplate ? { rejectedTemplate: input.rejectedTemplate } : {}),
    ...(entries.length ? { deployments: entries } : {}),
  };
}

function readyCondition(
  input: StatusInput,
  matched: DeploymentRunStatus[],
  failed: DeploymentRunStatus[],
  running: (string | undefined)[],
): Ready {
  const rolloutFailed = matched.filter((e) => e.rollout === 'Failed');
  const progressing = matched.filter((e) => e.rollout === 'Progressing');
  if (input.problem) return { status: 'False', ...input.problem };
  if (failed.length)
    return {
      status: 'False',
      reason: 'HookFailed',
      message: `hook failed for ${failed.map((e) => `${e.name} revision ${e.revision}`).join(', ')}`,
    };
  if (input.hook.spec.suspend)
    return { status: 'False', reason: 'Suspended', message: 'spec.suspend is true: no new hook Jobs start' };
  if (running.length)
    return { status: 'False', reason: 'Running', message: `hook Jobs running: ${running.join(', ')}` };
  if (rolloutFailed.length)
    return {
      status: 'False',
      reason: 'RolloutFailed',
      message: rolloutFailed.map((e) => `${e.name}: ${e.message}`).join('; '),
    };
  if (progressing.length)
    return {
      status: 'False',
      reason: 'RolloutInProgress',
      message: `waiting for rollouts of ${progressing.map((e) => e.name).join(', ')}`,
    };
  if (!matched.length)
    return { status: 'True', reason: 'NoDeployments', message: 'the selector matches no Deployment' };
  return {
    status: 'True',
    reason: 'Succeeded',
    message: `the hook succeeded for the current revision of all ${matched.length} Deployment(s)`,
  };
}
