// Every kind Bosun serves.
import type { KindDefinition } from './crd.ts';
import { DaemonJobKind } from './daemonjob.ts';
import { DeploymentHookKind } from './deploymenthook.ts';

export const KINDS: KindDefinition[] = [DeploymentHookKind, DaemonJobKind];
