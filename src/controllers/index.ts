// Every controller of the operator.
import type { Manager } from '../runtime/manager.ts';
import { setupDaemonJobController } from './daemonjob/controller.ts';
import { setupDeploymentHookController } from './deploymenthook/controller.ts';

export function registerControllers(mgr: Manager, opts: { workers: number }): void {
  setupDeploymentHookController(mgr, opts);
  setupDaemonJobController(mgr, opts);
}
