// Every controller of the operator.
import { DEFAULT_GITHUB_API_URL, GitHubClients } from '../github/client.ts';
import type { Manager } from '../runtime/manager.ts';
import { setupDaemonJobController } from './daemonjob/controller.ts';
import { setupDeploymentHookController } from './deploymenthook/controller.ts';
import { setupPreviewController } from './preview/controller.ts';
import type { Caps } from './preview/model.ts';
import { setupPreviewGitHubController } from './preview-github/controller.ts';
import { setupPreviewResyncController } from './preview-github/resync.ts';

/** How often previews are checked against GitHub for webhooks that never came (`--github-resync-interval`). */
export const DEFAULT_GITHUB_RESYNC_MS = 15 * 60_000;

export function registerControllers(
  mgr: Manager,
  opts: {
    workers: number;
    hookOptInLabel?: string;
    previewCaps?: Partial<Caps>;
    githubApiUrl?: string;
    /** Where users reach the web UI: pull-request comments link to it. */
    publicUrl?: string;
    /** 0 turns the resync with GitHub off. */
    githubResyncMs?: number;
  },
): void {
  setupDeploymentHookController(mgr, opts);
  setupDaemonJobController(mgr, opts);
  setupPreviewController(mgr, {
    workers: opts.workers,
    caps: opts.previewCaps,
    ...(opts.hookOptInLabel ? { hookOptInLabel: opts.hookOptInLabel } : {}),
  });
  const clients = new GitHubClients(mgr.client, {
    baseUrl: opts.githubApiUrl ?? DEFAULT_GITHUB_API_URL,
    log: mgr.log.child({ component: 'github' }),
  });
  setupPreviewGitHubController(mgr, { workers: opts.workers, clients, publicUrl: opts.publicUrl });
  const intervalMs = opts.githubResyncMs ?? DEFAULT_GITHUB_RESYNC_MS;
  if (intervalMs > 0) setupPreviewResyncController(mgr, { intervalMs, clients });
}
