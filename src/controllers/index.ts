// Every controller of the operator.
import type { Manager } from '../runtime/manager.ts';
import { setupDaemonJobController } from './daemonjob/controller.ts';
import { setupDeploymentHookController } from './deploymenthook/controller.ts';
import { setupPreviewController } from './preview/controller.ts';
import type { Caps } from './preview/model.ts';
import { setupPreviewGitHubController } from './preview-github/controller.ts';

export function registerControllers(
  mgr: Manager,
  opts: { workers: number; hookOptInLabel?: string; previewCaps?: Partial<Caps>; githubApiUrl?: string },
): void {
  setupDeploymentHookController(mgr, opts);
  setupDaemonJobController(mgr, opts);
  setupPreviewController(mgr, {
    workers: opts.workers,
    caps: opts.previewCaps,
    ...(opts.hookOptInLabel ? { hookOptInLabel: opts.hookOptInLabel } : {}),
  });
  setupPreviewGitHubController(mgr, opts);
}
